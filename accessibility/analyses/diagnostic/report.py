"""The outputs of a diagnostic, written as one unit (:func:`write_diagnostic`).

CSV tables (every figure of the report comes from one of them), one GeoPackage with every layer
and its QGIS style in ``layer_styles``, the maps (PNG), the French HTML report with the maps
inlined and its PDF, and ``run.json`` last (:func:`accessibility._io.run_outputs`).
"""

from __future__ import annotations

import logging
import os
from typing import Any
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility._io import run_outputs
from accessibility.analyses.diagnostic.armature import LEVEL_LABELS
from accessibility.analyses.diagnostic.pipeline import Diagnostic
from accessibility.analyses.diagnostic.styles import categorized_qml, write_layer_styles
from accessibility.outputs.manifest import Run
from accessibility.outputs.maps import MapBase, Markers, draw, map_base
from accessibility.settings import TIER_LABELS, TIERS

__all__ = ["TABLE_FILES", "diagnostic_tables", "write_geopackage", "draw_maps", "write_diagnostic",
           "LEVEL_COLORS", "TIERS_COLORS"]

log = logging.getLogger(__name__)

#: Colours of the armature levels 0..3 and of the number of tiers in zone grise 0..3.
LEVEL_COLORS = ("#f2f2f2", "#c6dbef", "#4292c6", "#08306b")
TIERS_COLORS = ("#eef5e9", "#fdd49e", "#fc8d59", "#b30000")
#: Eight colours for the bassins (neighbouring bassins never share one).
BASSIN_COLORS = ("#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3", "#fdb462", "#b3de69", "#fccde5")

#: Table -> CSV file name.
TABLE_FILES: Mapping[str, str] = {
    "headline": "tableau_synthese.csv", "communes": "communes.csv", "poles": "poles.csv", "bassins": "bassins.csv",
    "sectors": "secteurs.csv", "density": "qualification_densite.csv", "deficient": "services_deficitaires.csv",
    "profile": "qualification_population.csv", "comparisons": "comparaisons.csv", "summary": "summary.csv",
    "missing": "donnees_manquantes.csv",
}


def diagnostic_tables(diag: Diagnostic) -> dict[str, pd.DataFrame]:
    """Every table of the report, by name (:data:`TABLE_FILES`, plus ``by_<key>`` per territory)."""
    out = {"headline": diag.headline, "communes": diag.communes, "poles": diag.poles, "bassins": diag.bassins,
           "sectors": diag.sectors, "density": diag.density, "deficient": diag.deficient, "profile": diag.profile,
           "comparisons": diag.comparisons, "summary": diag.access.summary,
           "missing": pd.DataFrame({"role": list(diag.data.missing), "consequence": list(diag.data.missing.values())},
                                   columns=["role", "consequence"])}
    for k, t in diag.territories.items():
        out[f"by_{k}"] = t
    return out


def file_of(name: str) -> str:
    """CSV file of table ``name``."""
    return TABLE_FILES.get(name, f"par_{name[3:]}.csv" if name.startswith("by_") else f"{name}.csv")


def _geo(diag: Diagnostic, polygons) -> tuple[Any, np.ndarray]:
    import geopandas as gpd

    c = diag.communes
    poly = polygons.drop_duplicates("code").set_index("code").geometry if polygons is not None else None
    geom = poly.reindex(c["code"]).to_numpy() if poly is not None else np.full(len(c), None, dtype=object)
    missing = np.array([g is None for g in geom])
    pts = gpd.points_from_xy(c["lon"], c["lat"])
    return gpd.GeoSeries(np.where(missing, np.asarray(pts, dtype=object), geom), crs="EPSG:4326"), missing


def _dissolve(gc, key: str, names: Mapping[str, str] | None = None):
    g = gc[gc[key].notna()][[key, "population", "geometry"]].copy()
    g["population"] = g["population"].astype("Float64").fillna(0).astype(float)
    d = g.dissolve(by=key, aggfunc={"population": "sum"}).reset_index()
    d["communes"] = g.groupby(key).size().reindex(d[key]).to_numpy()
    if names is not None:
        d["nom"] = d[key].map(names)
    return d


def write_geopackage(diag: Diagnostic, polygons, path: str | os.PathLike) -> list[str]:
    """Write the layers ``communes``, ``poles``, ``bassins_<tier>``, ``secteurs`` and their styles.

    Communes without a polygon are written as their centre points in ``communes_centres``.

    Returns
    -------
    list of str
        The layers written.
    """
    import geopandas as gpd

    geom, no_poly = _geo(diag, polygons)
    c = diag.communes.copy()
    for col in c.columns:
        if c[col].dtype == object:
            c[col] = c[col].astype("string")
    gc = gpd.GeoDataFrame(c, geometry=geom.to_numpy(), crs="EPSG:4326")
    layers: dict[str, Any] = {"communes": gc[~no_poly]} if (~no_poly).any() else {}
    if no_poly.any():
        layers["communes_centres"] = gc[no_poly]
    p = diag.poles
    layers["poles"] = gpd.GeoDataFrame(p, geometry=gpd.points_from_xy(p["lon"], p["lat"]), crs="EPSG:4326")
    if (~no_poly).any():
        poly = gc[~no_poly]
        names = dict(zip(p["code"], p["nom"]))
        for t in TIERS:
            layers[f"bassins_{t}"] = _dissolve(poly.astype({f"bassin_{t}": object}), f"bassin_{t}", names)
        if len(diag.sectors):
            s = _dissolve(poly.astype({"sector": object}), "sector")
            layers["secteurs"] = s.merge(diag.sectors.drop(columns=["communes", "population"]), on="sector", how="left")
    for name, layer in layers.items():
        layer.to_file(path, layer=name, driver="GPKG")
    write_layer_styles(Path(path), _styles())
    return list(layers)


def _styles() -> dict[str, str]:
    tiers = [(str(i), f"{i} gamme(s) en zone grise" if i else "aucune zone grise", TIERS_COLORS[i]) for i in range(4)]
    levels = [(str(i), LEVEL_LABELS[i], LEVEL_COLORS[i]) for i in range(4)]
    out = {"communes": categorized_qml("zone_grise_tiers", tiers, label_field=None),
           "communes_centres": categorized_qml("zone_grise_tiers", tiers, geometry="point"),
           "poles": categorized_qml("level", levels[1:], geometry="point", label_field="nom"),
           "secteurs": categorized_qml("retained", [("1", "espace à enjeux", "#b30000"), ("0", "commune isolée", "#fdd49e")],
                                       label_field="name")}
    for t in TIERS:
        out[f"bassins_{t}"] = categorized_qml(None, (), label_field="nom", default_color="#bebada")
    return out


def _bassin_colors(base: MapBase, pole_of: np.ndarray) -> np.ndarray:
    """A colour index per commune such that touching bassins differ where 8 colours allow
    (greedy colouring of the bassins' adjacency, largest degree first, ties by pôle code)."""
    import geopandas as gpd

    from accessibility.analyses.diagnostic.superposition import touching_pairs

    geoms: Any = base.geoms
    frame = pd.DataFrame({"code": base.codes, "geometry": list(geoms)})
    gdf = gpd.GeoDataFrame(frame[frame["geometry"].notna()], geometry="geometry", crs=geoms.crs)
    nbrs: dict[str, set[str]] = {p: set() for p in pole_of if isinstance(p, str)}
    for i, j in touching_pairs(gdf, base.codes):
        a, b = pole_of[i], pole_of[j]
        if isinstance(a, str) and isinstance(b, str) and a != b:
            nbrs[a].add(b)
            nbrs[b].add(a)
    color: dict[str, int] = {}
    for p in sorted(nbrs, key=lambda q: (-len(nbrs[q]), q)):
        used = {color[q] for q in nbrs[p] if q in color}
        color[p] = next((k for k in range(len(BASSIN_COLORS)) if k not in used), len(color) % len(BASSIN_COLORS))
    return np.array([float(color[p]) if isinstance(p, str) else np.nan for p in pole_of])


def draw_maps(diag: Diagnostic, polygons, where: Callable[[str], Path], *, dpi: int = 110) -> dict[str, Path]:
    """The maps: ``carte_armature.png``, ``carte_bassins_<tier>.png``, ``carte_superposition.png``
    (``where(name)`` gives the path to write each)."""
    c = diag.communes
    base = map_base(c["code"], c["departement"], c["lon"], c["lat"], polygons)
    deps = ", ".join(diag.options.departements)
    src = "Sources : INSEE BPE, gammes 2021, COG ; © OpenStreetMap contributors. Temps centre à centre."
    p = diag.poles
    out = {}
    lvl = c.set_index("code")["level"].reindex(base.codes).to_numpy(float)
    sup, inter = p[p["level"] == 3], p[p["level"] == 2]
    out["armature"] = draw(
        base, lvl, where("carte_armature.png"), edges=[0, 1, 2, 3], labels=[LEVEL_LABELS[i] for i in range(4)],
        colors=LEVEL_COLORS, legend_title="niveau", title=f"Armature des services — départements {deps}",
        markers=[Markers(sup["lon"], sup["lat"], "pôle supérieur", marker="s", names=sup["nom"], label_max=60, size=42),
                 Markers(inter["lon"], inter["lat"], "pôle intermédiaire", names=inter["nom"], label_max=60, size=26)],
        footer=f"{int((c['level'] == 3).sum())} pôles supérieurs, {int((c['level'] == 2).sum())} intermédiaires, "
               f"{int((c['level'] == 1).sum())} de proximité parmi les communes analysées", sources=src, dpi=dpi)
    for i, t in enumerate(TIERS):
        pole_of = c.set_index("code")[f"bassin_{t}"].reindex(base.codes).astype(object).to_numpy()
        pole_of = np.array([v if isinstance(v, str) else None for v in pole_of], dtype=object)
        pl = p[p["level"] >= i + 1]
        out[f"bassins_{t}"] = draw(
            base, _bassin_colors(base, pole_of), where(f"carte_bassins_{t}.png"),
            edges=list(range(len(BASSIN_COLORS))), labels=["une couleur par bassin"], colors=BASSIN_COLORS,
            legend_title="bassins", title=f"Bassins de services, niveau {TIER_LABELS[t]} — départements {deps}",
            markers=[Markers(pl["lon"], pl["lat"], f"pôle {TIER_LABELS[t]} ou plus", names=pl["nom"], label_max=40,
                             size=26)],
            footer=f"{len(diag.bassins[diag.bassins['tier'] == t])} bassins : chaque commune rattachée à son pôle "
                   "le plus proche en voiture", sources=src, dpi=dpi)
    out["superposition"] = _superposition_map(diag, base, where("carte_superposition.png"), src, dpi)
    return out


def _superposition_map(diag: Diagnostic, base: MapBase, path: Path, src: str, dpi: int) -> Path:
    c = diag.communes.set_index("code").reindex(base.codes)
    n = c["zone_grise_tiers"].astype("Float64").to_numpy(dtype=float, na_value=np.nan)
    s = diag.sectors[diag.sectors["retained"].astype(bool)] if len(diag.sectors) else diag.sectors
    in_sector = c["sector"].isin(set(s["sector"]) if len(s) else set()).to_numpy()
    big = diag.communes.set_index("code").reindex(s["largest"]) if len(s) else None
    markers = [Markers(big["lon"], big["lat"], "secteur (espace à enjeux)", marker="o", color="#b30000", size=18,
                       names=[f"{a} {b[len('secteur de '):]}" for a, b in zip(s["sector"], s["name"])], label_max=30)] \
        if big is not None else []
    deps = ", ".join(diag.options.departements)
    return draw(
        base, n, path, edges=[0, 1, 2, 3],
        labels=["aucune gamme", "1 gamme", "2 gammes", "3 gammes"], colors=TIERS_COLORS,
        legend_title="zone grise", title=f"Superposition des zones grises — départements {deps}",
        outline=in_sector, outline_label=f"secteur d'au moins {diag.options.min_sector_size} communes",
        markers=markers, footer=f"{len(s)} espaces à enjeux ; {int(np.nansum(n > 0))} communes en zone grise "
                                "pour au moins une gamme", sources=src, dpi=dpi)


def write_diagnostic(
    diag: Diagnostic,
    out_dir: str | os.PathLike,
    *,
    polygons=None,
    maps: bool = True,
    pdf: bool = True,
    sources: Sequence[Mapping[str, str]] = (),
    run: Run | None = None,
) -> list[Path]:
    """Write every output of a diagnostic into ``out_dir`` as one unit (see the module docstring).

    Parameters
    ----------
    diag : Diagnostic
    out_dir : str or path-like
        New, empty, or an earlier run's directory (replaced whole).
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons (GeoPackage layers, maps, sectors).
    maps : bool, default True
        Draw the PNG maps (the report then shows none and says so).
    pdf : bool, default True
        Write ``rapport.pdf`` beside ``rapport.html``.
    sources : sequence of mapping
        The data sources (``role, title, licence, attribution, vintage``) named in the report.
    run : Run, optional
        The manifest written as ``run.json``.

    Returns
    -------
    list of Path
        The files of the run, ``run.json`` last.

    Raises
    ------
    InvalidParameterError, InputFileError
        ``out_dir`` cannot take the outputs; nothing of the run is left.
    """
    from accessibility.analyses.diagnostic.html import render_html
    from accessibility.analyses.diagnostic.pdf import write_pdf

    run = run if run is not None else Run("diagnostic")
    tables = diagnostic_tables(diag)
    with run_outputs(out_dir) as out:
        with run.stage("write"):
            for name, df in tables.items():
                df.to_csv(out.path(file_of(name)), index=False, encoding="utf-8", lineterminator="\n")
            layers = write_geopackage(diag, polygons, out.path("diagnostic.gpkg"))
        images: dict[str, Path] = {}
        if maps:
            with run.stage("maps"):
                images = draw_maps(diag, polygons, out.path)
        with run.stage("report"):
            html = render_html(diag, tables, images, sources=sources, files={k: file_of(k) for k in tables})
            out.path("rapport.html").write_text(html, encoding="utf-8")
            pages = write_pdf(diag, images, out.path("rapport.pdf")) if pdf else 0
        manifest = run.to_dict()
        manifest["report"] = {"html": "rapport.html", "pdf": "rapport.pdf" if pdf else None, "pdf_pages": pages,
                              "maps": sorted(p.name for p in images.values()), "geopackage_layers": layers,
                              "missing": dict(diag.data.missing), "notes": list(diag.notes)}
        return out.commit(manifest)
