"""Validated node-level routing functions: one-to-all, multi-source, many-to-many.

Node ids are graph node indices (``0 <= id < graph.n_nodes``). Times are seconds; unreachable
nodes, and nodes beyond ``cutoff_s``, are ``np.inf``. For places given as coordinates, see
:mod:`accessibility.routing.points`.
"""

from __future__ import annotations

import numpy as np

from accessibility.errors import InvalidParameterError
from accessibility.network.graph import Graph
from accessibility.routing import _kernels

__all__ = ["shortest_times", "nearest_source", "time_matrix"]


def _cutoff(cutoff_s: float | None) -> float:
    try:
        c = np.inf if cutoff_s is None else float(cutoff_s)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"cutoff_s must be a number >= 0 (seconds), got {cutoff_s!r}") from None
    if isinstance(cutoff_s, (str, bytes)) or not c >= 0:
        raise InvalidParameterError(f"cutoff_s must be a number >= 0 (seconds), got {cutoff_s!r}")
    return c


def _node_ids(graph: Graph, ids, what: str) -> np.ndarray:
    try:
        a = np.atleast_1d(np.asarray(ids))
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{what} must be a 1-d array of integer node ids, got {ids!r:.80}") from None
    if a.ndim != 1 or (a.size and not np.issubdtype(a.dtype, np.integer)):
        raise InvalidParameterError(f"{what} must be a 1-d array of integer node ids, got {ids!r:.80}")
    a = a.astype(np.int64)
    if a.size and (a.min() < 0 or a.max() >= graph.n_nodes):
        bad = a[(a < 0) | (a >= graph.n_nodes)][0]
        raise InvalidParameterError(f"{what}: node id {bad} is not in [0, {graph.n_nodes})")
    return a


def _csr(graph: Graph, reverse: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if reverse:
        return graph.rev_indptr, graph.rev_indices, graph.rev_time_s
    return graph.indptr, graph.indices, graph.time_s


def check_graph_arg(graph, what: str = "graph") -> Graph:
    """``graph`` if it is a :class:`Graph`, else :class:`InvalidParameterError` naming its type."""
    if not isinstance(graph, Graph):
        raise InvalidParameterError(
            f"{what} must be an accessibility Graph (from load_graph), got {type(graph).__name__}"
        )
    return graph


def shortest_times(
    graph: Graph, source: int, *, cutoff_s: float | None = None, reverse: bool = False
) -> np.ndarray:
    """Times from one node to every node (or to one node from every node).

    Parameters
    ----------
    graph : Graph
    source : int
        Node id.
    cutoff_s : float, optional
        Stop the search at this time (seconds); farther nodes are ``inf``.
    reverse : bool, default False
        When True, times *to* ``source`` from every node.

    Returns
    -------
    np.ndarray of float64, shape (n_nodes,)
        Seconds; ``inf`` when unreachable or beyond the cutoff.

    Raises
    ------
    InvalidParameterError
        ``source`` is not a node id, or ``cutoff_s`` is negative.
    """
    check_graph_arg(graph)
    src = _node_ids(graph, [source], "source")
    dist, _ = _kernels.multi_source(
        *_csr(graph, reverse), src, np.zeros(1), np.zeros(1, dtype=np.int64), _cutoff(cutoff_s),
        red=graph.reduced(reverse=reverse),
    )
    return dist


def nearest_source(
    graph: Graph,
    sources,
    *,
    source_times_s=None,
    cutoff_s: float | None = None,
    reverse: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Every node's time from its nearest source, and which source that is (one search).

    Parameters
    ----------
    graph : Graph
    sources : array-like of int
        Source node ids (repeats allowed).
    source_times_s : array-like of float, optional
        Initial time of each source (seconds), e.g. an access leg; zeros when omitted.
    cutoff_s : float, optional
        Stop at this time (seconds); farther nodes are ``inf``.
    reverse : bool, default False
        When True, each node's time *to* its nearest source.

    Returns
    -------
    time_s : np.ndarray of float64, shape (n_nodes,)
        Seconds; ``inf`` when no source is reachable within the cutoff.
    nearest : np.ndarray of int64, shape (n_nodes,)
        Position in ``sources`` of the nearest source; -1 where ``time_s`` is ``inf``.

    Raises
    ------
    InvalidParameterError
        Bad node id, times of the wrong length or negative, negative cutoff.
    """
    check_graph_arg(graph)
    src = _node_ids(graph, sources, "sources")
    if source_times_s is None:
        st = np.zeros(len(src))
    else:
        st = np.asarray(source_times_s, dtype=np.float64).ravel()
        if len(st) != len(src) or np.any(st < 0) or np.any(np.isnan(st)):
            raise InvalidParameterError(
                f"source_times_s must be {len(src)} times >= 0 (seconds), got {source_times_s!r:.80}"
            )
    labels = np.arange(len(src), dtype=np.int64)
    return _kernels.multi_source(
        *_csr(graph, reverse), src, st, labels, _cutoff(cutoff_s), red=graph.reduced(reverse=reverse)
    )


def time_matrix(
    graph: Graph, sources, targets, *, cutoff_s: float | None = None
) -> np.ndarray:
    """Times from every source to every target, parallel over sources on all cores.

    Core level (seconds, graph node ids), one bucket-queue Dijkstra per source: the
    ``"dijkstra"`` strategy of :func:`accessibility.routing.matrix.node_matrix_s` without metres,
    kept as the reference the other strategies are checked against.

    Each search stops as soon as all targets are settled (or at the cutoff).

    Parameters
    ----------
    graph : Graph
    sources, targets : array-like of int
        Node ids.
    cutoff_s : float, optional
        Times above it (seconds) are ``inf``.

    Returns
    -------
    np.ndarray of float64, shape (len(sources), len(targets))
        Seconds; ``inf`` when unreachable or beyond the cutoff.

    Raises
    ------
    InvalidParameterError
        Bad node id or negative cutoff.
    """
    check_graph_arg(graph)
    src = _node_ids(graph, sources, "sources")
    tgt = _node_ids(graph, targets, "targets")
    sp = np.arange(len(src) + 1, dtype=np.int64)
    tp = np.arange(len(tgt) + 1, dtype=np.int64)
    return _kernels.matrix(
        graph.indptr, graph.indices, graph.time_s,
        sp, src, np.zeros(len(src)), tp, tgt, np.zeros(len(tgt)), _cutoff(cutoff_s),
        red=graph.reduced(),
    )
