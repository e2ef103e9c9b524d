"""Tables, GeoPackage and maps of a zones grises run, written as one unit.

Outputs go through :class:`accessibility._io.OutputDir`: written into a hidden sibling of the
output directory, ``run.json`` last, then swapped in at once. A run that fails or is interrupted
leaves the previous complete run untouched (or nothing) and no temporary file; files of an
earlier run that this one does not write (maps of another tier) do not survive the swap.

Files written by :func:`write_outputs`:

- ``access_times.csv``: one row per commune, tier and method (:attr:`AccessResult.access`);
- ``equipment_times.csv``: commune × equipment minutes, long format;
- ``summary.csv``: the SDAASP table per département, tier and method;
- ``unplaced_communes.csv``: communes not placed on the network, with the reason;
- ``poles.csv``: pôles of each gamme in the extract;
- ``zones_grises.gpkg``: layer ``communes`` (polygons with times and flags; wide columns
  ``minutes_<tier>_<method>``, ``zone_grise_<tier>_<method>``, ``nearest_pole_<tier>``), layer
  ``centres`` (points, for analysed communes with no polygon, only when there are some) and
  layer ``poles`` (points);
- ``map_<tier>_<method>.png``: one map per tier and method;
- ``run.json``: the run's manifest (:class:`accessibility.outputs.manifest.Run`): parameters, inputs with
  their sha256, graph, versions, warnings, counts, seconds per stage, and the list of outputs.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pandas as pd

from accessibility._io import OutputDir, run_outputs
from accessibility.analyses.zones import AccessResult
from accessibility.outputs.manifest import Run
from accessibility.outputs.maps import MapBase, Markers, draw, fr_number, map_base, time_classes
from accessibility.settings import TIER_LABELS

__all__ = ["write_outputs", "write_tables", "plot_map", "map_base_of", "format_summary", "TIER_LABELS"]

log = logging.getLogger(__name__)

#: French names of the methods, for map titles.
_METHOD_LABELS = {"mean": "moyenne des temps aux équipements de la gamme", "pole": "temps au pôle de la gamme le plus proche"}


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _wide(result: AccessResult) -> pd.DataFrame:
    """One row per analysed commune, one column per tier and method."""
    base = result.communes[["code", "nom", "departement", "population", "placed", "reason"]].copy()
    a = result.access
    for (tier, method), g in a.groupby(["tier", "method"], sort=False):
        g = g.set_index("code").reindex(base["code"])
        base[f"minutes_{tier}_{method}"] = g["minutes"].to_numpy(float)
        zg = g["zone_grise"]
        base[f"zone_grise_{tier}_{method}"] = zg.map({True: 1, False: 0}).astype("Int8").to_numpy()
        if method == "pole":
            base[f"nearest_pole_{tier}"] = g["nearest_pole"].astype(object).where(g["nearest_pole"].notna(), None).to_numpy()
        base[f"pole_{tier}"] = g["pole"].astype("Int8").to_numpy()
    return base


def _write_gpkg(result: AccessResult, polygons, path: Path) -> None:
    import geopandas as gpd

    wide = _wide(result)
    has_poly = polygons is not None and len(polygons) > 0
    poly = polygons.set_index("code").geometry if has_poly else None
    in_poly = wide["code"].isin(poly.index) if has_poly else pd.Series(False, index=wide.index)
    if has_poly and in_poly.any():
        g = gpd.GeoDataFrame(wide[in_poly], geometry=poly.reindex(wide.loc[in_poly, "code"]).to_numpy(), crs="EPSG:4326")
        g.to_file(path, layer="communes", driver="GPKG")
    if (~in_poly).any():
        pts = result.communes.set_index("code").reindex(wide.loc[~in_poly, "code"])
        g = gpd.GeoDataFrame(
            wide[~in_poly], geometry=gpd.points_from_xy(pts["lon"], pts["lat"]), crs="EPSG:4326"
        )
        g.to_file(path, layer="centres", driver="GPKG")
        log.warning(
            "%d analysed communes have no polygon: written as centre points in layer 'centres' of "
            "zones_grises.gpkg and drawn as dots on the maps",
            int((~in_poly).sum()),
        )
    p = result.poles
    gp = gpd.GeoDataFrame(p, geometry=gpd.points_from_xy(p["lon"], p["lat"]), crs="EPSG:4326")
    gp.to_file(path, layer="poles", driver="GPKG")


def _fr(n: int) -> str:
    """12345 -> '12 345' (French thousands separator, narrow no-break space)."""
    return fr_number(n)


def map_base_of(result: AccessResult, polygons=None) -> MapBase:
    """The shared part of a run's maps: its analysed communes, projected once."""
    c = result.communes
    return map_base(c["code"], c["departement"], c["lon"], c["lat"], polygons)


def plot_map(
    result: AccessResult,
    tier: str,
    method: str,
    path: str | os.PathLike,
    *,
    polygons=None,
    base: MapBase | None = None,
    dpi: int = 110,
) -> Path:
    """Draw the map of one tier and method: communes coloured by minutes, zone grise outlined.

    Parameters
    ----------
    result : AccessResult
    tier, method : str
        One of ``result.parameters["tiers"]`` and ``["methods"]``.
    path : str or path-like
        PNG file to write (not atomic by itself: :func:`write_outputs` stages it).
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons (``code``, WGS84). Communes without a polygon are drawn as dots at
        their centre.
    base : MapBase, optional
        The projected communes (:func:`map_base_of`), shared by the maps of a run; made from
        ``polygons`` when omitted.
    dpi : int, default 110

    Returns
    -------
    Path
    """
    base = base if base is not None else map_base_of(result, polygons)
    a = result.access[(result.access["tier"] == tier) & (result.access["method"] == method)].set_index("code")
    a = a.reindex(base.codes)
    thr = float(a["threshold_min"].dropna().iloc[0])
    edges, labels = time_classes(thr)
    s = result.summary[(result.summary["tier"] == tier) & (result.summary["method"] == method)]
    n_zg, pop_zg, pop = int(s["communes_zone_grise"].sum()), int(s["population_zone_grise"].sum()), int(s["population"].sum())
    share = fr_number(100.0 * pop_zg / pop, 1) if pop else "–"
    deps = ", ".join(result.parameters.get("departements", []))
    poles = result.poles[result.poles["tier"] == tier]
    return draw(
        base, a["minutes"].to_numpy(float), path, edges=edges, labels=labels,
        title=f"Temps d'accès en voiture, gamme {TIER_LABELS.get(tier, tier)}\n"
              f"{_METHOD_LABELS.get(method, method)} — départements {deps}",
        outline=a["zone_grise"].fillna(False).astype(bool).to_numpy(),
        outline_label=f"zone grise (> {thr:g} min)",
        markers=[Markers(poles["lon"], poles["lat"], f"pôle {TIER_LABELS.get(tier, tier)}", names=poles["nom"])],
        footer=f"Zone grise : {_fr(n_zg)} communes, {_fr(pop_zg)} habitants ({share} % de la population)",
        sources="Temps centre à centre (chef-lieu). Sources : INSEE BPE, INSEE/IGN COG, © OpenStreetMap contributors.",
        dpi=dpi,
    )


def format_summary(summary: pd.DataFrame) -> str:
    """The summary table as aligned text (what ``access compute`` prints)."""
    cols = ["departement", "method", "tier", "threshold_min", "communes", "communes_zone_grise",
            "population", "population_zone_grise", "share_population_zone_grise", "communes_unplaced"]
    heads = ["dép", "method", "tier", "thr min", "communes", "zone grise", "population", "pop zone grise", "% pop", "unplaced"]
    rows = []
    for r in summary[cols].itertuples(index=False):
        rows.append([
            r.departement, r.method, r.tier, f"{r.threshold_min:g}", f"{r.communes:,}", f"{r.communes_zone_grise:,}",
            f"{r.population:,}", f"{r.population_zone_grise:,}",
            # from the counts, not the 2-decimal CSV value (rounding twice turns 6.051 into 6.0)
            "" if not r.population else f"{100 * r.population_zone_grise / r.population:.1f}",
            f"{r.communes_unplaced:,}",
        ])
    widths = [max(len(h), *(len(row[i]) for row in rows)) if rows else len(h) for i, h in enumerate(heads)]
    left = {0, 1, 2}

    def fmt(cells):
        return "  ".join(c.ljust(w) if i in left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    lines = [fmt(heads), fmt(["-" * w for w in widths])] + [fmt(r) for r in rows]
    return "\n".join(lines)


def write_tables(out: OutputDir, tables: dict[str, pd.DataFrame]) -> None:
    """Write each table as ``name`` (CSV, UTF-8, ``\\n`` line ends) into a staged run."""
    for name, df in tables.items():
        _csv(df, out.path(name))


def write_outputs(
    result: AccessResult,
    out_dir: str | os.PathLike,
    *,
    polygons=None,
    maps: bool = True,
    run: Run | None = None,
) -> list[Path]:
    """Write every output of a run into ``out_dir``, as one unit (see the module docstring).

    Parameters
    ----------
    result : AccessResult
    out_dir : str or path-like
        Created when missing; an existing directory must be empty or hold an earlier run.
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons (:func:`accessibility.inputs.communes.load_commune_polygons`) for the
        GeoPackage and maps; communes without one are written and drawn as centre points.
    maps : bool, default True
        Draw the PNG maps.
    run : Run, optional
        The manifest to write as ``run.json`` (stages ``write`` and ``maps`` are added);
        ``result.manifest`` when omitted.

    Returns
    -------
    list of Path
        The files of the run, ``run.json`` last.

    Raises
    ------
    InvalidParameterError
        ``out_dir`` is a file, or a directory holding files that are not an earlier run.
    InputFileError
        The outputs cannot be written (permissions, full disk): nothing of the run is left.
    """
    run = run if run is not None else (result.manifest or Run("compute"))
    with run_outputs(out_dir) as out:
        with run.stage("write"):
            write_tables(out, {
                "access_times.csv": result.access,
                "equipment_times.csv": result.equipment_times,
                "summary.csv": result.summary,
                "unplaced_communes.csv": result.unplaced,
                "poles.csv": result.poles,
            })
            _write_gpkg(result, polygons, out.path("zones_grises.gpkg"))
        if maps:
            with run.stage("maps"):
                base = map_base_of(result, polygons)
                for method in result.parameters["methods"]:
                    for tier in result.parameters["tiers"]:
                        plot_map(result, tier, method, out.path(f"map_{tier}_{method}.png"), base=base)
        manifest = run.to_dict()
        manifest["absent_equipments"] = result.absent_equipments.to_dict(orient="records")
        manifest["equipments_not_in_extract"] = result.equipments_not_in_extract.to_dict(orient="records")
        return out.commit(manifest)
