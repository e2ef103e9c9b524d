"""Travel-time surfaces and isochrones: how far one drives in 10, 20, 30 minutes, everywhere.

The continuous counterpart of ``access compute``: instead of one time per commune centre, a
raster of the car time from every cell of a grid (Lambert-93, 200 m by default) to the nearest
site, and the isochrone polygons at chosen minutes, with their area and population.

- :mod:`.grid` — the grid (:class:`Grid`), metric CRS checks;
- :mod:`.surface` — the raster (:func:`travel_time_surface`, :func:`gamme_surface`,
  :class:`Surface`), the off-road rule and its constant :data:`OFFROAD_MAX_DISTANCE_M`;
- :mod:`.polygons` — isochrone polygons (:func:`contours`) and populations inside them;
- :mod:`.raster` — the Cloud-Optimised GeoTIFF (:func:`write_geotiff`);
- :mod:`.sources` — the sites: points, service sources, the servers of a gamme;
- :mod:`.plot` — the map;
- :mod:`.pipeline` — a whole run (:func:`compute_isochrones`, :func:`write_outputs`).

Example::

    from accessibility import load_graph
    from accessibility.isochrones import points_places, compute_isochrones
    g = load_graph()
    sites = points_places(g, [(6.2356, 44.0925, "Digne-les-Bains"), (6.0790, 44.5596, "Gap")])
    r = compute_isochrones(g, sites, minutes=(10, 20, 30), max_minutes=30)
    r.raster, r.transform, r.crs        # numpy float32 minutes (NaN nodata), affine, "EPSG:2154"
    r.contours                          # GeoDataFrame: minutes, area_km2, population, geometry
"""

from accessibility.isochrones.grid import DEFAULT_CRS, DEFAULT_RESOLUTION_M, Grid, check_crs, grid_covering
from accessibility.isochrones.pipeline import IsochroneResult, compute_isochrones, study_area, write_outputs
from accessibility.isochrones.polygons import (
    CellPopulation,
    check_minutes,
    contours,
    load_population_points,
    population_from_communes,
    population_from_points,
)
from accessibility.isochrones.raster import write_geotiff
from accessibility.isochrones.sources import gamme_servers, points_places, service_places
from accessibility.isochrones.surface import (
    DIRECTION,
    OFFROAD_MAX_DISTANCE_M,
    Surface,
    gamme_surface,
    point_times,
    travel_time_surface,
    vertex_times,
)

__all__ = [
    "DEFAULT_CRS",
    "DEFAULT_RESOLUTION_M",
    "OFFROAD_MAX_DISTANCE_M",
    "DIRECTION",
    "Grid",
    "check_crs",
    "grid_covering",
    "Surface",
    "travel_time_surface",
    "gamme_surface",
    "point_times",
    "vertex_times",
    "contours",
    "check_minutes",
    "CellPopulation",
    "population_from_communes",
    "population_from_points",
    "load_population_points",
    "write_geotiff",
    "points_places",
    "service_places",
    "gamme_servers",
    "IsochroneResult",
    "compute_isochrones",
    "study_area",
    "write_outputs",
]
