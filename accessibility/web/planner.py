"""The page's answers, from one read-only :class:`~accessibility.analyses.siting.SitingModel`.

A :class:`Planner` holds the model (loaded once: graph, communes, existing sites, base times),
the commune polygons and what every answer shares (the base situation, the polygons as GeoJSON,
the map base of the PNG export). Each request carries its whole scenario (:class:`WhatIf`), so
nothing a user does changes what another sees: one scenario per browser tab, kept by the page.

The routing kernels run on numba's threads: calls into the model are serialised by one lock
(each takes ~10-30 ms on the Alpes du Sud); the PNG and GeoPackage exports by another.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from accessibility.analyses.siting.model import Scenario, SitingModel
from accessibility.analyses.zones import zone_grise
from accessibility.engine.places import NO_CENTRE, OUTSIDE, TOO_FAR, UNREACHABLE, PlaceOptions, Places
from accessibility.errors import InvalidParameterError, NoCommuneError, SnapError
from accessibility.outputs.maps import TIME_COLORS, UNPLACED_COLOR, fr_number, time_classes
from accessibility.settings import SNAP_MAX_DISTANCE_M, TIER_LABELS
from accessibility.web.api import (
    EXACT_TIME_LIMIT_S,
    MAX_ADDED_SITES,
    MAX_BODY_BYTES,
    MAX_K,
    MAX_LABEL_CHARS,
    OBJECTIVES_FR,
    RequestError,
    StudyArea,
    WhatIf,
)

__all__ = ["Planner", "GammeColouring", "Export", "OSM_BASEMAP", "dumps"]

log = logging.getLogger(__name__)

#: The OpenStreetMap tile layer the page adds when the browser can reach it.
OSM_BASEMAP = {
    "url": "https://tile.openstreetmap.org/{z}/{x}/{y}.png",
    "probe": "https://tile.openstreetmap.org/0/0/0.png",
    "attribution": "© contributeurs OpenStreetMap",
    "max_zoom": 19,
}
#: Decimals kept in the commune polygons sent to the page (1e-5 degree is about 1 m).
GEOJSON_DECIMALS = 5

_REASONS_FR = {
    NO_CENTRE: "pas de coordonnées",
    OUTSIDE: "hors de l'extrait routier",
    TOO_FAR: "trop loin de toute route",
    UNREACHABLE: "injoignable par la route",
}


@dataclass(frozen=True)
class GammeColouring:
    """A second colouring of the page (``access serve --tier``): each commune's mean time to the
    equipments of one gamme, as ``access compute --method mean`` measures it, and its zones grises.

    It does not change with the what-ifs: they add or remove sites of the service, not
    equipments of the gamme. It shows where the gamme is far while the sites are tried.

    Attributes
    ----------
    tier : str
        One of :data:`~accessibility.settings.TIERS`.
    threshold_min : float
        The gamme's zone grise threshold.
    equipments : int
        Equipments of the gamme averaged (those the BPE and the extract have).
    minutes : dict of str to float
        Commune code -> mean minutes (NaN: not measured).
    """

    tier: str
    threshold_min: float
    equipments: int
    minutes: dict

    @classmethod
    def from_access(cls, result, tier: str) -> GammeColouring:
        """From an :class:`~accessibility.analyses.zones.AccessResult` computed with ``tier`` and the mean method."""
        a = result.access
        a = a[(a["tier"] == tier) & (a["method"] == "mean")]
        if a.empty:
            raise InvalidParameterError(f"the access result has no mean time for the gamme {tier!r}")
        return cls(tier=tier, threshold_min=float(a["threshold_min"].iloc[0]), equipments=int(a["equipments"].iloc[0]),
                   minutes=dict(zip(a["code"].astype(str), a["minutes"].to_numpy(float))))


@dataclass(frozen=True)
class Export:
    """A file to download: bytes, media type, file name."""

    content: bytes
    media_type: str
    filename: str


def _clean(v: Any) -> Any:
    """A JSON-ready Python value: NaN/NA -> None, numpy scalars -> Python."""
    if v is None or v is pd.NA:
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v) if math.isfinite(v) else None
    return v


def _records(df: pd.DataFrame, columns: list[str]) -> list[dict]:
    cols = [df[c].astype(object).tolist() for c in columns]
    return [{c: _clean(v) for c, v in zip(columns, row)} for row in zip(*cols)]


def _totals(scenario: Scenario) -> dict:
    """``{"before": {...}, "after": {...}}`` (:func:`accessibility.analyses.siting.model.totals`)."""
    return {r.pop("when"): {k: _clean(v) for k, v in r.items()} for r in scenario.totals.to_dict("records")}


def dumps(obj: Any) -> bytes:
    """Compact JSON, no NaN (they are None before this)."""
    return json.dumps(obj, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


class Planner:
    """Answers of the what-if page (see the module docstring).

    Parameters
    ----------
    model : SitingModel
        Loaded once; only read from here on.
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons (``code``, WGS84), for the page and the exports; communes without
        one are drawn as dots.
    title : str
        What the page is about (e.g. ``France services``).
    departements : sequence of str
    max_distance_m : float
        A clicked point farther than this from any road is refused, never moved.
    exact_time_limit : float
        Seconds allowed to the exact solver of "meilleur site suivant".
    basemap : dict or None
        The tile layer the page adds when reachable (:data:`OSM_BASEMAP`); None: never.
    gamme : GammeColouring, optional
        The gamme's mean time per commune: the page opens coloured by it (``--tier``).
    """

    def __init__(self, model: SitingModel, *, polygons=None, title: str = "sites", departements=(),
                 max_distance_m: float = SNAP_MAX_DISTANCE_M, exact_time_limit: float = EXACT_TIME_LIMIT_S,
                 basemap: dict | None = None, gamme: GammeColouring | None = None):
        if not isinstance(model, SitingModel):
            raise InvalidParameterError(f"model must be an accessibility SitingModel, got {type(model).__name__}")
        if gamme is not None and not isinstance(gamme, GammeColouring):
            raise InvalidParameterError(f"gamme must be a GammeColouring, got {type(gamme).__name__}")
        self.gamme = gamme
        self.model = model
        self.title = str(title)
        self.departements = tuple(map(str, departements))
        self.max_distance_m = float(max_distance_m)
        self.exact_time_limit = float(exact_time_limit)
        self.basemap = dict(basemap) if basemap else None
        self._lock = threading.Lock()
        self._export_lock = threading.Lock()
        c = model.communes
        self._candidates = c.placed_only()
        self.communes_lonlat = pd.DataFrame({
            "code": c.ids.astype(str), "departement": np.asarray(c.attrs.get("departement", np.full(len(c), "")), dtype=object),
            "lon": c.lon, "lat": c.lat})
        codes = set(self.communes_lonlat["code"])
        self.polygons = None
        if polygons is not None and len(polygons):
            self.polygons = polygons[polygons["code"].isin(codes)].to_crs("EPSG:4326").reset_index(drop=True)
        self.area = self._study_area()
        self._map_base = None
        with self._lock:
            base = model.evaluate()
        self._base_json = dumps(self._base(base))
        self._geojson = self._polygons_geojson()

    # ------------------------------------------------------------------ shared, computed once
    def _study_area(self) -> StudyArea:
        c = self.model.communes
        ok = np.isfinite(c.lon) & np.isfinite(c.lat)
        lon, lat = list(c.lon[ok]), list(c.lat[ok])
        if self.polygons is not None:
            x0, y0, x1, y1 = self.polygons.total_bounds
            lon += [x0, x1]
            lat += [y0, y1]
        if not lon:
            raise NoCommuneError(f"none of the {len(c)} communes has coordinates: nothing to show on a map")
        bbox = (round(min(lon), 6), round(min(lat), 6), round(max(lon), 6), round(max(lat), 6))
        return StudyArea(bbox=bbox, communes=frozenset(c.ids.astype(str)), placed=frozenset(c.ids[c.placed].astype(str)),
                         sites=frozenset(self.model.sites.ids.astype(str)))

    def _base(self, sc: Scenario) -> dict:
        m = self.model
        c = sc.communes
        thr = m.threshold_min
        edges, labels = time_classes(thr)
        communes = pd.DataFrame({
            "code": c["code"], "nom": c["nom"], "departement": c["departement"], "population": c["population"],
            "lon": np.round(m.communes.lon, 6), "lat": np.round(m.communes.lat, 6),
            "minutes": c["minutes_before"], "site": c["site_before"], "beyond": c["beyond_before"],
            "placed": m.communes.placed, "reason": [_REASONS_FR.get(r, r) for r in m.communes.reason],
        })
        gamme = None
        if self.gamme is not None:
            g = self.gamme
            tm = np.array([g.minutes.get(code, np.nan) for code in c["code"].astype(str)], dtype=float)
            communes["gamme_minutes"] = tm
            communes["gamme_beyond"] = pd.array(zone_grise(tm, g.threshold_min), dtype="boolean")
            communes.loc[~np.isfinite(tm), "gamme_beyond"] = pd.NA
            g_edges, g_labels = time_classes(g.threshold_min)
            gamme = {"tier": g.tier, "label": TIER_LABELS[g.tier], "threshold_min": g.threshold_min,
                     "equipments": g.equipments, "classes": {"edges": g_edges.tolist(), "labels": g_labels}}
        s = sc.sites
        return {
            "title": self.title,
            "gamme": gamme,
            "departements": list(self.departements),
            "threshold_min": thr,
            "bbox": list(self.area.bbox),
            "classes": {"edges": edges.tolist(), "labels": labels, "colors": list(TIME_COLORS),
                        "unmeasured_color": UNPLACED_COLOR},
            "limits": {"max_k": MAX_K, "max_added_sites": MAX_ADDED_SITES, "max_body_bytes": MAX_BODY_BYTES,
                       "max_label_chars": MAX_LABEL_CHARS, "max_distance_m": self.max_distance_m},
            "objectives": OBJECTIVES_FR,
            "basemap": self.basemap,
            "communes": _records(communes, list(communes.columns)),
            "sites": _records(s.assign(reason=[_REASONS_FR.get(r, r) for r in s["reason"]]),
                              ["id", "name", "lon", "lat", "placed", "reason", "communes_before", "population_before"]),
            "totals": _totals(sc)["before"],
        }

    def _polygons_geojson(self) -> bytes:
        import shapely

        feats = []
        if self.polygons is not None:
            geoms = shapely.transform(self.polygons.geometry.to_numpy(), lambda xy: np.round(xy, GEOJSON_DECIMALS))
            for code, g in zip(self.polygons["code"], geoms):
                feats.append(f'{{"type":"Feature","properties":{{"code":{json.dumps(str(code))}}},"geometry":{shapely.to_geojson(g)}}}')
        return ('{"type":"FeatureCollection","features":[' + ",".join(feats) + "]}").encode("utf-8")

    @property
    def base_json(self) -> bytes:
        """``GET /api/base``: the situation today, the classes, the limits (JSON bytes)."""
        return self._base_json

    @property
    def geojson(self) -> bytes:
        """``GET /api/communes.geojson``: the polygons of the communes analysed."""
        return self._geojson

    def warm(self) -> float:
        """Compute the candidate × commune matrix and run each answer once (numba compiles its
        kernels on first use), so the first clicks are as fast as the next. Returns seconds."""
        t0 = time.perf_counter()
        some = sorted(self.area.placed)[:1]
        self.scenario(WhatIf(communes=tuple(some)))
        self.optimize(WhatIf(), 1, "coverage")
        return time.perf_counter() - t0

    # ------------------------------------------------------------------ per request
    def _added(self, w: WhatIf) -> Places | None:
        m = self.model
        parts = []
        if w.points:
            lon, lat, labels = zip(*w.points)
            ids = [f"point-{i + 1}" for i in range(len(lon))]
            try:
                parts.append(m.place_points(lon, lat, labels, ids=ids, max_distance_m=self.max_distance_m))
            except SnapError:
                p = Places.from_arrays(m.graph, ids, lon, lat, names=labels, options=PlaceOptions(kind="site", max_distance_m=self.max_distance_m))
                i = int(np.flatnonzero(~p.placed)[0])
                far = (f" : à {fr_number(p.distance_m[i])} m de la route la plus proche, {fr_number(self.max_distance_m)} m "
                       "au plus" if np.isfinite(p.distance_m[i]) else "")
                raise RequestError(
                    f"impossible de placer « {labels[i]} » ({lon[i]:.5f}, {lat[i]:.5f}) : "
                    f"{_REASONS_FR.get(p.reason[i], p.reason[i])}{far}. Cliquez plus près d'une route.", 422) from None
        if w.communes:
            parts.append(m.place_communes(list(w.communes)))
        if not parts:
            return None
        return parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0]

    def evaluate(self, w: WhatIf) -> Scenario:
        """The scenario of a checked what-if (serialised with the other model calls)."""
        with self._lock:
            return self.model.evaluate(add=self._added(w), remove=w.remove)

    def scenario_json(self, sc: Scenario) -> dict:
        c = sc.communes
        cr = sc.crossings
        s = sc.sites
        return {
            "threshold_min": sc.threshold_min,
            "totals": _totals(sc),
            "communes": _records(c, ["code", "minutes_after", "site_after", "beyond_after", "gain_minutes", "crossing"]),
            "crossings": _records(cr, ["code", "nom", "departement", "population", "minutes_before", "minutes_after",
                                       "crossing"]),
            "sites": _records(s, ["id", "name", "status", "lon", "lat", "placed", "communes_before",
                                  "population_before", "communes_after", "population_after"]),
        }

    def scenario(self, w: WhatIf) -> dict:
        """``POST /api/scenario``: before/after of a what-if."""
        return self.scenario_json(self.evaluate(w))

    def optimize(self, w: WhatIf, k: int, objective: str) -> dict:
        """``POST /api/optimize``: the best ``k`` new sites on top of the what-if, greedy and
        exact (HiGHS within :attr:`exact_time_limit` seconds)."""
        if k < 1 or k > MAX_K:
            raise RequestError(f"k doit être un entier de 1 à {MAX_K}, reçu {k}")
        with self._lock:
            o = self.model.optimize(k, objective=objective, candidates=self._candidates, exact=True,
                                    time_limit=self.exact_time_limit, add=self._added(w), remove=w.remove)
        out = {"k": k, "objective": objective, "objective_fr": OBJECTIVES_FR[objective],
               "gap": _clean(o.gap), "totals_after": _totals(o.scenario)["after"]}
        for sol in (o.greedy, o.exact):
            t = o.table[o.table["method"] == sol.method]
            out[sol.method] = {
                "sites": [{"rank": int(r.rank), "code": str(r.id), "name": str(r.name), "lon": float(r.lon),
                           "lat": float(r.lat), "gain": _clean(r.gain)} for r in t.itertuples()],
                "objective": _clean(sol.objective), "before": _clean(sol.before), "optimal": bool(sol.optimal),
                "seconds": round(float(sol.seconds), 4), "status": sol.status,
            }
        return out

    # ------------------------------------------------------------------ exports
    def export(self, w: WhatIf, fmt: str) -> Export:
        """The scenario as ``csv`` (communes), ``gpkg`` (``access site``'s GeoPackage) or ``png``
        (``access site``'s map after the what-if)."""
        from accessibility.analyses.siting.report import plot_site_map, write_site_outputs

        sc = self.evaluate(w)
        if fmt == "csv":
            text = sc.communes.to_csv(index=False, lineterminator="\n")
            return Export(text.encode("utf-8"), "text/csv; charset=utf-8", "scenario-communes.csv")
        if fmt not in ("gpkg", "png"):
            raise RequestError(f"format d'export inconnu {fmt[:20]!r} : csv, gpkg ou png", 404)
        with self._export_lock, tempfile.TemporaryDirectory(prefix="access-serve-") as tmp:
            if fmt == "gpkg":
                out = Path(tmp) / "scenario"
                write_site_outputs(sc, out, communes_lonlat=self.communes_lonlat, polygons=self.polygons, maps=False)
                return Export((out / "siting.gpkg").read_bytes(), "application/geopackage+sqlite3", "scenario.gpkg")
            path = Path(tmp) / "scenario.png"
            title = f"Temps d'accès en voiture au site le plus proche — {self.title}"
            what_if = not w.empty
            plot_site_map(sc, "after", path, base=self._base_map(), title=title + ("\naprès" if what_if else ""))
            return Export(path.read_bytes(), "image/png", "scenario-carte.png")

    def _base_map(self):
        if self._map_base is None:
            from accessibility.outputs.maps import map_base

            cl = self.communes_lonlat
            self._map_base = map_base(cl["code"], cl["departement"], cl["lon"], cl["lat"], self.polygons)
        return self._map_base
