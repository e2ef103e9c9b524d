"""A grid index over the road vertices of a graph: nearest vertex, vertices within a radius.

The index is plain arrays (it is saved with the graph and memory-mappable): vertex coordinates
in a local azimuthal equidistant projection (:class:`accessibility._geo.LocalProjection`), a
regular grid of square cells, and the vertex ids sorted by cell with a CSR pointer per cell.
Queries are numba kernels, arrays in and arrays out. Vertex ``v`` is graph node ``v`` when
``v < n_nodes``, else shape point ``v - n_nodes``.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numba import njit, prange

from accessibility._geo import LocalProjection

__all__ = ["SnapIndex", "build_snap_index"]

#: Target mean number of vertices per grid cell (sets the cell size).
_VERTICES_PER_CELL = 4.0
#: Bounds of the cell size (metres).
_MIN_CELL_M, _MAX_CELL_M = 50.0, 5000.0


@dataclass(frozen=True, eq=False)
class SnapIndex:
    """Grid index of the road vertices (nodes, then shape points) of a graph.

    Attributes
    ----------
    lon0, lat0 : float
        Centre of the local projection (degrees).
    cell_m : float
        Side of a grid cell (metres).
    x0, y0 : float
        Projected coordinates of the grid's lower-left corner (metres).
    ncol, nrow : int
        Grid size in cells.
    cell_ptr : np.ndarray of int64, shape (ncol * nrow + 1,)
        Vertices of cell ``c = row * ncol + col`` are ``cell_vert[cell_ptr[c]:cell_ptr[c+1]]``.
    cell_vert : np.ndarray of int64
        Vertex ids sorted by cell.
    vx, vy : np.ndarray of float64
        Projected coordinates of every vertex (metres), in vertex order.
    """

    lon0: float
    lat0: float
    cell_m: float
    x0: float
    y0: float
    ncol: int
    nrow: int
    cell_ptr: np.ndarray
    cell_vert: np.ndarray
    vx: np.ndarray
    vy: np.ndarray

    @property
    def projection(self) -> LocalProjection:
        """The local projection of the index."""
        return LocalProjection(self.lon0, self.lat0)

    @property
    def n_vertices(self) -> int:
        """Number of indexed vertices."""
        return len(self.vx)

    def arrays(self) -> dict[str, np.ndarray]:
        """Arrays and scalars to save (scalars as 0-d arrays)."""
        return {f.name: np.asarray(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SnapIndex:
        """Inverse of :meth:`arrays`."""
        kw: dict[str, Any] = {}
        for f in fields(cls):
            a = arrays[f.name]
            kw[f.name] = a.item() if a.ndim == 0 else a
        kw["ncol"], kw["nrow"] = int(kw["ncol"]), int(kw["nrow"])
        return cls(**kw)

    def check(self) -> str | None:
        """A description of the first inconsistency, or None (cheap vectorised checks)."""
        n = len(self.vx)
        if len(self.vy) != n or len(self.cell_vert) != n:
            return "snap index: vertex arrays of different lengths"
        if not (self.cell_m > 0 and self.ncol >= 1 and self.nrow >= 1):
            return "snap index: bad grid size"
        if len(self.cell_ptr) != self.ncol * self.nrow + 1 or self.cell_ptr[0] != 0 or self.cell_ptr[-1] != n:
            return "snap index: bad cell pointer"
        if np.any(np.diff(self.cell_ptr) < 0):
            return "snap index: cell pointer not monotone"
        if n and (self.cell_vert.min() < 0 or self.cell_vert.max() >= n):
            return "snap index: vertex id out of range"
        if n and np.bincount(self.cell_vert, minlength=n).max() != 1:
            return "snap index: vertex ids are not a permutation"
        if not (np.all(np.isfinite(self.vx)) and np.all(np.isfinite(self.vy))):
            return "snap index: coordinates not finite"
        return None

    # -- queries
    def nearest(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Nearest vertex of each point (by projected distance) and that distance (metres).

        Every point gets a vertex, however far; the caller applies its distance limit.
        """
        qx, qy = self.projection.forward(lon, lat)
        return _nearest(
            np.ascontiguousarray(qx), np.ascontiguousarray(qy), self.x0, self.y0, self.cell_m,
            self.ncol, self.nrow, self.cell_ptr, self.cell_vert, self.vx, self.vy,
        )

    def within(self, qx, qy, radius_m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every vertex within ``radius_m`` of each projected point ``(qx, qy)``.

        Returns
        -------
        ptr : np.ndarray of int64, shape (len(qx) + 1,)
            CSR pointer per point.
        vert : np.ndarray of int64
            Vertex ids.
        dist : np.ndarray of float64
            Projected distances (metres).
        """
        qx = np.ascontiguousarray(qx, dtype=np.float64)
        qy = np.ascontiguousarray(qy, dtype=np.float64)
        counts = _within_count(qx, qy, float(radius_m), self.x0, self.y0, self.cell_m, self.ncol,
                               self.nrow, self.cell_ptr, self.cell_vert, self.vx, self.vy)
        ptr = np.zeros(len(qx) + 1, dtype=np.int64)
        np.cumsum(counts, out=ptr[1:])
        vert = np.empty(ptr[-1], dtype=np.int64)
        dist = np.empty(ptr[-1], dtype=np.float64)
        _within_fill(qx, qy, float(radius_m), self.x0, self.y0, self.cell_m, self.ncol, self.nrow,
                     self.cell_ptr, self.cell_vert, self.vx, self.vy, ptr, vert, dist)
        return ptr, vert, dist


def build_snap_index(lon: np.ndarray, lat: np.ndarray) -> SnapIndex:
    """Index the vertices ``(lon, lat)`` (degrees): projection centred on their median."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    n = len(lon)
    lon0 = float(np.median(lon)) if n else 0.0
    lat0 = float(np.median(lat)) if n else 0.0
    vx, vy = LocalProjection(lon0, lat0).forward(lon, lat)
    if n:
        x0, x1, y0, y1 = float(vx.min()), float(vx.max()), float(vy.min()), float(vy.max())
    else:
        x0 = x1 = y0 = y1 = 0.0
    area = max((x1 - x0) * (y1 - y0), 1.0)
    cell = float(np.clip(np.sqrt(area * _VERTICES_PER_CELL / max(n, 1)), _MIN_CELL_M, _MAX_CELL_M))
    ncol = int((x1 - x0) // cell) + 1
    nrow = int((y1 - y0) // cell) + 1
    cx = ((vx - x0) // cell).astype(np.int64)
    cy = ((vy - y0) // cell).astype(np.int64)
    cid = cy * ncol + cx
    order = np.argsort(cid, kind="stable")
    ptr = np.zeros(ncol * nrow + 1, dtype=np.int64)
    np.cumsum(np.bincount(cid, minlength=ncol * nrow), out=ptr[1:])
    return SnapIndex(
        lon0=lon0, lat0=lat0, cell_m=cell, x0=x0, y0=y0, ncol=ncol, nrow=nrow,
        cell_ptr=ptr, cell_vert=order.astype(np.int64), vx=vx, vy=vy,
    )


@njit(cache=True)
def _ring_start(cx, cy, ncol, nrow):
    """First Chebyshev ring around cell (cx, cy) that meets the grid."""
    dx = 0
    if cx < 0:
        dx = -cx
    elif cx >= ncol:
        dx = cx - ncol + 1
    dy = 0
    if cy < 0:
        dy = -cy
    elif cy >= nrow:
        dy = cy - nrow + 1
    return max(dx, dy)


@njit(cache=True)
def _scan_cell(c, qx, qy, cell_ptr, cell_vert, vx, vy, best, bestd):
    for k in range(cell_ptr[c], cell_ptr[c + 1]):
        v = cell_vert[k]
        dx = vx[v] - qx
        dy = vy[v] - qy
        d = dx * dx + dy * dy
        if d < bestd or (d == bestd and v < best):
            best = v
            bestd = d
    return best, bestd


@njit(cache=True)
def _nearest(qx, qy, x0, y0, cell, ncol, nrow, cell_ptr, cell_vert, vx, vy):
    nq = len(qx)
    out_v = np.full(nq, -1, dtype=np.int64)
    out_d = np.full(nq, np.inf)
    if len(vx) == 0:
        return out_v, out_d
    max_ring = ncol + nrow + 2
    for i in range(nq):
        fx = (qx[i] - x0) / cell
        fy = (qy[i] - y0) / cell
        # clamp huge values so the int conversion stays defined
        fx = min(max(fx, -1e12), 1e12)
        fy = min(max(fy, -1e12), 1e12)
        cx = np.int64(np.floor(fx))
        cy = np.int64(np.floor(fy))
        r = _ring_start(cx, cy, ncol, nrow)
        best = -1
        bestd = np.inf
        r_end = r + max_ring
        while r <= r_end:
            lb = (r - 1) * cell
            if best >= 0 and lb > 0 and lb * lb > bestd:
                break
            for col in range(max(cx - r, 0), min(cx + r, ncol - 1) + 1):
                for row in (cy - r, cy + r):
                    if 0 <= row < nrow:
                        best, bestd = _scan_cell(row * ncol + col, qx[i], qy[i], cell_ptr, cell_vert, vx, vy, best, bestd)
                    if r == 0:
                        break
            for row in range(max(cy - r + 1, 0), min(cy + r - 1, nrow - 1) + 1):
                for col in (cx - r, cx + r):
                    if r > 0 and 0 <= col < ncol:
                        best, bestd = _scan_cell(row * ncol + col, qx[i], qy[i], cell_ptr, cell_vert, vx, vy, best, bestd)
            r += 1
        out_v[i] = best
        out_d[i] = np.sqrt(bestd)
    return out_v, out_d


@njit(cache=True)
def _cell_span(q, radius, origin, cell, size):
    lo = np.int64(np.floor((q - radius - origin) / cell))
    hi = np.int64(np.floor((q + radius - origin) / cell))
    return max(lo, 0), min(hi, size - 1)


@njit(cache=True, parallel=True)
def _within_count(qx, qy, radius, x0, y0, cell, ncol, nrow, cell_ptr, cell_vert, vx, vy):
    nq = len(qx)
    counts = np.zeros(nq, dtype=np.int64)
    r2 = radius * radius
    for i in prange(nq):
        c0, c1 = _cell_span(qx[i], radius, x0, cell, ncol)
        r0, r1 = _cell_span(qy[i], radius, y0, cell, nrow)
        k = 0
        for row in range(r0, r1 + 1):
            for col in range(c0, c1 + 1):
                c = row * ncol + col
                for j in range(cell_ptr[c], cell_ptr[c + 1]):
                    v = cell_vert[j]
                    dx = vx[v] - qx[i]
                    dy = vy[v] - qy[i]
                    if dx * dx + dy * dy <= r2:
                        k += 1
        counts[i] = k
    return counts


@njit(cache=True, parallel=True)
def _within_fill(qx, qy, radius, x0, y0, cell, ncol, nrow, cell_ptr, cell_vert, vx, vy, ptr, vert, dist):
    nq = len(qx)
    r2 = radius * radius
    for i in prange(nq):
        c0, c1 = _cell_span(qx[i], radius, x0, cell, ncol)
        r0, r1 = _cell_span(qy[i], radius, y0, cell, nrow)
        k = ptr[i]
        for row in range(r0, r1 + 1):
            for col in range(c0, c1 + 1):
                c = row * ncol + col
                for j in range(cell_ptr[c], cell_ptr[c + 1]):
                    v = cell_vert[j]
                    dx = vx[v] - qx[i]
                    dy = vy[v] - qy[i]
                    d2 = dx * dx + dy * dy
                    if d2 <= r2:
                        vert[k] = v
                        dist[k] = np.sqrt(d2)
                        k += 1
