"""Isochrone polygons: the cells within each threshold, dissolved, with their area and population.

The polygon of threshold ``m`` is the union of the cells whose time is at most ``m`` minutes
(``rasterio.features.shapes`` on the classed raster, 4-connected cells, exact cell edges): it
includes the polygons of the smaller thresholds. Each row has the threshold, the area in km²
(on the ellipsoid: each cell's projected area over the projection's areal scale factor at its
centre, so that a cell of a projection that stretches areas counts for what it covers), the number of cells and, when a population layer is given, the
population inside:

- **area-weighted over commune polygons** (:func:`population_from_communes`): each commune's
  inhabitants are spread evenly over its polygon — in a run, over the part of its polygon
  within the off-road limit of a road (people live near roads; spread over a whole mountain
  commune, most of them would sit on roadless slopes where the raster has no value) — and a
  cell gets the share of the commune its centre falls in: an estimate, said as such in
  ``population_method``;
- **exact with a population grid** (:func:`population_from_points`, INSEE's 200 m squares or any
  ``lon, lat, population`` points): the inhabitants of the points inside the polygon (a point
  counts for the cell holding it, and the polygon is made of whole cells).

Without a population layer the column is empty (never 0).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from accessibility.errors import DataFormatError, InvalidParameterError
from accessibility.isochrones.grid import Grid
from accessibility.isochrones.surface import Surface

__all__ = [
    "check_minutes",
    "CellPopulation",
    "population_from_communes",
    "population_from_points",
    "load_population_points",
    "contours",
    "AREA_WEIGHTED",
    "POPULATION_GRID",
]

#: ``population_method`` of area-weighted populations.
AREA_WEIGHTED = "area-weighted over commune polygons (estimate: inhabitants spread evenly over each commune)"
#: ``population_method`` of populations counted on a grid of points.
POPULATION_GRID = "population grid (exact: inhabitants of the squares whose centre is inside)"


def check_minutes(minutes) -> tuple[float, ...]:
    """Thresholds as a tuple of floats: at least one, each finite and > 0, strictly increasing.

    Accepts ``"10,20,30"`` or a sequence of numbers.

    Raises
    ------
    InvalidParameterError
        Naming the bad value.
    """
    raw = minutes
    msg = f"minutes must be numbers separated by commas (e.g. 10,20,30), got {raw!r}"
    if isinstance(minutes, str):
        items = [p.strip() for p in minutes.split(",")]
    elif isinstance(minutes, (int, float, np.integer, np.floating)) and not isinstance(minutes, bool):
        items = [minutes]
    else:
        try:
            items = list(minutes)
        except TypeError:
            raise InvalidParameterError(msg) from None
    if not items or any(isinstance(v, bool) or (isinstance(v, str) and not v) for v in items):
        raise InvalidParameterError(msg)
    try:
        vals = tuple(float(v) for v in items)
    except (TypeError, ValueError):
        raise InvalidParameterError(msg) from None
    bad = [v for v in vals if not (np.isfinite(v) and v > 0)]
    if bad:
        raise InvalidParameterError(f"minutes must be finite numbers > 0, got {bad[0]:g} in {raw!r}")
    for a, b in zip(vals, vals[1:]):
        if not b > a:
            raise InvalidParameterError(f"minutes must be strictly increasing (e.g. 10,20,30), got {b:g} after {a:g} in {raw!r}")
    return vals


@dataclass(frozen=True)
class CellPopulation:
    """Inhabitants assigned to the cells of a grid.

    Attributes
    ----------
    values : np.ndarray of float64, shape (height, width)
        Inhabitants of each cell (0 where none).
    method : str
        How the inhabitants were placed: :data:`AREA_WEIGHTED` (or its variant restricted to the
        cells near a road) or :data:`POPULATION_GRID`.
    total : float
        Inhabitants on the grid.
    left_out : int
        Communes (area-weighted) with no known population, or points outside the grid, left out.
    """

    values: np.ndarray
    method: str
    total: float
    left_out: int = 0


def population_from_communes(grid: Grid, polygons, populations, *, where=None, where_label: str | None = None) -> CellPopulation:
    """Area-weighted population of each cell from commune polygons.

    Parameters
    ----------
    grid : Grid
    polygons : geopandas.GeoDataFrame
        ``code`` and polygons, any CRS (:func:`accessibility.inputs.communes.load_commune_polygons`).
    populations : mapping or pandas.Series
        Inhabitants per commune code (NaN or missing: unknown, left out and counted).
    where : np.ndarray of bool, shape grid.shape, optional
        The cells where inhabitants can be (``Surface.near_road``: people live near roads).
        Each commune's inhabitants are spread over its cells of ``where`` only; without it,
        over its whole polygon.
    where_label : str, optional
        What ``where`` is, for ``method`` (``"within 500 m of a road"``).

    Returns
    -------
    CellPopulation
        A cell holds the share of the commune its centre falls in: ``population / N`` where
        ``N`` is the commune's number of cells (of ``where``), its cells beyond the grid's edge
        counted in proportion of its polygon's area there. Communes whose polygon has no cell of
        ``where`` at all (inside the grid) are left out and counted.
    """
    import pandas as pd
    import shapely
    from rasterio.features import rasterize

    if polygons is None or not hasattr(polygons, "to_crs") or "code" not in polygons:
        raise InvalidParameterError("polygons must be a GeoDataFrame with a 'code' column (load_commune_polygons)")
    if where is not None:
        where = np.asarray(where, dtype=bool)
        if where.shape != grid.shape:
            raise InvalidParameterError(f"where must have the grid's shape {grid.shape}, got {where.shape}")
    poly = polygons.to_crs(grid.crs)
    xmin, ymin, xmax, ymax = grid.bounds
    poly = poly.cx[xmin:xmax, ymin:ymax].reset_index(drop=True)
    pop = pd.Series(populations, dtype="float64") if not isinstance(populations, pd.Series) else populations.astype("float64")
    pop.index = pop.index.astype(str)
    p = pop.reindex(poly["code"].astype(str).to_numpy()).to_numpy(dtype=np.float64)
    geoms = poly.geometry.to_numpy()
    area = shapely.area(geoms)
    inside = shapely.area(shapely.intersection(geoms, shapely.box(xmin, ymin, xmax, ymax)))
    frac = np.divide(inside, area, out=np.zeros_like(area), where=area > 0)
    known = np.isfinite(p) & (frac > 0)
    values = np.zeros(grid.shape, dtype=np.float64)
    left_out = int((~np.isfinite(p) & (frac > 0)).sum())
    if known.any():
        ids = rasterize(((geom, i + 1) for i, geom in enumerate(geoms) if known[i]),
                        out_shape=grid.shape, transform=grid.transform, fill=0, dtype="int32")
        cell = ids if where is None else np.where(where, ids, 0)
        n_in = np.bincount(cell.ravel(), minlength=len(poly) + 1)[1:].astype(np.float64)
        if where is None:  # the polygon's area in cells, all of it
            n_all = area / grid.resolution_m**2
        else:  # the cells of ``where`` in the grid, scaled up for the part beyond the grid
            n_all = np.divide(n_in, frac, out=np.zeros_like(n_in), where=frac > 0)
        ok = known & (n_all > 0)
        none = known & (n_in == 0) & (frac >= 1 - 1e-9)  # wholly inside, yet no cell of ``where``
        left_out += int(none.sum())
        density = np.zeros(len(poly) + 1)
        density[1:][ok] = p[ok] / n_all[ok]
        values = density[cell]
    method = AREA_WEIGHTED if where is None else (
        f"area-weighted over the part of each commune {where_label or 'where inhabitants can be'} "
        "(estimate: inhabitants spread evenly there)")
    return CellPopulation(values=values, method=method, total=float(values.sum()), left_out=left_out)


def population_from_points(grid: Grid, lon, lat, population) -> CellPopulation:
    """Population of each cell from points (the centres of INSEE's 200 m squares …).

    Points outside the grid are left out and counted in ``left_out``.
    """
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    pop = np.asarray(population, dtype=np.float64)
    if not (lon.shape == lat.shape == pop.shape) or lon.ndim != 1:
        raise InvalidParameterError(f"lon, lat and population must be 1-d of one length, got {lon.shape}, {lat.shape}, {pop.shape}")
    if not np.all(np.isfinite(pop)) or (pop < 0).any():
        raise InvalidParameterError("population must be finite numbers >= 0")
    x, y = grid.from_wgs84(lon, lat)
    row, col = grid.cell_of(x, y)
    ok = row >= 0
    values = np.bincount(row[ok] * grid.width + col[ok], weights=pop[ok], minlength=grid.n_cells).reshape(grid.shape)
    return CellPopulation(values=values, method=POPULATION_GRID, total=float(values.sum()), left_out=int((~ok).sum()))


def load_population_points(path: str | os.PathLike):
    """Read a population grid: CSV (or .csv.gz) with ``lon``, ``lat``, ``population`` columns.

    The ``population_grid`` file of a data directory (``idcar_200m, lon, lat, population,
    code``) is one; other columns are ignored. Values are checked: file, line and column of
    the first bad one.

    Returns
    -------
    pandas.DataFrame
        ``lon``, ``lat``, ``population`` (float64).

    Raises
    ------
    InputFileError, DataFormatError
    """
    import pandas as pd

    from accessibility._io import line_of, read_table, require_numbers

    what = "population grid"
    df = read_table(path, {"lon": ("lon", "longitude", "x"), "lat": ("lat", "latitude", "y"),
                           "population": ("population", "ind", "pop")}, what)
    lon = require_numbers(df, "lon", path, what)
    lat = require_numbers(df, "lat", path, what)
    pop = require_numbers(df, "population", path, what, minimum=0.0)
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{what} {str(path)!r}, line {line_of(i)}: lon={lon[i]:g}, lat={lat[i]:g} are not WGS84 degrees")
    return pd.DataFrame({"lon": lon, "lat": lat, "population": pop})


def _polygons_of(mask: np.ndarray, grid: Grid):
    """The cells of ``mask`` as one (multi)polygon, valid, in the grid's CRS."""
    import shapely
    from rasterio.features import shapes

    if not mask.any():
        return shapely.MultiPolygon()
    parts = []
    for geom, val in shapes(mask.astype(np.uint8), mask=mask, connectivity=4, transform=grid.transform):
        if val != 1:
            continue
        rings = [shapely.linearrings(np.asarray(r, dtype=np.float64)) for r in geom["coordinates"]]
        parts.append(shapely.polygons(rings[0], holes=rings[1:] or None))
    geom = shapely.MultiPolygon(parts) if len(parts) > 1 else parts[0]
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    return geom


def contours(surface: Surface, minutes, *, population: CellPopulation | None = None):
    """The isochrone polygons of a surface at the given thresholds.

    Parameters
    ----------
    surface : Surface
    minutes : sequence of float or str
        Thresholds, strictly increasing (``"10,20,30"``).
    population : CellPopulation, optional
        From :func:`population_from_communes` or :func:`population_from_points`, on the
        surface's grid.

    Returns
    -------
    geopandas.GeoDataFrame
        One row per threshold, in the surface's CRS: ``minutes``, ``area_km2`` (on the ellipsoid),
        ``cells``, ``population`` (rounded inhabitants, empty without a population layer),
        ``population_method``, ``geometry`` (cells within the threshold, dissolved, valid;
        empty when none).

    Raises
    ------
    InvalidParameterError
        Thresholds not increasing or not > 0, or a population layer of another grid.
    """
    import geopandas as gpd
    import pandas as pd

    if not isinstance(surface, Surface):
        raise InvalidParameterError(f"surface must be an isochrones Surface, got {type(surface).__name__}")
    mins = check_minutes(minutes)
    if population is not None and (not isinstance(population, CellPopulation) or population.values.shape != surface.grid.shape):
        raise InvalidParameterError("population must be a CellPopulation on the surface's grid")
    t = surface.minutes
    rows, cols = np.nonzero(np.isfinite(t) & (t <= mins[-1]))
    cell_km2 = surface.grid.cell_areas_km2(rows, cols) if len(rows) else np.zeros(0)
    t_in = t[rows, cols]
    geoms, cells, pops, areas = [], [], [], []
    for m in mins:
        mask = np.isfinite(t) & (t <= m)
        geoms.append(_polygons_of(mask, surface.grid))
        cells.append(int(mask.sum()))
        areas.append(float(cell_km2[t_in <= m].sum()))
        pops.append(float(population.values[mask].sum()) if population is not None else np.nan)
    pop_col = pd.array([pd.NA if np.isnan(p) else int(round(p)) for p in pops], dtype="Int64")
    return gpd.GeoDataFrame(
        {
            "minutes": np.asarray(mins, dtype=float),
            "area_km2": np.round(areas, 3),
            "cells": np.asarray(cells, dtype=np.int64),
            "population": pop_col,
            "population_method": [population.method if population is not None else ""] * len(mins),
        },
        geometry=geoms,
        crs=surface.crs,
    )
