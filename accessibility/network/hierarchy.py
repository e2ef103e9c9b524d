"""A built contraction hierarchy of the car graph: its arrays, and their save, load and checks.

RoutingKit's split: this module holds the *built, saved* hierarchy (a frozen dataclass of numpy
arrays, bound to the graph it was built from); :mod:`accessibility.routing.ch` builds it and
:mod:`accessibility.routing.matrix` queries it. It lives below routing so that the graph's derived
state (:mod:`accessibility.network.derived`) can hold it and read it back from the cache.

The hierarchy contracts the *reduced core* of the graph (:mod:`accessibility.network.core`), so it
also holds, for every graph node, its rank when it is a core node and its anchors (core nodes,
with the seconds and metres from each anchor to the node) otherwise.

Persistence: :func:`save_ch` writes one ``.npy`` file per array and a ``meta.json`` (format
version, counts, build options, the :func:`graph_key` of the graph it was built from, and per
array its dtype, shape and CRC-32) into a directory; :func:`load_ch` maps the arrays
(``np.load(mmap_mode="r")``) so that processes on one machine share them, and checks them before
any kernel sees them: every array's CRC, dtype and shape against ``meta.json``, then the content
(:func:`check_ch`), then the graph key. A damaged, tampered or stale hierarchy is refused
(:class:`~accessibility.errors.InputFileError`) and the loader of the graph's cache rebuilds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import zlib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from accessibility.errors import InputFileError

if TYPE_CHECKING:
    from accessibility.network.graph import Graph

__all__ = ["ContractionHierarchy", "CH_FORMAT", "graph_key", "save_ch", "load_ch", "check_ch"]

#: Version of the on-disk layout written by :func:`save_ch` (2: CRC-32 of every array in
#: ``meta.json``).
CH_FORMAT = 2


@dataclass(frozen=True, eq=False)
class ContractionHierarchy:
    """A contraction hierarchy of a graph's reduced core; arrays only.

    Hierarchy node ids are contraction ranks (``0 <= r < n_core``, higher is more important).

    Attributes
    ----------
    node_rank : np.ndarray of int32, shape (n_nodes,)
        Rank of each graph node that is a core node, -1 for the others.
    anchor1, anchor2 : np.ndarray of int32, shape (n_nodes,)
        Ranks of a node's anchors (-1: none); a core node is its own ``anchor1``.
    offset1_s, offset2_s, offset1_m, offset2_m : np.ndarray of float64, shape (n_nodes,)
        Seconds and metres from each anchor *to* the node (along the forward graph).
    up_indptr, up_indices, up_time_s, up_length_m, up_mid
        Upward graph (CSR over ranks): arcs ``r -> up_indices[k]`` to higher ranks, their
        seconds, metres and middle node (rank, -1 for an arc of the core graph).
    down_indptr, down_indices, down_time_s, down_length_m, down_mid
        Downward graph stored at the lower end: arcs ``down_indices[k] -> r`` from higher ranks.
    graph_key : str
        :func:`graph_key` of the graph it was built from.
    build : dict
        Build options and statistics (``build_s``, ``n_shortcuts``, ...).
    """

    node_rank: np.ndarray
    anchor1: np.ndarray
    offset1_s: np.ndarray
    offset1_m: np.ndarray
    anchor2: np.ndarray
    offset2_s: np.ndarray
    offset2_m: np.ndarray
    up_indptr: np.ndarray
    up_indices: np.ndarray
    up_time_s: np.ndarray
    up_length_m: np.ndarray
    up_mid: np.ndarray
    down_indptr: np.ndarray
    down_indices: np.ndarray
    down_time_s: np.ndarray
    down_length_m: np.ndarray
    down_mid: np.ndarray
    graph_key: str
    build: dict = field(default_factory=dict)

    @property
    def n_nodes(self) -> int:
        """Nodes of the graph it was built for."""
        return len(self.node_rank)

    @property
    def n_core(self) -> int:
        """Nodes of the hierarchy (core nodes of the graph)."""
        return len(self.up_indptr) - 1

    @property
    def n_arcs(self) -> int:
        """Arcs of the upward and downward graphs together."""
        return len(self.up_indices) + len(self.down_indices)

    def anchors(self) -> tuple:
        """``(node_rank, anchor1, offset1_s, offset1_m, anchor2, offset2_s, offset2_m)``."""
        return (self.node_rank, self.anchor1, self.offset1_s, self.offset1_m,
                self.anchor2, self.offset2_s, self.offset2_m)

    def up(self) -> tuple:
        """``(indptr, indices, time_s, length_m)`` of the upward graph."""
        return self.up_indptr, self.up_indices, self.up_time_s, self.up_length_m

    def down(self) -> tuple:
        """``(indptr, indices, time_s, length_m)`` of the downward graph."""
        return self.down_indptr, self.down_indices, self.down_time_s, self.down_length_m

    def __repr__(self) -> str:
        return (f"ContractionHierarchy(nodes={self.n_nodes:,}, core={self.n_core:,}, "
                f"arcs={self.n_arcs:,}, shortcuts={self.build.get('n_shortcuts', '?')})")


_ARRAYS = [f.name for f in fields(ContractionHierarchy) if f.name not in ("graph_key", "build")]


_ARRAYS = [f.name for f in fields(ContractionHierarchy) if f.name not in ("graph_key", "build")]
_META = "meta.json"


def graph_key(graph: Graph) -> str:
    """Hash of the graph's forward CSR, seconds and metres (what a hierarchy depends on).

    Kept with the graph's derived state once computed (:func:`accessibility.network.derived.graph_key`).
    """
    h = hashlib.sha256()
    for a in (graph.indptr, graph.indices, graph.time_s, graph.length_m):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()[:24]


def _crc(a: np.ndarray) -> int:
    a = np.ascontiguousarray(a)
    return zlib.crc32(a.data.cast("B")) if a.size else 0


def save_ch(ch: ContractionHierarchy, directory: str | os.PathLike) -> Path:
    """Write a hierarchy into a directory: one ``.npy`` per array and ``meta.json``.

    The directory is written beside its final place and renamed into it, so a reader never sees
    a half-written hierarchy; an existing directory of that name is replaced.

    Returns
    -------
    Path
        The directory.
    """
    from accessibility._io import staged_dir

    d = Path(directory)
    with staged_dir(d) as tmp:
        arrays = {}
        for name in _ARRAYS:
            a = np.ascontiguousarray(getattr(ch, name))
            np.save(tmp / f"{name}.npy", a, allow_pickle=False)
            arrays[name] = {"dtype": a.dtype.str, "shape": list(a.shape), "crc32": _crc(a)}
        meta = {
            "format": CH_FORMAT,
            "graph_key": ch.graph_key,
            "n_nodes": ch.n_nodes,
            "n_core": ch.n_core,
            "n_up": int(len(ch.up_indices)),
            "n_down": int(len(ch.down_indices)),
            "build": ch.build,
            "arrays": arrays,
        }
        (tmp / _META).write_text(json.dumps(meta, indent=1))
    return d


def _read_meta(d: Path) -> dict:
    try:
        meta = json.loads((d / _META).read_text())
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read hierarchy {str(d)!r}: {exc}") from exc
    if not isinstance(meta, dict) or meta.get("format") != CH_FORMAT:
        got = meta.get("format") if isinstance(meta, dict) else None
        raise InputFileError(
            f"hierarchy {str(d)!r} has format {got!r}, this version reads {CH_FORMAT}: build it again")
    if not isinstance(meta.get("arrays"), dict) or set(meta["arrays"]) != set(_ARRAYS):
        raise InputFileError(f"hierarchy {str(d)!r}: meta.json does not list its arrays: build it again")
    return meta


def _read_array(d: Path, name: str, info: dict, mmap: bool) -> np.ndarray:
    """One array of the hierarchy, refused unless its dtype, shape and CRC-32 are those recorded."""
    f = d / f"{name}.npy"
    try:
        a = np.load(f, mmap_mode="r" if mmap else None, allow_pickle=False)
        ok = a.dtype.str == info["dtype"] and list(a.shape) == list(info["shape"]) and _crc(a) == info["crc32"]
    except Exception as exc:  # noqa: BLE001 - a damaged .npy header raises SyntaxError, TokenError…
        raise InputFileError(f"cannot read hierarchy file {str(f)!r}: {type(exc).__name__}: {exc}") from None
    if not ok:
        raise InputFileError(f"hierarchy file {str(f)!r} is damaged (type, size or CRC differ from meta.json)")
    return a


def load_ch(
    directory: str | os.PathLike, *, graph: Graph | None = None, mmap: bool = True
) -> ContractionHierarchy:
    """Read a hierarchy written by :func:`save_ch`, memory-mapped by default, and check it.

    Parameters
    ----------
    directory : str or path-like
    graph : Graph, optional
        When given, the hierarchy must have been built from it (same :func:`graph_key`).
    mmap : bool, default True
        Map the arrays read-only (``np.load(mmap_mode="r")``) instead of reading them.

    Raises
    ------
    InputFileError
        Missing or unreadable files, another format version, an array whose dtype, shape or
        CRC-32 differ from ``meta.json``, arrays that fail :func:`check_ch`, or a hierarchy of
        another graph.
    """
    d = Path(directory)
    meta = _read_meta(d)
    arrays = {name: _read_array(d, name, meta["arrays"][name], mmap) for name in _ARRAYS}
    ch = ContractionHierarchy(**arrays, graph_key=str(meta.get("graph_key", "")),
                              build=meta.get("build", {}))
    counts = (ch.n_nodes, ch.n_core, len(ch.up_indices), len(ch.down_indices))
    if counts != (meta.get("n_nodes"), meta.get("n_core"), meta.get("n_up"), meta.get("n_down")):
        raise InputFileError(f"hierarchy {str(d)!r}: array sizes {counts} differ from meta.json")
    problem = check_ch(ch)
    if problem:
        raise InputFileError(f"hierarchy {str(d)!r} is inconsistent ({problem}): build it again")
    if graph is not None:
        from accessibility.network.derived import graph_key as known_key

        if ch.graph_key != known_key(graph):
            raise InputFileError(
                f"hierarchy {str(d)!r} was built from another graph (key {ch.graph_key}, this graph "
                f"{known_key(graph)}): build it again")
    return ch


def _csr_problem(name: str, ptr, idx, nk: int, upward: bool) -> str | None:
    if len(ptr) != nk + 1 or ptr[0] != 0 or ptr[-1] != len(idx):
        return f"{name}_indptr does not span {name}_indices"
    if np.any(np.diff(ptr) < 0):
        return f"{name}_indptr decreases"
    if len(idx):
        if idx.min() < 0 or idx.max() >= nk:
            return f"{name}_indices out of [0, {nk})"
        lo = np.repeat(np.arange(nk, dtype=np.int64), np.diff(ptr))
        if np.any(idx <= lo):
            return f"{name} arcs do not go to higher ranks"
    return None


def check_ch(ch: ContractionHierarchy, graph: Graph | None = None) -> str | None:
    """Cheap vectorised checks of a hierarchy's arrays; the first problem found, or None.

    Checks: array lengths, ranks a permutation of the core, anchors in range and a core node its
    own anchor, CSR pointers monotone and spanning, arcs going to higher ranks, middle nodes below
    both ends, times and lengths finite and >= 0; with ``graph``, the graph key.
    """
    n = ch.n_nodes
    nk = ch.n_core
    for name in ("anchor1", "offset1_s", "offset1_m", "anchor2", "offset2_s", "offset2_m"):
        if len(getattr(ch, name)) != n:
            return f"{name} has {len(getattr(ch, name))} entries for {n} nodes"
    r = np.asarray(ch.node_rank)
    core = r >= 0
    if int(core.sum()) != nk:
        return f"{int(core.sum())} ranked nodes for a hierarchy of {nk}"
    seen = np.zeros(nk, dtype=bool)
    if nk and (r[core].max() >= nk):
        return "node_rank out of range"
    seen[r[core]] = True
    if not seen.all():
        return "node_rank is not a permutation of the core"
    for a in (ch.anchor1, ch.anchor2):
        a = np.asarray(a)
        if len(a) and (a.min() < -1 or a.max() >= nk):
            return "anchor out of range"
    if np.any(np.asarray(ch.anchor1)[core] != r[core]):
        return "a core node is not its own anchor"
    for off in (ch.offset1_s, ch.offset2_s, ch.offset1_m, ch.offset2_m):
        off = np.asarray(off)
        if not (np.all(np.isfinite(off)) and np.all(off >= 0)):
            return "anchor offset not finite and >= 0"
    for name, ptr, idx, t, ln, mid in (
        ("up", ch.up_indptr, ch.up_indices, ch.up_time_s, ch.up_length_m, ch.up_mid),
        ("down", ch.down_indptr, ch.down_indices, ch.down_time_s, ch.down_length_m, ch.down_mid),
    ):
        ptr, idx, t, ln, mid = (np.asarray(a) for a in (ptr, idx, t, ln, mid))
        p = _csr_problem(name, ptr, idx, nk, True)
        if p:
            return p
        if not (len(t) == len(ln) == len(mid) == len(idx)):
            return f"{name} arc arrays of different lengths"
        if not (np.all(np.isfinite(t)) and np.all(t >= 0) and np.all(np.isfinite(ln)) and np.all(ln >= 0)):
            return f"{name} times or lengths not finite and >= 0"
        if len(mid):
            lo = np.repeat(np.arange(nk, dtype=np.int64), np.diff(ptr))
            if mid.min() < -1 or np.any((mid >= 0) & (mid >= lo)):
                return f"{name}_mid not below the arc's ends"
    if graph is not None:
        if graph.n_nodes != n:
            return f"built for {n} nodes, the graph has {graph.n_nodes}"
        from accessibility.network.derived import graph_key as known_key

        if ch.graph_key != known_key(graph):
            return "built from another graph"
    return None
