"""Many-to-many seconds and metres between places, by the strategy that wins for the size.

Strategies (:data:`STRATEGIES`):

``"dijkstra"``
    One search per origin on the reduced core, stopping once every destination is settled; no
    preparation. Seconds only: the bucket-queue kernel of :func:`accessibility.routing.place_matrix`;
    with metres: a heap search on (seconds, metres) labels.
``"ch"``
    Bucket many-to-many on a :class:`~accessibility.routing.ch.ContractionHierarchy`: a backward
    upward search from every destination fills buckets, a forward upward search from every
    origin scans them.
``"phast"``
    Restricted PHAST on the hierarchy: an upward search from every origin, then one sweep over
    the nodes above the destinations, in decreasing rank.
``"auto"``
    Decided by :func:`choose_strategy` alone, from the sizes and what is prepared (a hierarchy
    passed in, or saved beside the cached graph): never from what earlier calls did in this
    process.

Every strategy returns the same seconds (fastest paths, access legs included, up to floating-point
rounding) and, with ``metres=True``, the length of the shortest of the fastest paths.
Unreachable pairs, pairs beyond the cutoff and places that did not snap are ``inf`` in both.
"""

from __future__ import annotations

import numpy as np

from accessibility.errors import InvalidParameterError
from accessibility.network.graph import Graph
from accessibility.routing.ch import ContractionHierarchy, _check_pair
from accessibility.routing.snap import Snapped

__all__ = ["STRATEGIES", "SERIAL_BELOW", "HIERARCHY_ABOVE_PAIRS", "MatrixQuery", "travel_matrix_s",
           "node_matrix_s", "travel_matrix", "node_matrix", "choose_strategy", "resolve_strategy",
           "add_same_stretch"]

#: The strategies of :func:`travel_matrix`.
STRATEGIES = ("auto", "dijkstra", "ch", "phast")
#: Fewer sources (rows) or targets (backward searches) than this run on one thread: a parallel
#: region costs more than such work on a loaded 2-core machine (measured, see the README).
SERIAL_BELOW = 128


def _threads() -> int:
    from numba import get_num_threads

    return get_num_threads()


#: Above this many pairs (origins x destinations), ``"auto"`` builds the contraction hierarchy
#: when none is prepared. Measured on PACA (``benchmarks/README.md``, "Strategies by size"): one
#: Dijkstra per origin takes 1.68 s for 300 x 300 places and 4.79 s for 1,000 x 1,000, the
#: hierarchy 6.0-6.5 s to build (1.3 s on the embedded graph), then ``"ch"`` answers the same
#: matrices in 0.0125 s and 0.057 s (35-175x faster from 10 to 3,000 places, 11x at 10,000).
#: At 250,000 pairs (500 x 500) one build costs about two such Dijkstra matrices; saved beside a
#: cached graph, it is paid once for every later call and process.
HIERARCHY_ABOVE_PAIRS = 250_000


def choose_strategy(
    n_origins: int, n_destinations: int, *, prepared: bool, strategy: str = "auto"
) -> str:
    """The strategy ``"auto"`` resolves to (others are returned as given, once checked).

    The one rule of the package (:func:`accessibility.engine.places.matrix_s`, the distancier and
    :func:`travel_matrix_s` all call it), a pure function of its arguments:

    - ``"ch"`` when a hierarchy is ``prepared`` (given by the caller, or saved beside the cached
      graph): with one, ``"ch"`` won or tied at every size measured on PACA, 10 to 10,000 places
      (restricted PHAST was 1.07-3.8x slower up to 3,000 places and within noise at 10,000, 0.92);
    - ``"ch"`` when ``n_origins * n_destinations > HIERARCHY_ABOVE_PAIRS`` (the hierarchy is then
      built, see :data:`HIERARCHY_ABOVE_PAIRS` for the measured crossover);
    - ``"dijkstra"`` otherwise (no preparation).

    Parameters
    ----------
    n_origins, n_destinations : int
        Matrix size.
    prepared : bool
        Whether a hierarchy of the graph is at hand without building it.
    strategy : {"auto", "dijkstra", "ch", "phast"}

    Raises
    ------
    InvalidParameterError
        Unknown strategy.
    """
    if strategy not in STRATEGIES:
        raise InvalidParameterError(f"strategy must be one of {', '.join(STRATEGIES)}, got {strategy!r}")
    if strategy != "auto":
        return strategy
    if prepared or int(n_origins) * int(n_destinations) > HIERARCHY_ABOVE_PAIRS:
        return "ch"
    return "dijkstra"


def resolve_strategy(graph: Graph, n_origins: int, n_destinations: int, *, strategy: str = "auto",
                     hierarchy: ContractionHierarchy | None = None) -> tuple[str, ContractionHierarchy | None]:
    """The strategy (:func:`choose_strategy`, ``prepared`` meaning ``hierarchy`` is given or one is
    saved beside the cached graph) and the hierarchy it needs (read or built when needed)."""
    from accessibility.network.derived import has_saved_hierarchy
    from accessibility.routing.ch import hierarchy as graph_hierarchy

    prepared = hierarchy is not None or has_saved_hierarchy(graph)
    s = choose_strategy(n_origins, n_destinations, prepared=prepared, strategy=strategy)
    if s in ("ch", "phast") and hierarchy is None:
        hierarchy = graph_hierarchy(graph)  # from the graph's cache directory when it has one
    return s, hierarchy


class MatrixQuery:
    """Destinations prepared once for a strategy, then rows for any block of origins.

    RoutingKit-style reusable query: the preparation (buckets, or the restricted sweep of
    PHAST) depends on the destinations only, so a large matrix can be computed block by block of
    origins (e.g. streamed to disk) without redoing it.

    Parameters
    ----------
    graph : Graph
    tgt_ptr, tgt_nodes, tgt_time_s, tgt_length_m : np.ndarray
        Destination ``j`` is reached from node ``tgt_nodes[k]`` after ``tgt_time_s[k]`` seconds
        and ``tgt_length_m[k]`` metres, ``k`` in ``tgt_ptr[j]:tgt_ptr[j+1]`` (no entry: never).
    strategy : {"dijkstra", "ch", "phast"}
    hierarchy : ContractionHierarchy, optional
        Needed by ``"ch"`` and ``"phast"``.
    cutoff : float
        Seconds; larger times are ``inf``.
    stall : bool, default True
        Stall-on-demand in the upward searches of ``"ch"``.
    """

    def __init__(self, graph: Graph, tgt_ptr, tgt_nodes, tgt_time_s, tgt_length_m, *,
                 strategy: str, hierarchy: ContractionHierarchy | None, cutoff: float,
                 stall: bool = True) -> None:
        from accessibility.routing import _ch

        if strategy not in ("dijkstra", "ch", "phast"):
            raise InvalidParameterError(f"strategy must be dijkstra, ch or phast here, got {strategy!r}")
        if strategy != "dijkstra":
            if hierarchy is None:
                raise InvalidParameterError(f"strategy {strategy!r} needs a contraction hierarchy")
            _check_pair(graph, hierarchy)
        self.graph = graph
        self.strategy = strategy
        self.ch = hierarchy
        self.cutoff = float(cutoff)
        self.stall = bool(stall)
        i64, f64 = np.int64, np.float64
        self.tgt = (np.asarray(tgt_ptr, dtype=i64), np.asarray(tgt_nodes, dtype=i64),
                    np.asarray(tgt_time_s, dtype=f64), np.asarray(tgt_length_m, dtype=f64))
        self.n_targets = len(self.tgt[0]) - 1
        n = graph.n_nodes
        red = graph.reduced() if strategy == "dijkstra" else None
        if red is not None:
            self._anchors = red.anchors()
        else:
            self._anchors = self._hierarchy().anchors()
        node_rank, a1, o1, o1m, a2, o2, o2m = self._anchors
        self._tn = _ch._node_targets(n, *self.tgt, node_rank)
        self._ts = _ch._target_seeds(a1, o1, o1m, a2, o2, o2m, *self.tgt)
        if strategy == "ch":
            ch = self._hierarchy()
            ts_ptr, ts_node, ts_t, ts_l = self._ts
            threads = _threads() if self.n_targets >= SERIAL_BELOW else 1
            cap = max(1024, 512 * (-(-self.n_targets // max(1, threads))))
            while True:
                bn, bt, bl, start, count, used = _ch.backward_spaces(
                    ch.up(), ch.down(), self._ts, self.cutoff, self.stall, cap, threads)
                if used.max(initial=0) <= cap:
                    break
                cap = int(used.max())
            self._buckets = _ch._bucket_csr(ch.n_core, bn, bt, bl, start, count)
            self.bucket_entries = int(len(self._buckets[1]))
        elif strategy == "phast":
            ch = self._hierarchy()
            ts_ptr, ts_node, ts_t, ts_l = self._ts
            sel, loc, r_ptr, r_src, r_t, r_l = _ch.rphast_select(*ch.down(), ts_node.astype(i64))
            self._sweep = (sel, loc, r_ptr, r_src, r_t, r_l)
            self._ts_loc = (ts_ptr, loc[ts_node], ts_t, ts_l)
            self.swept_nodes = int(len(sel))
        elif red is not None:
            self._core = (red.c_indptr.astype(i64), red.c_indices, red.c_time_s, red.c_length_m)

    def _hierarchy(self) -> ContractionHierarchy:
        if self.ch is None:
            raise InvalidParameterError(f"strategy {self.strategy!r} needs a contraction hierarchy")
        return self.ch

    def rows(self, src_ptr, src_nodes, src_time_s, src_length_m, *, metres: bool = True
             ) -> tuple[np.ndarray, np.ndarray | None]:
        """Seconds (and metres) from each origin of a block to every destination.

        Origin ``i`` leaves from ``src_nodes[k]`` after ``src_time_s[k]`` seconds and
        ``src_length_m[k]`` metres, ``k`` in ``src_ptr[i]:src_ptr[i+1]``.

        Returns
        -------
        seconds : np.ndarray of float64, shape (n_origins, n_destinations)
        metres : np.ndarray of float64, same shape, or None when ``metres`` is False
        """
        from accessibility.routing import _ch, _kernels

        g = self.graph
        i64, f64 = np.int64, np.float64
        sp = np.asarray(src_ptr, dtype=i64)
        sn = np.asarray(src_nodes, dtype=i64)
        st = np.asarray(src_time_s, dtype=f64)
        sl = np.asarray(src_length_m, dtype=f64)
        ns = len(sp) - 1
        if self.strategy == "dijkstra" and not metres:
            tp, tn, tt, _ = self.tgt
            return _kernels.matrix(g.indptr, g.indices, g.time_s, sp, sn, st, tp, tn, tt,
                                   self.cutoff, red=g.reduced()), None
        out_t = np.full((ns, self.n_targets), np.inf)
        out_l = np.full((ns, self.n_targets), np.inf) if metres else np.empty((0, 0))
        base = (g.indptr, g.indices, g.time_s, g.length_m)
        threads = _threads() if ns >= SERIAL_BELOW else 1
        src = (sp, sn, st, sl, self.cutoff)
        if self.strategy == "ch":
            ch = self._hierarchy()
            args = (*base, ch.node_rank, *ch.up(), *ch.down(), *self._buckets, *self._tn, *src,
                    self.stall, out_t, out_l, metres)
        elif self.strategy == "phast":
            ch = self._hierarchy()
            args = (*base, ch.node_rank, *ch.up(), *ch.down(), *self._sweep, *self._ts_loc,
                    *self._tn, *src, out_t, out_l, metres)
        else:
            args = (*base, *self._anchors, *self._core, *self._tn, *self._ts, *src, out_t, out_l,
                    metres)
        _ch.run_rows(self.strategy, ns, threads, *args)
        return out_t, (out_l if metres else None)


def travel_matrix_s(
    graph: Graph,
    origins: Snapped,
    destinations: Snapped,
    *,
    strategy: str = "auto",
    hierarchy: ContractionHierarchy | None = None,
    cutoff_s: float | None = None,
    metres: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Seconds and metres from every origin to every destination, parallel over origins.

    The core matrix of the package (arrays in seconds and metres; the user level in minutes and
    km, labelled, is :func:`accessibility.engine.places.travel_time_matrix`). Equal to :func:`accessibility.routing.place_matrix` in seconds, whatever the strategy.

    Parameters
    ----------
    graph : Graph
    origins, destinations : Snapped
        Places snapped onto ``graph`` (:func:`~accessibility.routing.snap.snap_points`).
    strategy : {"auto", "dijkstra", "ch", "phast"}, default "auto"
        See :func:`choose_strategy`. ``"ch"`` and ``"phast"`` use the hierarchy given, else the
        graph's (:func:`accessibility.routing.ch.hierarchy`: kept, saved or built).
    hierarchy : ContractionHierarchy, optional
        Built from ``graph`` (:func:`~accessibility.routing.ch.build_ch` or
        :func:`~accessibility.routing.ch.load_ch`).
    cutoff_s : float, optional
        Larger times (seconds) are ``inf``.
    metres : bool, default True
        Also return the length of each fastest path (the shortest of equally fast ones).

    Returns
    -------
    seconds : np.ndarray of float64, shape (len(origins), len(destinations))
        Access legs included; ``inf`` when unreachable, beyond the cutoff, or for a place that
        did not snap.
    metres : np.ndarray of float64 (same shape) or None
        Road metres plus both access legs; ``inf`` where ``seconds`` is.

    Raises
    ------
    InvalidParameterError
        Unknown strategy, negative cutoff, or a hierarchy of another graph.
    """
    from accessibility.routing.dijkstra import _cutoff

    cut = _cutoff(cutoff_s)
    s, ch = resolve_strategy(graph, len(origins), len(destinations), strategy=strategy, hierarchy=hierarchy)
    q = MatrixQuery(graph, destinations.in_ptr, destinations.in_node, destinations.in_time_s,
                    destinations.in_length_m, strategy=s, hierarchy=ch, cutoff=cut)
    out_t, out_l = q.rows(origins.out_ptr, origins.out_node, origins.out_time_s,
                          origins.out_length_m, metres=metres)
    add_same_stretch(out_t, out_l, origins, destinations, cut)
    return out_t, out_l


def add_same_stretch(out_t: np.ndarray, out_l: np.ndarray | None, origins: Snapped,
                     destinations: Snapped, cutoff: float) -> None:
    """Merge, in place, the trips along one contracted stretch (they pass no graph node, so no
    search sees them): a better time wins, and an equal time with fewer metres."""
    from accessibility.routing.points import _same_chain

    ia, ib, t, m = _same_chain(origins, destinations)
    for i, j, ti, mi in zip(ia, ib, t, m):
        shorter = out_l is not None and ti == out_t[i, j] and mi < out_l[i, j]
        if ti <= cutoff and (ti < out_t[i, j] or shorter):
            out_t[i, j] = ti
            if out_l is not None:
                out_l[i, j] = mi


def node_matrix_s(
    graph: Graph,
    sources,
    targets,
    *,
    strategy: str = "auto",
    hierarchy: ContractionHierarchy | None = None,
    cutoff_s: float | None = None,
    metres: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`travel_matrix_s` between graph nodes (ids ``0 <= id < graph.n_nodes``).

    Raises
    ------
    InvalidParameterError
        Bad node id, unknown strategy, negative cutoff, or a hierarchy of another graph.
    """
    from accessibility.routing.dijkstra import _cutoff, _node_ids

    src = _node_ids(graph, sources, "sources")
    tgt = _node_ids(graph, targets, "targets")
    cut = _cutoff(cutoff_s)
    s, ch = resolve_strategy(graph, len(src), len(tgt), strategy=strategy, hierarchy=hierarchy)
    q = MatrixQuery(graph, np.arange(len(tgt) + 1), tgt, np.zeros(len(tgt)), np.zeros(len(tgt)),
                    strategy=s, hierarchy=ch, cutoff=cut)
    return q.rows(np.arange(len(src) + 1), src, np.zeros(len(src)), np.zeros(len(src)),
                  metres=metres)


#: Former names of :func:`travel_matrix_s` and :func:`node_matrix_s`, kept for the benchmarks and
#: older callers; new code uses the ``_s`` names (seconds and metres arrays).
travel_matrix = travel_matrix_s
node_matrix = node_matrix_s
