"""An isochrone run as named steps: the study area, the surface, the contours, the outputs.

:func:`compute_isochrones` takes sites already placed (:mod:`accessibility.isochrones.sources`)
and returns an :class:`IsochroneResult` (raster, contours, manifest); :func:`write_outputs`
writes it as one unit (:class:`accessibility._io.OutputDir`): ``travel_time.tif`` (Cloud
Optimised GeoTIFF), ``isochrones.gpkg`` (layers ``isochrones`` and ``sites``),
``isochrones.csv``, ``sites.csv``, ``map.png`` and ``run.json``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accessibility.engine.places import OUTSIDE, Places
from accessibility.errors import InvalidParameterError
from accessibility.isochrones.grid import DEFAULT_CRS, DEFAULT_RESOLUTION_M, check_crs, check_resolution
from accessibility.isochrones.polygons import (
    POPULATION_GRID,
    CellPopulation,
    check_minutes,
    contours,
    population_from_communes,
    population_from_points,
)
from accessibility.isochrones.surface import DIRECTION, OFFROAD_MAX_DISTANCE_M, Surface, travel_time_surface
from accessibility.network.graph import Graph
from accessibility.outputs.manifest import Run
from accessibility.settings import CONNECTOR_SPEED_KMH

__all__ = ["IsochroneResult", "study_area", "compute_isochrones", "write_outputs", "OUTPUT_FILES"]

log = logging.getLogger(__name__)

#: The files of a run (``map.png`` only with maps).
OUTPUT_FILES = ("travel_time.tif", "isochrones.gpkg", "isochrones.csv", "sites.csv", "map.png", "run.json")

#: Margin (metres) around the communes' centres when a study area has no polygons.
_CENTRES_MARGIN_M = 5000.0


@dataclass(frozen=True, eq=False)
class IsochroneResult:
    """What an isochrone run computed.

    Attributes
    ----------
    surface : Surface
        The raster: ``surface.minutes`` (float32, NaN nodata), ``surface.transform``,
        ``surface.crs``.
    contours : geopandas.GeoDataFrame
        One row per threshold (see :func:`accessibility.isochrones.polygons.contours`).
    minutes : tuple of float
        The thresholds.
    title : str
    site_label : str or None
        For the map (None: no site drawn).
    departements : tuple of str
        The départements of the study area (empty without one).
    population : CellPopulation or None
    manifest : Run
    """

    surface: Surface
    contours: object
    minutes: tuple
    title: str
    site_label: str | None
    departements: tuple = ()
    population: CellPopulation | None = None
    manifest: Run | None = field(default=None, repr=False)

    @property
    def raster(self) -> np.ndarray:
        """The raster of minutes (float32, NaN nodata)."""
        return self.surface.minutes

    @property
    def transform(self):
        """Affine transform of the raster."""
        return self.surface.transform

    @property
    def crs(self) -> str:
        """CRS of the raster and contours."""
        return self.surface.crs

    def table(self):
        """``isochrones.csv``: minutes, area_km2, cells, population, population_method."""
        return self.contours.drop(columns="geometry").reset_index(drop=True)

    def sites_table(self):
        """``sites.csv``: the sites, placed or not with the reason (sites outside the road extract
        are counted in the manifest, not listed)."""
        df = self.surface.sites.to_frame()
        keep = self.surface.sites.reason != OUTSIDE
        return df.loc[keep].drop(columns=[c for c in ("population",) if c in df and df[c].isna().all()]).reset_index(drop=True)


def study_area(departements: Sequence[str], *, communes=None, polygons=None, crs: str = DEFAULT_CRS):
    """The area of the départements, in ``crs``: the union of their communes' polygons.

    Without polygons (or with communes missing from them), the communes' centres widened by
    5 km stand in for what is missing (logged).

    Returns
    -------
    shapely geometry

    Raises
    ------
    InvalidParameterError
        No commune of those départements in the commune table or the polygons.
    """
    import geopandas as gpd
    import shapely

    from accessibility.inputs.communes import departement_of

    deps = set(departements)
    parts = []
    codes = set()
    if polygons is not None and len(polygons):
        sel = polygons[np.isin(departement_of(polygons["code"].to_numpy(object)), list(deps))]
        if len(sel):
            parts.append(shapely.union_all(np.asarray(sel.to_crs(crs).geometry)))
            codes = set(sel["code"])
    if communes is not None:
        c = communes[communes["departement"].astype(str).isin(deps) & ~communes["code"].isin(codes)]
        c = c[np.isfinite(c["lon"].to_numpy(float)) & np.isfinite(c["lat"].to_numpy(float))]
        if len(c):
            if parts or polygons is None:
                log.warning("%d communes of département(s) %s have no polygon: their centres widened by %.0f km stand in",
                            len(c), ", ".join(sorted(deps)), _CENTRES_MARGIN_M / 1000)
            pts = gpd.GeoSeries(gpd.points_from_xy(c["lon"], c["lat"]), crs="EPSG:4326").to_crs(crs)
            parts.append(shapely.union_all(np.asarray(pts.buffer(_CENTRES_MARGIN_M))))
    if not parts:
        raise InvalidParameterError(
            f"no commune of département(s) {', '.join(sorted(deps))} in the commune table or the polygons: no area to cover"
        )
    return shapely.union_all(parts)


def _population(surface: Surface, *, population_points=None, polygons=None, populations=None) -> CellPopulation | None:
    if population_points is not None:
        return population_from_points(surface.grid, population_points["lon"], population_points["lat"],
                                      population_points["population"])
    if polygons is not None and populations is not None:
        return population_from_communes(surface.grid, polygons, populations, where=surface.near_road,
                                        where_label=f"within {surface.max_offroad_m:g} m of a road")
    return None


def compute_isochrones(
    graph: Graph,
    sites: Places,
    *,
    minutes=(10.0, 20.0, 30.0),
    resolution_m: float = DEFAULT_RESOLUTION_M,
    crs: str = DEFAULT_CRS,
    area=None,
    departements: Sequence[str] = (),
    groups=None,
    max_offroad_m: float = OFFROAD_MAX_DISTANCE_M,
    connector_speed_kmh: float = CONNECTOR_SPEED_KMH,
    max_minutes: float | None = None,
    population_points=None,
    polygons=None,
    populations=None,
    title: str = "Temps d'accès en voiture",
    site_label: str | None = "sites",
    run: Run | None = None,
) -> IsochroneResult:
    """The surface and the isochrones of ``sites`` (see :func:`travel_time_surface` and
    :func:`accessibility.isochrones.polygons.contours`).

    Parameters
    ----------
    graph : Graph
    sites : Places
    minutes : sequence of float or str, default 10, 20, 30
        Thresholds of the isochrones, strictly increasing.
    resolution_m, crs, area, groups, max_offroad_m, connector_speed_kmh, max_minutes
        As :func:`~accessibility.isochrones.surface.travel_time_surface`.
    departements : sequence of str
        Recorded (and drawn) as the study area's départements.
    population_points : pandas.DataFrame, optional
        ``lon, lat, population`` (:func:`~accessibility.isochrones.polygons.load_population_points`):
        exact populations inside the isochrones.
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons; with ``populations`` (inhabitants per code), populations area-weighted
        over the part of each commune within ``max_offroad_m`` of a road (people live near
        roads: spread over whole polygons, the inhabitants of a mountain commune would mostly
        sit on its roadless slopes, nodata), when there are no population points.
    title : str
        For the map and the GeoTIFF.
    site_label : str or None
        Legend entry of the sites on the map (None: no site drawn).
    run : Run, optional
        The manifest to fill (stages ``search``, ``raster``, ``contours``).

    Returns
    -------
    IsochroneResult

    Raises
    ------
    InvalidParameterError
        Bad thresholds, CRS, resolution, or other option (checked before any work).
    NoServiceError
        No site placed on the graph.
    """
    mins = check_minutes(minutes)
    check_crs(crs)
    check_resolution(resolution_m)
    run = run if run is not None else Run("isochrones")
    surface = travel_time_surface(
        graph, sites, resolution_m=resolution_m, crs=crs, area=area, groups=groups, max_offroad_m=max_offroad_m,
        connector_speed_kmh=connector_speed_kmh, max_minutes=max_minutes,
    )
    for k, v in surface.seconds.items():
        run.seconds[k] = round(run.seconds.get(k, 0.0) + v, 4)
    with run.stage("contours"):
        pop = _population(surface, population_points=population_points, polygons=polygons, populations=populations)
        iso = contours(surface, mins, population=pop)
    run.parameters.update({
        "minutes": list(mins), "resolution_m": surface.grid.resolution_m, "crs": surface.crs,
        "departements": list(departements), "max_offroad_m": surface.max_offroad_m,
        "connector_speed_kmh": surface.connector_speed_kmh, "max_minutes": surface.max_minutes,
        "groups": surface.n_groups, "direction": DIRECTION,
    })
    reasons = {r: int((sites.reason == r).sum()) for r in np.unique(sites.reason[~sites.placed])}
    run.counts.update({
        **surface.counts, "sites": len(sites), "sites_placed": sites.n_placed,
        **{f"sites_{k.replace(' ', '_')}": v for k, v in reasons.items()},
        "population_method": pop.method if pop is not None else None,
        "population_in_area": round(float(pop.values[surface.in_area].sum())) if pop is not None else None,
        "population_left_out": pop.left_out if pop is not None else None,
    })
    return IsochroneResult(surface=surface, contours=iso, minutes=mins, title=title, site_label=site_label,
                           departements=tuple(departements), population=pop, manifest=run)


def _footer(result: IsochroneResult) -> str | None:
    from accessibility.outputs.maps import fr_number

    c = result.contours
    if result.population is None or c["population"].isna().all():
        return None
    mins = " / ".join(fr_number(m, 0 if m == int(m) else 1) for m in c["minutes"])
    pops = " / ".join(fr_number(int(p)) for p in c["population"])
    how = "carroyage de population" if result.population.method == POPULATION_GRID \
        else ("estimation : les habitants de chaque commune répartis sur sa partie à moins de "
              f"{fr_number(result.surface.max_offroad_m)} m d'une route")
    return f"Habitants à moins de {mins} min : {pops}\n({how})"


def write_outputs(
    result: IsochroneResult,
    out_dir: str | os.PathLike,
    *,
    polygons=None,
    maps: bool = True,
    run: Run | None = None,
) -> list[Path]:
    """Write a run's outputs into ``out_dir`` as one unit (all or nothing).

    Parameters
    ----------
    result : IsochroneResult
    out_dir : path
        New, empty, or the directory of an earlier run.
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons for the map's context.
    maps : bool, default True
        Draw ``map.png``.
    run : Run, optional
        The manifest (``result.manifest`` when omitted); stages ``write`` and ``maps`` are added.

    Returns
    -------
    list of Path
        The files, ``run.json`` last.

    Raises
    ------
    InvalidParameterError
        ``out_dir`` is a file or holds other files.
    InputFileError
        A file cannot be written (full disk, permissions): nothing of the run is left.
    """
    import geopandas as gpd

    from accessibility._io import run_outputs
    from accessibility.isochrones.plot import draw_isochrones
    from accessibility.isochrones.raster import write_geotiff

    run = run if run is not None else (result.manifest or Run("isochrones"))
    s = result.surface
    with run_outputs(out_dir) as out:
        with run.stage("write"):
            write_geotiff(s, out.path("travel_time.tif"), title=result.title)
            result.contours.to_file(out.path("isochrones.gpkg"), layer="isochrones", driver="GPKG")
            placed = s.sites.take(s.sites.placed)
            pts = gpd.GeoDataFrame(
                {"id": placed.ids, "name": placed.names, "snap_distance_m": np.round(placed.distance_m, 1)},
                geometry=gpd.points_from_xy(placed.lon, placed.lat), crs="EPSG:4326",
            ).to_crs(s.crs)
            pts.to_file(out.path("isochrones.gpkg"), layer="sites", driver="GPKG")
            result.table().to_csv(out.path("isochrones.csv"), index=False, lineterminator="\n")
            result.sites_table().to_csv(out.path("sites.csv"), index=False, lineterminator="\n")
        if maps:
            with run.stage("maps"):
                draw_isochrones(s, result.contours, out.path("map.png"), minutes=result.minutes,
                                title=result.title, polygons=polygons, departements=result.departements or None,
                                site_label=result.site_label, footer=_footer(result))
        return out.commit(run.to_dict())
