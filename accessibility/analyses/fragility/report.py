"""Outputs of ``access fragility``, written as one unit (:class:`accessibility._io.OutputDir`).

Files written by :func:`write_outputs`:

- ``fragility.csv``: one row per analysed commune (:attr:`FragilityResult.table`): every car
  time, every normalised variable, the sub-indices, the dimension, its rank and the variables
  available;
- ``variables.csv``: one row per variable: its sub-index, BPE codes or site kinds, sources,
  whether it could be measured (and why not), servers or sites having it, raw min and max;
- ``sites.csv``: every point site read (places of digital mediation, conseillers numériques,
  France services) with its kinds and whether it was placed on the network;
- ``unplaced_communes.csv``: communes analysed but not placed, with the reason;
- ``fragility.gpkg``: layer ``communes`` (polygons with the table's columns), ``centres``
  (analysed communes without a polygon, when there are some), ``sites`` (placed sites);
- ``map_<sub-index>.png`` for each sub-index that could be computed, ``map_dimension.png``;
- ``run.json``: the manifest, with the variables, sub-indices, BPE codes absent from the file,
  service wordings met and unmatched, site counts per source.
"""

from __future__ import annotations

import logging
import os
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility._io import run_outputs
from accessibility.analyses.fragility.index import FragilityResult
from accessibility.analyses.fragility.tables import SUB_INDEX_LABELS, SUB_INDEX_SHORT
from accessibility.outputs.manifest import Run
from accessibility.outputs.maps import MapBase, Markers, draw, fr_number, map_base

__all__ = ["write_outputs", "plot_index_map", "format_summary", "manifest_extras", "top_mask", "INDEX_EDGES",
           "INDEX_COLORS", "TOP_SHARE"]

log = logging.getLogger(__name__)

#: Class edges of the 0–1 index maps (the last class is open: 0.8 – 1).
INDEX_EDGES = (0.0, 0.2, 0.4, 0.6, 0.8)
#: Five classes, green (least fragile) to red (most fragile).
INDEX_COLORS = ("#1a9850", "#a6d96a", "#fee08b", "#fc8d59", "#d73027")
#: The communes outlined on each map: the most fragile tenth of the study region on that index.
TOP_SHARE = 0.10
_NORM_LABELS = {"minmax": "min-max", "rank": "rang"}
_SOURCES = ("Temps en voiture centre à centre (chef-lieu) ; sites de médiation et France services à leur adresse. "
            "Sources : INSEE BPE, ANCT, Hub du Sud, © OpenStreetMap contributors.")


def _csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _labels() -> list[str]:
    e = INDEX_EDGES
    out = [f"{fr_number(e[i], 1)} – {fr_number(e[i + 1], 1)}" for i in range(len(e) - 1)]
    return out + [f"{fr_number(e[-1], 1)} – 1"]


def top_mask(values: np.ndarray, *, share: float = TOP_SHARE) -> np.ndarray:
    """The communes in the most fragile ``share`` of those with a value (ties included)."""
    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    if not ok.any():
        return np.zeros(len(v), dtype=bool)
    cut = np.quantile(v[ok], 1.0 - share)
    return ok & (v >= cut) & (v > 0)


def _map_base(result: FragilityResult, polygons) -> MapBase:
    c = result.communes
    return map_base(c["code"], c["departement"], c["lon"], c["lat"], polygons)


def plot_index_map(result: FragilityResult, column: str, path, *, base: MapBase, dpi: int = 110) -> Path:
    """Map one index column (``dimension`` or ``index_<sub-index>``) of the analysed communes."""
    t = result.table.set_index("code").reindex(base.codes)
    values = t[column].to_numpy(float)
    name = column.removeprefix("index_")
    deps = ", ".join(result.parameters.get("departements", []))
    norm = _NORM_LABELS.get(result.parameters.get("normalisation", ""), "")
    if column == "dimension":
        subs = result.available_sub_indices
        what = "accès à l'information et aux services publics"
        detail = f"moyenne de {len(subs)} sous-indices ({norm}) : " + ", ".join(SUB_INDEX_SHORT[s] for s in subs)
    else:
        what = SUB_INDEX_LABELS[name].split(" (")[0]
        vs = result.variables[(result.variables["sub_index"] == name) & result.variables["available"]]
        detail = f"moyenne de {len(vs)} variable(s) ({norm}) : " + ", ".join(vs["label"])
    detail = textwrap.shorten(detail, 90, placeholder=" …")
    top = top_mask(values)
    pop = t["population"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    pop_top = int(np.nansum(np.where(top, pop, 0)))
    markers = []
    s = result.sites
    if len(s) and "placed" in s:
        placed = s["placed"].astype(bool).to_numpy()
        if name == "digital_help":
            k = placed & (s["skills"].astype(bool) | s["procedures"].astype(bool)).to_numpy()
            markers.append(Markers(s.loc[k, "lon"], s.loc[k, "lat"], "lieu de médiation numérique ou France services",
                                   marker="o", size=12 if k.sum() > 60 else 24, color="#2b2b2b"))
        elif name == "public_services":
            k = placed & s["france_services"].astype(bool).to_numpy()
            markers.append(Markers(s.loc[k, "lon"], s.loc[k, "lat"], "France services", marker="s",
                                   size=14 if k.sum() > 60 else 26, color="#2b2b2b"))
    return draw(
        base, values, path, edges=INDEX_EDGES, labels=_labels(), colors=INDEX_COLORS,
        title=f"Fragilité numérique : {what} — {deps}\n{detail}",
        legend_title="indice (1 = le plus fragile)",
        outline=top, outline_label=f"{int(TOP_SHARE * 100)} % des communes les plus fragiles",
        markers=markers,
        footer=f"{int(TOP_SHARE * 100)} % les plus fragiles : {fr_number(int(top.sum()))} communes, "
               f"{fr_number(pop_top)} habitants",
        sources=_SOURCES, unplaced_label="sans valeur (non placée ou donnée absente)", dpi=dpi,
    )


def _write_gpkg(result: FragilityResult, polygons, path: Path) -> None:
    import geopandas as gpd

    t = result.table.copy()
    for c in t.columns:  # GeoPackage has no nullable string/boolean extension types
        if str(t[c].dtype) == "string":
            t[c] = t[c].astype(object).where(t[c].notna(), None)
    has_poly = polygons is not None and len(polygons) > 0
    poly = polygons.set_index("code").geometry if has_poly else None
    in_poly = t["code"].isin(poly.index) if has_poly else pd.Series(False, index=t.index)
    if in_poly.any():
        gpd.GeoDataFrame(t[in_poly], geometry=poly.reindex(t.loc[in_poly, "code"]).to_numpy(),
                         crs="EPSG:4326").to_file(path, layer="communes", driver="GPKG")
    if (~in_poly).any():
        pts = result.communes.set_index("code").reindex(t.loc[~in_poly, "code"])
        gpd.GeoDataFrame(t[~in_poly], geometry=gpd.points_from_xy(pts["lon"], pts["lat"]),
                         crs="EPSG:4326").to_file(path, layer="centres", driver="GPKG")
        log.warning("%d analysed communes have no polygon: written as centre points in layer 'centres' of "
                    "fragility.gpkg and drawn as dots on the maps", int((~in_poly).sum()))
    s = result.sites
    if len(s) and "placed" in s and s["placed"].any():
        sp = s[s["placed"].astype(bool)].copy()
        for c in ("skills", "procedures", "france_services", "placed"):
            sp[c] = sp[c].astype(bool)
        gpd.GeoDataFrame(sp, geometry=gpd.points_from_xy(sp["lon"], sp["lat"]), crs="EPSG:4326").to_file(
            path, layer="sites", driver="GPKG")


def manifest_extras(result: FragilityResult) -> dict:
    """What ``run.json`` adds to the run's manifest: variables, sub-indices, unmatched codes and
    wordings, site counts."""
    def clean(df: pd.DataFrame) -> list[dict]:
        return [{k: (None if isinstance(v, float) and np.isnan(v) else v) for k, v in r.items()}
                for r in df.to_dict(orient="records")]

    return {
        "variables": clean(result.variables),
        "sub_indices": clean(result.sub_indices),
        **{k: v for k, v in result.report.items()},
    }


def write_outputs(result: FragilityResult, out_dir: str | os.PathLike, *, polygons=None, maps: bool = True,
                  run: Run | None = None) -> list[Path]:
    """Write every output of a run into ``out_dir`` as one unit (see the module docstring).

    Returns
    -------
    list of Path
        The files of the run, ``run.json`` last.

    Raises
    ------
    InvalidParameterError
        ``out_dir`` is a file or a directory of other files.
    InputFileError
        The outputs cannot be written: nothing of the run is left.
    """
    run = run if run is not None else (result.manifest or Run("fragility"))
    with run_outputs(out_dir) as out:
        with run.stage("write"):
            _csv(result.table, out.path("fragility.csv"))
            _csv(result.variables, out.path("variables.csv"))
            _csv(result.sites, out.path("sites.csv"))
            _csv(result.unplaced, out.path("unplaced_communes.csv"))
            _write_gpkg(result, polygons, out.path("fragility.gpkg"))
        if maps:
            with run.stage("maps"):
                base = _map_base(result, polygons)
                for s in result.available_sub_indices:
                    plot_index_map(result, f"index_{s}", out.path(f"map_{s}.png"), base=base)
                plot_index_map(result, "dimension", out.path("map_dimension.png"), base=base)
        manifest = run.to_dict()
        manifest.update(manifest_extras(result))
        return out.commit(manifest)



def format_summary(result: FragilityResult, *, top: int = 15) -> str:
    """What ``access fragility`` prints: the variables used, the most fragile communes and their
    population, and a line per département."""
    t = result.table
    p = result.parameters
    subs = result.available_sub_indices
    lines = [
        f"Access axis of the digital-fragility index, départements {', '.join(p['departements'])} "
        f"({p['normalisation']} normalisation, "
        + ("with the census shares of --extra" if p.get("with_extra") else "without the census shares (no --extra)")
        + ")",
    ]
    for r in result.sub_indices.itertuples():
        if r.available:
            n = len(r.variables.split())
            lines.append(f"  {r.sub_index:<16} {n:>2} variable(s)"
                         + (f"; empty: {r.empty_variables}" if r.empty_variables else ""))
        else:
            lines.append(f"  {r.sub_index:<16} empty: {r.reason}")
    for r in result.variables.itertuples():
        if not r.available and r.source != "extra":
            lines.append(f"  note: {r.variable} is empty: {r.reason}")
    dim = t["dimension"].to_numpy(float)
    ok = np.isfinite(dim)
    pop = t["population"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    if not ok.any():
        lines.append("no commune has a value of the dimension")
        return "\n".join(lines)
    order = np.flatnonzero(ok)[np.argsort(-dim[ok], kind="stable")][:top]
    heads = ["rank", "code", "commune", "dép", "population", "dimension", *[s[:10] for s in subs], "driven by"]
    rows = []
    for i in order:
        vals = {s: t[f"index_{s}"].iat[i] for s in subs}
        driver = max(vals, key=lambda s: -np.inf if np.isnan(vals[s]) else vals[s])
        driver = driver if vals[driver] > 0 else "–"
        rows.append([str(t["rank"].iat[i]), t["code"].iat[i], str(t["nom"].iat[i])[:28], t["departement"].iat[i],
                     "" if np.isnan(pop[i]) else f"{int(pop[i]):,}", f"{dim[i]:.3f}",
                     *[f"{vals[s]:.3f}" for s in subs], driver])
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(heads)]
    left = {1, 2, 3, len(heads) - 1}

    def fmt(cells):
        return "  ".join(c.ljust(w) if k in left else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths)))

    lines += ["", f"The {len(order)} most fragile communes:", fmt(heads), fmt(["-" * w for w in widths])]
    lines += [fmt(r) for r in rows]
    tot = np.nansum(np.where(ok, pop, 0))
    top_pop = np.nansum(pop[order])
    lines.append(f"They hold {int(top_pop):,} inhabitants"
                 + (f" ({100 * top_pop / tot:.1f} % of the {int(tot):,} of the communes with a value)." if tot else "."))
    lines += ["", "dép  communes  with value  population  mean dimension (pop.-weighted)  most fragile tenth: communes, inhabitants"]
    mask = top_mask(dim)
    for d, g in t.groupby("departement", sort=True):
        idx = g.index.to_numpy()
        okd = ok[idx]
        w = np.where(np.isnan(pop[idx]), 0, pop[idx])
        wm = np.sum(dim[idx][okd] * w[okd]) / w[okd].sum() if okd.any() and w[okd].sum() > 0 else np.nan
        lines.append(f"{d:<4} {len(g):>8}  {int(okd.sum()):>10}  {int(np.nansum(pop[idx])):>10,}  {wm:>30.3f}  "
                     f"{int(mask[idx].sum()):>8}, {int(np.nansum(np.where(mask[idx], pop[idx], 0))):,}")
    n_un = int((~t["placed"]).sum())
    if n_un:
        lines.append(f"note: {n_un} communes not placed on the network: see unplaced_communes.csv")
    for src, words in result.report.get("unmatched_wordings", {}).items():
        if words:
            lines.append(f"note: service wordings of {src} not in the mapping table: {', '.join(words)}")
    return "\n".join(lines)
