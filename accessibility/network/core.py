"""The reduced core of a CSR graph: what the routing kernels search and the hierarchy contracts.

The reduction (built once per direction of a graph, saved in its cache, see
:mod:`accessibility.network.derived`):

- **dead-end trees** are peeled off (nodes of undirected degree 1, repeatedly): such a node cannot
  be inside a shortest path between two nodes outside its tree, because the tree hangs from the
  rest of the graph by a single node;
- in what is left (the 2-core), **chains** of nodes of degree 2 are contracted. The remaining
  *core* nodes keep their relative order (the Hilbert order of the graph) and are joined by the
  contracted chains and the direct edges, keeping the fastest of parallel edges (the shortest of
  equally fast ones);
- every eliminated node gets at most two **anchors** (core node, offset): the seconds and metres
  from a chain end along the chain, plus those down its tree.

On the PACA graph the core has a third of the nodes. One :class:`ReducedCore` carries what both
users need: the Dijkstra kernels of :mod:`accessibility.routing._kernels` (times, the bucket
width) and the contraction hierarchy of :mod:`accessibility.routing.ch` (times *and* metres).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

__all__ = ["ReducedCore", "build_core"]

#: Bucket width: this quantile of the core's positive edge times (seconds)...
_DELTA_QUANTILE = 0.2
#: ...widened if needed so that one edge never spans more than this many buckets.
_MAX_SLOTS = 4096


@dataclass(frozen=True, eq=False)
class ReducedCore:
    """The reduced core of one CSR (forward or reverse graph); arrays only.

    Attributes
    ----------
    core_of : np.ndarray of int32, shape (n,)
        Core id of each node, -1 for eliminated nodes.
    anchor1, anchor2 : np.ndarray of int32, shape (n,)
        Core ids of a node's anchors (-1: none); a core node is its own ``anchor1``.
    offset1_s, offset2_s : np.ndarray of float64, shape (n,)
        Seconds from each anchor to the node.
    c_indptr, c_indices, c_time_s : np.ndarray
        The core graph in CSR form (core ids), seconds per core edge.
    inv_delta : float
        Inverse of the bucket width (1 / seconds) of the kernels' bucket queue.
    n_slots : int
        Number of buckets (a power of two, more than the longest core edge spans).
    offset1_m, offset2_m : np.ndarray of float64, shape (n,)
        Metres of the paths of ``offset1_s``, ``offset2_s``.
    c_length_m : np.ndarray of float64
        Metres of each core edge (of the path its time is the time of).
    """

    core_of: np.ndarray
    anchor1: np.ndarray
    offset1_s: np.ndarray
    anchor2: np.ndarray
    offset2_s: np.ndarray
    c_indptr: np.ndarray
    c_indices: np.ndarray
    c_time_s: np.ndarray
    inv_delta: float
    n_slots: int
    offset1_m: np.ndarray
    offset2_m: np.ndarray
    c_length_m: np.ndarray

    def arrays(self) -> tuple:
        """The arrays and scalars the Dijkstra kernels take, in their order."""
        return (self.core_of, self.anchor1, self.offset1_s, self.anchor2, self.offset2_s,
                self.c_indptr, self.c_indices, self.c_time_s, self.inv_delta, self.n_slots)

    def anchors(self) -> tuple:
        """``(core_of, anchor1, offset1_s, offset1_m, anchor2, offset2_s, offset2_m)``."""
        return (self.core_of, self.anchor1, self.offset1_s, self.offset1_m,
                self.anchor2, self.offset2_s, self.offset2_m)

    @property
    def n_core(self) -> int:
        """Number of core nodes."""
        return len(self.c_indptr) - 1

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every attribute as an array (scalars 0-d), to save."""
        return {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict) -> ReducedCore:
        """Inverse of :meth:`to_arrays`.

        Raises
        ------
        KeyError, ValueError, TypeError
            A missing array, or a scalar that is not one.
        """
        kw = {}
        for f in fields(cls):
            a = arrays[f.name]
            kw[f.name] = a.item() if a.ndim == 0 else a
        kw["inv_delta"] = float(kw["inv_delta"])
        kw["n_slots"] = int(kw["n_slots"])
        return cls(**kw)

    def check(self, n: int) -> str | None:
        """The first inconsistency with a graph of ``n`` nodes, or None (vectorised checks)."""
        nk = self.n_core
        for name in ("core_of", "anchor1", "anchor2", "offset1_s", "offset2_s", "offset1_m", "offset2_m"):
            if getattr(self, name).ndim != 1 or len(getattr(self, name)) != n:
                return f"reduced core: {name} has the wrong length"
        if nk < 0 or self.c_indptr[0] != 0 or np.any(np.diff(self.c_indptr) < 0):
            return "reduced core: pointer not monotone"
        m = len(self.c_indices)
        if self.c_indptr[-1] != m or len(self.c_time_s) != m or len(self.c_length_m) != m:
            return "reduced core: pointer does not span its edges"
        if m and (self.c_indices.min() < 0 or self.c_indices.max() >= nk):
            return "reduced core: node id out of range"
        for a in (self.c_time_s, self.c_length_m):
            if m and not (np.all(np.isfinite(a)) and a.min() >= 0):
                return "reduced core: negative or non-finite times or lengths"
        for name in ("core_of", "anchor1", "anchor2"):
            a = getattr(self, name)
            if n and (a.min() < -1 or a.max() >= nk):
                return f"reduced core: {name} out of range"
        if int(np.count_nonzero(self.core_of >= 0)) != nk:
            return "reduced core: core ids do not match the core size"
        for x in (self.offset1_s, self.offset2_s, self.offset1_m, self.offset2_m):
            if np.any(~np.isfinite(x)) or np.any(x < 0):  # 0 where there is no anchor
                return "reduced core: anchor offsets negative or not finite"
        if not (self.inv_delta > 0 and np.isfinite(self.inv_delta)):
            return "reduced core: bad bucket width"
        longest = float(self.c_time_s.max()) if m else 0.0
        if self.n_slots < 2 or self.n_slots & (self.n_slots - 1) or longest * self.inv_delta + 1 >= self.n_slots:
            return "reduced core: bad bucket count"
        return None


def build_core(indptr: np.ndarray, indices: np.ndarray, time_s: np.ndarray, length_m: np.ndarray | None) -> ReducedCore:
    """The reduced core of a CSR with seconds and metres per edge (0.08 s on the PACA graph);
    ``length_m=None`` for a core of times only (its metres are then zeros, not to be read).

    A graph builds it once per direction and keeps it (:meth:`accessibility.network.graph.Graph.reduced`);
    call this directly only for raw CSR arrays.
    """
    from accessibility.network._kernels import reduce_core

    ln = np.zeros(len(time_s)) if length_m is None else np.asarray(length_m, dtype=np.float64)
    core_of, a1, o1, a2, o2, c_ptr, c_idx, c_w, o1m, o2m, c_l = reduce_core(indptr, indices, time_s, ln)
    positive = c_w[c_w > 0]
    delta = float(np.quantile(positive, _DELTA_QUANTILE)) if len(positive) else 1.0
    longest = float(c_w.max()) if len(c_w) else 0.0
    delta = max(delta, longest / (_MAX_SLOTS - 2), 1e-9)
    inv_delta = 1.0 / delta
    n_slots = 1 << max(1, int(np.ceil(np.log2(longest * inv_delta + 2))))
    return ReducedCore(
        core_of=core_of, anchor1=a1, offset1_s=o1, anchor2=a2, offset2_s=o2, c_indptr=c_ptr,
        c_indices=c_idx, c_time_s=c_w, inv_delta=inv_delta, n_slots=n_slots, offset1_m=o1m,
        offset2_m=o2m, c_length_m=c_l,
    )
