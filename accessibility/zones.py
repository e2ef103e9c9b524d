"""Car times from communes to the services of each gamme, and the zones grises.

Two levels, as everywhere in the package:

- the **numpy core**, :func:`nearest_equipment_times`: given origins and places snapped onto the
  graph and a place × equipment presence matrix, the time from every origin to the nearest
  place having each equipment (one multi-source search per equipment, or one origin × place
  matrix, whichever needs fewer searches), then :func:`mean_minutes` and the zone grise flags;
- the **table level**, :func:`compute_access`: commune table + BPE + gammes in, the tables of the
  SDAASP diagnostic out (:class:`AccessResult`).

Definitions (INSEE, SDAASP diagnostics):

- times are **centre to centre**: from a commune's centre to the centre of the nearest commune
  having the equipment, and 0 when the commune has it itself;
- ``mean``: the average over the gamme's equipments of those times (INSEE's *temps d'accès moyen
  aux équipements de la gamme*);
- ``pole``: the time to the nearest *pôle* of the gamme, a commune having at least ``pole_share``
  of the gamme's equipments (:func:`accessibility.services.pole_mask`);
- a commune is in a **zone grise** of a tier when its time *exceeds* the tier's threshold.

Services anywhere in the road extract count (a commune of a neighbouring département can serve);
the communes analysed are those of the chosen départements. A commune that cannot be placed on
the network (no centre, outside the extract, too far from any road, unreachable) gets NaN
minutes, is listed with the reason, and is left out of every count.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .errors import DataFormatError, InvalidParameterError, NoCommuneError
from .graph import Graph
from .routing import nearest_place, place_matrix, snap_points
from .routing.snap import Snapped, subset_snapped
from .services import EquipmentPresence, equipment_presence, pole_mask
from .settings import DEFAULT_DEPARTEMENTS, POLE_SHARE, SNAP_MAX_DISTANCE_M, TIER_THRESHOLDS_MIN, TIERS

__all__ = [
    "METHODS",
    "STRATEGIES",
    "nearest_equipment_times",
    "mean_minutes",
    "zone_grise",
    "parse_departements",
    "AccessResult",
    "compute_access",
    "summarize",
]

log = logging.getLogger(__name__)

#: Aggregations of the equipment times of a gamme.
METHODS: tuple[str, ...] = ("mean", "pole")
#: How the per-equipment times are computed (see :func:`nearest_equipment_times`).
STRATEGIES: tuple[str, ...] = ("auto", "search", "matrix")

# reasons a commune is not placed
NO_CENTRE = "no centre"
OUTSIDE = "outside the road extract"
TOO_FAR = "too far from any road"
UNREACHABLE = "unreachable"


# --------------------------------------------------------------------------------------------
# numpy core
# --------------------------------------------------------------------------------------------


def nearest_equipment_times(
    graph: Graph,
    origins: Snapped,
    places: Snapped,
    present: np.ndarray,
    *,
    origin_place: np.ndarray | None = None,
    strategy: str = "auto",
    progress: bool | None = False,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Time from every origin to the nearest place having each equipment.

    Parameters
    ----------
    graph : Graph
    origins, places : Snapped
        Commune centres snapped onto ``graph``; places that did not snap are ignored.
    present : np.ndarray of bool, shape (len(places), m)
        Place ``p`` has equipment ``j``.
    origin_place : np.ndarray of int, shape (len(origins),), optional
        Position in ``places`` of each origin's own commune (-1 if none). Where that commune
        has the equipment the time is 0 and the nearest place is itself: centre to centre, the
        same centre (the two access legs are not counted).
    strategy : {"auto", "search", "matrix"}
        ``search``: one multi-source search per equipment from the places having it (on the
        reverse graph), ``m`` searches. ``matrix``: one origin × place matrix (``len(origins)``
        searches, parallel over numba's threads), then a minimum per equipment. ``auto`` picks
        the cheaper from the counts: on the embedded extract, 360 communes and 110 equipments,
        ``search`` takes 0.4 s and ``matrix`` 0.6 s on 2 cores.
    progress : bool or None, default False
        Show a tqdm bar over equipments on stderr (None: only on a terminal).

    Returns
    -------
    time_s : np.ndarray of float64, shape (len(origins), m)
        Seconds; ``inf`` when the origin did not snap, no place has the equipment, or it is
        unreachable.
    nearest : np.ndarray of int64, shape (len(origins), m)
        Position in ``places`` of the nearest place having the equipment, -1 where ``inf``.
    strategy : str
        The strategy used (``search`` or ``matrix``).

    Raises
    ------
    InvalidParameterError
        Shapes disagree or the strategy is unknown.
    """
    from tqdm.auto import tqdm

    present = np.asarray(present, dtype=bool)
    if present.ndim != 2 or present.shape[0] != len(places):
        raise InvalidParameterError(
            f"present must have shape (len(places)={len(places)}, m), got {present.shape}"
        )
    if strategy not in STRATEGIES:
        raise InvalidParameterError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    n, m = len(origins), present.shape[1]
    if origin_place is None:
        origin_place = np.full(n, -1, dtype=np.int64)
    origin_place = np.asarray(origin_place, dtype=np.int64)
    if origin_place.shape != (n,):
        raise InvalidParameterError(f"origin_place must have shape ({n},), got {origin_place.shape}")
    usable = present & places.ok[:, None]
    if strategy == "auto":
        # measured on the embedded extract (2 cores): a multi-source search and a matrix row
        # cost about the same (a matrix row ~0.8 of a search); matrix rows run in parallel.
        from numba import get_num_threads

        n_ok = int(origins.ok.sum())
        strategy = "matrix" if 0.8 * n_ok / get_num_threads() < int(usable.any(axis=0).sum()) else "search"
    time_s = np.full((n, m), np.inf)
    nearest = np.full((n, m), -1, dtype=np.int64)
    bar = tqdm(total=m, desc="equipments", unit="eq", disable=(None if progress is None else not progress), leave=False)
    try:
        if strategy == "matrix":
            ok_o = np.flatnonzero(origins.ok)
            ok_p = np.flatnonzero(places.ok)
            mat = np.full((n, len(places)), np.inf)
            if len(ok_o) and len(ok_p):
                bar.set_description("origin x place matrix")
                mat[np.ix_(ok_o, ok_p)] = place_matrix(
                    graph, subset_snapped(origins, ok_o), subset_snapped(places, ok_p)
                )
            bar.set_description("equipments")
            for j in range(m):
                cols = np.flatnonzero(usable[:, j])
                if len(cols):
                    sub = mat[:, cols]
                    k = np.argmin(sub, axis=1)
                    t = sub[np.arange(n), k]
                    time_s[:, j] = t
                    nearest[:, j] = np.where(np.isfinite(t), cols[k], -1)
                bar.update()
        else:
            for j in range(m):
                cols = np.flatnonzero(usable[:, j])
                if len(cols):
                    t, k = nearest_place(graph, origins, subset_snapped(places, cols))
                    time_s[:, j] = t
                    nearest[:, j] = np.where(k >= 0, cols[np.maximum(k, 0)], -1)
                bar.update()
    finally:
        bar.close()
    # a commune having the equipment: 0, itself
    own = (origin_place >= 0) & origins.ok
    oi = np.flatnonzero(own)
    has = usable[origin_place[oi]]
    r, c = np.nonzero(has)
    time_s[oi[r], c] = 0.0
    nearest[oi[r], c] = origin_place[oi[r]]
    time_s[~origins.ok] = np.inf
    nearest[~origins.ok] = -1
    return time_s, nearest, strategy


def mean_minutes(time_s: np.ndarray) -> np.ndarray:
    """INSEE's mean access time (minutes): the mean over equipments (columns) of ``time_s``.

    ``inf`` where any equipment is unreachable, NaN when there are no columns.

    Examples
    --------
    >>> mean_minutes(np.array([[0.0, 600.0], [60.0, np.inf]])).tolist()
    [5.0, inf]
    """
    time_s = np.asarray(time_s, dtype=np.float64)
    if time_s.shape[1] == 0:
        return np.full(time_s.shape[0], np.nan)
    return time_s.mean(axis=1) / 60.0


def zone_grise(minutes: np.ndarray, threshold_min: float) -> np.ndarray:
    """Communes whose time exceeds the threshold (minutes > threshold). NaN/inf -> False.

    ``inf`` means *not placed*, neither served nor in a zone grise: callers report it apart.
    """
    m = np.asarray(minutes, dtype=np.float64)
    return np.isfinite(m) & (m > threshold_min)


# --------------------------------------------------------------------------------------------
# table level
# --------------------------------------------------------------------------------------------


def parse_departements(codes) -> tuple[str, ...]:
    """Département codes from ``"04,05"`` or ``["4", "05"]``: zero-padded, upper case, unique.

    Raises
    ------
    InvalidParameterError
        An empty list or a code that is not 1-3 letters/digits.
    """
    if isinstance(codes, str):
        codes = [codes]
    out: list[str] = []
    for item in codes:
        for c in str(item).replace(";", ",").split(","):
            c = c.strip().upper()
            if not c:
                continue
            if not (c.isalnum() and len(c) <= 3):
                raise InvalidParameterError(
                    f"{c!r} is not a département code (e.g. 04, 2A, 974); separate codes with commas"
                )
            c = c.zfill(2)
            if c not in out:
                out.append(c)
    if not out:
        raise InvalidParameterError("no département given; e.g. --departement 04,05")
    return tuple(out)


def _thresholds(thresholds_min: Mapping[str, float] | Sequence[float] | None) -> dict[str, float]:
    if thresholds_min is None:
        return dict(TIER_THRESHOLDS_MIN)
    if not isinstance(thresholds_min, Mapping):
        vals = list(thresholds_min)
        if len(vals) != len(TIERS):
            raise InvalidParameterError(
                f"thresholds must be {len(TIERS)} numbers (minutes, for {', '.join(TIERS)}), got {vals!r}"
            )
        thresholds_min = dict(zip(TIERS, vals))
    out = dict(TIER_THRESHOLDS_MIN)
    for k, v in thresholds_min.items():
        if k not in TIERS:
            raise InvalidParameterError(f"unknown tier {k!r}; valid tiers are {', '.join(TIERS)}")
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InvalidParameterError(f"threshold for {k} must be a number of minutes, got {v!r}") from None
        if not (np.isfinite(f) and f > 0):
            raise InvalidParameterError(f"threshold for {k} must be a positive number of minutes, got {v!r}")
        out[k] = f
    return out


@dataclass(frozen=True)
class AccessResult:
    """What :func:`compute_access` returns: the tables of the diagnostic.

    Attributes
    ----------
    access : pandas.DataFrame
        One row per analysed commune, tier and method: ``code, nom, departement, population,
        tier, method, minutes, threshold_min, zone_grise, nearest_pole, pole, equipments,
        placed``. ``minutes`` is NaN and ``zone_grise`` empty (NA) for a commune not placed.
        ``nearest_pole`` is filled for the ``pole`` method.
    equipment_times : pandas.DataFrame
        Long format, one row per analysed commune and equipment: ``code, nom, departement,
        tier, equipment, label, minutes, nearest`` (code of the nearest commune having it).
    summary : pandas.DataFrame
        Per département, tier and method (see :func:`summarize`).
    unplaced : pandas.DataFrame
        Communes analysed but not placed: ``code, nom, departement, population, reason,
        distance_m``.
    communes : pandas.DataFrame
        The analysed communes: ``code, nom, departement, population, lon, lat, placed, reason``.
    poles : pandas.DataFrame
        Pôles of each tier in the whole extract: ``code, nom, departement, tier, lon, lat,
        equipments, share``.
    absent_equipments : pandas.DataFrame
        Gamme equipments absent from the BPE vintage (left out).
    equipments_not_in_extract : pandas.DataFrame
        Equipments of the vintage that no placed commune of the extract has (left out of the
        mean, their times are NaN): ``equipment, tier, label``.
    parameters : dict
        Départements, tiers, methods, thresholds, pole share, snap distance, strategy, timings.
    """

    access: pd.DataFrame
    equipment_times: pd.DataFrame
    summary: pd.DataFrame
    unplaced: pd.DataFrame
    communes: pd.DataFrame
    poles: pd.DataFrame
    absent_equipments: pd.DataFrame
    equipments_not_in_extract: pd.DataFrame
    parameters: dict = field(default_factory=dict)


def summarize(access: pd.DataFrame) -> pd.DataFrame:
    """The SDAASP table: per département, tier and method, communes and inhabitants in zone grise.

    Parameters
    ----------
    access : pandas.DataFrame
        :attr:`AccessResult.access`.

    Returns
    -------
    pandas.DataFrame
        ``departement, tier, method, threshold_min, communes, communes_zone_grise, population,
        population_zone_grise, share_population_zone_grise`` (percent of the placed
        population), ``communes_unplaced, population_unplaced``. Counts cover placed communes
        only.
    """
    a = access.copy()
    a["zg"] = a["zone_grise"].fillna(False).astype(bool)
    a["pl"] = a["placed"].astype(bool)
    a["pop_pl"] = np.where(a["pl"], a["population"], 0)
    a["pop_zg"] = np.where(a["zg"], a["population"], 0)
    a["pop_un"] = np.where(a["pl"], 0, a["population"])
    order = {t: i for i, t in enumerate(TIERS)}
    g = a.groupby(["departement", "tier", "method"], sort=False)
    s = g.agg(
        threshold_min=("threshold_min", "first"),
        communes=("pl", "sum"),
        communes_zone_grise=("zg", "sum"),
        population=("pop_pl", "sum"),
        population_zone_grise=("pop_zg", "sum"),
        communes_unplaced=("pl", lambda x: int((~x).sum())),
        population_unplaced=("pop_un", "sum"),
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100.0 * s["population_zone_grise"] / s["population"].where(s["population"] > 0)
    s.insert(8, "share_population_zone_grise", share.round(2))
    for c in ("communes", "communes_zone_grise", "population", "population_zone_grise", "communes_unplaced", "population_unplaced"):
        s[c] = s[c].astype(np.int64)
    s = s.sort_values(
        ["departement", "method", "tier"], key=lambda c: c.map(order) if c.name == "tier" else c, kind="stable"
    )
    return s.reset_index(drop=True)


def compute_access(
    graph: Graph,
    communes: pd.DataFrame,
    bpe: pd.DataFrame,
    gammes: pd.DataFrame,
    *,
    departements: Sequence[str] | str = DEFAULT_DEPARTEMENTS,
    tiers: Sequence[str] = TIERS,
    methods: Sequence[str] = ("mean",),
    thresholds_min: Mapping[str, float] | Sequence[float] | None = None,
    pole_share: float = POLE_SHARE,
    max_distance_m: float = SNAP_MAX_DISTANCE_M,
    strategy: str = "auto",
    progress: bool | None = False,
) -> AccessResult:
    """Times from the communes of ``departements`` to the services of each gamme; zones grises.

    Parameters
    ----------
    graph : Graph
        The car graph (:func:`accessibility.graph.load_graph`).
    communes : pandas.DataFrame
        Commune table (:func:`accessibility.communes.load_communes`). Every commune whose centre
        snaps onto ``graph`` can serve; those of ``departements`` are analysed.
    bpe : pandas.DataFrame
        BPE counts (:func:`accessibility.services.load_bpe`), current COG codes.
    gammes : pandas.DataFrame
        Gamme table (:func:`accessibility.services.load_gammes`).
    departements : sequence of str or str, default 04 and 05
        Départements analysed (``"04,05"`` is accepted).
    tiers : sequence of str, default all three
        Subset of :data:`~accessibility.settings.TIERS`.
    methods : sequence of str, default ("mean",)
        Subset of :data:`METHODS`.
    thresholds_min : mapping tier -> minutes, or 3 numbers, optional
        Zone grise thresholds; :data:`~accessibility.settings.TIER_THRESHOLDS_MIN` by default.
    pole_share : float, default :data:`~accessibility.settings.POLE_SHARE`
        Share of the gamme's equipments (of the BPE vintage) a pôle must have, in ``(0, 1]``.
    max_distance_m : float, default :data:`~accessibility.settings.SNAP_MAX_DISTANCE_M`
        Commune centres farther from any road (metres) are not placed.
    strategy : {"auto", "search", "matrix"}
        See :func:`nearest_equipment_times`.
    progress : bool or None
        Progress bar on stderr (None: only on a terminal).

    Returns
    -------
    AccessResult

    Raises
    ------
    InvalidParameterError
        Unknown tier or method, bad thresholds, pole share or département code.
    NoCommuneError
        No commune of ``departements`` in the commune table, or none of them placed on the
        road extract.
    DataFormatError
        A table lacks a required column.
    """
    t0 = time.perf_counter()
    tiers = tuple(dict.fromkeys(tiers))
    bad = [t for t in tiers if t not in TIERS]
    if bad or not tiers:
        raise InvalidParameterError(f"unknown tier {bad[0] if bad else ''!r}; valid tiers are {', '.join(TIERS)}")
    methods = tuple(dict.fromkeys(methods))
    bad = [m for m in methods if m not in METHODS]
    if bad or not methods:
        raise InvalidParameterError(f"unknown method {bad[0] if bad else ''!r}; valid methods are {', '.join(METHODS)}")
    thr = _thresholds(thresholds_min)
    if not (0.0 < pole_share <= 1.0):
        raise InvalidParameterError(f"pole share must be in (0, 1], got {pole_share!r}")
    deps = parse_departements(departements)
    miss = [c for c in ("code", "nom", "departement", "population", "lon", "lat") if c not in communes]
    if miss:
        raise DataFormatError(f"commune table lacks column(s) {', '.join(miss)}")

    com = communes.reset_index(drop=True)
    is_origin = com["departement"].isin(deps).to_numpy()
    if not is_origin.any():
        raise NoCommuneError(
            f"no commune of département(s) {', '.join(deps)} in the commune table "
            f"({len(com):,} communes): check --departement or --communes"
        )
    lon = com["lon"].to_numpy(float)
    lat = com["lat"].to_numpy(float)
    has_centre = np.isfinite(lon) & np.isfinite(lat)
    # graph bounding box, widened by the snap distance (degrees, generously)
    xs, ys = graph.x, graph.y
    pad_lat = max_distance_m / 111_000.0 + 1e-6
    pad_lon = pad_lat / max(np.cos(np.radians(np.nanmax(np.abs(ys)) if len(ys) else 0.0)), 0.1)
    inside = has_centre & (lon >= xs.min() - pad_lon) & (lon <= xs.max() + pad_lon) & (lat >= ys.min() - pad_lat) & (lat <= ys.max() + pad_lat)
    cand = np.flatnonzero(inside | (is_origin & has_centre))
    snapped = snap_points(graph, lon[cand], lat[cand], max_distance_m=max_distance_m)
    dist = np.full(len(com), np.nan)
    dist[cand] = snapped.distance_m
    ok_all = np.zeros(len(com), dtype=bool)
    ok_all[cand] = snapped.ok
    reason = np.full(len(com), "", dtype=object)
    reason[~has_centre] = NO_CENTRE
    reason[has_centre & ~inside] = OUTSIDE
    too_far = has_centre & inside & ~ok_all
    reason[too_far] = TOO_FAR
    # an origin far outside the box that still snapped (box test is approximate): trust the snap
    reason[ok_all] = ""

    # places: every placed commune; origins: placed communes of the départements
    place_rows = np.flatnonzero(ok_all)
    pos_in_cand = np.full(len(com), -1, dtype=np.int64)
    pos_in_cand[cand] = np.arange(len(cand))
    places = subset_snapped(snapped, pos_in_cand[place_rows])
    origin_rows = np.flatnonzero(is_origin)
    n_origin_ok = int(ok_all[origin_rows].sum())
    if n_origin_ok == 0:
        counts = pd.Series(reason[origin_rows]).value_counts().to_dict()
        raise NoCommuneError(
            f"none of the {len(origin_rows):,} communes of département(s) {', '.join(deps)} can be placed "
            f"on the road extract ({', '.join(f'{v} {k}' for k, v in counts.items())}): give an --osm "
            "extract that covers them"
        )
    ok_origin_rows = origin_rows[ok_all[origin_rows]]
    origins = subset_snapped(snapped, pos_in_cand[ok_origin_rows])
    place_of_row = np.full(len(com), -1, dtype=np.int64)
    place_of_row[place_rows] = np.arange(len(place_rows))
    origin_place = place_of_row[ok_origin_rows]
    t_snap = time.perf_counter()

    place_codes = com["code"].to_numpy(object)[place_rows]
    pres: EquipmentPresence = equipment_presence(bpe, gammes, place_codes, tiers=tiers)
    found = pres.present.any(axis=0)
    not_in_extract = pd.DataFrame(
        {"equipment": pres.equipment[~found], "tier": pres.tier[~found], "label": pres.label[~found]}
    )
    for row in not_in_extract.itertuples():
        log.warning(
            "no commune of the road extract has equipment %s (%s, %s): left out of the %s mean",
            row.equipment, row.label, row.tier, row.tier,
        )
    poles = {t: pole_mask(pres.present[:, pres.of_tier(t)], share=pole_share) for t in tiers}
    for t in tiers:
        if "pole" in methods and not poles[t].any():
            log.warning("no pôle of gamme %s (share %.2f) in the extract: pole times are NaN", t, pole_share)

    # one column per equipment found, plus one per tier for the pôles
    cols = [pres.present[:, found]]
    eq_idx = np.flatnonzero(found)
    if "pole" in methods:
        cols.append(np.column_stack([poles[t] for t in tiers]))
    present = np.concatenate(cols, axis=1)
    time_s, nearest, used = nearest_equipment_times(
        graph, origins, places, present, origin_place=origin_place, strategy=strategy, progress=progress
    )
    t_route = time.perf_counter()
    n_eq = len(eq_idx)
    eq_t, eq_n = time_s[:, :n_eq], nearest[:, :n_eq]

    # unreachable origins: placed, but some service with a place cannot be reached
    unreach = ~np.isfinite(eq_t).all(axis=1)
    if "pole" in methods:
        pole_cols = [k for k, t in enumerate(tiers) if poles[t].any()]
        unreach |= ~np.isfinite(time_s[:, n_eq + np.asarray(pole_cols, dtype=np.int64)]).all(axis=1) if pole_cols else False
    placed_rows = ok_origin_rows[~unreach]
    reason[ok_origin_rows[unreach]] = UNREACHABLE
    placed = np.zeros(len(com), dtype=bool)
    placed[placed_rows] = True
    if unreach.any():
        log.warning("%d communes are placed on the network but cannot reach every service", int(unreach.sum()))

    # ---- tables
    o = com.loc[origin_rows, ["code", "nom", "departement", "population"]].reset_index(drop=True)
    o_lon, o_lat = lon[origin_rows], lat[origin_rows]
    o_placed = placed[origin_rows]
    row_in_ok = np.full(len(com), -1, dtype=np.int64)
    row_in_ok[ok_origin_rows] = np.arange(len(ok_origin_rows))
    k_ok = row_in_ok[origin_rows]  # row of each origin in time_s, -1 if not snapped
    n_o = len(origin_rows)

    def per_origin(a: np.ndarray, fill) -> np.ndarray:
        out = np.full((n_o,) + a.shape[1:], fill, dtype=a.dtype)
        sel = k_ok >= 0
        out[sel] = a[k_ok[sel]]
        out[~o_placed] = fill
        return out

    eq_t_o = per_origin(eq_t, np.inf)
    eq_n_o = per_origin(eq_n, -1)
    min_o = np.where(np.isfinite(eq_t_o), eq_t_o / 60.0, np.nan)

    code_of_place = place_codes
    frames = []
    for method in methods:
        for k, t in enumerate(tiers):
            cols_t = np.flatnonzero(pres.tier[eq_idx] == t)
            near_pole = np.full(n_o, None, dtype=object)
            if method == "mean":
                minutes = min_o[:, cols_t].mean(axis=1) if len(cols_t) else np.full(n_o, np.nan)
            else:
                pt = per_origin(time_s[:, n_eq + k], np.inf)
                pn = per_origin(nearest[:, n_eq + k], -1)
                minutes = np.where(np.isfinite(pt), pt / 60.0, np.nan)
                near_pole[pn >= 0] = code_of_place[pn[pn >= 0]]
            minutes = np.where(o_placed, minutes, np.nan)
            zg = pd.array(zone_grise(minutes, thr[t]), dtype="boolean")
            zg[~np.isfinite(minutes)] = pd.NA
            own_pole = np.zeros(n_o, dtype=bool)
            op = place_of_row[origin_rows]
            own_pole[op >= 0] = poles[t][op[op >= 0]]
            f = o.copy()
            f["tier"] = t
            f["method"] = method
            f["minutes"] = np.round(minutes, 2)
            f["threshold_min"] = thr[t]
            f["zone_grise"] = zg
            f["nearest_pole"] = pd.array(near_pole, dtype="string")
            f["pole"] = own_pole
            f["equipments"] = len(cols_t)
            f["placed"] = o_placed
            frames.append(f)
    access = pd.concat(frames, ignore_index=True)
    # zone grise decided on the rounded minutes shown in the table, so the file is consistent
    fin = access["minutes"].notna()
    access.loc[fin, "zone_grise"] = access.loc[fin, "minutes"] > access.loc[fin, "threshold_min"]

    # equipment times, long format
    m_eq = len(eq_idx) + int((~found).sum())
    all_eq = np.concatenate([eq_idx, np.flatnonzero(~found)])
    all_min = np.concatenate([min_o, np.full((n_o, int((~found).sum())), np.nan)], axis=1)
    all_near = np.concatenate([eq_n_o, np.full((n_o, int((~found).sum())), -1)], axis=1)
    order = np.argsort(all_eq, kind="stable")
    all_eq, all_min, all_near = all_eq[order], all_min[:, order], all_near[:, order]
    near_code = np.full(all_near.shape, None, dtype=object)
    near_code[all_near >= 0] = code_of_place[all_near[all_near >= 0]]
    et = pd.DataFrame(
        {
            "code": np.repeat(o["code"].to_numpy(object), m_eq),
            "nom": np.repeat(o["nom"].to_numpy(object), m_eq),
            "departement": np.repeat(o["departement"].to_numpy(object), m_eq),
            "tier": np.tile(pres.tier[all_eq], n_o),
            "equipment": np.tile(pres.equipment[all_eq], n_o),
            "label": np.tile(pres.label[all_eq], n_o),
            "minutes": np.round(all_min.ravel(), 2),
            "nearest": pd.array(near_code.ravel(), dtype="string"),
        }
    )

    unplaced_mask = ~o_placed
    unplaced = o[unplaced_mask].copy()
    unplaced["reason"] = reason[origin_rows][unplaced_mask]
    unplaced["distance_m"] = np.round(dist[origin_rows][unplaced_mask], 1)
    unplaced = unplaced.reset_index(drop=True)
    if len(unplaced):
        log.warning(
            "%d of %d communes cannot be placed on the network (%s): listed, left out of the counts",
            len(unplaced), n_o, ", ".join(f"{v} {k}" for k, v in unplaced["reason"].value_counts().items()),
        )

    communes_out = o.copy()
    communes_out["lon"] = o_lon
    communes_out["lat"] = o_lat
    communes_out["placed"] = o_placed
    communes_out["reason"] = reason[origin_rows]

    pole_frames = []
    for t in tiers:
        cols_t = pres.of_tier(t)
        pm = poles[t]
        rows = place_rows[pm]
        cnt = pres.present[pm][:, cols_t].sum(axis=1)
        pole_frames.append(
            pd.DataFrame(
                {
                    "code": com["code"].to_numpy(object)[rows],
                    "nom": com["nom"].to_numpy(object)[rows],
                    "departement": com["departement"].to_numpy(object)[rows],
                    "tier": t,
                    "lon": lon[rows],
                    "lat": lat[rows],
                    "equipments": cnt.astype(np.int64),
                    "share": np.round(cnt / max(len(cols_t), 1), 3),
                }
            )
        )
    poles_df = pd.concat(pole_frames, ignore_index=True)
    t_end = time.perf_counter()
    params = {
        "departements": list(deps),
        "tiers": list(tiers),
        "methods": list(methods),
        "thresholds_min": {t: thr[t] for t in tiers},
        "pole_share": pole_share,
        "max_distance_m": max_distance_m,
        "strategy": used,
        "places": int(len(place_rows)),
        "communes_analysed": int(n_o),
        "communes_placed": int(o_placed.sum()),
        "seconds": {
            "snap": round(t_snap - t0, 3),
            "routing": round(t_route - t_snap, 3),
            "tables": round(t_end - t_route, 3),
        },
    }
    log.info(
        "%d communes analysed (%d placed), %d places, %d equipments, strategy %s, routing %.2f s",
        n_o, int(o_placed.sum()), len(place_rows), n_eq, used, t_route - t_snap,
    )
    return AccessResult(
        access=access,
        equipment_times=et,
        summary=summarize(access),
        unplaced=unplaced,
        communes=communes_out,
        poles=poles_df,
        absent_equipments=pres.absent[["equipment", "tier", "label"]].copy(),
        equipments_not_in_extract=not_in_extract,
        parameters=params,
    )
