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
- ``run.json``: the run's manifest (:class:`accessibility.runs.Run`): parameters, inputs with
  their sha256, graph, versions, warnings, counts, seconds per stage, and the list of outputs.
"""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import OutputDir
from .errors import InputFileError
from .runs import Run
from .zones import AccessResult

__all__ = ["write_outputs", "write_tables", "plot_map", "format_summary", "TIER_LABELS"]

log = logging.getLogger(__name__)

#: French names of the gammes, for maps and printed tables.
TIER_LABELS = {"proximite": "proximité", "intermediaire": "intermédiaire", "superieure": "supérieure"}
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


def _project(gdf):
    """Lambert-93 for metropolitan France, else the local UTM zone."""
    b = gdf.to_crs("EPSG:4326").total_bounds
    if b[0] > -6 and b[2] < 10.5 and b[1] > 41 and b[3] < 51.5:
        return gdf.to_crs("EPSG:2154")
    return gdf.to_crs(gdf.estimate_utm_crs())


def _fr(n: int) -> str:
    """12345 -> '12 345' (French thousands separator, narrow no-break space)."""
    return f"{n:,}".replace(",", "\u202f")


def _classes(threshold: float) -> tuple[np.ndarray, list[str]]:
    edges = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]) * threshold
    labels = [f"{edges[i]:g} – {edges[i + 1]:g} min" for i in range(len(edges) - 1)]
    labels.append(f"> {edges[-1]:g} min")
    return edges, labels


def _scale_bar(ax, width_m: float) -> None:
    from matplotlib.patches import Rectangle

    target = width_m / 5
    nice = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500]
    km = max([k for k in nice if k * 1000 <= target] or [1])
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    x = x1 - 0.04 * (x1 - x0) - km * 1000  # lower right corner
    y = y0 + 0.04 * (y1 - y0)
    h = 0.008 * (y1 - y0)
    seg = km * 1000 / 2
    ax.add_patch(Rectangle((x - 0.02 * (x1 - x0), y - 0.015 * (y1 - y0)), km * 1000 + 0.05 * (x1 - x0), 0.06 * (y1 - y0),
                           facecolor="white", edgecolor="none", alpha=0.85, zorder=5.5))
    for i in range(2):
        ax.add_patch(Rectangle((x + i * seg, y), seg, h, facecolor="black" if i == 0 else "white", edgecolor="black", lw=0.6, zorder=6))
    for i, lab in enumerate(("0", f"{km / 2:g}", f"{km:g} km")):
        ax.text(x + i * seg, y + 1.8 * h, lab, ha="center", va="bottom", fontsize=7, zorder=6)
    ax.annotate("N", xy=(x1 - 0.05 * (x1 - x0), y1 - 0.04 * (y1 - y0)), xytext=(x1 - 0.05 * (x1 - x0), y1 - 0.12 * (y1 - y0)),
                ha="center", va="center", fontsize=9, fontweight="bold",
                arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2), zorder=6)


def plot_map(
    result: AccessResult,
    tier: str,
    method: str,
    path: str | os.PathLike,
    *,
    polygons=None,
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
    dpi : int, default 110

    Returns
    -------
    Path
    """
    import geopandas as gpd
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    a = result.access[(result.access["tier"] == tier) & (result.access["method"] == method)]
    com = result.communes.merge(a[["code", "minutes", "zone_grise"]], on="code")
    thr = float(a["threshold_min"].iloc[0])
    edges, labels = _classes(thr)
    colors = ["#1a9850", "#66bd63", "#a6d96a", "#d9ef8b", "#fdae61", "#f46d43", "#a50026"]
    cmap = ListedColormap(colors)
    norm = BoundaryNorm(list(edges) + [1e9], cmap.N)

    pts_all = gpd.GeoDataFrame(com, geometry=gpd.points_from_xy(com["lon"], com["lat"]), crs="EPSG:4326")
    has_poly = polygons is not None and len(polygons) > 0
    poly_codes = set(polygons["code"]) if has_poly else set()
    in_poly = com["code"].isin(poly_codes)
    areas = None
    if in_poly.any():
        areas = gpd.GeoDataFrame(com[in_poly].merge(polygons, on="code"), geometry="geometry", crs="EPSG:4326")
    # projection from whatever is present
    ref = _project(areas if areas is not None else pts_all[pts_all.geometry.x.notna()])
    crs = ref.crs

    # a bare Figure renders with Agg and never touches pyplot's global backend
    fig = Figure(figsize=(8, 8.6))
    ax = fig.add_subplot()
    ax.set_axis_off()
    if areas is not None:
        areas = areas.to_crs(crs)
        xmin, ymin, xmax, ymax = areas.total_bounds
    else:
        xmin, ymin, xmax, ymax = ref.total_bounds
    padx, pady = 0.04 * (xmax - xmin) + 1000, 0.04 * (ymax - ymin) + 1000
    if has_poly:
        ctx = polygons[~polygons["code"].isin(com["code"])].to_crs(crs)
        ctx = ctx.cx[xmin - padx : xmax + padx, ymin - pady : ymax + pady]
        if len(ctx):
            ctx.plot(ax=ax, facecolor="#eeeeee", edgecolor="white", linewidth=0.3, zorder=1)
    unplaced_color = "#9e9e9e"
    if areas is not None:
        ok = areas["minutes"].notna()
        if ok.any():
            areas[ok].plot(ax=ax, column="minutes", cmap=cmap, norm=norm, edgecolor="white", linewidth=0.25, zorder=2)
        if (~ok).any():
            areas[~ok].plot(ax=ax, facecolor=unplaced_color, edgecolor="white", hatch="///", linewidth=0.25, zorder=2)
        for _, g in areas.groupby("departement"):
            gpd.GeoSeries([g.union_all()], crs=crs).boundary.plot(ax=ax, color="#333333", linewidth=0.9, zorder=4)
        zg = areas[areas["zone_grise"].fillna(False).astype(bool)]
        if len(zg):
            gpd.GeoSeries([zg.union_all()], crs=crs).boundary.plot(ax=ax, color="black", linewidth=1.6, zorder=5)
    dots = pts_all[~in_poly & pts_all["lon"].notna()]
    if len(dots):
        d = dots.to_crs(crs)
        ok = d["minutes"].notna()
        ax.scatter(d.geometry.x[ok], d.geometry.y[ok], c=d["minutes"][ok], cmap=cmap, norm=norm, s=14, edgecolor="black", linewidth=0.2, zorder=3)
        ax.scatter(d.geometry.x[~ok], d.geometry.y[~ok], c=unplaced_color, marker="x", s=14, zorder=3)
        zgd = d[d["zone_grise"].fillna(False).astype(bool)]
        ax.scatter(zgd.geometry.x, zgd.geometry.y, facecolor="none", edgecolor="black", s=40, linewidth=0.8, zorder=4)
    poles = result.poles[result.poles["tier"] == tier]
    if len(poles):
        pp = gpd.GeoDataFrame(poles, geometry=gpd.points_from_xy(poles["lon"], poles["lat"]), crs="EPSG:4326").to_crs(crs)
        pp = pp.cx[xmin - padx : xmax + padx, ymin - pady : ymax + pady]
        ax.scatter(pp.geometry.x, pp.geometry.y, marker="^", s=28 if len(pp) > 30 else 46, color="#2b2b2b", edgecolor="white", linewidth=0.6, zorder=7)
        if len(pp) <= 15:
            for x, y, name in zip(pp.geometry.x, pp.geometry.y, pp["nom"]):
                ax.annotate(name, (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7, zorder=8,
                            bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))
    ax.set_xlim(xmin - padx, xmax + padx)
    ax.set_ylim(ymin - pady, ymax + pady)
    ax.set_aspect("equal")
    _scale_bar(ax, (xmax - xmin))

    s = result.summary[(result.summary["tier"] == tier) & (result.summary["method"] == method)]
    n_zg, pop_zg, pop = int(s["communes_zone_grise"].sum()), int(s["population_zone_grise"].sum()), int(s["population"].sum())
    share = 100.0 * pop_zg / pop if pop else float("nan")
    deps = ", ".join(result.parameters.get("departements", []))
    ax.set_title(
        f"Temps d'accès en voiture, gamme {TIER_LABELS.get(tier, tier)}\n"
        f"{_METHOD_LABELS.get(method, method)} — départements {deps}",
        fontsize=11,
    )
    handles = [Patch(facecolor=c, edgecolor="none", label=l) for c, l in zip(colors, labels)]
    handles.append(Patch(facecolor=unplaced_color, hatch="///", edgecolor="white", label="non placée sur le réseau"))
    handles.append(Line2D([], [], color="black", lw=1.6, label=f"zone grise (> {thr:g} min)"))
    handles.append(Line2D([], [], marker="^", ls="none", color="#2b2b2b", markersize=7, label=f"pôle {TIER_LABELS.get(tier, tier)}"))
    ax.legend(handles=handles, loc="upper left", fontsize=7.5, frameon=True, framealpha=0.9, title="minutes", title_fontsize=8)
    fig.text(
        0.5, 0.035,
        f"Zone grise : {_fr(n_zg)} communes, {_fr(pop_zg)} habitants "
        f"({f'{share:.1f}'.replace('.', ',')} % de la population)",
        ha="center", fontsize=9,
    )
    fig.text(
        0.5, 0.012,
        "Temps centre à centre (chef-lieu). Sources : INSEE BPE, INSEE/IGN COG, © OpenStreetMap contributors.",
        ha="center", fontsize=6.5, color="#555555",
    )
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.06)
    out = Path(path)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=dpi, format="png")
    buf.seek(0)
    # a 256-colour palette keeps the map sharp at a third of the size
    from PIL import Image

    with Image.open(buf) as im:
        im.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(out, format="PNG", optimize=True)
    return out


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
        Commune polygons (:func:`accessibility.communes.load_commune_polygons`) for the
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
    try:
        with OutputDir(out_dir) as out:
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
                    for method in result.parameters["methods"]:
                        for tier in result.parameters["tiers"]:
                            plot_map(result, tier, method, out.path(f"map_{tier}_{method}.png"), polygons=polygons)
            manifest = run.to_dict()
            manifest["absent_equipments"] = result.absent_equipments.to_dict(orient="records")
            manifest["equipments_not_in_extract"] = result.equipments_not_in_extract.to_dict(orient="records")
            return out.commit(manifest)
    except OSError as exc:
        raise InputFileError(f"cannot write the outputs into {str(out_dir)!r}: {exc.strerror or exc}") from None
