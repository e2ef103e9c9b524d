"""Snap places (lon/lat) onto the road graph, honestly.

A place snaps to the nearest vertex of the road network (a junction or any shape point along a
road) within ``max_distance_m``, searched with a KD-tree in a local azimuthal equidistant
projection and checked with the great-circle distance. The straight access leg is added at
``connector_speed_kmh``. A place on a contracted road stretch gets *anchors*: the graph nodes at
both ends of its stretch, with the time along the road to or from each. Places beyond the limit
are reported (``ok`` False), never moved.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import InvalidParameterError, SnapError
from ..graph import Graph
from ..osm import haversine_m
from ..settings import CONNECTOR_SPEED_KMH, SNAP_MAX_DISTANCE_M

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
    max_distance_m: float

    def __len__(self) -> int:
        return len(self.lon)

    @property
    def unsnapped(self) -> np.ndarray:
        """Positions of the places that did not snap."""
        return np.flatnonzero(~self.ok)


def _tree(graph: Graph):
    """KD-tree over all road vertices (nodes, then shape points), in a local metric projection."""
    if "kdtree" not in graph._cache:
        from pyproj import Transformer
        from scipy.spatial import cKDTree

        xs = np.concatenate([graph.x, graph.shape_x])
        ys = np.concatenate([graph.y, graph.shape_y])
        lon0 = float(np.median(xs))
        lat0 = float(np.median(ys))
        tr = Transformer.from_crs(
            "EPSG:4326", f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +datum=WGS84 +units=m", always_xy=True
        )
        px, py = tr.transform(xs, ys)
        graph._cache["kdtree"] = (cKDTree(np.column_stack([px, py])), tr, xs, ys)
    return graph._cache["kdtree"]


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
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    if lon.shape != lat.shape or lon.ndim != 1:
        raise InvalidParameterError(f"lon and lat must be 1-d of the same length, got {lon.shape} and {lat.shape}")
    bad = ~(np.isfinite(lon) & np.isfinite(lat) & (np.abs(lon) <= 180) & (np.abs(lat) <= 90))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise InvalidParameterError(f"point {i} has invalid coordinates lon={lon[i]!r}, lat={lat[i]!r}")
    if not max_distance_m >= 0:
        raise InvalidParameterError(f"max_distance_m must be >= 0 metres, got {max_distance_m!r}")
    if not connector_speed_kmh > 0:
        raise InvalidParameterError(f"connector_speed_kmh must be > 0, got {connector_speed_kmh!r}")

    n = len(lon)
    nn = graph.n_nodes
    tree, tr, xs, ys = _tree(graph)
    if n:
        px, py = tr.transform(lon, lat)
        _, vert = tree.query(np.column_stack([px, py]), k=1)
        vert = np.asarray(vert, dtype=np.int64)
    else:
        vert = np.zeros(0, dtype=np.int64)
    vx, vy = xs[vert], ys[vert]
    dist = haversine_m(lon, lat, vx, vy)
    ok = dist <= max_distance_m
    if strict and not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise SnapError(
            f"point ({lon[i]:.6f}, {lat[i]:.6f}) is {dist[i]:,.0f} m from the nearest road of the "
            f"network, more than the {max_distance_m:,.0f} m allowed: is it inside the extract?"
        )
    acc = np.where(ok, dist / (connector_speed_kmh / 3.6), np.nan)

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
        max_distance_m=float(max_distance_m),
    )


def subset_snapped(s: Snapped, idx) -> Snapped:
    """The places ``idx`` (positions, in that order) of a :class:`Snapped`, re-indexed."""
    idx = np.asarray(idx, dtype=np.int64)

    def take_csr(ptr, *cols):
        counts = ptr[idx + 1] - ptr[idx]
        new_ptr = np.zeros(len(idx) + 1, dtype=np.int64)
        np.cumsum(counts, out=new_ptr[1:])
        pos = np.repeat(ptr[idx] - new_ptr[:-1], counts) + np.arange(new_ptr[-1])
        return (new_ptr, *(c[pos] for c in cols))

    out_ptr, out_node, out_t, out_l = take_csr(s.out_ptr, s.out_node, s.out_time_s, s.out_length_m)
    in_ptr, in_node, in_t, in_l = take_csr(s.in_ptr, s.in_node, s.in_time_s, s.in_length_m)
    return Snapped(
        lon=s.lon[idx], lat=s.lat[idx], ok=s.ok[idx], distance_m=s.distance_m[idx], access_s=s.access_s[idx],
        out_ptr=out_ptr, out_node=out_node, out_time_s=out_t, out_length_m=out_l,
        in_ptr=in_ptr, in_node=in_node, in_time_s=in_t, in_length_m=in_l,
        chain=s.chain[idx], chain_offset_s=s.chain_offset_s[idx], chain_offset_m=s.chain_offset_m[idx],
        max_distance_m=s.max_distance_m,
    )
