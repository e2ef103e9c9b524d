"""Outputs of a siting run, written as one unit (:class:`accessibility._io.OutputDir`).

- ``communes.csv``: per commune, time to the nearest site before and after, which site, gain,
  beyond the threshold or not, crossing;
- ``sites.csv``: per site, status (existing, added, removed), communes and inhabitants served
  before and after;
- ``totals.csv``: before and after, communes and inhabitants beyond the threshold, mean and
  population-weighted mean time;
- ``crossings.csv``: the communes that cross the threshold;
- ``optimisation.csv`` (with ``--optimize`` / ``--cover-all``): the sites chosen, greedy and
  exact, with their marginal gains;
- ``unplaced_sites.csv``: the sites of the source that could not be placed, with the reason;
- ``siting.gpkg``: layers ``communes`` (polygons, or centres for communes without one) and
  ``sites`` (points);
- ``map_before.png`` and ``map_after.png`` (``map.png`` when there is no what-if);
- ``run.json``: the manifest.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility._io import run_outputs
from accessibility.analyses.siting.model import Optimisation, Scenario
from accessibility.outputs.manifest import Run
from accessibility.outputs.maps import Markers, draw, fr_number, map_base, time_classes

__all__ = ["write_site_outputs", "format_site_summary", "plot_site_map"]


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def plot_site_map(scenario: Scenario, when: str, path, *, base, title: str) -> Path:
    """Communes coloured by minutes to the nearest site (``when`` = before/after), the communes
    beyond the threshold outlined, existing, added and removed sites marked."""
    c = scenario.communes.set_index("code").reindex(base.codes)
    thr = scenario.threshold_min
    edges, labels = time_classes(thr)
    s = scenario.sites
    existing = s[s["placed"] & ((s["status"] == "existing") | ((s["status"] == "removed") & (when == "before")))]
    markers = [Markers(existing["lon"], existing["lat"], "site existant", marker="o", color="#1f4e9e", size=26)]
    if when == "after":
        added = s[s["status"] == "added"]
        removed = s[s["status"] == "removed"]
        markers.append(Markers(added["lon"], added["lat"], "site ajouté", marker="*", color="#d7191c", size=150,
                               names=added["name"], label_max=10))
        markers.append(Markers(removed["lon"], removed["lat"], "site retiré", marker="X", color="#000000", size=60,
                               names=removed["name"], label_max=10))
    t = scenario.totals.set_index("when").loc[when]
    share = fr_number(t["share_population_beyond"], 1) if np.isfinite(t["share_population_beyond"]) else "–"
    return draw(
        base, c[f"minutes_{when}"].to_numpy(float), path, edges=edges, labels=labels, title=title,
        outline=c[f"beyond_{when}"].fillna(False).astype(bool).to_numpy(), outline_label=f"au-delà de {thr:g} min",
        markers=markers, unplaced_label="non mesurée",
        footer=(f"Au-delà de {thr:g} min : {fr_number(t['communes_beyond'])} communes, "
                f"{fr_number(t['population_beyond'])} habitants ({share} %) ; "
                f"temps moyen pondéré {fr_number(t['weighted_mean_minutes'], 1)} min"),
        sources="Temps en voiture du chef-lieu au site. Sources : ANCT, INSEE, IGN, © OpenStreetMap contributors.",
    )


def _gpkg(scenario: Scenario, polygons, communes_lonlat: pd.DataFrame, path: Path) -> None:
    import geopandas as gpd

    c = scenario.communes.merge(communes_lonlat, on="code", how="left")
    c = c.assign(**{k: c[k].astype("Int8") for k in ("beyond_before", "beyond_after")})
    poly = polygons.set_index("code").geometry if polygons is not None and len(polygons) else None
    has = c["code"].isin(poly.index) if poly is not None else pd.Series(False, index=c.index)
    if has.any():
        gpd.GeoDataFrame(c[has].drop(columns=["lon", "lat"]), geometry=poly.reindex(c.loc[has, "code"]).to_numpy(),
                         crs="EPSG:4326").to_file(path, layer="communes", driver="GPKG")
    if (~has).any():
        d = c[~has]
        gpd.GeoDataFrame(d.drop(columns=["lon", "lat"]), geometry=gpd.points_from_xy(d["lon"], d["lat"]),
                         crs="EPSG:4326").to_file(path, layer="communes_centres", driver="GPKG")
    s = scenario.sites[scenario.sites["placed"]]
    gpd.GeoDataFrame(s, geometry=gpd.points_from_xy(s["lon"], s["lat"]), crs="EPSG:4326").to_file(
        path, layer="sites", driver="GPKG")


def write_site_outputs(
    scenario: Scenario,
    out_dir: str | os.PathLike,
    *,
    communes_lonlat: pd.DataFrame,
    optimisation: Optimisation | None = None,
    unplaced_sites: pd.DataFrame | None = None,
    polygons=None,
    maps: bool = True,
    title: str = "",
    run: Run | None = None,
) -> list[Path]:
    """Write every output of a siting run into ``out_dir`` as one unit (see the module docstring).

    Parameters
    ----------
    communes_lonlat : pandas.DataFrame
        ``code, departement, lon, lat`` of the communes analysed (for centres and maps).
    """
    run = run if run is not None else Run("site")
    what_if = scenario.added is not None or bool(scenario.removed)
    with run_outputs(out_dir) as out:
        with run.stage("write"):
            _csv(scenario.communes, out.path("communes.csv"))
            _csv(scenario.sites, out.path("sites.csv"))
            _csv(scenario.totals, out.path("totals.csv"))
            _csv(scenario.crossings, out.path("crossings.csv"))
            if optimisation is not None:
                _csv(optimisation.table, out.path("optimisation.csv"))
            if unplaced_sites is not None and len(unplaced_sites):
                _csv(unplaced_sites, out.path("unplaced_sites.csv"))
            _gpkg(scenario, polygons, communes_lonlat[["code", "lon", "lat"]], out.path("siting.gpkg"))
        if maps:
            with run.stage("maps"):
                cl = communes_lonlat
                base = map_base(cl["code"], cl["departement"], cl["lon"], cl["lat"], polygons)
                if what_if:
                    plot_site_map(scenario, "before", out.path("map_before.png"), base=base, title=f"{title}\navant")
                    plot_site_map(scenario, "after", out.path("map_after.png"), base=base, title=f"{title}\naprès")
                else:
                    plot_site_map(scenario, "before", out.path("map.png"), base=base, title=title)
        return out.commit(run.to_dict())



def _line(t: pd.Series, thr: float) -> str:
    share = f"{t['share_population_beyond']:.1f} %" if np.isfinite(t["share_population_beyond"]) else "–"
    return (f"{int(t['communes_beyond']):,} communes and {int(t['population_beyond']):,} inhabitants ({share}) beyond "
            f"{thr:g} min; mean {t['mean_minutes']:.1f} min, population-weighted {t['weighted_mean_minutes']:.1f} min")


def format_site_summary(scenario: Scenario, *, label: str, optimisation: Optimisation | None = None) -> str:
    """A short summary a planner can paste into a note."""
    thr = scenario.threshold_min
    tot = scenario.totals.set_index("when")
    lines = [f"{label} — threshold {thr:g} min", f"Today: {_line(tot.loc['before'], thr)}."]
    what_if = scenario.added is not None or bool(scenario.removed)
    if what_if:
        parts = []
        if scenario.added is not None and len(scenario.added):
            parts.append("adding " + ", ".join(f"{n}" for n in scenario.added.names))
        if scenario.removed:
            parts.append("removing " + ", ".join(scenario.removed))
        lines.append(f"After {' and '.join(parts)}: {_line(tot.loc['after'], thr)}.")
        cr = scenario.crossings
        for kind, verb in (("enters", "come within"), ("leaves", "fall beyond")):
            sub = cr[cr["crossing"] == kind]
            if len(sub):
                pop = int(pd.to_numeric(sub["population"], errors="coerce").fillna(0).sum())
                names = ", ".join(f"{r.nom} ({r.minutes_before:g} → {r.minutes_after:g} min)" for r in sub.head(12).itertuples())
                lines.append(f"{len(sub)} communes ({pop:,} inhabitants) {verb} {thr:g} min: {names}"
                             + (" …" if len(sub) > 12 else ""))
        if not len(cr):
            lines.append("No commune crosses the threshold.")
    if optimisation is not None:
        lines.extend(_optimisation_lines(optimisation, thr))
    return "\n".join(lines)


def _optimisation_lines(o: Optimisation, thr: float) -> list[str]:
    unit = {"coverage": "inhabitants newly within", "mean-time": "inhabitant-minutes saved",
            "cover-all": "communes newly within"}[o.problem]
    head = {"coverage": f"Best {o.k} new sites to bring the most inhabitants within {thr:g} min",
            "mean-time": f"Best {o.k} new sites to cut the population-weighted time",
            "cover-all": f"Fewest new sites to bring every commune within {thr:g} min"}[o.problem]
    lines = [head + ":"]
    for sol in (o.greedy, o.exact):
        if sol is None:
            continue
        sites = o.table[o.table["method"] == sol.method]
        picks = ", ".join(f"{r.name} (+{r.gain:,.0f})" for r in sites.itertuples())
        obj = (f"{sol.objective:,.0f} inhabitants within (today {sol.before:,.0f})" if o.problem == "coverage" else
               f"weighted mean {sol.objective:.2f} min (today {sol.before:.2f})" if o.problem == "mean-time" else
               f"{sol.objective:.0f} sites")
        proof = "" if sol.method == "greedy" else (", proven optimal" if sol.optimal else f", not proven optimal: {sol.status}")
        lines.append(f"  {sol.method}: {picks} — {obj} [{unit}]{proof}")
    if o.exact is not None:
        lines.append(f"  gap greedy vs exact: {100 * o.gap:.2f} %")
    return lines
