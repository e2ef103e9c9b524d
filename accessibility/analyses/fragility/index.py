"""The access axis of the digital-fragility index ("accès à l'information et aux services
publics" of the Hauts-de-France index, Repères Hauts-de-France n° 32, January 2022).

A run of :func:`compute_fragility` is a short pipeline of named steps:

1. :func:`check_fragility_options` — départements, normalisation, snapping distance;
2. :func:`accessibility.analyses.zones.place_communes` — every commune put on the graph once: the
   *servers* (placed communes of the extract) and the *origins* (the communes analysed);
3. :func:`bpe_presence` and :func:`place_sites` — which server has each BPE variable's types,
   and the point sites (digital mediation, France services) put on the graph;
4. :func:`route_variables` — the car time from every origin to the nearest server or site of
   each variable: **one multi-source search per variable** (grouped searches, parallel), never
   one per commune; a commune having a BPE type is at 0 from it (centre to centre, like
   ``access compute``); point sites are reached from the commune centre;
5. :func:`normalise` each variable against the study region, then the sub-indices (unweighted
   means of their variables) and the dimension (unweighted mean of the sub-indices).

Definitions:

- the **study region** is the set of analysed communes placed on the network: every variable,
  the census shares of ``--extra`` included, is normalised against them;
- ``minmax``: ``(x - min) / (max - min)``; ``rank``: the share of the other communes of the
  region strictly closer (less fragile), ``#{y < x} / (n - 1)``. Both give 0 to the least
  fragile (a commune having every service is at 0 on every time variable) and are 0 for
  everybody when all values are equal; 1 is the most fragile;
- a **sub-index** is the unweighted mean of its *available* normalised variables, the
  **dimension** the unweighted mean of the available sub-indices. A commune missing one of them
  (not placed, or no value in ``--extra``) has no sub-index or dimension: an empty cell;
- a variable whose source is missing (no BPE file, no mediation file, no France services,
  no ``--extra``), whose BPE types are absent from the file, or that no server or site of the
  extract has, is **empty** for every commune and reported with the reason — never 0. When
  nothing at all can be measured the run stops with :class:`~accessibility.errors.NoServiceError`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from accessibility.analyses.fragility.tables import SUB_INDEX_LABELS, SUB_INDICES, VARIABLES, Variable
from accessibility.engine.places import OUTSIDE, UNREACHABLE, PlaceOptions, Places
from accessibility.errors import InvalidParameterError, NoServiceError
from accessibility.network.graph import Graph
from accessibility.outputs.manifest import Run
from accessibility.settings import DEFAULT_DEPARTEMENTS, SNAP_MAX_DISTANCE_M

__all__ = [
    "NORMALISATIONS",
    "normalise",
    "combine",
    "FragilityOptions",
    "check_fragility_options",
    "bpe_presence",
    "place_sites",
    "route_variables",
    "VariableTimes",
    "FragilityResult",
    "compute_fragility",
]

log = logging.getLogger(__name__)

#: Ways of bringing each variable to 0–1 against the study region.
NORMALISATIONS: tuple[str, ...] = ("minmax", "rank")


# --------------------------------------------------------------------------------------------
# numpy core
# --------------------------------------------------------------------------------------------


def normalise(values, *, method: str = "minmax") -> np.ndarray:
    """Bring values to 0–1 against themselves: 0 the least fragile, 1 the most.

    Parameters
    ----------
    values : array-like of float
        One value per commune of the study region; NaN for a commune without a value (it stays
        NaN and is left out of the reference set). ``inf`` is refused (callers turn
        "unreachable" into NaN first).
    method : {"minmax", "rank"}
        ``minmax``: ``(x - min) / (max - min)``. ``rank``: ``#{y < x} / (n - 1)`` over the
        ``n`` values (ties share the lowest rank, so equal values get equal scores). All equal
        values (or a single one) give 0.

    Returns
    -------
    np.ndarray of float64
        Same shape, in [0, 1] or NaN.

    Raises
    ------
    InvalidParameterError
        Unknown method or an infinite value.

    Examples
    --------
    >>> normalise([0.0, 5.0, 10.0, np.nan]).tolist()
    [0.0, 0.5, 1.0, nan]
    >>> normalise([0.0, 0.0, 5.0, 20.0], method="rank").tolist()
    [0.0, 0.0, 0.6666666666666666, 1.0]
    """
    if method not in NORMALISATIONS:
        raise InvalidParameterError(f"unknown normalisation {method!r}; valid: {', '.join(NORMALISATIONS)}")
    x = np.asarray(values, dtype=np.float64)
    if np.isinf(x).any():
        raise InvalidParameterError("cannot normalise infinite values: unreachable must be NaN (no value)")
    out = np.full(x.shape, np.nan)
    ok = ~np.isnan(x)
    v = x[ok]
    if len(v) == 0:
        return out
    if method == "minmax":
        lo, hi = v.min(), v.max()
        out[ok] = 0.0 if hi == lo else (v - lo) / (hi - lo)
    else:
        n = len(v)
        below = np.searchsorted(np.sort(v), v, side="left")
        out[ok] = 0.0 if n == 1 else below / (n - 1)
    return out


def combine(columns: np.ndarray) -> np.ndarray:
    """Unweighted mean of the columns, NaN for a row missing any of them (or with no column).

    Examples
    --------
    >>> combine(np.array([[0.0, 1.0], [0.5, np.nan]])).tolist()
    [0.5, nan]
    """
    c = np.asarray(columns, dtype=np.float64)
    if c.ndim != 2:
        raise InvalidParameterError(f"columns must be 2-d (rows x variables), got shape {c.shape}")
    if c.shape[1] == 0:
        return np.full(c.shape[0], np.nan)
    return c.mean(axis=1)  # NaN propagates: a row missing a variable has no mean


# --------------------------------------------------------------------------------------------
# the steps of a run
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FragilityOptions:
    """Validated options of a run (see :func:`compute_fragility`)."""

    departements: tuple[str, ...]
    normalisation: str
    max_distance_m: float

    def as_parameters(self) -> dict:
        """For the run manifest."""
        return {"departements": list(self.departements), "normalisation": self.normalisation,
                "max_distance_m": self.max_distance_m}


def check_fragility_options(*, departements=DEFAULT_DEPARTEMENTS, normalisation: str = "minmax",
                            max_distance_m: float = SNAP_MAX_DISTANCE_M) -> FragilityOptions:
    """Check every option before any work.

    Raises
    ------
    InvalidParameterError
        The first bad option, named with its value.
    """
    from accessibility.analyses.zones import parse_departements

    if normalisation not in NORMALISATIONS:
        raise InvalidParameterError(f"unknown normalisation {normalisation!r}; valid: {', '.join(NORMALISATIONS)}")
    if isinstance(max_distance_m, bool) or not isinstance(max_distance_m, (int, float, np.floating)) \
            or not (0 <= max_distance_m < np.inf):
        raise InvalidParameterError(f"max_distance_m must be a number of metres >= 0, got {max_distance_m!r}")
    return FragilityOptions(parse_departements(departements), normalisation, float(max_distance_m))


def bpe_presence(bpe: pd.DataFrame, servers: Places, variables: Sequence[Variable]) -> tuple[np.ndarray, dict, dict]:
    """Which server has at least one equipment of each BPE variable's types.

    Parameters
    ----------
    bpe : pandas.DataFrame
        ``code, typequ, nb_equip`` (:func:`accessibility.inputs.services.load_bpe`).
    servers : Places
        Communes placed on the graph.
    variables : sequence of Variable
        The ``bpe`` variables.

    Returns
    -------
    present : np.ndarray of bool, shape (len(servers), len(variables))
    absent_codes : dict variable -> list of its codes absent from the whole BPE file
    in_file : dict code -> number of equipments in the whole file
    """
    b = bpe[bpe["nb_equip"] > 0]
    in_file = b.groupby("typequ")["nb_equip"].sum().to_dict()
    row = servers.row_of(b["code"].to_numpy(object), missing="ignore")
    present = np.zeros((len(servers), len(variables)), dtype=bool)
    absent = {}
    typequ = b["typequ"].to_numpy(object)
    for j, v in enumerate(variables):
        sel = np.isin(typequ, list(v.codes)) & (row >= 0)
        present[row[sel], j] = True
        absent[v.name] = [c for c in v.codes if c not in in_file]
    return present, absent, {c: float(in_file.get(c, 0.0)) for v in variables for c in v.codes}


def place_sites(graph: Graph, sites: pd.DataFrame, *, max_distance_m: float = SNAP_MAX_DISTANCE_M) -> Places:
    """Put the point sites (:func:`accessibility.analyses.fragility.sources.site_table`) on the graph.

    Sites outside the extract or too far from a road are kept, not placed, with their reason.
    """
    return Places.from_frame(
        graph, sites.reset_index(drop=True),
        attrs=("origin", "network", "skills", "procedures", "france_services"),
        options=PlaceOptions(kind="site", max_distance_m=max_distance_m),
    )


@dataclass(frozen=True)
class VariableTimes:
    """Times from the origins to the nearest server or site of each routed variable.

    Attributes
    ----------
    origins : Places
        The communes analysed; those unable to reach a service that exists are ``unreachable``.
    names : list of str
        The routed variables (columns).
    time_s : np.ndarray, shape (len(origins), len(names))
        Seconds; ``inf`` when the commune is not placed.
    nearest : np.ndarray of object, shape (len(origins), len(names))
        Id of the nearest commune (BPE variables) or site (point variables), None when ``inf``.
    """

    origins: Places
    names: list
    time_s: np.ndarray
    nearest: np.ndarray


def route_variables(graph: Graph, origins: Places, servers: Places, present: np.ndarray,
                    bpe_names: Sequence[str], sites: Places | None, site_groups: np.ndarray,
                    site_names: Sequence[str]) -> VariableTimes:
    """One grouped multi-source search per variable (BPE: from the servers having it, own
    commune at 0; sites: from the placed sites of the kind), then origins that cannot reach a
    service that exists are marked ``unreachable``."""
    from accessibility.analyses.zones import nearest_equipment_times
    from accessibility.routing.points import nearest_place_groups

    n = len(origins)
    cols_t, cols_n = [], []
    if len(bpe_names):
        t, k, _ = nearest_equipment_times(graph, origins, servers, present, strategy="search")
        ids = np.full(k.shape, None, dtype=object)
        ids[k >= 0] = servers.ids[k[k >= 0]]
        cols_t.append(t)
        cols_n.append(ids)
    if len(site_names):
        t, k = nearest_place_groups(graph, origins, sites, site_groups)
        t[~origins.placed] = np.inf
        k[~origins.placed] = -1
        ids = np.full(k.shape, None, dtype=object)
        ids[k >= 0] = sites.ids[k[k >= 0]]
        cols_t.append(t)
        cols_n.append(ids)
    time_s = np.concatenate(cols_t, axis=1) if cols_t else np.zeros((n, 0))
    nearest = np.concatenate(cols_n, axis=1) if cols_n else np.zeros((n, 0), dtype=object)
    unreach = origins.placed & ~np.isfinite(time_s).all(axis=1)
    if unreach.any():
        log.warning("%d communes are placed on the network but cannot reach every service: left out", int(unreach.sum()))
        origins = origins.mark(unreach, UNREACHABLE)
        time_s[unreach] = np.inf
        nearest[unreach] = None
    return VariableTimes(origins=origins, names=[*bpe_names, *site_names], time_s=time_s, nearest=nearest)


@dataclass(frozen=True)
class FragilityResult:
    """What :func:`compute_fragility` returns.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per analysed commune: ``code, nom, departement, population, placed, reason,
        rank`` (1 = most fragile), ``dimension``, ``index_<sub-index>``, ``minutes_<variable>``
        (car times), ``value_<variable>`` (census shares of ``--extra``), ``norm_<variable>``
        (0–1), ``nearest_<variable>`` (commune code or site id), ``variables_available`` (the
        variables with a value for the commune, ``;``-separated). Empty cells where a value
        could not be measured.
    variables : pandas.DataFrame
        One row per variable of the index: ``variable, sub_index, label, source, codes, kinds,
        available, reason, servers`` (communes or sites of the extract having it), ``min, max``
        (raw values of the study region), ``note``.
    sub_indices : pandas.DataFrame
        ``sub_index, label, available, variables, reason``.
    sites : pandas.DataFrame
        The point sites read that are not outside the road extract (placed, or not placed with
        the reason): ``id, name, origin, network, skills, procedures, france_services, lon, lat,
        placed, reason, distance_m``. Counts per source file, the outside ones included, are
        in ``report["sites"]``.
    unplaced : pandas.DataFrame
        Communes analysed but not placed, with the reason.
    communes : pandas.DataFrame
        ``code, nom, departement, population, lon, lat, placed, reason`` of the analysed communes.
    report : dict
        What the tables could not match: ``bpe_codes_absent``, ``unmatched_wordings``,
        ``extra_codes_unknown``, ``extra_missing`` …, for ``run.json``.
    parameters : dict
    manifest : Run
    """

    table: pd.DataFrame
    variables: pd.DataFrame
    sub_indices: pd.DataFrame
    sites: pd.DataFrame
    unplaced: pd.DataFrame
    communes: pd.DataFrame
    report: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    manifest: Run | None = None

    @property
    def available_sub_indices(self) -> list[str]:
        """The sub-indices that entered the dimension."""
        return self.sub_indices.loc[self.sub_indices["available"], "sub_index"].tolist()


def _site_status(v: Variable, sources_given: dict, sites: Places | None) -> tuple[str, list[str], np.ndarray | None]:
    """Reason a point variable is empty ('' when available), its sources (the files given, or
    those with a placed site of the kind when it is available), its group column."""
    kind = v.kinds[0]
    if kind == "france_services":
        srcs = ["france_services"] if sources_given["france_services"] else []
        missing = "no France services file"
    elif kind == "skills":
        srcs = list(sources_given["mediation"])
        missing = "no file of places of digital mediation"
    else:
        srcs = list(sources_given["mediation"]) + (["france_services"] if sources_given["france_services"] else [])
        missing = "no file of places of digital mediation nor France services file"
    if not srcs:
        return missing, srcs, None
    col = np.asarray(sites.attrs[kind], dtype=bool) if sites is not None and len(sites) else np.zeros(0, bool)
    if not col.any():
        return f"no site of this kind in the files ({', '.join(srcs)})", srcs, col
    if not (col & sites.placed).any():
        return f"none of the {int(col.sum()):,} sites of this kind is on the road extract", srcs, col
    origin = np.asarray(sites.attrs["origin"], dtype=object)
    return "", [o for o in srcs if (col & sites.placed & (origin == o)).any()], col


def compute_fragility(
    graph: Graph,
    communes: pd.DataFrame,
    bpe: pd.DataFrame | None,
    *,
    mediation: Sequence[pd.DataFrame] = (),
    mediation_labels: Sequence[str] | None = None,
    france_services: pd.DataFrame | None = None,
    extra: pd.DataFrame | None = None,
    departements: Sequence[str] | str = DEFAULT_DEPARTEMENTS,
    normalisation: str = "minmax",
    max_distance_m: float = SNAP_MAX_DISTANCE_M,
    run: Run | None = None,
) -> FragilityResult:
    """The access axis of the digital-fragility index for the communes of ``departements``.

    Parameters
    ----------
    graph : Graph
    communes : pandas.DataFrame
        Commune table (:func:`accessibility.inputs.communes.load_communes`).
    bpe : pandas.DataFrame or None
        BPE counts (:func:`accessibility.inputs.services.load_bpe`), current COG codes; None: every
        BPE variable is empty (reported).
    mediation : sequence of DataFrame
        Places of digital mediation (:func:`~accessibility.analyses.fragility.sources.load_mediation`):
        the regional file, the conseillers numériques places …; empty: the digital-skills
        variable is empty and procedures come from France services only (reported).
    mediation_labels : sequence of str, optional
        A short name per mediation table (``mediation``, ``cnfs``), for ids and reports.
    france_services : DataFrame, optional
        :func:`~accessibility.analyses.fragility.sources.load_france_services`.
    extra : DataFrame, optional
        Census shares (:func:`~accessibility.analyses.fragility.sources.load_extra`); without it the
        ``isolation`` sub-index is empty and the dimension is the mean of the other three
        (the result says so).
    departements : sequence of str or str
    normalisation : {"minmax", "rank"}
    max_distance_m : float
        Commune centres and sites farther (metres) from any road are not placed.
    run : Run, optional
        Manifest to fill (stages ``place``, ``route``, ``tables``).

    Returns
    -------
    FragilityResult

    Raises
    ------
    InvalidParameterError
        Bad options or inputs of the wrong type.
    NoCommuneError
        A département has no commune, or none can be placed.
    NoServiceError
        No variable at all can be measured.
    """
    from accessibility.analyses.fragility.sources import site_table
    from accessibility.analyses.zones import AccessOptions, place_communes
    from accessibility.routing.dijkstra import check_graph_arg

    check_graph_arg(graph)
    opts = check_fragility_options(departements=departements, normalisation=normalisation,
                                   max_distance_m=max_distance_m)
    mediation, labels = _checked_sources(bpe, france_services, extra, mediation, mediation_labels)
    run = run if run is not None else Run("fragility")
    run.use_graph(graph)
    report: dict = {}
    with run.capture_warnings():
        with run.stage("place"):
            # place_communes reads the départements and the snapping distance of the options
            aopts = AccessOptions(opts.departements, (), ("mean",), {}, 0.5, opts.max_distance_m, "search")
            placement = place_communes(graph, communes, aopts)
            servers, origins = placement.servers, placement.origins
            st = site_table(mediation, france_services, labels=labels)
            sites = place_sites(graph, st, max_distance_m=opts.max_distance_m) if len(st) else None
        vs = _variable_status(bpe, servers, sites, labels, france_services, extra, report)
        with run.stage("route"):
            cols = [j for j, v in enumerate(vs.bpe_vars) if not vs.status[v.name]]
            vt = route_variables(
                graph, origins, servers, vs.present[:, cols], vs.routed_bpe, sites,
                np.column_stack(vs.groups) if vs.groups else np.zeros((0, 0), bool), vs.routed_sites,
            )
        with run.stage("tables"):
            origins = vt.origins
            table, var_rows, sub_rows = _tables(vt, extra, opts, vs.status, vs.sources, vs.n_servers, report)
            table.insert(3, "population", origins.to_frame()["population"].array)
        _log_unplaced(origins)
        sites_frame = _sites_frame(sites, st, report)
        _report_wordings(mediation, labels, extra, report)
    params = {**opts.as_parameters(), "sub_indices": [r["sub_index"] for r in sub_rows if r["available"]],
              "with_extra": extra is not None, "mediation_sources": labels,
              "france_services": france_services is not None, "bpe": bpe is not None}
    run.parameters.update(params)
    run.counts.update(_counts(origins, servers, sites, table, var_rows))
    communes_frame = origins.to_frame()[["code", "nom", "departement", "population", "lon", "lat", "placed", "reason"]]
    return FragilityResult(
        table=table, variables=pd.DataFrame(var_rows), sub_indices=pd.DataFrame(sub_rows), sites=sites_frame,
        unplaced=origins.unplaced(), communes=communes_frame, report=report, parameters=params, manifest=run,
    )


def _checked_sources(bpe, france_services, extra, mediation, mediation_labels) -> tuple[list, list[str]]:
    """The tables given are DataFrames; the mediation tables have distinct labels."""
    for what, df in (("bpe", bpe), ("france_services", france_services), ("extra", extra)):
        if df is not None and not isinstance(df, pd.DataFrame):
            raise InvalidParameterError(f"{what} must be a pandas DataFrame or None, got {type(df).__name__}")
    mediation = list(mediation)
    if not all(isinstance(m, pd.DataFrame) for m in mediation):
        raise InvalidParameterError("mediation must be a sequence of DataFrames (load_mediation)")
    labels = list(mediation_labels) if mediation_labels is not None else \
        (["mediation"] if len(mediation) == 1 else [f"mediation{i + 1}" for i in range(len(mediation))])
    if len(labels) != len(mediation) or len(set(labels)) != len(labels):
        raise InvalidParameterError(f"mediation_labels must be {len(mediation)} distinct names, got {labels!r}")
    return mediation, labels


@dataclass
class _Status:
    """Which variables can be measured, from what, and why the others are empty."""

    bpe_vars: list
    present: np.ndarray
    groups: list
    status: dict
    sources: dict
    n_servers: dict
    routed_bpe: list
    routed_sites: list


def _variable_status(bpe, servers, sites, labels, france_services, extra, report) -> _Status:
    """Each variable's sources and servers, or the reason it is empty (never 0).

    Raises
    ------
    NoServiceError
        No variable at all can be measured.
    """
    status: dict[str, str] = {}
    n_servers: dict[str, int] = {}
    sources: dict[str, list[str]] = {}
    bpe_vars = [v for v in VARIABLES if v.source == "bpe"]
    present = np.zeros((len(servers), len(bpe_vars)), dtype=bool)
    absent: dict[str, list[str]] = {}
    if bpe is not None:
        present, absent, in_file = bpe_presence(bpe, servers, bpe_vars)
        report["bpe_codes_absent"] = {k: c for k, c in absent.items() if c}
        report["bpe_equipments_in_file"] = in_file
    for j, v in enumerate(bpe_vars):
        sources[v.name] = ["bpe"] if bpe is not None else []
        n_servers[v.name] = int(present[:, j].sum())
        status[v.name] = _bpe_status(v, bpe is not None, absent.get(v.name, []), present[:, j].any())
    given = {"mediation": labels, "france_services": france_services is not None}
    site_vars = [v for v in VARIABLES if v.source == "sites"]
    groups = []
    for v in site_vars:
        reason, srcs, col = _site_status(v, given, sites)
        status[v.name], sources[v.name] = reason, srcs
        n_servers[v.name] = int((col & sites.placed).sum()) if col is not None and len(col) else 0
        if not reason:
            groups.append(col)
    extra_vars = [v for v in VARIABLES if v.source == "extra"]
    for v in extra_vars:
        sources[v.name] = ["extra"] if extra is not None and v.name in extra else []
        status[v.name] = "no --extra file" if extra is None else ("" if v.name in extra else "not in the --extra file")
    for v in VARIABLES:
        if status[v.name]:  # a census share without --extra is the documented default: info only
            (log.info if status[v.name] == "no --extra file" else log.warning)(
                "variable %s (%s) is empty: %s", v.name, v.label, status[v.name])
    routed_bpe = [v.name for v in bpe_vars if not status[v.name]]
    routed_sites = [v.name for v in site_vars if not status[v.name]]
    if not routed_bpe and not routed_sites and not any(not status[v.name] for v in extra_vars):
        raise NoServiceError(
            "no variable of the index can be measured: " + "; ".join(f"{v.name}: {status[v.name]}" for v in VARIABLES)
        )
    return _Status(bpe_vars, present, groups, status, sources, n_servers, routed_bpe, routed_sites)


def _bpe_status(v, has_bpe: bool, gone: list[str], found: bool) -> str:
    if not has_bpe:
        return "no BPE file"
    if len(gone) == len(v.codes):
        return f"BPE type(s) {', '.join(v.codes)} absent from the BPE file"
    if not found:
        return "no commune of the road extract has it"
    if gone:
        log.warning("BPE type(s) %s of %s absent from the BPE file: measured with %s only",
                    ", ".join(gone), v.name, ", ".join(c for c in v.codes if c not in gone))
    return ""


def _sites_frame(sites, st, report) -> pd.DataFrame:
    """The sites of the extract's area, placed or not (those outside only counted)."""
    if sites is None:
        return st.assign(placed=False, reason="", distance_m=np.nan)
    report["sites"] = _site_counts(sites)
    frame = sites.to_frame().drop(columns=["population"], errors="ignore")
    return frame[frame["reason"] != OUTSIDE].reset_index(drop=True)


def _report_wordings(mediation, labels, extra, report) -> None:
    """Service wordings matched or not, and commune codes of --extra not in the table."""
    for i, m in enumerate(mediation):
        report.setdefault("unmatched_wordings", {})[labels[i]] = dict(m.attrs.get("unmatched", {}))
        report.setdefault("wordings", {})[labels[i]] = dict(m.attrs.get("wordings", {}))
        for w, n in m.attrs.get("unmatched", {}).items():
            log.warning("service wording %r (%d places of %s) is not in the mapping table: those places count "
                        "for neither kind unless another wording of theirs matches", w, n, labels[i])
    if extra is not None:
        report["extra_codes_unknown"] = list(extra.attrs.get("unknown_codes", []))
        if report["extra_codes_unknown"]:
            log.warning("%d commune codes of --extra are not in the commune table (first: %s): ignored",
                        len(report["extra_codes_unknown"]), ", ".join(report["extra_codes_unknown"][:5]))


def _counts(origins, servers, sites, table, var_rows) -> dict:
    dim = table["dimension"].to_numpy(float)
    return {
        "communes_analysed": len(origins),
        "communes_placed": origins.n_placed,
        "communes_unplaced": len(origins) - origins.n_placed,
        "communes_with_dimension": int(np.isfinite(dim).sum()),
        "communes_population_unknown": int(np.isnan(origins.population).sum()),
        "servers": len(servers),
        "sites": 0 if sites is None else len(sites),
        "sites_placed": 0 if sites is None else sites.n_placed,
        "variables_available": int(sum(1 for r in var_rows if r["available"])),
        "variables_empty": int(sum(1 for r in var_rows if not r["available"])),
    }


def _site_counts(sites: Places) -> dict:
    """Per origin file: sites read, placed, and why the others are not."""
    out = {}
    origin = np.asarray(sites.attrs["origin"], dtype=object)
    for o in pd.unique(origin):
        sel = origin == o
        reasons = pd.Series(sites.reason[sel & ~sites.placed]).value_counts().to_dict()
        out[str(o)] = {"read": int(sel.sum()), "placed": int((sel & sites.placed).sum()),
                       "not_placed": {str(k): int(v) for k, v in reasons.items()}}
    return out


def _tables(vt: VariableTimes, extra, opts: FragilityOptions, status, sources, n_servers, report):
    origins = vt.origins
    n = len(origins)
    placed = origins.placed
    table = pd.DataFrame({"code": origins.ids, "nom": origins.names, "departement": origins.attrs["departement"]})
    table["placed"] = placed
    table["reason"] = origins.reason
    raw: dict[str, np.ndarray] = {}
    nearest: dict[str, np.ndarray] = {}
    for j, name in enumerate(vt.names):
        t = vt.time_s[:, j]
        raw[name] = np.where(np.isfinite(t), t / 60.0, np.nan)
        nearest[name] = vt.nearest[:, j]
    if extra is not None:
        ex = extra.set_index("code").reindex(origins.ids)
        missing = {}
        for v in VARIABLES:
            if v.source == "extra" and not status[v.name]:
                raw[v.name] = ex[v.name].to_numpy(float)
                miss = int(np.isnan(raw[v.name]).sum())
                if miss:
                    missing[v.name] = miss
                    log.warning("%d analysed communes have no %s value in --extra: their isolation sub-index and "
                                "dimension are empty", miss, v.name)
        report["extra_missing"] = missing
    norm: dict[str, np.ndarray] = {}
    var_rows = []
    for v in VARIABLES:
        available = not status[v.name]
        row = {"variable": v.name, "sub_index": v.sub_index, "label": v.label, "source": v.source,
               "codes": " ".join(v.codes), "kinds": " ".join(v.kinds), "sources": " ".join(sources[v.name]),
               "available": available, "reason": status[v.name],
               "servers": n_servers.get(v.name) if v.source != "extra" else None,
               "min": np.nan, "max": np.nan, "note": v.note}
        if available:
            x = raw[v.name].copy()
            x[~placed] = np.nan  # the study region: the analysed communes placed on the network
            norm[v.name] = normalise(x, method=opts.normalisation)
            if np.isfinite(x).any():
                row["min"], row["max"] = float(np.nanmin(x)), float(np.nanmax(x))
        var_rows.append(row)
    subs: dict[str, np.ndarray] = {}
    sub_rows = []
    for s in SUB_INDICES:
        names = [v.name for v in VARIABLES if v.sub_index == s and v.name in norm]
        empty = [v.name for v in VARIABLES if v.sub_index == s and v.name not in norm]
        sub_rows.append({"sub_index": s, "label": SUB_INDEX_LABELS[s], "available": bool(names),
                         "variables": " ".join(names), "empty_variables": " ".join(empty),
                         "reason": "" if names else "; ".join(dict.fromkeys(status[k] for k in empty))})
        if names:
            subs[s] = combine(np.column_stack([norm[k] for k in names]))
        elif extra is not None or s != "isolation":
            log.warning("sub-index %s is empty (%s): the dimension is the mean of the others", s,
                        "; ".join(f"{k}: {status[k]}" for k in empty))
    dim = combine(np.column_stack(list(subs.values()))) if subs else np.full(n, np.nan)
    table["dimension"] = np.round(dim, 4)
    order = np.argsort(-np.where(np.isnan(dim), -np.inf, dim), kind="stable")
    rank = pd.array(np.full(n, pd.NA), dtype="Int64")
    ok = order[np.isfinite(dim[order])]
    rank[ok] = np.arange(1, len(ok) + 1)
    table["rank"] = rank
    for s in SUB_INDICES:
        table[f"index_{s}"] = np.round(subs[s], 4) if s in subs else np.nan
    for v in VARIABLES:
        if v.is_time:
            table[f"minutes_{v.name}"] = np.round(raw[v.name], 2) if v.name in raw else np.nan
    for v in VARIABLES:
        if not v.is_time:
            table[f"value_{v.name}"] = raw[v.name] if v.name in raw else np.nan
    for v in VARIABLES:
        table[f"norm_{v.name}"] = np.round(norm[v.name], 4) if v.name in norm else np.nan
    for v in VARIABLES:
        if v.is_time:
            table[f"nearest_{v.name}"] = pd.array(nearest.get(v.name, np.full(n, None, dtype=object)), dtype="string")
    have = np.column_stack([~np.isnan(norm[k]) for k in norm]) if norm else np.zeros((n, 0), bool)
    keys = list(norm)
    table["variables_available"] = [";".join(k for k, h in zip(keys, r) if h) for r in have]
    return table, var_rows, sub_rows


def _log_unplaced(origins: Places) -> None:
    n_un = len(origins) - origins.n_placed
    if n_un:
        counts = pd.Series(origins.reason[~origins.placed]).value_counts()
        log.warning("%d of %d communes cannot be placed on the network (%s): listed, their index is empty",
                    n_un, len(origins), ", ".join(f"{v} {k}" for k, v in counts.items()))
