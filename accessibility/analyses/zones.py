"""Car times from communes to the services of each gamme, and the zones grises.

A run of :func:`compute_access` is a short pipeline of named steps, each a function a test can
call alone and the other commands reuse:

1. :func:`check_access_options` — validated options (tiers, methods, thresholds, départements);
2. :func:`place_communes` — every commune of the table put on the graph once
   (:class:`~accessibility.engine.places.Places`): the *servers* (placed communes anywhere in the
   extract) and the *origins* (the communes of the chosen départements, placed or not);
3. :func:`gamme_presence` — which server has which equipment of the gammes, and the pôles;
4. :func:`route_to_equipments` — the time from every origin to the nearest server having each
   equipment (the numpy core :func:`nearest_equipment_times`), origins that cannot reach a
   service marked ``unreachable``;
5. :func:`access_table`, :func:`equipment_table`, :func:`poles_table`, :func:`summarize` — the
   tables of the SDAASP diagnostic (:class:`AccessResult`).

Definitions (INSEE, SDAASP diagnostics):

- times are **centre to centre**: from a commune's centre to the centre of the nearest commune
  having the equipment, and 0 when the commune has it itself;
- ``mean``: the average over the gamme's equipments of those times (INSEE's *temps d'accès moyen
  aux équipements de la gamme*);
- ``pole``: the time to the nearest *pôle* of the gamme, a commune having at least ``pole_share``
  of the gamme's equipments (:func:`accessibility.inputs.services.pole_mask`);
- a commune is in a **zone grise** of a tier when its time *exceeds* the tier's threshold.

Services anywhere in the road extract count (a commune of a neighbouring département can serve);
the communes analysed are those of the chosen départements. A commune that cannot be placed on
the network (no centre, outside the extract, too far from any road, unreachable) gets NaN
minutes, is listed with the reason, and is left out of every count. A figure that cannot be
measured is an error (a gamme with no equipment in the BPE or in the extract), never a 0.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from accessibility.engine.locations import (
    EQUIPMENT_MODES,
    ORIGIN_MODES,
    EquipmentPoints,
    PopulationCells,
    place_equipment_points,
    place_population_cells,
    weighted_by_cells,
)
from accessibility.engine.places import NO_CENTRE, OUTSIDE, TOO_FAR, UNREACHABLE, Places  # noqa: F401 - reasons re-exported
from accessibility.engine.places import matrix as place_matrix
from accessibility.errors import DataFormatError, InvalidParameterError, NoCommuneError, NoServiceError
from accessibility.inputs.communes import require_departements
from accessibility.inputs.services import EquipmentPresence, equipment_presence, pole_mask
from accessibility.network.graph import Graph
from accessibility.outputs.manifest import Run
from accessibility.routing.points import nearest_place_groups
from accessibility.settings import (
    DEFAULT_DEPARTEMENTS,
    POLE_SHARE,
    SNAP_MAX_DISTANCE_M,
    TIER_THRESHOLDS_MIN,
    TIERS,
)

__all__ = [
    "METHODS",
    "STRATEGIES",
    "AccessOptions",
    "check_access_options",
    "CommunePlacement",
    "place_communes",
    "GammePresence",
    "gamme_presence",
    "EquipmentTimes",
    "route_to_equipments",
    "nearest_equipment_times",
    "mean_minutes",
    "zone_grise",
    "parse_departements",
    "access_table",
    "equipment_table",
    "poles_table",
    "AccessResult",
    "compute_access",
    "summarize",
]

log = logging.getLogger(__name__)

#: Aggregations of the equipment times of a gamme.
METHODS: tuple[str, ...] = ("mean", "pole")
#: How the per-equipment times are computed (see :func:`nearest_equipment_times`).
STRATEGIES: tuple[str, ...] = ("auto", "search", "matrix")


# --------------------------------------------------------------------------------------------
# numpy core
# --------------------------------------------------------------------------------------------


def nearest_equipment_times(
    graph: Graph,
    origins: Places,
    servers: Places,
    present: np.ndarray,
    *,
    strategy: str = "auto",
    progress: bool | None = False,
) -> tuple[np.ndarray, np.ndarray, str]:
    """Time from every origin to the nearest server having each equipment.

    Parameters
    ----------
    graph : Graph
    origins, servers : Places
        Put on ``graph``; places not placed are ignored (their times are ``inf``). An origin
        that is also a server (same id) and has the equipment is at 0 from it: centre to
        centre, the same centre (the two access legs are not counted).
    present : np.ndarray of bool, shape (len(servers), m)
        Server ``p`` has equipment ``j``.
    strategy : {"auto", "search", "matrix"}
        ``search``: one multi-source search per equipment from the servers having it (on the
        reverse graph), ``m`` searches. ``matrix``: one origin × server matrix (``len(origins)``
        searches, parallel over numba's threads), then a minimum per equipment. ``auto`` picks
        the cheaper from the counts (a matrix row costs about 0.8 of a search, measured on the
        embedded extract).
    progress : bool or None, default False
        Show a tqdm bar over equipments on stderr (None: only on a terminal).

    Returns
    -------
    time_s : np.ndarray of float64, shape (len(origins), m)
        Seconds; ``inf`` when the origin is not placed, no server has the equipment, or it is
        unreachable.
    nearest : np.ndarray of int64, shape (len(origins), m)
        Row in ``servers`` of the nearest server having the equipment, -1 where ``inf``.
    strategy : str
        The strategy used (``search`` or ``matrix``).

    Raises
    ------
    InvalidParameterError
        Shapes disagree, places of the wrong type, or the strategy is unknown.
    """
    from tqdm.auto import tqdm

    for what, x in (("origins", origins), ("servers", servers)):
        if not isinstance(x, Places):
            raise InvalidParameterError(f"{what} must be accessibility Places, got {type(x).__name__}")
    present = np.asarray(present, dtype=bool)
    if present.ndim != 2 or present.shape[0] != len(servers):
        raise InvalidParameterError(
            f"present must have shape (len(servers)={len(servers)}, m), got {present.shape}"
        )
    if strategy not in STRATEGIES:
        raise InvalidParameterError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    n, m = len(origins), present.shape[1]
    usable = present & servers.placed[:, None]
    if strategy == "auto":
        from numba import get_num_threads

        strategy = "matrix" if 0.8 * origins.n_placed / get_num_threads() < int(usable.any(axis=0).sum()) else "search"
    time_s = np.full((n, m), np.inf)
    nearest = np.full((n, m), -1, dtype=np.int64)
    bar = tqdm(total=m, desc="equipments", unit="eq", disable=(None if progress is None else not progress), leave=False)
    try:
        if strategy == "matrix":
            _by_matrix(graph, origins, servers, usable, time_s, nearest, bar)
        else:
            _by_search(graph, origins, servers, usable, time_s, nearest, bar)
    finally:
        bar.close()
    # a commune having the equipment: 0, itself
    own = servers.row_of(origins.ids, missing="ignore")
    oi = np.flatnonzero((own >= 0) & origins.placed)
    r, c = np.nonzero(usable[own[oi]])
    time_s[oi[r], c] = 0.0
    nearest[oi[r], c] = own[oi[r]]
    time_s[~origins.placed] = np.inf
    nearest[~origins.placed] = -1
    return time_s, nearest, strategy


def _by_search(graph, origins, servers, usable, time_s, nearest, bar) -> None:
    """One multi-source search per equipment column, from the servers having it (parallel over
    columns)."""
    t, k = nearest_place_groups(graph, origins.snapped, servers.snapped, usable)
    time_s[:] = t
    nearest[:] = k
    bar.update(usable.shape[1])


def _by_matrix(graph, origins, servers, usable, time_s, nearest, bar) -> None:
    """One origin × server matrix, then a minimum per equipment column."""
    n = len(origins)
    ok_o = np.flatnonzero(origins.placed)
    ok_p = np.flatnonzero(servers.placed)
    mat = np.full((n, len(servers)), np.inf)
    if len(ok_o) and len(ok_p):
        bar.set_description("origin x server matrix")
        mat[np.ix_(ok_o, ok_p)] = place_matrix(graph, origins.take(ok_o), servers.take(ok_p))
    bar.set_description("equipments")
    for j in range(usable.shape[1]):
        cols = np.flatnonzero(usable[:, j])
        if len(cols):
            sub = mat[:, cols]
            k = np.argmin(sub, axis=1)
            t = sub[np.arange(n), k]
            time_s[:, j] = t
            nearest[:, j] = np.where(np.isfinite(t), cols[k], -1)
        bar.update()


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



# --------------------------------------------------------------------------------------------
# the steps of a run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AccessOptions:
    """Validated options of a zones grises run (see :func:`compute_access`)."""

    departements: tuple[str, ...]
    tiers: tuple[str, ...]
    methods: tuple[str, ...]
    thresholds_min: dict
    pole_share: float
    max_distance_m: float
    strategy: str
    equipments: str = "centre"
    origins: str = "centre"

    def as_parameters(self) -> dict:
        """For the run manifest."""
        return {
            "departements": list(self.departements),
            "tiers": list(self.tiers),
            "methods": list(self.methods),
            "thresholds_min": {t: self.thresholds_min[t] for t in self.tiers},
            "pole_share": self.pole_share,
            "max_distance_m": self.max_distance_m,
            "strategy": self.strategy,
            "equipments": self.equipments,
            "origins": self.origins,
        }


def _choices(values, valid: tuple[str, ...], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    try:
        out = tuple(dict.fromkeys(values))
    except TypeError:
        raise InvalidParameterError(f"{what}s must be a sequence of names, got {values!r}") from None
    bad = [v for v in out if v not in valid]
    if bad or not out:
        raise InvalidParameterError(f"unknown {what} {bad[0] if bad else ''!r}; valid {what}s are {', '.join(valid)}")
    return out


def check_access_options(
    *,
    departements=DEFAULT_DEPARTEMENTS,
    tiers=TIERS,
    methods=("mean",),
    thresholds_min=None,
    pole_share=POLE_SHARE,
    max_distance_m=SNAP_MAX_DISTANCE_M,
    strategy="auto",
    equipments="centre",
    origins="centre",
) -> AccessOptions:
    """Check every option before any work; see :func:`compute_access` for their meaning.

    Raises
    ------
    InvalidParameterError
        The first bad option, named with its value.
    """
    tiers = _choices(tiers, TIERS, "tier")
    methods = _choices(methods, METHODS, "method")
    thr = _thresholds(thresholds_min)
    if isinstance(pole_share, bool) or not isinstance(pole_share, (int, float, np.floating)) or not (0.0 < pole_share <= 1.0):
        raise InvalidParameterError(f"pole share must be in (0, 1], got {pole_share!r}")
    if isinstance(max_distance_m, bool) or not isinstance(max_distance_m, (int, float, np.floating)) or not (0 <= max_distance_m < np.inf):
        raise InvalidParameterError(f"max_distance_m must be a number of metres >= 0, got {max_distance_m!r}")
    if strategy not in STRATEGIES:
        raise InvalidParameterError(f"unknown strategy {strategy!r}; valid: {', '.join(STRATEGIES)}")
    if equipments not in EQUIPMENT_MODES:
        raise InvalidParameterError(f"unknown equipments mode {equipments!r}; valid: {', '.join(EQUIPMENT_MODES)}")
    if origins not in ORIGIN_MODES:
        raise InvalidParameterError(f"unknown origins mode {origins!r}; valid: {', '.join(ORIGIN_MODES)}")
    return AccessOptions(parse_departements(departements), tiers, methods, thr, float(pole_share),
                         float(max_distance_m), strategy, equipments, origins)


@dataclass(frozen=True)
class CommunePlacement:
    """The communes of a run on the graph.

    Attributes
    ----------
    servers : Places
        Every commune placed on the graph: any of them can serve.
    origins : Places
        The communes analysed (those of the départements), placed or not, in table order.
    """

    servers: Places
    origins: Places


def place_communes(graph: Graph, communes: pd.DataFrame, opts: AccessOptions) -> CommunePlacement:
    """Put the communes on the graph, once: servers and origins (see :class:`CommunePlacement`).

    Raises
    ------
    NoCommuneError
        A département has no commune in the table, or no commune analysed can be placed.
    """
    if not isinstance(communes, pd.DataFrame):
        raise InvalidParameterError(f"communes must be a pandas DataFrame (load_communes), got {type(communes).__name__}")
    miss = [c for c in ("code", "nom", "departement", "population", "lon", "lat") if c not in communes]
    if miss:
        raise DataFormatError(f"commune table lacks column(s) {', '.join(miss)}")
    deps = opts.departements
    require_departements(communes, deps)
    places = Places.from_communes(graph, communes.reset_index(drop=True), max_distance_m=opts.max_distance_m)
    is_origin = np.isin(places.attrs["departement"].astype(str), deps)
    origins = places.take(is_origin)
    if origins.n_placed == 0:
        counts = pd.Series(origins.reason).value_counts().to_dict()
        raise NoCommuneError(
            f"none of the {len(origins):,} communes of département(s) {', '.join(deps)} can be placed "
            f"on the road extract ({', '.join(f'{v} {k}' for k, v in counts.items())}): give an --osm "
            "extract that covers them"
        )
    return CommunePlacement(servers=places.placed_only(), origins=origins)


@dataclass(frozen=True)
class GammePresence:
    """Equipments of the gammes among the servers, and the pôles.

    Attributes
    ----------
    presence : EquipmentPresence
        Rows are the servers.
    found : np.ndarray of bool
        Equipments (columns of ``presence``) that some server has.
    poles : dict tier -> np.ndarray of bool
        Pôles of each tier among the servers.
    not_in_extract : pandas.DataFrame
        Equipments of the vintage that no server has: ``equipment, tier, label``.
    """

    presence: EquipmentPresence
    found: np.ndarray
    poles: dict
    not_in_extract: pd.DataFrame


def gamme_presence(bpe: pd.DataFrame, gammes: pd.DataFrame, servers: Places, opts: AccessOptions) -> GammePresence:
    """Which server has which equipment of the chosen gammes, and the pôles of each.

    Raises
    ------
    NoServiceError
        A gamme has no equipment in the BPE file, or none of its equipments is in any commune of
        the road extract: nothing could be measured for it.
    """
    pres = equipment_presence(bpe, gammes, servers.ids, tiers=opts.tiers)
    for t in opts.tiers:
        if len(pres.of_tier(t)) == 0:
            n_gamme = int((gammes["tier"] == t).sum())
            raise NoServiceError(
                f"gamme {t}: none of its {n_gamme} equipments is in the BPE file"
                + (" (the gamme table lists none)" if n_gamme == 0 else " with a count above 0")
                + ": nothing to measure; check --bpe and --gammes"
            )
    found = pres.present.any(axis=0)
    for t in opts.tiers:
        if not found[pres.of_tier(t)].any():
            raise NoServiceError(
                f"gamme {t}: no commune of the road extract has any of its equipments: nothing to "
                "measure; is the BPE file of another area or are the commune codes of another COG?"
            )
    not_in_extract = pd.DataFrame(
        {"equipment": pres.equipment[~found], "tier": pres.tier[~found], "label": pres.label[~found]}
    )
    for row in not_in_extract.itertuples():
        log.warning(
            "no commune of the road extract has equipment %s (%s, %s): left out of the %s mean",
            row.equipment, row.label, row.tier, row.tier,
        )
    poles = {t: pole_mask(pres.present[:, pres.of_tier(t)], share=opts.pole_share) for t in opts.tiers}
    for t in opts.tiers:
        if "pole" in opts.methods and not poles[t].any():
            log.warning("no pôle of gamme %s (share %.2f) in the extract: pole times are NaN", t, opts.pole_share)
    return GammePresence(presence=pres, found=found, poles=poles, not_in_extract=not_in_extract)


@dataclass(frozen=True)
class EquipmentTimes:
    """Times from the origins to the nearest place having each found equipment, and to the pôles.

    Attributes
    ----------
    origins : Places
        The communes analysed, those that cannot reach every service marked ``unreachable``.
    equipment : np.ndarray of int
        Columns of the presence matrix that were routed (the found equipments), in order.
    time_s : np.ndarray, shape (len(origins), len(equipment))
        Seconds (``inf`` when not placed).
    nearest_code : np.ndarray of object, same shape
        Commune code of the nearest place having the equipment (None when none).
    pole_time_s, pole_code : np.ndarray, shape (len(origins), len(tiers))
        The same for the nearest pôle of each tier (empty columns without the pole method).
    origin : np.ndarray of str
        Where each commune's trips start: ``centre``, ``population`` (its inhabited cells), or
        ``centre (no cell placed)``.
    strategy : str
    """

    origins: Places
    equipment: np.ndarray
    time_s: np.ndarray
    nearest_code: np.ndarray
    pole_time_s: np.ndarray
    pole_code: np.ndarray
    origin: np.ndarray
    strategy: str


def _codes(servers: Places, nearest: np.ndarray) -> np.ndarray:
    """Commune code of each nearest server row (-1 -> None)."""
    code = servers.attrs.get("code", servers.ids)
    out = np.full(nearest.shape, None, dtype=object)
    out[nearest >= 0] = np.asarray(code, dtype=object)[nearest[nearest >= 0]]
    return out


def route_to_equipments(
    graph: Graph, placement: CommunePlacement, gp: GammePresence, opts: AccessOptions, *, progress=False,
    points: EquipmentPoints | None = None, cells: PopulationCells | None = None,
) -> EquipmentTimes:
    """Route every origin to the nearest place having each found equipment (and pôle).

    With ``points`` (``--equipments at-location``) the equipment columns go to the equipments
    themselves, the pôles stay communes; with ``cells`` (``--origins population``) the trips start
    from the inhabited cells and each commune gets the population-weighted mean of its cells
    (:mod:`accessibility.engine.locations`); a commune with no cell placed keeps its chef-lieu's times.
    Origins placed but unable to reach some service that exists are marked ``unreachable`` and
    their times dropped (they are left out of the counts).
    """
    with_poles = "pole" in opts.methods
    n_t = len(opts.tiers) if with_poles else 0
    origins = placement.origins
    if cells is None:
        t_eq, c_eq, t_po, c_po, used = _route(graph, origins, placement, gp, opts, points, progress)
        origin = np.where(origins.placed, "centre", "")
    else:
        t_cell, c_cell, tp_cell, cp_cell, used = _route(graph, cells.places, placement, gp, opts, points, progress)
        t_eq, c_eq, n_cells = weighted_by_cells(cells.places, origins.ids, t_cell, c_cell)
        t_po, c_po, _ = weighted_by_cells(cells.places, origins.ids, tp_cell, cp_cell)
        fallback = origins.placed & (n_cells == 0)
        origin = np.where(origins.placed, np.where(fallback, "centre (no cell placed)", "population"), "")
        if fallback.any():
            log.warning("%d communes have no inhabited cell placed on the network: their chef-lieu's times are used",
                        int(fallback.sum()))
            f = _route(graph, origins.take(fallback), placement, gp, opts, points, False)
            t_eq[fallback], c_eq[fallback], t_po[fallback], c_po[fallback] = f[:4]
        t_eq, t_po = np.where(np.isnan(t_eq), np.inf, t_eq), np.where(np.isnan(t_po), np.inf, t_po)
    unreach = origins.placed & ~np.isfinite(t_eq).all(axis=1)
    if with_poles:
        pole_cols = np.asarray([k for k, t in enumerate(opts.tiers) if gp.poles[t].any()], dtype=np.int64)
        if len(pole_cols):
            unreach |= origins.placed & ~np.isfinite(t_po[:, pole_cols]).all(axis=1)
    if unreach.any():
        log.warning("%d communes are placed on the network but cannot reach every service", int(unreach.sum()))
        origins = origins.mark(unreach, UNREACHABLE)
        t_eq[unreach], t_po[unreach] = np.inf, np.inf
        c_eq[unreach], c_po[unreach] = None, None
    return EquipmentTimes(origins=origins, equipment=np.flatnonzero(gp.found), time_s=t_eq, nearest_code=c_eq,
                          pole_time_s=t_po[:, :n_t], pole_code=c_po[:, :n_t], origin=origin, strategy=used)


def _route(graph, start: Places, placement, gp, opts, points, progress):
    """Seconds and nearest commune code from ``start`` to each found equipment and each pôle."""
    eq_idx = np.flatnonzero(gp.found)
    poles = (np.column_stack([gp.poles[t] for t in opts.tiers]) if "pole" in opts.methods
             else np.zeros((len(placement.servers), 0), dtype=bool))
    if points is not None:
        present = points.presence([gp.presence.types_of(j) for j in eq_idx])
        t_eq, k_eq, used = nearest_equipment_times(graph, start, points.places, present, strategy=opts.strategy,
                                                   progress=progress)
        t_po, k_po, _ = nearest_equipment_times(graph, start, placement.servers, poles, strategy=opts.strategy)
        return t_eq, _codes(points.places, k_eq), t_po, _codes(placement.servers, k_po), used
    cols = np.concatenate([gp.presence.present[:, eq_idx], poles], axis=1)
    t_all, k_all, used = nearest_equipment_times(graph, start, placement.servers, cols, strategy=opts.strategy,
                                                 progress=progress)
    c_all = _codes(placement.servers, k_all)
    n_eq = len(eq_idx)
    return t_all[:, :n_eq], c_all[:, :n_eq], t_all[:, n_eq:], c_all[:, n_eq:], used


def _origin_frame(origins: Places) -> pd.DataFrame:
    return pd.DataFrame({
        "code": origins.ids,
        "nom": origins.names,
        "departement": origins.attrs["departement"],
        "population": _population(origins.population),
    })


def _population(pop: np.ndarray):
    """Inhabitants as a nullable integer column (empty when unknown)."""
    out = pd.array(np.where(np.isnan(pop), 0, np.round(pop)).astype(np.int64), dtype="Int64")
    out[np.isnan(pop)] = pd.NA
    return out


def access_table(et: EquipmentTimes, gp: GammePresence, servers: Places, opts: AccessOptions) -> pd.DataFrame:
    """One row per analysed commune, tier and method (see :attr:`AccessResult.access`)."""
    origins = et.origins
    o = _origin_frame(origins)
    n_o = len(origins)
    placed = origins.placed
    minutes_eq = np.where(np.isfinite(et.time_s), et.time_s / 60.0, np.nan)
    tier_of_col = gp.presence.tier[et.equipment]
    own = servers.row_of(origins.ids, missing="ignore")
    frames = []
    for method in opts.methods:
        for k, t in enumerate(opts.tiers):
            cols_t = np.flatnonzero(tier_of_col == t)
            near_pole = np.full(n_o, None, dtype=object)
            if method == "mean":
                minutes = minutes_eq[:, cols_t].mean(axis=1) if len(cols_t) else np.full(n_o, np.nan)
            else:
                pt = et.pole_time_s[:, k]
                minutes = np.where(np.isfinite(pt), pt / 60.0, np.nan)
                near_pole = et.pole_code[:, k]
            minutes = np.where(placed, minutes, np.nan)
            own_pole = np.zeros(n_o, dtype=bool)
            own_pole[own >= 0] = gp.poles[t][own[own >= 0]]
            f = o.copy()
            f["tier"] = t
            f["method"] = method
            f["minutes"] = np.round(minutes, 2)
            f["threshold_min"] = opts.thresholds_min[t]
            zg = pd.array(zone_grise(f["minutes"].to_numpy(float), opts.thresholds_min[t]), dtype="boolean")
            zg[~np.isfinite(f["minutes"].to_numpy(float))] = pd.NA
            # decided on the rounded minutes shown in the table, so the file is consistent
            f["zone_grise"] = zg
            f["nearest_pole"] = pd.array(near_pole, dtype="string")
            f["pole"] = own_pole
            f["equipments"] = len(cols_t)
            f["placed"] = placed
            frames.append(f)
    return pd.concat(frames, ignore_index=True)


def equipment_table(et: EquipmentTimes, gp: GammePresence, servers: Places) -> pd.DataFrame:
    """Commune × equipment minutes, long format (see :attr:`AccessResult.equipment_times`).

    Equipments that no server has are listed with empty minutes.
    """
    origins = et.origins
    n_o = len(origins)
    pres = gp.presence
    missing = np.flatnonzero(~gp.found)
    all_eq = np.concatenate([et.equipment, missing])
    minutes = np.where(np.isfinite(et.time_s), et.time_s / 60.0, np.nan)
    all_min = np.concatenate([minutes, np.full((n_o, len(missing)), np.nan)], axis=1)
    all_near = np.concatenate([et.nearest_code, np.full((n_o, len(missing)), None, dtype=object)], axis=1)
    order = np.argsort(all_eq, kind="stable")
    all_eq, all_min, near_code = all_eq[order], all_min[:, order], all_near[:, order]
    m_eq = len(all_eq)
    return pd.DataFrame(
        {
            "code": np.repeat(origins.ids, m_eq),
            "nom": np.repeat(origins.names, m_eq),
            "departement": np.repeat(origins.attrs["departement"], m_eq),
            "tier": np.tile(pres.tier[all_eq], n_o),
            "equipment": np.tile(pres.equipment[all_eq], n_o),
            "label": np.tile(pres.label[all_eq], n_o),
            "minutes": np.round(all_min.ravel(), 2),
            "nearest": pd.array(near_code.ravel(), dtype="string"),
        }
    )


def poles_table(gp: GammePresence, servers: Places, opts: AccessOptions) -> pd.DataFrame:
    """Pôles of each tier in the whole extract (see :attr:`AccessResult.poles`)."""
    pres = gp.presence
    frames = []
    for t in opts.tiers:
        cols_t = pres.of_tier(t)
        pm = gp.poles[t]
        cnt = pres.present[pm][:, cols_t].sum(axis=1)
        frames.append(
            pd.DataFrame(
                {
                    "code": servers.ids[pm],
                    "nom": servers.names[pm],
                    "departement": servers.attrs["departement"][pm],
                    "tier": t,
                    "lon": servers.lon[pm],
                    "lat": servers.lat[pm],
                    "equipments": cnt.astype(np.int64),
                    "share": np.round(cnt / max(len(cols_t), 1), 3),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


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
        Départements, tiers, methods, thresholds, pole share, snap distance, strategy.
    manifest : Run
        What the run read, used, counted, warned and how long each stage took (``run.json``).
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
    manifest: Run | None = None


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
        population), ``communes_unplaced, population_unplaced, communes_population_unknown``.
        Counts cover placed communes only; inhabitants cover communes of known population
        (``communes_population_unknown`` counts the others, placed or not). The share is empty
        when no inhabitant is counted.
    """
    a = access.copy()
    a["zg"] = a["zone_grise"].fillna(False).astype(bool)
    a["pl"] = a["placed"].astype(bool)
    pop = a["population"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan)
    a["pop_unknown"] = np.isnan(pop)
    pop = np.nan_to_num(pop, nan=0.0)
    a["pop_pl"] = np.where(a["pl"], pop, 0)
    a["pop_zg"] = np.where(a["zg"], pop, 0)
    a["pop_un"] = np.where(a["pl"], 0, pop)
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
        communes_population_unknown=("pop_unknown", "sum"),
    ).reset_index()
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100.0 * s["population_zone_grise"] / s["population"].where(s["population"] > 0)
    s.insert(8, "share_population_zone_grise", share.round(2))
    for c in ("communes", "communes_zone_grise", "population", "population_zone_grise", "communes_unplaced",
              "population_unplaced", "communes_population_unknown"):
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
    equipments: str = "centre",
    origins: str = "centre",
    bpe_points: pd.DataFrame | None = None,
    population_grid: pd.DataFrame | None = None,
    progress: bool | None = False,
    run: Run | None = None,
) -> AccessResult:
    """Times from the communes of ``departements`` to the services of each gamme; zones grises.

    The steps (see the module docstring): :func:`check_access_options`,
    :func:`place_communes`, :func:`gamme_presence`, :func:`route_to_equipments`, then the tables.

    Parameters
    ----------
    graph : Graph
        The car graph (:func:`accessibility.network.graph.load_graph`).
    communes : pandas.DataFrame
        Commune table (:func:`accessibility.inputs.communes.load_communes`). Every commune whose centre
        snaps onto ``graph`` can serve; those of ``departements`` are analysed.
    bpe : pandas.DataFrame
        BPE counts (:func:`accessibility.inputs.services.load_bpe`), current COG codes.
    gammes : pandas.DataFrame
        Gamme table (:func:`accessibility.inputs.services.load_gammes`).
    departements : sequence of str or str, default 04 and 05
        Départements analysed (``"04,05"`` is accepted); each must have communes in the table.
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
    equipments : {"centre", "at-location"}
        Equipments at their commune's centre (the SDAASP and Odomatrix definition), or each at its
        own coordinates (needs ``bpe_points``); see :mod:`accessibility.engine.locations`.
    origins : {"centre", "population"}
        Trips from the chef-lieu, or the population-weighted mean over the commune's inhabited
        200 m cells (needs ``population_grid``).
    bpe_points : pandas.DataFrame, optional
        Geolocated BPE (:func:`accessibility.inputs.services.load_bpe_points`).
    population_grid : pandas.DataFrame, optional
        Population on 200 m squares (:func:`accessibility.inputs.datasets.readers.load_population_grid`).
    progress : bool or None
        Progress bar on stderr (None: only on a terminal).
    run : Run, optional
        Manifest to fill (stages ``place``, ``route``, ``tables``, parameters, warnings,
        counts); a new one when omitted. Returned as ``result.manifest``.

    Returns
    -------
    AccessResult

    Raises
    ------
    InvalidParameterError
        Unknown tier or method, bad thresholds, pole share or département code, or inputs of the
        wrong type.
    NoCommuneError
        A département has no commune in the commune table, or none of the communes analysed can
        be placed on the road extract.
    NoServiceError
        A gamme has no equipment in the BPE file or in the extract (nothing to measure).
    DataFormatError
        A table lacks a required column.
    """
    from accessibility.routing.dijkstra import check_graph_arg

    check_graph_arg(graph)
    opts = check_access_options(
        departements=departements, tiers=tiers, methods=methods, thresholds_min=thresholds_min,
        pole_share=pole_share, max_distance_m=max_distance_m, strategy=strategy, equipments=equipments,
        origins=origins,
    )
    for what, df in (("bpe", bpe), ("gammes", gammes)):
        if not isinstance(df, pd.DataFrame):
            raise InvalidParameterError(f"{what} must be a pandas DataFrame, got {type(df).__name__}")
    if opts.equipments == "at-location" and not isinstance(bpe_points, pd.DataFrame):
        raise InvalidParameterError("equipments at-location needs the geolocated BPE (bpe_points, --bpe-points)")
    if opts.origins == "population" and not isinstance(population_grid, pd.DataFrame):
        raise InvalidParameterError("origins population needs the population grid (population_grid, --population-grid)")
    run = run if run is not None else Run("compute")
    run.use_graph(graph)
    with run.capture_warnings():
        with run.stage("place"):
            placement = place_communes(graph, communes, opts)
            gp = gamme_presence(bpe, gammes, placement.servers, opts)
            points = cells = None
            if opts.equipments == "at-location":
                types = {t for j in np.flatnonzero(gp.found) for t in gp.presence.types_of(j)}
                points = place_equipment_points(graph, bpe_points, communes, types=types,
                                                max_distance_m=opts.max_distance_m)
                run.counts.update({"equipment_points": len(points.places), "equipment_points_placed": points.places.n_placed,
                                   "equipment_points_at_commune_centre": points.fallback})
            if opts.origins == "population":
                cells = place_population_cells(graph, population_grid, placement.origins.ids,
                                               max_distance_m=opts.max_distance_m)
                run.counts.update({"population_cells": len(cells.places), "population_cells_placed": cells.places.n_placed})
        with run.stage("route"):
            et = route_to_equipments(graph, placement, gp, opts, progress=progress, points=points, cells=cells)
        with run.stage("tables"):
            access = access_table(et, gp, placement.servers, opts)
            result = AccessResult(
                access=access,
                equipment_times=equipment_table(et, gp, placement.servers),
                summary=summarize(access),
                unplaced=et.origins.unplaced(),
                communes=et.origins.to_frame()[["code", "nom", "departement", "population", "lon", "lat", "placed", "reason"]]
                .assign(origin=et.origin),
                poles=poles_table(gp, placement.servers, opts),
                absent_equipments=gp.presence.absent[["equipment", "tier", "label"]].copy(),
                equipments_not_in_extract=gp.not_in_extract,
                parameters={**opts.as_parameters(), "strategy": et.strategy},
                manifest=run,
            )
        _report_unplaced(et.origins)
    origins = et.origins
    run.parameters.update(result.parameters)
    run.counts.update({
        "servers": len(placement.servers),
        "communes_analysed": len(origins),
        "communes_placed": origins.n_placed,
        "communes_unplaced": len(origins) - origins.n_placed,
        "communes_population_unknown": int(np.isnan(origins.population).sum()),
        "equipments": int(gp.found.sum()),
        "equipments_absent_from_bpe": len(result.absent_equipments),
        "equipments_not_in_extract": len(result.equipments_not_in_extract),
    })
    log.info("%d communes analysed (%d placed), %d servers, %d equipments, strategy %s",
             len(origins), origins.n_placed, len(placement.servers), int(gp.found.sum()), et.strategy)
    return result


def _report_unplaced(origins: Places) -> None:
    n_un = len(origins) - origins.n_placed
    if n_un:
        counts = pd.Series(origins.reason[~origins.placed]).value_counts()
        log.warning(
            "%d of %d communes cannot be placed on the network (%s): listed, left out of the counts",
            n_un, len(origins), ", ".join(f"{v} {k}" for k, v in counts.items()),
        )
    n_pop = int(np.isnan(origins.population).sum())
    if n_pop:
        log.warning("%d communes analysed have no known population: counted as communes, not as inhabitants", n_pop)
