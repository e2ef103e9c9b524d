"""Snap places (lon/lat) onto the road graph, honestly.

A place snaps to the nearest vertex of the road network (a junction or any shape point along a
road) within ``max_distance_m``, searched with the graph's grid index
(:meth:`~accessibility.network.graph.Graph.snap_index`, in a local azimuthal equidistant projection) and
measured with the great-circle distance. The straight access leg is added at
``connector_speed_kmh``. A place on a contracted road stretch gets *anchors*: the graph nodes at
both ends of its stretch, with the time along the road to or from each. Places beyond the limit
are reported (``ok`` False), never moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from accessibility._geo import haversine_m
from accessibility.errors import InvalidParameterError, SnapError
from accessibility.network.graph import Graph
from accessibility.routing.dijkstra import check_graph_arg
from accessibility.settings import CONNECTOR_SPEED_KMH, SNAP_MAX_DISTANCE_M

__all__ = ["Snapped", "snap_points", "subset_snapped"]


@dataclass(frozen=True)
class Snapped:
    """Places snapped onto a graph.

    Anchors are stored CSR-style: the ways out of place ``i`` are
    ``out_node[out_ptr[i]:out_ptr[i+1]]`` reached after ``out_time_s`` seconds (access leg
    included); the ways in are ``in_node[...]`` from which the place is ``in_time_s`` away.
    A place that did not snap has no anchor.

    Attributes
    ----------
    lon, lat : np.ndarray of float64
        The places.
    ok : np.ndarray of bool
        Snapped within the maximum distance.
    distance_m : np.ndarray of float64
        Distance to the nearest road vertex (metres), also for places that did not snap.
    access_s : np.ndarray of float64
        Time of the access leg (seconds); NaN when not snapped.
    out_ptr, out_node, out_time_s, out_length_m, in_ptr, in_node, in_time_s, in_length_m
        Anchors (see above). Lengths (metres) include the access leg.
    chain, chain_offset_s, chain_offset_m : np.ndarray, shape (n, 2)
        Contracted road stretch(es) the place lies on (-1 when on a node) and its offset.
    vertex : np.ndarray of int64
        Road vertex the place snapped to (node id, or ``n_nodes`` + shape point), -1 when not
        snapped. Two places on the same vertex are joined directly by their access legs.
    max_distance_m : float
        The limit used.
    """

    lon: np.ndarray
    lat: np.ndarray
    ok: np.ndarray
    distance_m: np.ndarray
    access_s: np.ndarray
    out_ptr: np.ndarray
    out_node: np.ndarray
    out_time_s: np.ndarray
    out_length_m: np.ndarray
    in_ptr: np.ndarray
    in_node: np.ndarray
    in_time_s: np.ndarray
    in_length_m: np.ndarray
    chain: np.ndarray
    chain_offset_s: np.ndarray
    chain_offset_m: np.ndarray
    vertex: np.ndarray
    max_distance_m: float
    connector_speed_kmh: float = CONNECTOR_SPEED_KMH

    def __len__(self) -> int:
        return len(self.lon)

    @property
    def unsnapped(self) -> np.ndarray:
        """Positions of the places that did not snap."""
        return np.flatnonzero(~self.ok)

    def take(self, idx) -> Snapped:
        """The places ``idx`` (positions, in that order; -1 gives a place that did not snap)."""
        return subset_snapped(self, idx)

    def drop(self, mask) -> Snapped:
        """The same places, those of ``mask`` turned into places that did not snap."""
        idx = np.arange(len(self), dtype=np.int64)
        idx[np.asarray(mask, dtype=bool)] = -1
        out = subset_snapped(self, idx)
        # keep their coordinates and measured distance
        return _replace(out, lon=self.lon.copy(), lat=self.lat.copy(), distance_m=self.distance_m.copy())

    @staticmethod
    def concat(parts: list[Snapped]) -> Snapped:
        """Places of several :class:`Snapped` one after the other (same ``max_distance_m``)."""
        if not parts:
            raise InvalidParameterError("nothing to concatenate")
        def cat_csr(name_ptr, *names):
            ptrs = [getattr(p, name_ptr) for p in parts]
            offs = np.cumsum([0] + [pp[-1] for pp in ptrs[:-1]])
            ptr = np.concatenate([[0]] + [pp[1:] + o for pp, o in zip(ptrs, offs)]).astype(np.int64)
            return (ptr, *(np.concatenate([getattr(p, n) for p in parts]) for n in names))
        o = cat_csr("out_ptr", "out_node", "out_time_s", "out_length_m")
        i = cat_csr("in_ptr", "in_node", "in_time_s", "in_length_m")
        cat = lambda n: np.concatenate([getattr(p, n) for p in parts])  # noqa: E731
        return Snapped(
            lon=cat("lon"), lat=cat("lat"), ok=cat("ok"), distance_m=cat("distance_m"),
            access_s=cat("access_s"), out_ptr=o[0], out_node=o[1], out_time_s=o[2], out_length_m=o[3],
            in_ptr=i[0], in_node=i[1], in_time_s=i[2], in_length_m=i[3], chain=cat("chain"),
            chain_offset_s=cat("chain_offset_s"), chain_offset_m=cat("chain_offset_m"),
            vertex=cat("vertex"), max_distance_m=max(p.max_distance_m for p in parts),
            connector_speed_kmh=parts[0].connector_speed_kmh,
        )


def snap_points(
    graph: Graph,
    lon,
    lat,
    *,
    max_distance_m: float = SNAP_MAX_DISTANCE_M,
    connector_speed_kmh: float = CONNECTOR_SPEED_KMH,
    strict: bool = False,
) -> Snapped:
    """Snap places onto the graph.

    Parameters
    ----------
    graph : Graph
    lon, lat : array-like of float
        WGS84 coordinates (degrees).
    max_distance_m : float, default :data:`~accessibility.settings.SNAP_MAX_DISTANCE_M`
        Places farther (metres) from any road vertex are not snapped.
    connector_speed_kmh : float, default :data:`~accessibility.settings.CONNECTOR_SPEED_KMH`
        Speed of the straight access leg.
    strict : bool, default False
        Raise :class:`SnapError` when a place does not snap, instead of reporting it.

    Returns
    -------
    Snapped

    Raises
    ------
    InvalidParameterError
        Coordinates not finite or out of range, lengths differ, or a bad distance/speed.
    SnapError
        With ``strict=True``, a place lies farther than ``max_distance_m`` from the network.
    """
    check_graph_arg(graph)
    lon, lat = _checked_points(lon, lat, max_distance_m, connector_speed_kmh)
    vert, dist = _nearest_vertices(graph, lon, lat)
    ok = dist <= max_distance_m
    if strict and not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise SnapError(
            f"point ({lon[i]:.6f}, {lat[i]:.6f}) is {dist[i]:,.0f} m from the nearest road of the "
            f"network, more than the {max_distance_m:,.0f} m allowed: is it inside the extract?"
        )
    acc = np.where(ok, dist / (connector_speed_kmh / 3.6), np.nan)
    return _anchors(graph, lon, lat, vert, dist, ok, acc, float(max_distance_m), float(connector_speed_kmh))


def _checked_points(lon, lat, max_distance_m, connector_speed_kmh) -> tuple[np.ndarray, np.ndarray]:
    try:
        lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
        lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    except (TypeError, ValueError):
        raise InvalidParameterError(f"lon and lat must be numbers (degrees), got {lon!r:.60} and {lat!r:.60}") from None
    if lon.shape != lat.shape or lon.ndim != 1:
        raise InvalidParameterError(f"lon and lat must be 1-d of the same length, got {lon.shape} and {lat.shape}")
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(f"point {i} has invalid coordinates lon={lon[i]!r}, lat={lat[i]!r}")
    if not _number(max_distance_m) or not max_distance_m >= 0:
        raise InvalidParameterError(f"max_distance_m must be a number >= 0 metres, got {max_distance_m!r}")
    if not _number(connector_speed_kmh) or not (0 < connector_speed_kmh < np.inf):
        raise InvalidParameterError(f"connector_speed_kmh must be a number > 0, got {connector_speed_kmh!r}")
    return lon, lat


def _nearest_vertices(graph: Graph, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Nearest road vertex of each point (grid index) and its great-circle distance (metres)."""
    n, nn = len(lon), graph.n_nodes
    vert, _ = graph.snap_index().nearest(lon, lat)
    on_node = vert < nn
    vx, vy = np.empty(n), np.empty(n)
    vx[on_node], vy[on_node] = graph.x[vert[on_node]], graph.y[vert[on_node]]
    vx[~on_node], vy[~on_node] = graph.shape_x[vert[~on_node] - nn], graph.shape_y[vert[~on_node] - nn]
    return vert, haversine_m(lon, lat, vx, vy)


def _anchors(graph, lon, lat, vert, dist, ok, acc, max_distance_m, connector_speed_kmh) -> Snapped:
    """The anchors of each snapped point: its node, or both ends of the stretch it lies on."""
    n, nn = len(lon), graph.n_nodes
    chain = np.full((n, 2), -1, dtype=np.int64)
    off_s = np.zeros((n, 2))
    off_m = np.zeros((n, 2))
    on_shape = ok & (vert >= nn)
    s = vert[on_shape] - nn
    chain[on_shape] = graph.shape_chain[s]
    off_s[on_shape] = graph.shape_offset_s[s]
    off_m[on_shape] = graph.shape_offset_m[s]

    # per point, anchors in a fixed order: node itself, or (slot 0, slot 1) of its chains
    on_node = ok & (vert < nn)
    idx_pts = []
    for slot in range(2):
        c = chain[:, slot]
        has = on_shape & (c >= 0)
        idx_pts.append(np.flatnonzero(has))
    # Build anchor lists sorted by point index.
    pts = np.concatenate([np.flatnonzero(on_node), idx_pts[0], idx_pts[1]])
    kind = np.concatenate([np.full(on_node.sum(), -1), np.zeros(len(idx_pts[0]), int), np.ones(len(idx_pts[1]), int)])
    order = np.argsort(pts, kind="stable")
    pts, kind = pts[order], kind[order]
    a_node_out = np.empty(len(pts), dtype=np.int64)
    a_node_in = np.empty(len(pts), dtype=np.int64)
    a_t_out = np.empty(len(pts))
    a_t_in = np.empty(len(pts))
    a_l_out = np.empty(len(pts))
    a_l_in = np.empty(len(pts))
    isn = kind < 0
    a_node_out[isn] = vert[pts[isn]]
    a_node_in[isn] = vert[pts[isn]]
    a_t_out[isn] = 0.0
    a_t_in[isn] = 0.0
    a_l_out[isn] = 0.0
    a_l_in[isn] = 0.0
    for slot in range(2):
        sel = kind == slot
        p = pts[sel]
        c = chain[p, slot]
        a_node_out[sel] = graph.chain_head[c]
        a_t_out[sel] = graph.chain_time_s[c] - off_s[p, slot]
        a_l_out[sel] = graph.chain_length_m[c] - off_m[p, slot]
        a_node_in[sel] = graph.chain_tail[c]
        a_t_in[sel] = off_s[p, slot]
        a_l_in[sel] = off_m[p, slot]
    a_t_out += acc[pts]
    a_t_in += acc[pts]
    a_l_out += dist[pts]
    a_l_in += dist[pts]
    cnt = np.bincount(pts, minlength=n)
    ptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(cnt, out=ptr[1:])
    return Snapped(
        lon=lon,
        lat=lat,
        ok=ok,
        distance_m=dist,
        access_s=acc,
        out_ptr=ptr,
        out_node=a_node_out,
        out_time_s=np.maximum(a_t_out, 0.0),
        out_length_m=a_l_out,
        in_ptr=ptr.copy(),
        in_node=a_node_in,
        in_time_s=a_t_in,
        in_length_m=a_l_in,
        chain=chain,
        chain_offset_s=off_s,
        chain_offset_m=off_m,
        vertex=np.where(ok, vert, -1),
        max_distance_m=max_distance_m,
        connector_speed_kmh=connector_speed_kmh,
    )


def _number(x) -> bool:
    return isinstance(x, (int, float, np.integer, np.floating)) and not isinstance(x, bool)


def _replace(s: Snapped, **kw) -> Snapped:
    from dataclasses import replace

    return replace(s, **kw)


def subset_snapped(s: Snapped, idx) -> Snapped:
    """The places ``idx`` (positions, in that order) of a :class:`Snapped`, re-indexed.

    A position of -1 gives a place that did not snap (no anchor, NaN coordinates).
    """
    idx = np.asarray(idx, dtype=np.int64)
    blank = idx < 0
    safe = np.where(blank, 0, idx)

    def take_csr(ptr, *cols):
        counts = np.where(blank, 0, ptr[safe + 1] - ptr[safe]) if len(ptr) > 1 else np.zeros(len(idx), np.int64)
        new_ptr = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(counts, out=new_ptr[1:])
        pos = np.repeat(ptr[safe] - new_ptr[:-1], counts) + np.arange(new_ptr[-1]) if len(ptr) > 1 else np.zeros(0, np.int64)
        return (new_ptr, *(c[pos] for c in cols))

    def col(a, fill):
        if len(a) == 0:
            return np.full((len(idx),) + a.shape[1:], fill, dtype=a.dtype)
        out = a[safe].copy()
        out[blank] = fill
        return out

    out_ptr, out_node, out_t, out_l = take_csr(s.out_ptr, s.out_node, s.out_time_s, s.out_length_m)
    in_ptr, in_node, in_t, in_l = take_csr(s.in_ptr, s.in_node, s.in_time_s, s.in_length_m)
    return Snapped(
        lon=col(s.lon, np.nan), lat=col(s.lat, np.nan), ok=col(s.ok, False),
        distance_m=col(s.distance_m, np.nan), access_s=col(s.access_s, np.nan),
        out_ptr=out_ptr, out_node=out_node, out_time_s=out_t, out_length_m=out_l,
        in_ptr=in_ptr, in_node=in_node, in_time_s=in_t, in_length_m=in_l,
        chain=col(s.chain, -1), chain_offset_s=col(s.chain_offset_s, 0.0),
        chain_offset_m=col(s.chain_offset_m, 0.0), vertex=col(s.vertex, -1),
        max_distance_m=s.max_distance_m, connector_speed_kmh=s.connector_speed_kmh,
    )
