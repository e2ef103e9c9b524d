"""The regular grid of a travel-time raster: a metric projection, square cells, an affine transform.

A :class:`Grid` is ``width x height`` square cells of ``resolution_m`` metres in a projected CRS
(Lambert-93, EPSG:2154, by default), north up, its corners on multiples of the resolution so
that two runs at the same resolution share their cells. Row 0 is the northern row (GeoTIFF
order); cell ``(row, col)`` covers ``[x0 + col r, x0 + (col+1) r] x [y1 - (row+1) r, y1 - row r]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from accessibility.errors import InvalidParameterError

__all__ = [
    "DEFAULT_CRS",
    "DEFAULT_RESOLUTION_M",
    "MAX_CELLS",
    "Grid",
    "check_crs",
    "check_resolution",
    "grid_covering",
]

#: Projection of the rasters: Lambert-93 (RGF93), the metric projection of mainland France that
#: IGN and every French GIS use.
DEFAULT_CRS = "EPSG:2154"

#: Side of a cell (metres). 200 m is the side of INSEE's population squares (Filosofi) and
#: resolves a hamlet from its chef-lieu; 04 and 05 are about 310,000 such cells.
DEFAULT_RESOLUTION_M = 200.0

#: Cells between the control cells of :meth:`Grid.interpolate`: 16 cells of 200 m. Smooth
#: functions of the position (a change of projection, a scale factor) are exact on the control
#: cells and bilinear between them; the error of projecting the cell centres into the snapping
#: index's projection this way is below a centimetre (see the tests).
LATTICE_STEP = 16

#: Most cells a raster may have (a 25 m grid over a large département): beyond it the run would
#: take gigabytes; a coarser ``resolution_m`` or a smaller area is asked for instead.
MAX_CELLS = 25_000_000


def check_crs(crs) -> pyproj.CRS:  # noqa: F821 - pyproj imported lazily
    """The projected, metre-based CRS named by ``crs`` (``"EPSG:2154"``, a WKT, a pyproj CRS).

    Raises
    ------
    InvalidParameterError
        ``crs`` is not a CRS pyproj knows, is geographic (degrees), or its unit is not the metre.
    """
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    if isinstance(crs, bool) or crs is None or (isinstance(crs, str) and not crs.strip()):
        raise InvalidParameterError(f"crs must name a projected CRS in metres (e.g. {DEFAULT_CRS}), got {crs!r}")
    try:
        c = CRS.from_user_input(crs)
    except (CRSError, TypeError, ValueError):
        raise InvalidParameterError(
            f"unknown CRS {crs!r}: give a projected CRS in metres that PROJ knows, e.g. {DEFAULT_CRS} (Lambert-93)"
        ) from None
    if not c.is_projected:
        raise InvalidParameterError(
            f"CRS {crs!r} ({c.name}) is not projected: a raster of square metric cells needs a projected CRS "
            f"in metres, e.g. {DEFAULT_CRS} (Lambert-93)"
        )
    units = {a.unit_name for a in c.axis_info[:2]}
    if not units <= {"metre", "meter"}:
        raise InvalidParameterError(
            f"CRS {crs!r} ({c.name}) has axes in {', '.join(sorted(units))}, not metres: give e.g. {DEFAULT_CRS}"
        )
    return c


def check_resolution(resolution_m) -> float:
    """``resolution_m`` as a float, or :class:`InvalidParameterError` when it is not a number > 0."""
    if isinstance(resolution_m, bool):
        resolution_m = None
    try:
        r = float(resolution_m)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"resolution must be a number of metres > 0, got {resolution_m!r}") from None
    if not (math.isfinite(r) and r > 0):
        raise InvalidParameterError(f"resolution must be a number of metres > 0, got {resolution_m!r}")
    return r


@dataclass(frozen=True)
class Grid:
    """A north-up grid of square cells in a projected CRS (see the module docstring).

    Attributes
    ----------
    crs : str
        The CRS as given (``"EPSG:2154"``) once checked by :func:`check_crs`.
    x0, y1 : float
        West and north edges (CRS units, metres).
    resolution_m : float
        Side of a cell (metres).
    width, height : int
        Columns and rows.
    """

    crs: str
    x0: float
    y1: float
    resolution_m: float
    width: int
    height: int

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)``: the shape of the raster array."""
        return (self.height, self.width)

    @property
    def n_cells(self) -> int:
        """Number of cells."""
        return self.width * self.height

    @property
    def transform(self):
        """The affine transform (``affine.Affine``, rasterio's) from ``(col, row)`` to ``(x, y)``."""
        from affine import Affine

        r = self.resolution_m
        return Affine(r, 0.0, self.x0, 0.0, -r, self.y1)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(xmin, ymin, xmax, ymax)``."""
        r = self.resolution_m
        return (self.x0, self.y1 - self.height * r, self.x0 + self.width * r, self.y1)

    def centres(self, rows=None, cols=None) -> tuple[np.ndarray, np.ndarray]:
        """Projected centres of cells ``(rows, cols)`` (every cell, row-major, when omitted)."""
        r = self.resolution_m
        if rows is None:
            cols, rows = np.meshgrid(np.arange(self.width), np.arange(self.height))
            rows, cols = rows.ravel(), cols.ravel()
        rows = np.asarray(rows, dtype=np.float64)
        cols = np.asarray(cols, dtype=np.float64)
        return self.x0 + (cols + 0.5) * r, self.y1 - (rows + 0.5) * r

    def interpolate(self, rows, cols, func, *, step: int = LATTICE_STEP) -> tuple[np.ndarray, ...]:
        """Values of a smooth function of the position at cells ``(rows, cols)``.

        ``func(x, y)`` takes projected centres and returns a tuple of arrays. It is evaluated on
        a lattice of control cells every ``step`` cells (and the last row and column), and
        interpolated bilinearly between them; evaluated at every cell when there are few of them.
        """
        rows = np.asarray(rows, dtype=np.int64)
        cols = np.asarray(cols, dtype=np.int64)
        lr = np.unique(np.r_[np.arange(0, self.height, step), self.height - 1])
        lc = np.unique(np.r_[np.arange(0, self.width, step), self.width - 1])
        if len(rows) < 4 * len(lr) * len(lc) or len(lr) < 2 or len(lc) < 2:
            return tuple(np.ascontiguousarray(a, dtype=np.float64) for a in func(*self.centres(rows, cols)))
        rr, cc = np.meshgrid(lr, lc, indexing="ij")
        values = [np.asarray(a, dtype=np.float64).reshape(rr.shape) for a in func(*self.centres(rr.ravel(), cc.ravel()))]
        if len(rows) >= self.n_cells // 4:  # most of the grid: bilinear is separable, one pass per axis
            j = np.clip(np.searchsorted(lc, np.arange(self.width), side="right") - 1, 0, len(lc) - 2)
            fc = (np.arange(self.width) - lc[j]) / (lc[j + 1] - lc[j])
            i = np.clip(np.searchsorted(lr, np.arange(self.height), side="right") - 1, 0, len(lr) - 2)
            fr = ((np.arange(self.height) - lr[i]) / (lr[i + 1] - lr[i]))[:, None]
            out = []
            for a in values:
                across = a[:, j] * (1 - fc) + a[:, j + 1] * fc  # (control rows, width)
                full = across[i] * (1 - fr) + across[i + 1] * fr  # (height, width)
                out.append(np.ascontiguousarray(full[rows, cols]))
            return tuple(out)
        i = np.clip(np.searchsorted(lr, rows, side="right") - 1, 0, len(lr) - 2)
        j = np.clip(np.searchsorted(lc, cols, side="right") - 1, 0, len(lc) - 2)
        fr = (rows - lr[i]) / (lr[i + 1] - lr[i])
        fc = (cols - lc[j]) / (lc[j + 1] - lc[j])
        out = []
        for a in values:
            top = a[i, j] * (1 - fc) + a[i, j + 1] * fc
            bottom = a[i + 1, j] * (1 - fc) + a[i + 1, j + 1] * fc
            out.append(np.ascontiguousarray(top * (1 - fr) + bottom * fr))
        return tuple(out)

    def cell_areas_km2(self, rows, cols) -> np.ndarray:
        """Area on the ellipsoid (km²) of cells ``(rows, cols)``: the cell's area in the projection
        over the projection's areal scale factor at its centre (PROJ's ``get_factors``)."""
        from pyproj import CRS, Proj

        proj = Proj(CRS.from_user_input(self.crs))

        def areal(x, y):
            return (proj.get_factors(*self.to_wgs84(x, y)).areal_scale,)

        (k,) = self.interpolate(rows, cols, areal)
        return self.resolution_m**2 / 1e6 / k

    def cell_of(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """Row and column of the cells holding the projected points ``(x, y)``; -1 outside."""
        x = np.asarray(x, dtype=np.float64)
        y = np.asarray(y, dtype=np.float64)
        with np.errstate(invalid="ignore"):
            col = np.floor((x - self.x0) / self.resolution_m)
            row = np.floor((self.y1 - y) / self.resolution_m)
        inside = (col >= 0) & (col < self.width) & (row >= 0) & (row < self.height)
        return np.where(inside, row, -1).astype(np.int64), np.where(inside, col, -1).astype(np.int64)

    def to_wgs84(self, x, y) -> tuple[np.ndarray, np.ndarray]:
        """WGS84 lon/lat of projected points."""
        lon, lat = _transformer(self.crs, "EPSG:4326").transform(np.asarray(x, float), np.asarray(y, float))
        return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)

    def from_wgs84(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Projected coordinates of WGS84 points."""
        x, y = _transformer("EPSG:4326", self.crs).transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


_TRANSFORMERS: dict = {}


def _transformer(src: str, dst: str):
    key = (src, dst)
    tr = _TRANSFORMERS.get(key)
    if tr is None:
        from pyproj import Transformer

        tr = _TRANSFORMERS[key] = Transformer.from_crs(src, dst, always_xy=True)
    return tr


def grid_covering(xmin: float, ymin: float, xmax: float, ymax: float, *, resolution_m: float,
                  crs: str = DEFAULT_CRS) -> Grid:
    """The smallest grid, corners on multiples of ``resolution_m``, covering a projected box.

    Raises
    ------
    InvalidParameterError
        Bad CRS or resolution, an empty or non-finite box, or more than :data:`MAX_CELLS` cells.
    """
    check_crs(crs)
    r = check_resolution(resolution_m)
    box = np.array([xmin, ymin, xmax, ymax], dtype=np.float64)
    if not np.all(np.isfinite(box)) or xmax < xmin or ymax < ymin:
        raise InvalidParameterError(f"the area to cover is empty or not finite: {box.tolist()}")
    x0 = math.floor(xmin / r) * r
    y0 = math.floor(ymin / r) * r
    x1 = math.ceil(xmax / r) * r
    y1 = math.ceil(ymax / r) * r
    width = max(int(round((x1 - x0) / r)), 1)
    height = max(int(round((y1 - y0) / r)), 1)
    if width * height > MAX_CELLS:
        raise InvalidParameterError(
            f"a {r:g} m grid over this area has {width * height:,} cells, more than the {MAX_CELLS:,} allowed: "
            "give a coarser resolution or a smaller area"
        )
    return Grid(crs=str(crs), x0=float(x0), y1=float(y0 + height * r), resolution_m=r, width=width, height=height)
