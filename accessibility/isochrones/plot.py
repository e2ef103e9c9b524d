"""The map of an isochrone run: the travel-time raster in classes, the isochrone outlines, the
sites, the communes and départements for context, a legend, a scale bar, a north arrow and the
sources — drawn in the raster's own projection with the house style of
:mod:`accessibility.outputs.maps` (its colours, scale bar, French numbers and 256-colour PNG).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from accessibility.outputs.maps import (
    ATTRIBUTION,
    TIME_COLORS,
    boundary_path,
    fr_number,
    polygon_path,
    save_png,
    scale_bar,
)

__all__ = ["surface_classes", "draw_isochrones"]

#: Line widths of the isochrone outlines, from the largest threshold to the smallest.
_OUTLINE_WIDTHS = (1.5, 1.1, 0.8, 0.6)
#: Cells near a road but beyond the time limit (or unreachable).
_BEYOND_COLOR = "#cfcfcf"
_OUTLINE_STYLES = ("solid", (0, (6, 2)), (0, (3, 2)), (0, (1, 1.5)))


def surface_classes(minutes: Sequence[float], max_minutes: float | None = None) -> tuple[np.ndarray, list[str], list[str]]:
    """Class edges (minutes), labels and colours of a surface around its thresholds.

    The edges are 0, half the first threshold, the thresholds, then 1.5 and 2 times the last
    (at most seven classes, green to dark red); classes above ``max_minutes`` are dropped (the
    raster has no such cell).

    Examples
    --------
    >>> surface_classes([10, 20, 30])[0].tolist()
    [0.0, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0]
    """
    mins = [float(m) for m in minutes]
    edges = sorted({0.0, mins[0] / 2, *mins, 1.5 * mins[-1], 2.0 * mins[-1]})
    if len(edges) > len(TIME_COLORS):
        edges = list(np.linspace(0.0, 2.0 * mins[-1], len(TIME_COLORS)))
    pick = np.round(np.linspace(0, len(TIME_COLORS) - 1, len(edges))).astype(int)
    top = None
    if max_minutes is not None:  # the same colours as without a limit, the classes above it dropped
        keep = [i for i, e in enumerate(edges) if e < max_minutes]
        top = max_minutes
        edges, pick = [edges[i] for i in keep], pick[keep]
    edges = np.asarray(edges, dtype=float)
    labels = []
    for i, e in enumerate(edges):
        hi = edges[i + 1] if i + 1 < len(edges) else top
        labels.append(f"{fr_number(e, 0 if e == int(e) else 1)} – {fr_number(hi, 0 if hi == int(hi) else 1)} min"
                      if hi is not None else f"> {fr_number(e, 0 if e == int(e) else 1)} min")
    return edges, labels, [TIME_COLORS[i] for i in pick]


def draw_isochrones(
    surface,
    contours,
    path: str | os.PathLike,
    *,
    minutes: Sequence[float],
    title: str,
    polygons=None,
    departements=None,
    site_label: str | None = "sites",
    footer: str | None = None,
    sources: str = ATTRIBUTION,
    dpi: int = 110,
) -> Path:
    """Draw a surface, its isochrone outlines and its sites, and write a PNG.

    Parameters
    ----------
    surface : Surface
    contours : geopandas.GeoDataFrame
        From :func:`accessibility.isochrones.polygons.contours`.
    path : path
        PNG to write.
    minutes : sequence of float
        The thresholds (for the classes).
    title : str
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons (``code``), drawn in light grey; with ``departements`` (the
        départements of each polygon's code), their outlines in dark grey.
    site_label : str or None
        Legend entry of the sites; None draws no site (the hundreds of communes of a gamme).
    footer : str, optional
        A line under the map (the populations).
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    view = _view(surface)
    x0, x1, y0, y1 = view
    # the map keeps the area's shape; the legend sits on its right
    height, bottom, top = 8.6, 0.09, 0.93
    map_h = height * (top - bottom)
    map_w = float(np.clip(map_h * (x1 - x0) / (y1 - y0), 4.5, 11.0))
    legend_w = 2.9
    width = map_w + legend_w + 0.2
    fig = Figure(figsize=(width, height))
    ax = fig.add_subplot()
    ax.set_axis_off()
    if polygons is not None and len(polygons):
        _draw_context(ax, polygons.to_crs(surface.grid.crs).cx[x0:x1, y0:y1], departements)
    handles = _draw_surface(ax, surface, minutes)
    handles += _draw_outlines(ax, contours, view)
    if site_label:
        handles += _draw_sites(ax, surface, view, site_label)
    handles.append(Patch(facecolor="white", edgecolor="#999999",
                         label=f"pas de route à moins de {fr_number(surface.max_offroad_m)} m"))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    scale_bar(ax, (x1 - x0) * 0.93)
    fig.suptitle(title, fontsize=11, y=0.975)
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=7.5, frameon=True,
              framealpha=0.9, title="minutes en voiture", title_fontsize=8)
    if footer:
        fig.text(0.5, 0.03, footer, ha="center", va="bottom", fontsize=8.5, linespacing=1.4)
    fig.text(0.5, 0.012, sources, ha="center", fontsize=6.5, color="#555555")
    fig.subplots_adjust(left=0.1 / width, right=(0.1 + map_w) / width, top=top, bottom=bottom)
    return save_png(fig, path, dpi=dpi)


def _view(surface) -> tuple[float, float, float, float]:
    """The map's extent ``(x0, x1, y0, y1)``: the area asked for, else the cells with a time, padded."""
    g = surface.grid
    xmin, ymin, xmax, ymax = g.bounds
    shown = surface.in_area if not surface.in_area.all() else np.isfinite(surface.minutes)
    if shown.any():
        rows = np.flatnonzero(shown.any(axis=1))
        cols = np.flatnonzero(shown.any(axis=0))
        r = g.resolution_m
        xmin, xmax = g.x0 + cols[0] * r, g.x0 + (cols[-1] + 1) * r
        ymax, ymin = g.y1 - rows[0] * r, g.y1 - (rows[-1] + 1) * r
    padx, pady = 0.03 * (xmax - xmin) + 500, 0.03 * (ymax - ymin) + 500
    return xmin - padx, xmax + padx, ymin - pady, ymax + pady


def _draw_context(ax, poly, departements) -> None:
    """The communes in light grey and the outlines of the départements asked for in dark grey."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import PathPatch

    from accessibility.inputs.communes import departement_of

    ax.add_collection(PatchCollection([PathPatch(p) for p in (polygon_path(q) for q in poly.geometry) if p is not None],
                                      facecolor="#f4f4f4", edgecolor="#c8c8c8", linewidth=0.3, zorder=1),
                      autolim=False)
    deps = departement_of(poly["code"].to_numpy(object))
    wanted = set(departements) if departements else set(deps)
    outlines = [boundary_path(poly.geometry[deps == d].union_all()) for d in sorted(set(deps) & wanted)]
    outlines = [o for o in outlines if o is not None]
    if outlines:
        ax.add_collection(PatchCollection([PathPatch(o) for o in outlines], facecolor="none", edgecolor="#333333",
                                          linewidth=0.9, zorder=4), autolim=False)


def _draw_surface(ax, surface, minutes: Sequence[float]) -> list:
    """The travel-time raster in classes, the roads beyond the limit in grey; their legend entries."""
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    g = surface.grid
    edges, labels, colors = surface_classes(minutes, surface.max_minutes)
    cmap = ListedColormap(colors)
    norm = BoundaryNorm([*list(edges), 1e18], cmap.N)
    extent = (g.bounds[0], g.bounds[2], g.bounds[1], g.bounds[3])
    ax.imshow(np.ma.masked_invalid(surface.minutes), cmap=cmap, norm=norm, extent=extent, origin="upper",
              interpolation="nearest", zorder=2)
    handles = [Patch(facecolor=c, edgecolor="none", label=lab) for c, lab in zip(colors, labels)]
    beyond = surface.near_road & surface.in_area & ~np.isfinite(surface.minutes)
    if beyond.any():  # near a road but beyond the limit (or unreachable): the roads in grey
        ax.imshow(np.ma.masked_where(~beyond, np.ones(beyond.shape)), cmap=ListedColormap([_BEYOND_COLOR]),
                  extent=extent, origin="upper", interpolation="nearest", zorder=2)
        handles.append(Patch(facecolor=_BEYOND_COLOR, edgecolor="none",
                             label=f"au-delà de {fr_number(surface.max_minutes)} min" if surface.max_minutes
                             else "injoignable"))
    return handles


def _draw_outlines(ax, contours, view: tuple[float, float, float, float]) -> list:
    """The isochrone outlines, the largest threshold thickest; their legend entries."""
    from matplotlib.collections import PatchCollection
    from matplotlib.lines import Line2D
    from matplotlib.patches import PathPatch

    x0, x1 = view[0], view[1]
    handles = []
    n = len(contours)
    thin = float(np.clip(60_000.0 / (x1 - x0), 0.35, 1.0))  # thinner outlines on a whole département
    for k, (m, geom) in enumerate(zip(contours["minutes"], contours.geometry)):
        if geom is None or geom.is_empty:
            continue
        rank = n - 1 - k
        lw = _OUTLINE_WIDTHS[min(rank, len(_OUTLINE_WIDTHS) - 1)] * thin
        ls = _OUTLINE_STYLES[min(rank, len(_OUTLINE_STYLES) - 1)]
        b = boundary_path(geom)
        if b is not None:
            ax.add_collection(PatchCollection([PathPatch(b)], facecolor="none", edgecolor="black", linewidth=lw,
                                              linestyle=ls, zorder=5), autolim=False)
        handles.append(Line2D([], [], color="black", lw=lw / thin, ls=ls,
                              label=f"isochrone {fr_number(m, 0 if m == int(m) else 1)} min"))
    return handles


def _draw_sites(ax, surface, view: tuple[float, float, float, float], site_label: str) -> list:
    """The placed sites inside the view as triangles, named when few; their legend entry."""
    from matplotlib.lines import Line2D

    x0, x1, y0, y1 = view
    sites = surface.sites
    ok = sites.placed
    if not ok.any():
        return []
    sx, sy = surface.grid.from_wgs84(sites.lon[ok], sites.lat[ok])
    inside = (sx >= x0) & (sx <= x1) & (sy >= y0) & (sy <= y1)
    ax.scatter(sx[inside], sy[inside], marker="^", s=46 if inside.sum() <= 30 else 26, color="#2b2b2b",
               edgecolor="white", linewidth=0.6, zorder=7)
    names = sites.names[ok][inside]
    if 0 < inside.sum() <= 15:
        for x, y, name in zip(sx[inside], sy[inside], names):
            ax.annotate(str(name), (x, y), xytext=(4, 3), textcoords="offset points", fontsize=7, zorder=8,
                        bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.7))
    return [Line2D([], [], marker="^", ls="none", color="#2b2b2b", markeredgecolor="white", markersize=7,
                   label=site_label)]
