"""Contraction hierarchies of the car graph: build once, save and map, query many times.

A :class:`ContractionHierarchy` is a frozen dataclass of numpy arrays (RoutingKit's split: a
built, saveable hierarchy; the queries in :mod:`accessibility.routing.matrix` and
:func:`phast_nearest_source` are separate and only read it). It is built on the *reduced core* of
the graph (:mod:`accessibility.routing._kernels`: dead-end trees and degree-2 chains set aside),
so it also holds, for every graph node, its rank when it is a core node and its anchors
(core nodes, with the seconds and metres from each anchor to the node) otherwise.

Labels are (seconds, metres) pairs compared lexicographically: a query returns the time of a
fastest path and the length of the shortest of the fastest paths.

Persistence: :func:`save_ch` writes one ``.npy`` file per array and a ``meta.json`` (format
version, counts, build options, and the :func:`graph_key` of the graph it was built from) into a
directory; :func:`load_ch` maps the arrays (``np.load(mmap_mode="r")``) so that processes on one
machine share them, and checks them (:func:`check_ch`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np

from accessibility.errors import InputFileError, InvalidParameterError
from accessibility.network.graph import Graph

__all__ = [
    "ContractionHierarchy",
    "CH_FORMAT",
    "DEFAULT_MAX_SETTLED",
    "DEFAULT_MAX_HOPS",
    "PRIORITY_WEIGHTS",
    "build_ch",
    "graph_key",
    "hierarchy",
    "load_or_build_ch",
    "save_ch",
    "load_ch",
    "check_ch",
    "phast_nearest_source",
]

log = logging.getLogger(__name__)

#: Version of the on-disk layout written by :func:`save_ch`.
CH_FORMAT = 1
#: Witness searches stop after settling this many nodes (more: fewer shortcuts, slower build).
#: On PACA, 100 builds in 6.0 s against 7.8 s for 500, with the same search spaces (54 and 57
#: nodes settled per upward search) and the same matrix times.
DEFAULT_MAX_SETTLED = 100
#: ... and do not expand nodes this many arcs from their start (0: no hop limit).
DEFAULT_MAX_HOPS = 0
#: Node priority = edge difference x w_ed + contracted neighbours x w_cn + level x w_level.
PRIORITY_WEIGHTS = {"w_ed": 2.0, "w_cn": 1.0, "w_level": 1.0}


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


def graph_key(graph: Graph) -> str:
    """Hash of the graph's forward CSR, seconds and metres (what a hierarchy depends on)."""
    h = hashlib.sha256()
    for a in (graph.indptr, graph.indices, graph.time_s, graph.length_m):
        a = np.ascontiguousarray(a)
        h.update(f"{a.dtype.str}{a.shape}".encode())
        h.update(a.data)
    return h.hexdigest()[:24]


def build_ch(
    graph: Graph,
    *,
    max_settled: int = DEFAULT_MAX_SETTLED,
    max_hops: int = DEFAULT_MAX_HOPS,
    w_ed: float = PRIORITY_WEIGHTS["w_ed"],
    w_cn: float = PRIORITY_WEIGHTS["w_cn"],
    w_level: float = PRIORITY_WEIGHTS["w_level"],
    lazy: bool = True,
) -> ContractionHierarchy:
    """Build the contraction hierarchy of a graph (deterministic).

    Parameters
    ----------
    graph : Graph
    max_settled : int, default :data:`DEFAULT_MAX_SETTLED`
        Witness searches stop after settling this many nodes.
    max_hops : int, default :data:`DEFAULT_MAX_HOPS`
        Witness searches do not expand nodes this many arcs away (0: no limit).
    w_ed, w_cn, w_level : float
        Priority weights (see :data:`PRIORITY_WEIGHTS`).
    lazy : bool, default True
        Recompute a node's priority when it comes to the top of the queue.

    Returns
    -------
    ContractionHierarchy

    Raises
    ------
    InvalidParameterError
        A limit below 1 (``max_settled``) or below 0 (``max_hops``).
    """
    from accessibility.routing import _ch, _kernels

    if int(max_settled) < 1:
        raise InvalidParameterError(f"max_settled must be >= 1, got {max_settled!r}")
    if int(max_hops) < 0:
        raise InvalidParameterError(f"max_hops must be >= 0 (0: no limit), got {max_hops!r}")
    t0 = time.perf_counter()
    (core_of, a1, o1, a2, o2, c_ptr, c_idx, c_t, o1m, o2m, c_l) = _kernels._reduce_tl(
        graph.indptr, graph.indices, graph.time_s, graph.length_m)
    t1 = time.perf_counter()
    res = _ch.contract(c_ptr.astype(np.int64), c_idx, c_t, c_l, int(max_settled), int(max_hops),
                       float(w_ed), float(w_cn), float(w_level), bool(lazy))
    rank = res[0]
    t2 = time.perf_counter()

    def to_rank(a):
        return np.where(a >= 0, rank[np.maximum(a, 0)], -1).astype(np.int32)

    up_mid, dn_mid = res[5], res[10]
    build = {
        "max_settled": int(max_settled), "max_hops": int(max_hops), "w_ed": float(w_ed),
        "w_cn": float(w_cn), "w_level": float(w_level), "lazy": bool(lazy),
        "reduce_s": t1 - t0, "contract_s": t2 - t1, "build_s": time.perf_counter() - t0,
        "n_core": int(len(c_ptr) - 1), "n_core_arcs": int(len(c_idx)),
        "n_shortcuts": int((up_mid >= 0).sum() + (dn_mid >= 0).sum()),
    }
    ch = ContractionHierarchy(
        node_rank=to_rank(core_of), anchor1=to_rank(a1), offset1_s=o1, offset1_m=o1m,
        anchor2=to_rank(a2), offset2_s=o2, offset2_m=o2m,
        up_indptr=res[1], up_indices=res[2], up_time_s=res[3], up_length_m=res[4], up_mid=up_mid,
        down_indptr=res[6], down_indices=res[7], down_time_s=res[8], down_length_m=res[9],
        down_mid=dn_mid, graph_key=graph_key(graph), build=build,
    )
    log.info("contraction hierarchy: %s in %.1f s", ch, build["build_s"])
    return ch


def hierarchy(graph: Graph, **options) -> ContractionHierarchy:
    """The hierarchy of a graph, built once and kept on it (``graph._cache``) with its options.

    See :func:`build_ch` for the options.
    """
    key = ("ch", tuple(sorted(options.items())))
    ch = graph._cache.get(key)
    if ch is None:
        ch = build_ch(graph, **options)
        graph._cache[key] = ch
    return ch


def load_or_build_ch(graph: Graph, directory: str | os.PathLike, **options) -> ContractionHierarchy:
    """The hierarchy saved in ``directory`` when it is sound and of this graph, else built and
    saved there; kept on the graph either way (see :func:`hierarchy`).

    This is how a hierarchy sits beside a cached graph: ``directory`` inside (or next to) the
    graph's cache entry; the graph key in ``meta.json`` ties it to the graph's arrays, so a
    stale or corrupt one is rebuilt, never trusted. Options: see :func:`build_ch` (a saved
    hierarchy built with other options is used as it is).
    """
    key = ("ch", tuple(sorted(options.items())))
    if key in graph._cache:
        return graph._cache[key]
    d = Path(directory)
    ch = None
    if (d / "meta.json").exists():
        try:
            ch = load_ch(d, graph=graph)
        except InputFileError as exc:
            log.warning("hierarchy %s is unusable (%s); rebuilding", d, exc)
    if ch is None:
        ch = build_ch(graph, **options)
        try:
            save_ch(ch, d)
        except OSError as exc:
            log.warning("could not save the hierarchy to %s: %s", d, exc)
    graph._cache[key] = ch
    return ch


# ---------------------------------------------------------------------------------------------
# save, load, check


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
        for name in _ARRAYS:
            np.save(tmp / f"{name}.npy", np.ascontiguousarray(getattr(ch, name)), allow_pickle=False)
        meta = {
            "format": CH_FORMAT,
            "graph_key": ch.graph_key,
            "n_nodes": ch.n_nodes,
            "n_core": ch.n_core,
            "n_up": int(len(ch.up_indices)),
            "n_down": int(len(ch.down_indices)),
            "build": ch.build,
        }
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
    return d


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
        Missing or unreadable files, another format version, arrays that fail
        :func:`check_ch`, or a hierarchy of another graph.
    """
    d = Path(directory)
    try:
        meta = json.loads((d / "meta.json").read_text())
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read hierarchy {str(d)!r}: {exc}") from exc
    if meta.get("format") != CH_FORMAT:
        raise InputFileError(
            f"hierarchy {str(d)!r} has format {meta.get('format')!r}, this version reads "
            f"{CH_FORMAT}: build it again")
    arrays = {}
    try:
        for name in _ARRAYS:
            arrays[name] = np.load(d / f"{name}.npy", mmap_mode="r" if mmap else None,
                                   allow_pickle=False)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"cannot read hierarchy {str(d)!r}: {exc}") from exc
    ch = ContractionHierarchy(**arrays, graph_key=meta.get("graph_key", ""),
                              build=meta.get("build", {}))
    counts = (ch.n_nodes, ch.n_core, len(ch.up_indices), len(ch.down_indices))
    if counts != (meta.get("n_nodes"), meta.get("n_core"), meta.get("n_up"), meta.get("n_down")):
        raise InputFileError(f"hierarchy {str(d)!r}: array sizes {counts} differ from meta.json")
    problem = check_ch(ch)
    if problem:
        raise InputFileError(f"hierarchy {str(d)!r} is inconsistent ({problem}): build it again")
    if graph is not None and ch.graph_key != graph_key(graph):
        raise InputFileError(
            f"hierarchy {str(d)!r} was built from another graph (key {ch.graph_key}, this graph "
            f"{graph_key(graph)}): build it again")
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
        if ch.graph_key != graph_key(graph):
            return "built from another graph"
    return None


# ---------------------------------------------------------------------------------------------
# one-to-all


def phast_nearest_source(
    graph: Graph,
    ch: ContractionHierarchy,
    sources,
    *,
    source_times_s=None,
    source_lengths_m=None,
    cutoff_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every node's time from its nearest source (PHAST: upward search, then one downward sweep).

    The forward counterpart of :func:`accessibility.routing.nearest_source`, with metres.

    Parameters
    ----------
    graph : Graph
    ch : ContractionHierarchy
        Built from ``graph``.
    sources : array-like of int
        Source node ids (repeats allowed).
    source_times_s, source_lengths_m : array-like of float, optional
        Initial seconds and metres of each source; zeros when omitted.
    cutoff_s : float, optional
        Farther nodes are ``inf``.

    Returns
    -------
    time_s : np.ndarray of float64, shape (n_nodes,)
        Seconds; ``inf`` when unreachable or beyond the cutoff.
    length_m : np.ndarray of float64, shape (n_nodes,)
        Metres of that fastest path (the shortest of equally fast ones); ``inf`` likewise.
    nearest : np.ndarray of int64, shape (n_nodes,)
        Position in ``sources`` of the nearest source; -1 where ``time_s`` is ``inf``.

    Raises
    ------
    InvalidParameterError
        Bad node ids, times or cutoff, or a hierarchy of another graph.
    """
    from accessibility.routing import _ch
    from accessibility.routing.dijkstra import _cutoff, _node_ids

    _check_pair(graph, ch)
    src = _node_ids(graph, sources, "sources")
    st = _initial(source_times_s, len(src), "source_times_s")
    sl = _initial(source_lengths_m, len(src), "source_lengths_m")
    return _ch.phast_multi_source(
        graph.indptr, graph.indices, graph.time_s, graph.length_m,
        ch.node_rank, ch.anchor1, ch.offset1_s, ch.offset1_m, ch.anchor2, ch.offset2_s,
        ch.offset2_m, *ch.up(), *ch.down(),
        src, st, sl, np.arange(len(src), dtype=np.int64), _cutoff(cutoff_s),
    )


def _initial(values, n: int, what: str) -> np.ndarray:
    if values is None:
        return np.zeros(n)
    a = np.asarray(values, dtype=np.float64).ravel()
    if len(a) != n or np.any(~(a >= 0)):
        raise InvalidParameterError(f"{what} must be {n} numbers >= 0, got {values!r:.80}")
    return a


def _check_pair(graph: Graph, ch: ContractionHierarchy) -> None:
    """Cheap check that a hierarchy belongs to a graph (node count; the key when cached)."""
    if ch.n_nodes != graph.n_nodes:
        raise InvalidParameterError(
            f"the hierarchy was built for a graph of {ch.n_nodes:,} nodes, this one has "
            f"{graph.n_nodes:,}: build it from this graph (build_ch)")
    known = graph._cache.get("graph_key")
    if known is None:
        known = graph._cache["graph_key"] = graph_key(graph)
    if ch.graph_key and ch.graph_key != known:
        raise InvalidParameterError(
            f"the hierarchy was built from another graph (key {ch.graph_key}, this graph "
            f"{known}): build it from this graph (build_ch)")
