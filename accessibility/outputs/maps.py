"""Choropleth maps of communes, shared by every command (zones grises, siting, fragility).

A :class:`MapBase` is what does not change from one map of a run to the next: the communes
projected once (Lambert-93 in metropolitan France, else the local UTM zone) and turned into
drawing paths, their neighbours in grey, the département outlines, the extent. :func:`draw` then
colours the communes by a value in classes, outlines a set of them (the zone grise), adds
markers (pôles, sites), a legend, a scale bar, a north arrow, a title and the sources, and
writes a 256-colour PNG. A bare matplotlib ``Figure`` is used: pyplot's global state is never
touched.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["MapBase", "Markers", "map_base", "draw", "save_png", "fr_number", "UNPLACED_COLOR", "TIME_COLORS", "time_classes",
           "scale_bar", "polygon_path", "boundary_path", "ATTRIBUTION"]

#: Colour of communes that could not be placed (hatched).
UNPLACED_COLOR = "#9e9e9e"
#: Seven classes, green (close) to dark red (far), for times.
TIME_COLORS = ("#1a9850", "#66bd63", "#a6d96a", "#d9ef8b", "#fdae61", "#f46d43", "#a50026")
ATTRIBUTION = "Sources : INSEE, IGN, ANCT ; © OpenStreetMap contributors."


def fr_number(x: float, decimals: int = 0) -> str:
    """French formatting: ``12345.6`` -> ``'12 345,6'`` (narrow no-break space, decimal comma)."""
    s = f"{x:,.{decimals}f}"
    return s.replace(",", "\u202f").replace(".", ",")


def time_classes(threshold: float) -> tuple[np.ndarray, list[str]]:
    """Class edges (minutes) around a threshold and their labels: 0, ¼, ½, ¾, 1, 1½, 2 × threshold."""
    edges = np.array([0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0]) * threshold
    labels = [f"{edges[i]:g} – {edges[i + 1]:g} min" for i in range(len(edges) - 1)]
    labels.append(f"> {edges[-1]:g} min")
    return edges, labels


@dataclass
class MapBase:
    """The part of a map shared by every map of a run (see the module docstring).

    Attributes
    ----------
    codes : np.ndarray of str
        The communes mapped, in the order values are given.
    crs : str
        Projection of the drawing.
    paths : list
        A matplotlib ``Path`` per commune with a polygon, None for the others (drawn as dots).
    dots : np.ndarray, shape (n, 2)
        Projected centre of each commune (NaN when it has none).
    context, boundaries : list
        Paths of the neighbouring communes (grey) and outlines of the départements.
    extent : tuple of float
        ``xmin, xmax, ymin, ymax`` of the drawing (padded).
    geoms : geopandas.GeoSeries
        Projected polygons (index: position in ``codes``), to outline a set of communes.
    """

    codes: np.ndarray
    crs: str
    paths: list
    dots: np.ndarray
    context: list
    boundaries: list
    extent: tuple
    geoms: object
    _transformer: object = field(default=None, repr=False)

    def project(self, lon, lat) -> tuple[np.ndarray, np.ndarray]:
        """Projected coordinates of WGS84 points."""
        if self._transformer is None:
            from pyproj import Transformer

            self._transformer = Transformer.from_crs("EPSG:4326", self.crs, always_xy=True)
        x, y = self._transformer.transform(np.asarray(lon, float), np.asarray(lat, float))
        return np.asarray(x), np.asarray(y)


def _crs_for(lon: np.ndarray, lat: np.ndarray) -> str:
    """Lambert-93 for metropolitan France, else the local UTM zone."""
    ok = np.isfinite(lon) & np.isfinite(lat)
    if not ok.any():
        return "EPSG:2154"
    x0, x1, y0, y1 = lon[ok].min(), lon[ok].max(), lat[ok].min(), lat[ok].max()
    if x0 > -6 and x1 < 10.5 and y0 > 41 and y1 < 51.5:
        return "EPSG:2154"
    zone = int((np.mean([x0, x1]) + 180) // 6) + 1
    return f"EPSG:{32600 + zone if np.mean([y0, y1]) >= 0 else 32700 + zone}"


def polygon_path(geom):
    """A matplotlib Path (holes included) of a (multi)polygon."""
    import shapely
    from matplotlib.path import Path as MPath

    verts, codes = [], []
    for poly in getattr(geom, "geoms", [geom]):
        for ring in [poly.exterior, *poly.interiors]:
            xy = shapely.get_coordinates(ring)
            if len(xy) < 3:
                continue
            c = np.full(len(xy), MPath.LINETO, dtype=np.uint8)
            c[0] = MPath.MOVETO
            c[-1] = MPath.CLOSEPOLY
            verts.append(xy)
            codes.append(c)
    if not verts:
        return None
    return MPath(np.concatenate(verts), np.concatenate(codes))


def map_base(codes, departements, lon, lat, polygons=None) -> MapBase:
    """The shared part of the maps of ``codes`` (their départements, centres and polygons).

    Parameters
    ----------
    codes, departements : sequence of str
        The communes mapped and their départements.
    lon, lat : array-like of float
        Their centres (NaN when none).
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons (``code``, any CRS). Communes without one are drawn as dots; the other
        polygons within the extent are drawn in grey as context.
    """
    import geopandas as gpd
    import pandas as pd

    codes = np.asarray(codes, dtype=object)
    deps = np.asarray(departements, dtype=object)
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    has_poly = polygons is not None and len(polygons) > 0
    poly = polygons.to_crs("EPSG:4326").set_index("code").geometry if has_poly else pd.Series(dtype=object)
    mine = poly.reindex(codes) if has_poly else pd.Series([None] * len(codes))
    ref_lon = np.concatenate([lon, mine.dropna().bounds[["minx", "maxx"]].to_numpy().ravel()]) if has_poly else lon
    ref_lat = np.concatenate([lat, mine.dropna().bounds[["miny", "maxy"]].to_numpy().ravel()]) if has_poly else lat
    crs = _crs_for(ref_lon, ref_lat)
    geoms = gpd.GeoSeries(list(mine.to_numpy()), crs="EPSG:4326").to_crs(crs)
    paths = [None if (g is None or g.is_empty) else polygon_path(g) for g in geoms]
    base = MapBase(codes=codes, crs=crs, paths=paths, dots=np.full((len(codes), 2), np.nan), context=[],
                   boundaries=[], extent=(0, 1, 0, 1), geoms=geoms)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.any():
        x, y = base.project(lon[ok], lat[ok])
        base.dots[ok] = np.column_stack([x, y])
    drawn = geoms[[p is not None for p in paths]]
    if len(drawn):
        xmin, ymin, xmax, ymax = drawn.total_bounds
    else:
        xy = base.dots[np.isfinite(base.dots[:, 0])]
        xmin, ymin = xy.min(axis=0) if len(xy) else (0.0, 0.0)
        xmax, ymax = xy.max(axis=0) if len(xy) else (1.0, 1.0)
    padx, pady = 0.04 * (xmax - xmin) + 1000, 0.04 * (ymax - ymin) + 1000
    base.extent = (xmin - padx, xmax + padx, ymin - pady, ymax + pady)
    if has_poly:
        others = polygons[~polygons["code"].isin(set(codes))].to_crs(crs)
        others = others.cx[base.extent[0]:base.extent[1], base.extent[2]:base.extent[3]]
        base.context = [p for p in (polygon_path(g) for g in others.geometry) if p is not None]
        for d in pd.unique(deps):
            sel = (deps == d) & np.array([p is not None for p in paths])
            if sel.any():
                base.boundaries.append(boundary_path(geoms[sel].union_all()))
    return base


def boundary_path(geom):
    import shapely
    from matplotlib.path import Path as MPath

    parts = []
    for line in shapely.get_parts(shapely.boundary(geom)):
        for sub in shapely.get_parts(line):
            xy = shapely.get_coordinates(sub)
            if len(xy) >= 2:
                parts.append(xy)
    if not parts:
        return None
    verts = np.concatenate(parts)
    codes = np.concatenate([np.r_[MPath.MOVETO, np.full(len(p) - 1, MPath.LINETO)] for p in parts]).astype(np.uint8)
    return MPath(verts, codes)


@dataclass
class Markers:
    """Points drawn over the map (pôles, sites): projected later from lon/lat.

    ``names`` are written beside the markers when there are at most ``label_max`` of them.
    """

    lon: Sequence[float]
    lat: Sequence[float]
    label: str
    marker: str = "^"
    color: str = "#2b2b2b"
    edgecolor: str = "white"
    size: float = 46.0
    names: Sequence[str] | None = None
    label_max: int = 15


def scale_bar(ax, width_m: float) -> None:
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
    ax.add_patch(Rectangle((x - 0.02 * (x1 - x0), y - 0.015 * (y1 - y0)), km * 1000 + 0.05 * (x1 - x0),
                           0.06 * (y1 - y0), facecolor="white", edgecolor="none", alpha=0.85, zorder=5.5))
    for i in range(2):
        ax.add_patch(Rectangle((x + i * seg, y), seg, h, facecolor="black" if i == 0 else "white",
                               edgecolor="black", lw=0.6, zorder=6))
    for i, lab in enumerate(("0", f"{km / 2:g}", f"{km:g} km")):
        ax.text(x + i * seg, y + 1.8 * h, lab, ha="center", va="bottom", fontsize=7, zorder=6)
    ax.annotate("N", xy=(x1 - 0.05 * (x1 - x0), y1 - 0.04 * (y1 - y0)),
                xytext=(x1 - 0.05 * (x1 - x0), y1 - 0.12 * (y1 - y0)), ha="center", va="center", fontsize=9,
                fontweight="bold", arrowprops=dict(arrowstyle="-|>", color="black", lw=1.2), zorder=6)


def draw(
    base: MapBase,
    values,
    path: str | os.PathLike,
    *,
    edges: Sequence[float],
    labels: Sequence[str],
    colors: Sequence[str] = TIME_COLORS,
    title: str,
    legend_title: str = "minutes",
    outline=None,
    outline_label: str | None = None,
    markers: Sequence[Markers] = (),
    footer: str | None = None,
    sources: str = ATTRIBUTION,
    unplaced_label: str = "non placée sur le réseau",
    dpi: int = 110,
) -> Path:
    """Draw one choropleth of ``base`` and write it as a PNG.

    Parameters
    ----------
    base : MapBase
    values : array-like of float, shape (len(base.codes),)
        Value of each commune; NaN draws it hatched grey (``unplaced_label``).
    path : path
        PNG to write.
    edges, labels, colors
        Class lower edges (the last class is open), their legend labels and colours.
    title : str
    outline : array-like of bool, optional
        Communes whose union is outlined in black (``outline_label`` in the legend).
    markers : sequence of Markers
    footer : str, optional
        A line of text under the map (the headline figure).
    sources : str
        Attribution line.
    """
    from matplotlib.collections import PathCollection
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    values = np.asarray(values, dtype=float)
    cmap = ListedColormap(list(colors))
    norm = BoundaryNorm(list(edges) + [1e18], cmap.N)
    fig = Figure(figsize=(8, 8.6))
    ax = fig.add_subplot()
    ax.set_axis_off()
    # one PathCollection per layer, in data coordinates, autolim=False: no patch object per
    # commune and no bounds to compute (the extent is set below)
    def layer(paths, **kw):
        pc = PathCollection(list(paths), sizes=None, transform=ax.transData, **kw)
        ax.add_collection(pc, autolim=False)
        return pc

    if base.context:
        layer(base.context, facecolor="#eeeeee", edgecolor="white", linewidth=0.3, zorder=1)
    has = np.array([p is not None for p in base.paths], dtype=bool)
    ok = np.isfinite(values)
    sel = np.flatnonzero(has & ok)
    if len(sel):
        pc = layer([base.paths[i] for i in sel], cmap=cmap, norm=norm, edgecolor="white", linewidth=0.25, zorder=2)
        pc.set_array(values[sel])
    sel = np.flatnonzero(has & ~ok)
    if len(sel):
        layer([base.paths[i] for i in sel], facecolor=UNPLACED_COLOR, edgecolor="white", hatch="///", linewidth=0.25,
              zorder=2)
    bounds = [b for b in base.boundaries if b is not None]
    if bounds:
        layer(bounds, facecolor="none", edgecolor="#333333", linewidth=0.9, zorder=4)
    out_mask = np.zeros(len(values), dtype=bool) if outline is None else np.asarray(outline, dtype=bool)
    sel = np.flatnonzero(has & out_mask)
    if len(sel):
        ob = boundary_path(base.geoms.iloc[sel].union_all())
        if ob is not None:
            layer([ob], facecolor="none", edgecolor="black", linewidth=1.6, zorder=5)
    dots = ~has & np.isfinite(base.dots[:, 0])
    if dots.any():
        d_ok = dots & ok
        ax.scatter(base.dots[d_ok, 0], base.dots[d_ok, 1], c=values[d_ok], cmap=cmap, norm=norm, s=14,
                   edgecolor="black", linewidth=0.2, zorder=3)
        d_no = dots & ~ok
        ax.scatter(base.dots[d_no, 0], base.dots[d_no, 1], c=UNPLACED_COLOR, marker="x", s=14, zorder=3)
        d_out = dots & out_mask
        ax.scatter(base.dots[d_out, 0], base.dots[d_out, 1], facecolor="none", edgecolor="black", s=40,
                   linewidth=0.8, zorder=4)
    x0, x1, y0, y1 = base.extent
    handles = [Patch(facecolor=c, edgecolor="none", label=lab) for c, lab in zip(colors, labels)]
    if (~ok).any():
        handles.append(Patch(facecolor=UNPLACED_COLOR, hatch="///", edgecolor="white", label=unplaced_label))
    if outline is not None and outline_label:
        handles.append(Line2D([], [], color="black", lw=1.6, label=outline_label))
    for m in markers:
        if len(m.lon) == 0:
            continue
        mx, my = base.project(m.lon, m.lat)
        inside = (mx >= x0) & (mx <= x1) & (my >= y0) & (my <= y1)
        ax.scatter(mx[inside], my[inside], marker=m.marker, s=m.size if inside.sum() <= 30 else m.size * 0.6,
                   color=m.color, edgecolor=m.edgecolor, linewidth=0.6, zorder=7)
        if m.names is not None and 0 < inside.sum() <= m.label_max:
            for x, y, name in zip(mx[inside], my[inside], np.asarray(m.names, dtype=object)[inside]):
                ax.annotate(str(name), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7, zorder=8,
                            bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))
        handles.append(Line2D([], [], marker=m.marker, ls="none", color=m.color, markeredgecolor=m.edgecolor,
                              markersize=7, label=m.label))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    scale_bar(ax, (x1 - x0) * 0.93)
    ax.set_title(title, fontsize=11)
    ax.legend(handles=handles, loc="upper left", fontsize=7.5, frameon=True, framealpha=0.9, title=legend_title,
              title_fontsize=8)
    if footer:
        fig.text(0.5, 0.035, footer, ha="center", fontsize=9)
    fig.text(0.5, 0.012, sources, ha="center", fontsize=6.5, color="#555555")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.93, bottom=0.06)
    return save_png(fig, path, dpi=dpi)


def save_png(fig, path: str | os.PathLike, *, dpi: int = 110) -> Path:
    """Render a Figure with Agg and write it as a 256-colour PNG (a third of the size, as sharp)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from PIL import Image

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    im = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
    out = Path(path)
    im.convert("RGB").quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(out, format="PNG", compress_level=6)
    return out
