"""Routing between places snapped onto the graph (see :mod:`accessibility.routing.snap`).

Times are seconds and include both access legs. Places that did not snap get ``inf`` (callers
turn it into NaN in tables and report them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accessibility._geo import haversine_m
from accessibility.errors import InvalidParameterError, SnapError
from accessibility.network.graph import Graph
from accessibility.routing import _kernels
from accessibility.routing.dijkstra import _cutoff, check_graph_arg
from accessibility.routing.snap import Snapped, snap_points, subset_snapped

__all__ = ["nearest_place", "nearest_place_groups", "place_matrix", "Route", "route"]


def as_snapped(x, what: str) -> Snapped:
    """The :class:`Snapped` of ``x`` (a :class:`~accessibility.engine.places.Places` or a
    :class:`Snapped`), or :class:`InvalidParameterError` naming what was given."""
    if isinstance(x, Snapped):
        return x
    sn = getattr(x, "snapped", None)
    if isinstance(sn, Snapped):
        return sn
    raise InvalidParameterError(
        f"{what} must be places put on the graph (accessibility.Places, or Snapped from "
        f"snap_points), got {type(x).__name__}"
    )


def _same_vertex(a: Snapped, b: Snapped) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Direct trips between places snapped onto the same road vertex: the straight line between
    them at the connector speed (a place to itself: 0), shorter than both access legs."""
    ia = np.flatnonzero(a.ok & (a.vertex >= 0))
    ib = np.flatnonzero(b.ok & (b.vertex >= 0))
    if not len(ia) or not len(ib):
        e = np.zeros(0, dtype=np.int64)
        return e, e, np.zeros(0), np.zeros(0)
    order = np.argsort(b.vertex[ib], kind="stable")
    ibs = ib[order]
    keys = b.vertex[ibs]
    lo = np.searchsorted(keys, a.vertex[ia], side="left")
    hi = np.searchsorted(keys, a.vertex[ia], side="right")
    cnt = hi - lo
    pa = np.repeat(ia, cnt)
    pb = ibs[np.concatenate([np.arange(l, h) for l, h in zip(lo, hi)])] if cnt.sum() else np.zeros(0, dtype=np.int64)
    metres = haversine_m(a.lon[pa], a.lat[pa], b.lon[pb], b.lat[pb])
    return pa.astype(np.int64), pb.astype(np.int64), metres / (a.connector_speed_kmh / 3.6), metres


def _same_chain(a: Snapped, b: Snapped) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Direct trips from a place of ``a`` to a place of ``b`` that pass no graph node: along one
    contracted stretch, or between places on the same road vertex (:func:`_same_vertex`).

    The anchor search cannot see them. Returns the pairs ``(ia, ib, seconds, metres)``.
    """
    ia_l, ib_l, t_l, m_l = [], [], [], []
    for sa in range(2):
        for sb in range(2):
            ca = np.where(a.ok, a.chain[:, sa], -1)
            cb = np.where(b.ok, b.chain[:, sb], -1)
            ia = np.flatnonzero(ca >= 0)
            ib = np.flatnonzero(cb >= 0)
            if not len(ia) or not len(ib):
                continue
            order = np.argsort(cb[ib], kind="stable")
            ib_sorted = ib[order]
            keys = cb[ib_sorted]
            lo = np.searchsorted(keys, ca[ia], side="left")
            hi = np.searchsorted(keys, ca[ia], side="right")
            for i, l, h in zip(ia, lo, hi):
                for j in ib_sorted[l:h]:
                    d = b.chain_offset_s[j, sb] - a.chain_offset_s[i, sa]
                    if d >= 0:
                        ia_l.append(i)
                        ib_l.append(j)
                        t_l.append(d + a.access_s[i] + b.access_s[j])
                        m_l.append(
                            b.chain_offset_m[j, sb] - a.chain_offset_m[i, sa]
                            + a.distance_m[i] + b.distance_m[j]
                        )
    va, vb, vt, vm = _same_vertex(a, b)
    return (
        np.concatenate([np.asarray(ia_l, dtype=np.int64), va]),
        np.concatenate([np.asarray(ib_l, dtype=np.int64), vb]),
        np.concatenate([np.asarray(t_l, dtype=np.float64), vt]),
        np.concatenate([np.asarray(m_l, dtype=np.float64), vm]),
    )


def nearest_place(
    graph: Graph,
    origins,
    places,
    *,
    cutoff_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """For every origin, the time to the nearest of ``places`` and which one it is (one search).

    This is the "nearest service" question: from each commune centre (``origins``) to the
    nearest commune having an equipment (``places``). One multi-source search runs on the
    reverse graph from all places at once.

    Parameters
    ----------
    graph : Graph
    origins, places : Places or Snapped
        Places put on ``graph`` (:class:`~accessibility.engine.places.Places`, or
        :func:`~accessibility.routing.snap.snap_points`); those not placed are ignored.
    cutoff_s : float, optional
        Times above it (seconds) are ``inf``.

    Returns
    -------
    time_s : np.ndarray of float64, shape (len(origins),)
        Seconds, access legs included; ``inf`` when unreachable, beyond the cutoff, or when the
        origin did not snap.
    nearest : np.ndarray of int64, shape (len(origins),)
        Position in ``places`` of the nearest place, -1 where ``time_s`` is ``inf``.
    """
    check_graph_arg(graph)
    origins = as_snapped(origins, "origins")
    places = as_snapped(places, "places")
    cut = _cutoff(cutoff_s)
    n = len(origins)
    # Seeds: each place's "in" anchors (node -> place); search on the reverse graph.
    lab = np.repeat(np.arange(len(places), dtype=np.int64), np.diff(places.in_ptr))
    dist, label = _kernels.multi_source(
        graph.rev_indptr, graph.rev_indices, graph.rev_time_s,
        places.in_node, places.in_time_s, lab, cut, red=graph.reduced(reverse=True),
    )
    # candidates: every anchor of every origin, then the direct trips that pass no node; per
    # origin the smallest time wins, ties going to the earliest candidate
    ia, ib, t, _ = _same_chain(origins, places)
    pt = np.concatenate([np.repeat(np.arange(n, dtype=np.int64), np.diff(origins.out_ptr)), ia])
    cand = np.concatenate([origins.out_time_s + dist[origins.out_node], t])
    which = np.concatenate([label[origins.out_node], ib])
    time_s = np.full(n, np.inf)
    nearest = np.full(n, -1, dtype=np.int64)
    order = np.lexsort((np.arange(len(pt)), cand, pt))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pt[order][1:] != pt[order][:-1]
    sel = order[first]
    time_s[pt[sel]] = cand[sel]
    nearest[pt[sel]] = which[sel]
    far = ~(time_s <= cut)
    time_s[far] = np.inf
    nearest[far] = -1
    return time_s, nearest


def nearest_place_groups(
    graph: Graph,
    origins,
    places,
    groups: np.ndarray,
    *,
    cutoff_s: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """:func:`nearest_place` for several groups of places at once, parallel over groups.

    The "nearest commune having each equipment" question: group ``k`` is the places ``p`` with
    ``groups[p, k]``; for every origin and group, the time to the nearest place of the group and
    which place it is. Each group is one multi-source search (on the reverse graph), answered at
    the origins' anchors only; results equal :func:`nearest_place` on each group.

    Parameters
    ----------
    graph : Graph
    origins, places : Places or Snapped
    groups : np.ndarray of bool, shape (len(places), m)
    cutoff_s : float, optional

    Returns
    -------
    time_s : np.ndarray of float64, shape (len(origins), m)
        Seconds; ``inf`` where no place of the group is reachable (or the origin is not placed).
    nearest : np.ndarray of int64, shape (len(origins), m)
        Position in ``places`` of the nearest place of the group, -1 where ``inf``.
    """
    check_graph_arg(graph)
    origins = as_snapped(origins, "origins")
    places = as_snapped(places, "places")
    groups = np.asarray(groups, dtype=bool)
    if groups.ndim != 2 or groups.shape[0] != len(places):
        raise InvalidParameterError(f"groups must have shape (len(places)={len(places)}, m), got {groups.shape}")
    cut = _cutoff(cutoff_s)
    n, m = len(origins), groups.shape[1]
    groups = groups & places.ok[:, None]
    # seeds of group k: the "in" anchors of its places, labelled by place position
    n_anchor = np.diff(places.in_ptr)
    anchor_place = np.repeat(np.arange(len(places), dtype=np.int64), n_anchor)
    cols, rows = np.nonzero(groups.T)  # sorted by group
    counts = np.bincount(cols, minlength=m)
    seed_pos = np.concatenate([np.arange(places.in_ptr[p], places.in_ptr[p + 1]) for p in rows]) if len(rows) else np.zeros(0, np.int64)
    seed_group_counts = np.bincount(cols, weights=n_anchor[rows], minlength=m).astype(np.int64)
    gptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(seed_group_counts, out=gptr[1:])
    del counts
    qnodes, qidx = np.unique(origins.out_node, return_inverse=True)
    d, lab = _kernels.grouped_multi_source(
        graph.rev_indptr, graph.rev_indices, graph.rev_time_s, gptr, places.in_node[seed_pos],
        places.in_time_s[seed_pos], anchor_place[seed_pos], qnodes, cut, red=graph.reduced(reverse=True),
    )
    time_s = np.full((n, m), np.inf)
    nearest = np.full((n, m), -1, dtype=np.int64)
    # per origin, its anchors in order: strictly better replaces (ties go to the earliest anchor)
    owner = np.repeat(np.arange(n, dtype=np.int64), np.diff(origins.out_ptr))
    rank = np.arange(len(owner)) - origins.out_ptr[owner]
    for r in range(int(rank.max()) + 1 if len(rank) else 0):
        sel = np.flatnonzero(rank == r)
        o = owner[sel]
        cand = origins.out_time_s[sel][:, None] + d[:, qidx[sel]].T
        better = cand < time_s[o]
        time_s[o] = np.where(better, cand, time_s[o])
        nearest[o] = np.where(better, lab[:, qidx[sel]].T, nearest[o])
    # trips that pass no node, in their order: strictly better replaces
    ia, ib, t, _ = _same_chain(origins, places)
    for i, j, tt in zip(ia, ib, t):
        ks = np.flatnonzero(groups[j] & (tt < time_s[i]))
        time_s[i, ks] = tt
        nearest[i, ks] = j
    far = ~(time_s <= cut)
    time_s[far] = np.inf
    nearest[far] = -1
    return time_s, nearest


def place_matrix(graph: Graph, origins, destinations, *, cutoff_s: float | None = None) -> np.ndarray:
    """Times from every origin to every destination, parallel over origins.

    Core level (seconds), one bucket-queue Dijkstra per origin: the ``"dijkstra"`` strategy of
    :func:`accessibility.routing.matrix.travel_matrix_s` without metres, kept as the reference the
    other strategies are checked against. ``origins`` and ``destinations`` are :class:`~accessibility.engine.places.Places` (or
    :class:`Snapped`) put on ``graph``.

    Returns
    -------
    np.ndarray of float64, shape (len(origins), len(destinations))
        Seconds, access legs included; ``inf`` when unreachable, beyond the cutoff, or for a
        place that did not snap.
    """
    check_graph_arg(graph)
    origins = as_snapped(origins, "origins")
    destinations = as_snapped(destinations, "destinations")
    cut = _cutoff(cutoff_s)
    out = _kernels.matrix(
        graph.indptr, graph.indices, graph.time_s,
        origins.out_ptr, origins.out_node, origins.out_time_s,
        destinations.in_ptr, destinations.in_node, destinations.in_time_s, cut, red=graph.reduced(),
    )
    ia, ib, t, _ = _same_chain(origins, destinations)
    if len(ia):
        np.minimum.at(out, (ia, ib), t)
    return out


@dataclass(frozen=True)
class Route:
    """A fastest car route between two places.

    Attributes
    ----------
    seconds : float
        Travel time, access legs included.
    metres : float
        Road length plus both straight access legs.
    origin_snap_m, destination_snap_m : float
        Length of each access leg (metres).
    """

    seconds: float
    metres: float
    origin_snap_m: float
    destination_snap_m: float

    @property
    def minutes(self) -> float:
        """Travel time in minutes."""
        return self.seconds / 60.0

    @property
    def km(self) -> float:
        """Length in kilometres."""
        return self.metres / 1000.0


def route(
    graph: Graph,
    origin: tuple[float, float],
    destination: tuple[float, float],
    *,
    max_distance_m: float | None = None,
) -> Route:
    """Fastest route between two (lon, lat) places.

    Raises
    ------
    SnapError
        A place is farther from the network than the snapping limit.
    InvalidParameterError
        Bad coordinates.
    """
    check_graph_arg(graph)
    kw = {} if max_distance_m is None else {"max_distance_m": max_distance_m}
    s = snap_points(graph, [origin[0], destination[0]], [origin[1], destination[1]], strict=True, **kw)
    o0, o1 = s.out_ptr[0], s.out_ptr[1]
    d0, d1 = s.in_ptr[1], s.in_ptr[2]
    dist, label, pred = _kernels.one_to_one_path(
        graph.indptr, graph.indices, graph.time_s,
        s.out_node[o0:o1], s.out_time_s[o0:o1], s.in_node[d0:d1], np.inf,
    )
    best_t = np.inf
    best_m = np.inf
    for k in range(d0, d1):
        node = s.in_node[k]
        t = dist[node] + s.in_time_s[k]
        if t < best_t:
            # road length along the predecessor chain, plus both anchor lengths
            metres = s.in_length_m[k]
            v = node
            while pred[v] >= 0:
                e = pred[v]
                metres += graph.length_m[e]
                v = int(np.searchsorted(graph.indptr, e, side="right") - 1)
            metres += s.out_length_m[o0 + label[node]]
            best_t, best_m = t, metres
    # a trip along one stretch without passing a node
    _, _, t, m = _same_chain(subset_snapped(s, [0]), subset_snapped(s, [1]))
    for k in range(len(t)):
        if t[k] < best_t:
            best_t, best_m = t[k], m[k]
    if not np.isfinite(best_t):
        raise SnapError(
            f"no route from {origin} to {destination}: the places are on parts of the network "
            "that do not connect"
        )
    return Route(
        seconds=float(best_t),
        metres=float(best_m),
        origin_snap_m=float(s.distance_m[0]),
        destination_snap_m=float(s.distance_m[1]),
    )

