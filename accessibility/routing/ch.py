"""Contraction hierarchies of the car graph: build once, then query many times.

RoutingKit's split: the built, saved hierarchy is a
:class:`~accessibility.network.hierarchy.ContractionHierarchy` (arrays, save/load/check, in
:mod:`accessibility.network.hierarchy`, kept by the graph's derived state); this module builds it
(:func:`build_ch`, on the graph's one reduced core :func:`accessibility.network.derived.core`),
hands it to the graph (:func:`hierarchy`) and runs PHAST one-to-all (:func:`phast_nearest_source`);
:mod:`accessibility.routing.matrix` runs the many-to-many queries.

Labels are (seconds, metres) pairs compared lexicographically: a query returns the time of a
fastest path and the length of the shortest of the fastest paths.
"""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path

import numpy as np

from accessibility.errors import InputFileError, InvalidParameterError
from accessibility.network import derived
from accessibility.network.graph import Graph
from accessibility.network.hierarchy import (
    CH_FORMAT,
    ContractionHierarchy,
    check_ch,
    graph_key,
    load_ch,
    save_ch,
)

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

#: Witness searches stop after settling this many nodes (more: fewer shortcuts, slower build).
#: On PACA, 100 builds in 6.0 s against 7.8 s for 500, with the same search spaces (54 and 57
#: nodes settled per upward search) and the same matrix times.
DEFAULT_MAX_SETTLED = 100
#: ... and do not expand nodes this many arcs from their start (0: no hop limit).
DEFAULT_MAX_HOPS = 0
#: Node priority = edge difference x w_ed + contracted neighbours x w_cn + level x w_level.
PRIORITY_WEIGHTS = {"w_ed": 2.0, "w_cn": 1.0, "w_level": 1.0}


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
    from accessibility.routing import _ch

    if int(max_settled) < 1:
        raise InvalidParameterError(f"max_settled must be >= 1, got {max_settled!r}")
    if int(max_hops) < 0:
        raise InvalidParameterError(f"max_hops must be >= 0 (0: no limit), got {max_hops!r}")
    t0 = time.perf_counter()
    red = derived.core(graph)  # the graph's one reduced core (saved with a cached graph)
    core_of, a1, o1, o1m, a2, o2, o2m = red.anchors()
    c_ptr, c_idx = red.c_indptr, red.c_indices
    t1 = time.perf_counter()
    res = _ch.contract(c_ptr.astype(np.int64), c_idx, red.c_time_s, red.c_length_m, int(max_settled), int(max_hops),
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
        down_mid=dn_mid, graph_key=derived.graph_key(graph), build=build,
    )
    log.info("contraction hierarchy: %s in %.1f s", ch, build["build_s"])
    return ch


def hierarchy(graph: Graph, *, build: bool = True, **options) -> ContractionHierarchy | None:
    """The graph's contraction hierarchy: the one it keeps, else the one saved beside the cached
    graph (checked), else built (:func:`build_ch`) and handed to the graph, which keeps it and
    saves it beside its cache entry (:func:`accessibility.network.derived.keep_hierarchy`).

    Parameters
    ----------
    graph : Graph
    build : bool, default True
        False: None unless a hierarchy is kept or saved.
    **options
        Build options (see :func:`build_ch`). A hierarchy built with other options is built
        anew and returned, not kept.
    """
    if options:
        return build_ch(graph, **options) if build else None
    ch = derived.saved_hierarchy(graph)
    if ch is None and build:
        ch = derived.keep_hierarchy(graph, build_ch(graph))
    return ch


def load_or_build_ch(graph: Graph, directory: str | os.PathLike, **options) -> ContractionHierarchy:
    """The hierarchy saved in ``directory`` when it is sound and of this graph, else built and
    saved there.

    The CRCs and content of the saved arrays and the graph key in ``meta.json`` are checked
    (:func:`~accessibility.network.hierarchy.load_ch`), so a stale, damaged or tampered hierarchy
    is rebuilt, never trusted. Options: see :func:`build_ch` (a saved hierarchy built with other
    options is used as it is). A graph's own cache keeps its hierarchy with :func:`hierarchy`.
    """
    d = Path(directory)
    if (d / "meta.json").exists():
        try:
            return load_ch(d, graph=graph)
        except InputFileError as exc:
            log.warning("hierarchy %s is unusable (%s); rebuilding", d, exc)
    ch = build_ch(graph, **options)
    try:
        save_ch(ch, d)
    except OSError as exc:
        log.warning("could not save the hierarchy to %s: %s", d, exc)
    return ch


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
    known = derived.graph_key(graph)
    if ch.graph_key and ch.graph_key != known:
        raise InvalidParameterError(
            f"the hierarchy was built from another graph (key {ch.graph_key}, this graph "
            f"{known}): build it from this graph (build_ch)")
