"""Travel-time surfaces: the car time from every cell of a grid to the nearest site.

**Direction.** A cell's time is the time to drive *from the cell to the nearest site* (from the
hamlet to the service), the direction ``access compute`` measures from communes to services:
one multi-source search runs on the reverse graph from the sites' "in" anchors, as
:func:`accessibility.routing.points.nearest_place` does.

**A cell's time** is the best, over the road positions within ``max_offroad_m`` of its centre
(graph nodes *and* the shape points along contracted stretches, found with the graph's snapping
index in its own local projection), of the network time from that position to the nearest site
plus the straight off-road leg at ``connector_speed_kmh`` — the same leg and speed as a place
snapped onto the network (:data:`accessibility.settings.CONNECTOR_SPEED_KMH`). A site within
``max_offroad_m`` of the cell also counts straight (the leg alone), as two places snapped to
the same road vertex do in :func:`accessibility.routing.route`. The network time of a shape
point is the best over its stretch(es) of the time along the stretch to the stretch's head plus
the head's time (a one-way stretch only in its direction), or straight along the stretch to a
site lying on it further on.

A cell with no road position within ``max_offroad_m`` is **nodata**, as is a cell from which no
site can be reached, a cell beyond ``max_minutes``, and a cell outside the area asked for: never
0. Everything is vectorised (numba kernels, parallel over cells); nothing loops over cells in
Python.

**Groups.** With ``groups`` (a ``sites x m`` boolean matrix), the surface is the mean over the
``m`` groups of the time to the nearest site of each group: the raster counterpart of INSEE's
mean access time to the equipments of a gamme (:func:`gamme_surface`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

import numpy as np

from accessibility.engine.places import Places
from accessibility.errors import InvalidParameterError, NoServiceError
from accessibility.isochrones import _kernels
from accessibility.isochrones.grid import (
    DEFAULT_CRS,
    DEFAULT_RESOLUTION_M,
    Grid,
    check_crs,
    check_resolution,
    grid_covering,
)
from accessibility.network.graph import Graph
from accessibility.routing.dijkstra import check_graph_arg
from accessibility.settings import CONNECTOR_SPEED_KMH

__all__ = [
    "OFFROAD_MAX_DISTANCE_M",
    "DIRECTION",
    "Surface",
    "vertex_times",
    "point_times",
    "travel_time_surface",
    "gamme_surface",
]

log = logging.getLogger(__name__)

#: A cell takes its time from road positions at most this far (metres, straight line) from its
#: centre; farther from every road it is nodata. 500 m, the snapping limit of places
#: (:data:`accessibility.settings.SNAP_MAX_DISTANCE_M`): a hamlet set back from its road, a
#: farm at the end of a track that is not in the car graph, but not the far side of a valley.
#: At the 15 km/h connector speed the longest off-road leg is 2 minutes.
OFFROAD_MAX_DISTANCE_M = 500.0

#: What the times measure (recorded in the GeoTIFF tags and ``run.json``).
DIRECTION = "from each cell to the nearest site (as access compute: from the communes to the services)"

#: Groups whose vertex times are held at once (a gamme has 20 to 45 equipments): 8 columns of
#: 850,000 road vertices are 54 MB on the embedded extract.
_GROUPS_PER_CHUNK = 8


@dataclass(frozen=True, eq=False)
class Surface:
    """A travel-time raster.

    Attributes
    ----------
    minutes : np.ndarray of float32, shape (height, width)
        Minutes from each cell to the nearest site (mean over the groups for a gamme); NaN is
        nodata (no road within reach, no site reachable, beyond ``max_minutes``, outside the
        area).
    grid : Grid
        The cells: CRS, transform, resolution.
    sites : Places
        The sites (placed or not, with the reasons).
    max_offroad_m, connector_speed_kmh : float
        The off-road rule used.
    max_minutes : float or None
        Times above it are nodata (None: no limit).
    n_groups : int
        1 for a plain surface, the number of equipments for a gamme surface.
    in_area : np.ndarray of bool, shape (height, width)
        Cells inside the area asked for (all True without an area).
    near_road : np.ndarray of bool, shape (height, width)
        Cells with a road position within ``max_offroad_m`` of their centre, inside the area or
        not (where inhabitants can be: see
        :func:`~accessibility.isochrones.polygons.population_from_communes`).
    seconds : dict
        Wall-clock seconds of the stages: ``search`` (graph searches), ``raster`` (vertex times,
        projections, cells).
    """

    minutes: np.ndarray
    grid: Grid
    sites: Places
    max_offroad_m: float
    connector_speed_kmh: float
    max_minutes: float | None
    n_groups: int
    in_area: np.ndarray
    near_road: np.ndarray
    seconds: dict = field(default_factory=dict)

    @property
    def transform(self):
        """Affine transform of the raster (``affine.Affine``)."""
        return self.grid.transform

    @property
    def crs(self) -> str:
        """CRS of the raster (``"EPSG:2154"``)."""
        return self.grid.crs

    @property
    def counts(self) -> dict:
        """Cells of the grid, in the area, with a time, and nodata inside the area: with no road
        within ``max_offroad_m``, or near a road but beyond ``max_minutes`` (or unreachable)."""
        has = np.isfinite(self.minutes)
        return {
            "cells": int(self.minutes.size),
            "cells_in_area": int(self.in_area.sum()),
            "cells_with_time": int(has.sum()),
            "cells_nodata_in_area": int((self.in_area & ~has).sum()),
            "cells_nodata_no_road": int((self.in_area & ~self.near_road).sum()),
            "cells_nodata_beyond_limit": int((self.in_area & self.near_road & ~has).sum()),
        }

    def sample(self, lon, lat) -> np.ndarray:
        """Minutes of the cells holding WGS84 points (NaN outside the grid or on nodata)."""
        x, y = self.grid.from_wgs84(lon, lat)
        row, col = self.grid.cell_of(x, y)
        out = np.full(len(row), np.nan)
        ok = row >= 0
        out[ok] = self.minutes[row[ok], col[ok]]
        return out


# ------------------------------------------------------------------------------------------
# checks


def _number(value, what: str, *, minimum: float = 0.0, open_min: bool = True, allow_inf: bool = False) -> float:
    if isinstance(value, bool):
        value = None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"{what} must be a number, got {value!r}") from None
    ok = (f > minimum if open_min else f >= minimum) and (allow_inf or np.isfinite(f))
    if not ok or np.isnan(f):
        raise InvalidParameterError(f"{what} must be a number {'>' if open_min else '>='} {minimum:g}, got {value!r}")
    return f


def _checked_sites(graph: Graph, sites, groups) -> tuple[Places, np.ndarray]:
    check_graph_arg(graph)
    if not isinstance(sites, Places):
        raise InvalidParameterError(
            f"sites must be accessibility Places (Places.from_arrays, from_frame, from_communes), got {type(sites).__name__}"
        )
    sites.check_graph(graph)
    if groups is None:
        g = np.ones((len(sites), 1), dtype=bool)
    else:
        try:
            g = np.asarray(groups, dtype=bool)
        except (TypeError, ValueError):
            raise InvalidParameterError("groups must be a boolean matrix (sites x groups)") from None
        if g.ndim != 2 or g.shape[0] != len(sites) or g.shape[1] == 0:
            raise InvalidParameterError(f"groups must have shape (len(sites)={len(sites)}, m >= 1), got {g.shape}")
    g = g & sites.placed[:, None]
    empty = np.flatnonzero(~g.any(axis=0))
    if len(empty):
        what = "no site" if groups is None else f"group {int(empty[0])} has no site"
        counts = {r: int((sites.reason == r).sum()) for r in np.unique(sites.reason[~sites.placed])}
        raise NoServiceError(
            f"{what} placed on the road network ({len(sites):,} sites"
            + (f": {', '.join(f'{v} {k}' for k, v in counts.items())}" if counts else "")
            + "): nothing to measure"
        )
    return sites, g


# ------------------------------------------------------------------------------------------
# vertex times


def _chain_shapes(graph: Graph) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CSR of the shape points of each chain, with the slot that belongs to it (kept on the graph's
    derived state, :func:`accessibility.network.derived.chain_shapes`)."""
    from accessibility.network.derived import chain_shapes

    return chain_shapes(graph)


def _node_times(graph: Graph, sites: Places, groups: np.ndarray, cutoff_s: float) -> np.ndarray:
    """``(n_nodes, m)`` seconds from every node to the nearest site of each group (reverse
    searches from the sites' in-anchors; one search per group, parallel over groups)."""
    from accessibility.routing import _kernels as rk

    sn = sites.snapped
    n_anchor = np.diff(sn.in_ptr)
    anchor_site = np.repeat(np.arange(len(sites), dtype=np.int64), n_anchor)
    m = groups.shape[1]
    red = graph.reduced(reverse=True)
    if m == 1:
        sel = groups[anchor_site, 0]
        d, _ = rk.multi_source(graph.rev_indptr, graph.rev_indices, graph.rev_time_s, sn.in_node[sel],
                               sn.in_time_s[sel], anchor_site[sel], cutoff_s, red=red)
        return np.ascontiguousarray(d[:, None])
    cols, rows = np.nonzero(groups.T)  # sorted by group
    seed_pos = (np.concatenate([np.arange(sn.in_ptr[p], sn.in_ptr[p + 1]) for p in rows])
                if len(rows) else np.zeros(0, np.int64))
    gptr = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(np.bincount(cols, weights=n_anchor[rows], minlength=m).astype(np.int64), out=gptr[1:])
    d, _ = rk.grouped_multi_source(
        graph.rev_indptr, graph.rev_indices, graph.rev_time_s, gptr, sn.in_node[seed_pos], sn.in_time_s[seed_pos],
        anchor_site[seed_pos], np.arange(graph.n_nodes, dtype=np.int64), cutoff_s, red=red,
    )
    return np.ascontiguousarray(d.T)


def _vertex_times_from_nodes(graph: Graph, sites: Places, groups: np.ndarray, node_t: np.ndarray) -> np.ndarray:
    out = np.empty((graph.n_vertices, node_t.shape[1]), dtype=np.float64)
    _kernels.vertex_times(node_t, graph.chain_head.astype(np.int64), graph.chain_time_s,
                          graph.shape_chain.astype(np.int64), graph.shape_offset_s, out)
    ptr, shp, slot = _chain_shapes(graph)
    sn = sites.snapped
    placed = np.flatnonzero(groups.any(axis=1))
    _kernels.direct_on_chains(
        graph.n_nodes, ptr, shp, slot, graph.shape_offset_s, np.ascontiguousarray(sn.chain[placed]),
        np.ascontiguousarray(sn.chain_offset_s[placed]), np.ascontiguousarray(sn.access_s[placed]),
        np.ascontiguousarray(groups[placed]), out,
    )
    return out


def vertex_times(graph: Graph, sites: Places, *, groups=None, cutoff_s: float | None = None) -> np.ndarray:
    """Network time (seconds) from every road vertex to the nearest site, per group.

    Parameters
    ----------
    graph : Graph
    sites : Places
        Put on ``graph``; those not placed are ignored.
    groups : array-like of bool, shape (len(sites), m), optional
        Group ``k`` is the sites ``p`` with ``groups[p, k]``; one group of every site when
        omitted.
    cutoff_s : float, optional
        Node times above it are ``inf``.

    Returns
    -------
    np.ndarray of float64, shape (graph.n_vertices, m)
        Vertex ``v`` is node ``v`` for ``v < graph.n_nodes``, else shape point
        ``v - graph.n_nodes`` (the snapping index's numbering). ``inf`` when unreachable.

    Raises
    ------
    InvalidParameterError
        Bad graph, sites or groups.
    NoServiceError
        A group has no site placed on the graph.
    """
    sites, g = _checked_sites(graph, sites, groups)
    cut = np.inf if cutoff_s is None else _number(cutoff_s, "cutoff_s", open_min=False, allow_inf=True)
    return _vertex_times_from_nodes(graph, sites, g, _node_times(graph, sites, g, cut))


# ------------------------------------------------------------------------------------------
# times at query points


#: Most cells of the sites' grid index along each axis (its cells are the off-road radius, or
#: larger when the sites spread far: a national list with a 1 m radius must not allocate 10^10).
_SITE_GRID_MAX_SIDE = 1024


def _site_grid(px: np.ndarray, py: np.ndarray, cell: float):
    """A small grid index of the sites' projected points (same layout as the snapping index)."""
    span = float(max(px.max() - px.min(), py.max() - py.min())) if len(px) else 0.0
    cell = max(float(cell), span / _SITE_GRID_MAX_SIDE, 1.0)  # 1 m: a radius of 0 still makes cells
    if len(px) == 0:
        return 0.0, 0.0, cell, 1, 1, np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64)
    x0, y0 = float(px.min()), float(py.min())
    ncol = int((px.max() - x0) // cell) + 1
    nrow = int((py.max() - y0) // cell) + 1
    cid = ((py - y0) // cell).astype(np.int64) * ncol + ((px - x0) // cell).astype(np.int64)
    order = np.argsort(cid, kind="stable").astype(np.int64)
    ptr = np.zeros(ncol * nrow + 1, dtype=np.int64)
    np.cumsum(np.bincount(cid, minlength=ncol * nrow), out=ptr[1:])
    return x0, y0, cell, ncol, nrow, ptr, order


class _Reach:
    """The off-road rule over one graph and set of sites: projected query points in, the sum over
    a block of groups of the best times out (see :func:`_kernels.cell_times`)."""

    def __init__(self, graph: Graph, sites: Places, groups: np.ndarray, radius_m: float, speed_kmh: float):
        self.idx = graph.snap_index()
        from accessibility.network.derived import cell_xy

        self.cell_xy = cell_xy(graph)  # the vertices' coordinates in the index's cell order
        self.radius = float(radius_m)
        self.inv_speed = 3.6 / float(speed_kmh)
        placed = sites.placed
        sx, sy = self.idx.projection.forward(sites.lon[placed], sites.lat[placed])
        self.site_xy = (np.ascontiguousarray(sx), np.ascontiguousarray(sy))
        self.site_rows = np.flatnonzero(placed)
        self.sgrid = _site_grid(self.site_xy[0], self.site_xy[1], self.radius)
        self.groups = groups

    def project(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 points in the index's projection."""
        qx, qy = self.idx.projection.forward(lon, lat)
        return np.ascontiguousarray(qx), np.ascontiguousarray(qy)

    def project_cells(self, grid: Grid, rows: np.ndarray, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cell centres in the index's projection (:meth:`Grid.interpolate`: exact on control
        cells, bilinear between them; below a centimetre of error, see the tests)."""
        return grid.interpolate(rows, cols, lambda x, y: self.project(*grid.to_wgs84(x, y)))

    def block(self, qx, qy) -> tuple:
        """The part of the index that points ``qx, qy`` can reach: the rectangle of index cells
        covering them widened by the radius, as a small index of the same form (origin, size,
        cell pointer) and the positions of its vertices in the index's cell order."""
        i = self.idx
        if len(qx) == 0:
            return (i.x0, i.y0, 1, 1, np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64))
        c0 = max(int(np.floor((qx.min() - self.radius - i.x0) / i.cell_m)), 0)
        c1 = min(int(np.floor((qx.max() + self.radius - i.x0) / i.cell_m)), i.ncol - 1)
        r0 = max(int(np.floor((qy.min() - self.radius - i.y0) / i.cell_m)), 0)
        r1 = min(int(np.floor((qy.max() + self.radius - i.y0) / i.cell_m)), i.nrow - 1)
        if c0 > c1 or r0 > r1:
            return (i.x0, i.y0, 1, 1, np.zeros(2, dtype=np.int64), np.zeros(0, dtype=np.int64))
        rows = np.arange(r0, r1 + 1)
        bounds = i.cell_ptr[rows[:, None] * i.ncol + np.arange(c0, c1 + 2)[None, :]]  # (nr, nc + 1)
        starts, ends = bounds[:, 0], bounds[:, -1]
        offset = np.concatenate([[0], np.cumsum(ends - starts)[:-1]])
        ptr = np.concatenate([(bounds[:, :-1] - starts[:, None] + offset[:, None]).ravel(), [int((ends - starts).sum())]])
        lengths = ends - starts
        pos = np.repeat(starts - offset, lengths) + np.arange(int(lengths.sum()))
        return (i.x0 + c0 * i.cell_m, i.y0 + r0 * i.cell_m, c1 - c0 + 1, r1 - r0 + 1, ptr.astype(np.int64), pos)

    def near_road(self, qx, qy) -> np.ndarray:
        """Whether some road vertex lies within the radius of each point."""
        bx0, by0, bncol, bnrow, bptr, pos = self.block(qx, qy)
        out = np.zeros(len(qx), dtype=np.bool_)
        _kernels.any_within(qx, qy, self.radius, bx0, by0, self.idx.cell_m, bncol, bnrow, bptr,
                            self.cell_xy[0][pos], self.cell_xy[1][pos], out)
        return out

    def add(self, qx, qy, vt: np.ndarray, cols: slice, out: np.ndarray, block=None) -> None:
        """Add to ``out`` the sum over the groups ``cols`` of the best times at ``qx, qy``
        (``block``: :meth:`block` of these points, computed when omitted)."""
        i = self.idx
        bx0, by0, bncol, bnrow, bptr, pos = self.block(qx, qy) if block is None else block
        sx0, sy0, scell, sncol, snrow, sptr, sidx = self.sgrid
        sg = np.ascontiguousarray(self.groups[self.site_rows][:, cols])
        ct = np.ascontiguousarray(vt[i.cell_vert[pos]])
        cmin = _kernels.cell_minima(bptr, ct)
        _kernels.cell_times(
            qx, qy, self.radius, self.inv_speed, bx0, by0, i.cell_m, bncol, bnrow, bptr,
            self.cell_xy[0][pos], self.cell_xy[1][pos], ct, cmin, sx0, sy0, scell, sncol, snrow, sptr, sidx,
            self.site_xy[0], self.site_xy[1], sg, out,
        )


def _chunks(m: int) -> list[slice]:
    return [slice(a, min(a + _GROUPS_PER_CHUNK, m)) for a in range(0, m, _GROUPS_PER_CHUNK)]


def _mean_times(graph, sites, g, node_t, reach: _Reach, qx, qy, vt_cache=None) -> np.ndarray:
    """Mean over the groups of the best time (seconds) at projected points ``qx, qy``."""
    m = g.shape[1]
    acc = np.zeros(len(qx), dtype=np.float64)
    block = reach.block(qx, qy)
    for cols in _chunks(m):
        if vt_cache is not None and cols == slice(0, m):
            vt = vt_cache
        else:
            vt = _vertex_times_from_nodes(graph, sites, g[:, cols], np.ascontiguousarray(node_t[:, cols]))
        reach.add(qx, qy, vt, cols, acc, block=block)
    return acc / m


def _check_rule(max_offroad_m, connector_speed_kmh, max_minutes) -> tuple[float, float, float | None]:
    r = _number(max_offroad_m, "max_offroad_m", open_min=False)
    s = _number(connector_speed_kmh, "connector_speed_kmh")
    mm = None if max_minutes is None else _number(max_minutes, "max_minutes")
    return r, s, mm


def point_times(
    graph: Graph,
    sites: Places,
    lon,
    lat,
    *,
    groups=None,
    max_offroad_m: float = OFFROAD_MAX_DISTANCE_M,
    connector_speed_kmh: float = CONNECTOR_SPEED_KMH,
    max_minutes: float | None = None,
) -> np.ndarray:
    """Seconds from WGS84 points to the nearest site, by the rule of a surface's cells.

    The same computation as :func:`travel_time_surface` at arbitrary points (a cell's time is
    this function at its centre).

    Returns
    -------
    np.ndarray of float64
        Seconds (mean over the groups); ``inf`` where no road position is within
        ``max_offroad_m``, no site is reachable, or beyond ``max_minutes``.
    """
    sites, g = _checked_sites(graph, sites, groups)
    radius, speed, mm = _check_rule(max_offroad_m, connector_speed_kmh, max_minutes)
    from accessibility.routing.snap import _checked_points

    lon, lat = _checked_points(lon, lat, 0.0, speed)
    cut = np.inf if mm is None else mm * 60.0
    node_t = _node_times(graph, sites, g, cut)
    reach = _Reach(graph, sites, g, radius, speed)
    qx, qy = reach.project(lon, lat)
    t = _mean_times(graph, sites, g, node_t, reach, qx, qy)
    if mm is not None:
        t[t > mm * 60.0] = np.inf
    return t


# ------------------------------------------------------------------------------------------
# surfaces


def _area_geometry(area, crs: str):
    """``area`` (a shapely geometry in ``crs``, or a GeoSeries/GeoDataFrame with a CRS) as one
    shapely geometry in ``crs``."""
    import shapely

    if area is None:
        return None
    if hasattr(area, "to_crs") and hasattr(area, "crs"):
        if area.crs is None:
            raise InvalidParameterError("area has no CRS: set one (e.g. EPSG:4326) before using it as an area")
        geom = shapely.union_all(np.asarray(area.to_crs(crs).geometry if hasattr(area, "geometry") else area.to_crs(crs)))
    elif isinstance(area, shapely.Geometry):
        geom = area
    else:
        raise InvalidParameterError(f"area must be a shapely geometry (in the grid's CRS) or a GeoSeries, got {type(area).__name__}")
    if geom is None or geom.is_empty:
        raise InvalidParameterError("area is empty")
    return geom


def _reached_bounds(graph: Graph, vt_min: np.ndarray, limit_s: float, radius: float, grid_crs: str):
    """Projected bounds of the road vertices reached within ``limit_s``, widened by ``radius``:
    the bounds of their lon/lat box, its edges densified before projecting (the image of the
    box's outline bounds the image of the box)."""
    from accessibility.isochrones.grid import _transformer

    ok = vt_min <= limit_s
    nn = graph.n_nodes
    lon = np.concatenate([graph.x[ok[:nn]], graph.shape_x[ok[nn:]]])
    lat = np.concatenate([graph.y[ok[:nn]], graph.shape_y[ok[nn:]]])
    w, e, s, n = lon.min(), lon.max(), lat.min(), lat.max()
    t = np.linspace(0.0, 1.0, 65)
    bx = np.concatenate([w + (e - w) * t, np.full_like(t, e), e - (e - w) * t, np.full_like(t, w)])
    by = np.concatenate([np.full_like(t, s), s + (n - s) * t, np.full_like(t, n), n - (n - s) * t])
    x, y = _transformer("EPSG:4326", grid_crs).transform(bx, by)
    return x.min() - radius, y.min() - radius, x.max() + radius, y.max() + radius


def travel_time_surface(
    graph: Graph,
    sites: Places,
    *,
    resolution_m: float = DEFAULT_RESOLUTION_M,
    crs: str = DEFAULT_CRS,
    area=None,
    grid: Grid | None = None,
    groups=None,
    max_offroad_m: float = OFFROAD_MAX_DISTANCE_M,
    connector_speed_kmh: float = CONNECTOR_SPEED_KMH,
    max_minutes: float | None = None,
) -> Surface:
    """The raster of car times from every cell to the nearest site (see the module docstring).

    Parameters
    ----------
    graph : Graph
    sites : Places
        Put on ``graph`` (:class:`~accessibility.engine.places.Places`); those not placed are ignored.
    resolution_m : float, default 200
        Side of a cell (metres).
    crs : str, default ``"EPSG:2154"``
        Projected CRS in metres of the grid.
    area : shapely geometry (in ``crs``) or GeoSeries/GeoDataFrame, optional
        The grid covers its bounds and the cells whose centre is outside it are nodata (e.g. the
        communes of the départements studied). Without an area the grid covers the road
        positions reached within ``max_minutes`` (every reachable one without a limit).
    grid : Grid, optional
        Use this grid (then ``resolution_m`` and ``crs`` are its own).
    groups : array-like of bool, shape (len(sites), m), optional
        Mean over the groups of the time to the nearest site of each (a gamme's equipments).
    max_offroad_m : float, default :data:`OFFROAD_MAX_DISTANCE_M`
        Longest straight leg (metres) between a cell's centre and the road.
    connector_speed_kmh : float, default :data:`~accessibility.settings.CONNECTOR_SPEED_KMH`
        Speed of that leg.
    max_minutes : float, optional
        Times above it are nodata, and the searches stop there.

    Returns
    -------
    Surface
        ``minutes`` (float32, NaN nodata), ``transform``, ``crs``.

    Raises
    ------
    InvalidParameterError
        Unknown or non-metric CRS, resolution <= 0, too many cells, bad sites, groups or
        numbers.
    NoServiceError
        No site (or a group without any site) is placed on the graph.

    Examples
    --------
    >>> from accessibility import load_graph                                  # doctest: +SKIP
    >>> from accessibility.engine.places import Places
    >>> g = load_graph()
    >>> digne = Places.from_arrays(g, ["digne"], [6.2356], [44.0925])
    >>> s = travel_time_surface(g, digne, max_minutes=30)
    >>> s.minutes.shape, s.transform, s.crs
    """
    t0 = time.perf_counter()
    sites, g = _checked_sites(graph, sites, groups)
    radius, speed, mm = _check_rule(max_offroad_m, connector_speed_kmh, max_minutes)
    if grid is not None:
        if not isinstance(grid, Grid):
            raise InvalidParameterError(f"grid must be an isochrones Grid, got {type(grid).__name__}")
        crs = grid.crs
    check_crs(crs)
    check_resolution(resolution_m)
    geom = _area_geometry(area, crs)
    cut = np.inf if mm is None else mm * 60.0
    node_t = _node_times(graph, sites, g, cut)
    t_search = time.perf_counter() - t0
    t1 = time.perf_counter()
    m = g.shape[1]
    vt_cache = None
    if grid is None:
        if geom is not None:
            grid = grid_covering(*geom.bounds, resolution_m=resolution_m, crs=crs)
        else:
            vt_min = np.full(graph.n_vertices, np.inf)
            for cols in _chunks(m):
                vt = _vertex_times_from_nodes(graph, sites, g[:, cols], np.ascontiguousarray(node_t[:, cols]))
                np.minimum(vt_min, vt.min(axis=1), out=vt_min)
                if m <= _GROUPS_PER_CHUNK:
                    vt_cache = vt
            if not np.isfinite(vt_min).any():
                raise NoServiceError("no road position can reach any site: nothing to measure")
            grid = grid_covering(*_reached_bounds(graph, vt_min, cut, radius, crs), resolution_m=resolution_m, crs=crs)
    if geom is not None:
        from rasterio.features import geometry_mask

        in_area = geometry_mask([geom], out_shape=grid.shape, transform=grid.transform, invert=True)
    else:
        in_area = np.ones(grid.shape, dtype=bool)
    reach = _Reach(graph, sites, g, radius, speed)
    every_r, every_c = np.indices(grid.shape).reshape(2, -1)
    ax, ay = reach.project_cells(grid, every_r, every_c)
    near_road = reach.near_road(ax, ay).reshape(grid.shape)
    rows, cols_ = np.nonzero(in_area & near_road)
    keep = (in_area & near_road).ravel()
    qx, qy = np.ascontiguousarray(ax[keep]), np.ascontiguousarray(ay[keep])
    t = _mean_times(graph, sites, g, node_t, reach, qx, qy, vt_cache=vt_cache)
    minutes = np.full(grid.shape, np.nan, dtype=np.float32)
    vals = (t / 60.0).astype(np.float32)
    vals[~np.isfinite(t)] = np.nan
    if mm is not None:
        vals[t > cut] = np.nan
    minutes[rows, cols_] = vals
    t_raster = time.perf_counter() - t1
    return Surface(
        minutes=minutes, grid=grid, sites=sites, max_offroad_m=radius, connector_speed_kmh=speed, max_minutes=mm,
        n_groups=m, in_area=in_area, near_road=near_road, seconds={"search": round(t_search, 4), "raster": round(t_raster, 4)},
    )


def gamme_surface(
    graph: Graph,
    servers: Places,
    present,
    **kwargs,
) -> Surface:
    """The mean time to the equipments of a gamme: for each equipment, the time to the nearest
    server having it, then the mean — the raster counterpart of ``access compute``'s ``mean``.

    Parameters
    ----------
    graph : Graph
    servers : Places
        The communes that can serve (every commune of the extract placed on the graph), each
        equipment at its commune's centre (times centre to centre, as INSEE's).
    present : array-like of bool, shape (len(servers), m)
        Server ``p`` has equipment ``k`` (:func:`accessibility.inputs.services.equipment_presence`,
        restricted to the equipments found in the extract).
    **kwargs
        As :func:`travel_time_surface`.

    Raises
    ------
    NoServiceError
        An equipment column has no server placed on the graph.
    """
    return travel_time_surface(graph, servers, groups=present, **kwargs)
