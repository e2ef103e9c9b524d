"""``run_diagnostic``: the four steps of a SDAASP diagnostic, then its tables.

1. armature (:mod:`.armature`): each commune's level and the diversity behind it;
2. bassins de services (:mod:`.bassins`): each commune to its nearest pôle of each level;
3. zones grises superposed and sectors (:mod:`.superposition`);
4. qualification and tables by territory (:mod:`.tables`), and the headline table, with the
   region and France columns computed only where the road graph covers them (:func:`comparisons`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from accessibility.analyses.diagnostic._engine import EngineRun, _run_access
from accessibility.analyses.diagnostic.armature import armature, pole_levels
from accessibility.analyses.diagnostic.bassins import assign_bassins, bassin_table
from accessibility.analyses.diagnostic.data import TerritorialData
from accessibility.analyses.diagnostic.superposition import sectors, zone_grise_flags
from accessibility.analyses.diagnostic.tables import (
    by_density,
    by_territory,
    commune_table,
    deficient_services,
    population_profile,
)
from accessibility.analyses.zones import AccessResult, check_access_options
from accessibility.errors import InvalidParameterError
from accessibility.network.graph import Graph
from accessibility.outputs.manifest import Run
from accessibility.settings import DEFAULT_DEPARTEMENTS, POLE_SHARE, SNAP_MAX_DISTANCE_M, TIERS

__all__ = ["BY_CHOICES", "COVERAGE_MIN", "DiagnosticOptions", "check_diagnostic_options", "Diagnostic",
           "run_diagnostic", "comparisons", "headline_table"]

log = logging.getLogger(__name__)

#: Territory tables ``--by`` can ask for: key -> (commune-table column, label column, role needed).
BY_CHOICES: Mapping[str, tuple[str, str, str]] = {
    "epci": ("epci", "nom_epci", "territory_epci"),
    "bv": ("bv", "nom_bv", "territory_zonages"),
    "density": ("density", "density_label", "territory_density"),
    "canton": ("canton", "nom_canton", "territory_zonages"),
}
#: A comparison area (region, France) is computed when at least this share of its communes
#: (and of its inhabitants) lies inside the road graph's extent.
COVERAGE_MIN = 0.99


@dataclass(frozen=True)
class DiagnosticOptions:
    """Validated options of a diagnostic (see :func:`check_diagnostic_options`)."""

    departements: tuple[str, ...]
    method: str
    thresholds_min: dict
    pole_share: float
    max_distance_m: float
    by: tuple[str, ...]
    min_sector_size: int

    def as_parameters(self) -> dict:
        """For the run manifest."""
        return {"departements": list(self.departements), "method": self.method,
                "thresholds_min": dict(self.thresholds_min), "pole_share": self.pole_share,
                "max_distance_m": self.max_distance_m, "by": list(self.by), "min_sector_size": self.min_sector_size}


def check_diagnostic_options(
    *,
    departements: Sequence[str] | str = DEFAULT_DEPARTEMENTS,
    method: str = "mean",
    thresholds_min: Mapping[str, float] | Sequence[float] | None = None,
    pole_share: float = POLE_SHARE,
    max_distance_m: float = SNAP_MAX_DISTANCE_M,
    by: Sequence[str] | str = ("epci", "bv", "density"),
    min_sector_size: int = 2,
) -> DiagnosticOptions:
    """Check every option before any work.

    Parameters
    ----------
    departements, thresholds_min, pole_share, max_distance_m
        As :func:`accessibility.analyses.zones.compute_access`.
    method : {"mean", "pole"}
        How a commune's time to a gamme is measured (zones grises).
    by : sequence of str or str
        Territory tables, among :data:`BY_CHOICES` (``"epci,bv"`` accepted).
    min_sector_size : int, default 2
        Sectors of fewer communes are listed but not retained as espaces à enjeux.

    Raises
    ------
    InvalidParameterError
        The first bad option, named with its value.
    """
    if method not in ("mean", "pole"):
        raise InvalidParameterError(f"unknown method {method!r}; valid methods are mean, pole")
    a = check_access_options(departements=departements, methods=(method,), thresholds_min=thresholds_min,
                             pole_share=pole_share, max_distance_m=max_distance_m)
    items = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
    bad = [b for b in items if b not in BY_CHOICES]
    if bad:
        raise InvalidParameterError(f"unknown territory table {bad[0]!r}; valid: {', '.join(BY_CHOICES)}")
    if isinstance(min_sector_size, bool) or not isinstance(min_sector_size, (int, np.integer)) or min_sector_size < 1:
        raise InvalidParameterError(f"minimum sector size must be an integer >= 1 (communes), got {min_sector_size!r}")
    return DiagnosticOptions(a.departements, method, dict(a.thresholds_min), a.pole_share, a.max_distance_m,
                             tuple(dict.fromkeys(items)), int(min_sector_size))


@dataclass(frozen=True)
class Diagnostic:
    """The tables of a diagnostic (every column is documented in ``docs/diagnostic.md``).

    Attributes
    ----------
    communes : pandas.DataFrame
        One row per analysed commune with every indicator (:func:`.tables.commune_table`) and
        its ``sector``.
    poles : pandas.DataFrame
        The pôles of the extract and their level (:func:`.armature.pole_levels`).
    bassins : pandas.DataFrame
        Per level and pôle (:func:`.bassins.bassin_table`).
    sectors : pandas.DataFrame
        :func:`.superposition.sectors`.
    density, deficient, profile : pandas.DataFrame
        The qualification of the zones grises (:mod:`.tables`); ``density`` is empty without
        the density grid.
    territories : Mapping[str, pandas.DataFrame]
        ``--by`` key -> table (:func:`.tables.by_territory`).
    headline : pandas.DataFrame
        :func:`headline_table`.
    comparisons : pandas.DataFrame
        ``area, code, computed, status, communes, communes_placed``: region and France.
    access : AccessResult
        The engine's tables (``access compute``'s).
    data : TerritorialData
    options : DiagnosticOptions
    notes : list of str
        What is missing and what it takes away (French), for the report.
    """

    communes: pd.DataFrame
    poles: pd.DataFrame
    bassins: pd.DataFrame
    sectors: pd.DataFrame
    density: pd.DataFrame
    deficient: pd.DataFrame
    profile: pd.DataFrame
    territories: Mapping[str, pd.DataFrame]
    headline: pd.DataFrame
    comparisons: pd.DataFrame
    access: AccessResult
    data: TerritorialData
    options: DiagnosticOptions
    notes: list = field(default_factory=list)


def _coverage(engine: EngineRun, codes: np.ndarray) -> dict:
    """How the graph covers communes ``codes``: inside its extent (placed, or on it but too far
    from a road or cut off), placed, and the inhabitants of those not placed."""
    from accessibility.engine.places import NO_CENTRE, OUTSIDE

    rows = engine.places.row_of(codes, missing="ignore")
    rows = rows[rows >= 0]
    reason = engine.places.reason[rows]
    placed = engine.places.placed[rows]
    pop = np.nan_to_num(engine.places.population[rows], nan=0.0)
    inside = ~np.isin(reason, [OUTSIDE, NO_CENTRE])
    n = len(codes)
    covered = bool(n) and inside.sum() >= COVERAGE_MIN * n and pop[inside].sum() >= COVERAGE_MIN * pop.sum()
    return {"communes": n, "inside": int(inside.sum()), "placed": int(placed.sum()),
            "population_unplaced": int(pop[~placed].sum()), "covered": covered}


def _fr_int(n: int) -> str:
    return f"{n:,}".replace(",", " ")


def comparisons(engine: EngineRun, communes: pd.DataFrame, bpe: pd.DataFrame, gammes: pd.DataFrame,
                opts: DiagnosticOptions) -> tuple[pd.DataFrame, dict[str, dict[str, float]]]:
    """The region and France columns of the headline table, computed where the graph covers them.

    The region is that of the first département analysed. An area is computed (one more engine
    run over its départements, same options) when at least :data:`COVERAGE_MIN` of its communes
    and of their inhabitants lie inside the graph's extent (placed, or inside but too far from a
    road: those are left out of the share as ``access compute`` leaves them out, and the status
    says how many and how many inhabitants); otherwise the status says how much is covered.

    Returns
    -------
    status : pandas.DataFrame
        ``area, code, computed, status, communes, communes_in_extent, communes_placed,
        population_unplaced``.
    shares : dict area -> {tier: percent}
        Only for the areas computed.
    """
    from accessibility.inputs.datasets.departements import DEPARTEMENTS

    dep = DEPARTEMENTS.get(opts.departements[0])
    region = dep.region if dep is not None else None
    region_deps = tuple(sorted(d.code for d in DEPARTEMENTS.values() if d.region == region)) if region else ()
    areas = [("région", region or "", region_deps), ("France", "FR", tuple(sorted(communes["departement"].dropna().unique())))]
    rows, shares = [], {}
    for area, code, deps in areas:
        codes = communes.loc[communes["departement"].isin(deps), "code"].to_numpy(object)
        cov = _coverage(engine, codes)
        absent = sorted(set(deps) - set(communes["departement"].dropna()))
        if not deps:
            status = f"non calculé : région du département {opts.departements[0]} inconnue"
        elif absent:
            status = f"non calculé : la table des communes n'a aucune commune du ou des départements {', '.join(absent)}"
        elif cov["covered"]:
            run = _run_access(engine.graph, communes, bpe, gammes, departements=deps, method=opts.method,
                              thresholds_min=opts.thresholds_min, pole_share=opts.pole_share,
                              max_distance_m=opts.max_distance_m, run=Run("diagnostic-comparison")).result.summary
            s = run.groupby("tier")[["population", "population_zone_grise"]].sum()
            shares[area] = {t: round(100.0 * s.loc[t, "population_zone_grise"] / s.loc[t, "population"], 2) for t in s.index}
            status = f"calculé sur {_fr_int(cov['placed'])} communes placées sur {_fr_int(cov['communes'])}"
            if cov["placed"] < cov["communes"]:
                status += (f" ({_fr_int(cov['communes'] - cov['placed'])} non placées sur le réseau, "
                           f"{_fr_int(cov['population_unplaced'])} habitants, hors calcul comme dans access compute)")
        else:
            status = (f"non calculé : le graphe routier ne couvre que {_fr_int(cov['inside'])} des "
                      f"{_fr_int(cov['communes'])} communes ({100.0 * cov['inside'] / max(cov['communes'], 1):.0f} %)")
        rows.append({"area": area, "code": code, "computed": area in shares, "status": status,
                     "communes": cov["communes"], "communes_in_extent": cov["inside"], "communes_placed": cov["placed"],
                     "population_unplaced": cov["population_unplaced"]})
    return pd.DataFrame(rows), shares


def headline_table(summary: pd.DataFrame, status: pd.DataFrame, shares: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """The schema's table: per tier, communes and inhabitants in zone grise, the share of
    inhabitants, per département and for the whole area, beside the region's and France's share.

    Returns
    -------
    pandas.DataFrame
        ``tier, area, threshold_min, communes, communes_zone_grise, population,
        population_zone_grise, share_population_zone_grise, share_region, region_status,
        share_france, france_status`` (a share empty with its status saying why when not computed).
    """
    cols = ["threshold_min", "communes", "communes_zone_grise", "population", "population_zone_grise"]
    rows = []
    for t in TIERS:
        s = summary[summary["tier"] == t]
        for r in s.itertuples():
            rows.append({"tier": t, "area": f"département {r.departement}", **{c: getattr(r, c) for c in cols},
                         "share_population_zone_grise": r.share_population_zone_grise})
        tot = {c: int(s[c].sum()) for c in cols[1:]}
        share = round(100.0 * tot["population_zone_grise"] / tot["population"], 2) if tot["population"] else np.nan
        rows.append({"tier": t, "area": "ensemble", "threshold_min": float(s["threshold_min"].iloc[0]), **tot,
                     "share_population_zone_grise": share})
    out = pd.DataFrame(rows)
    st = dict(zip(status["area"], status["status"]))
    for area, col in (("région", "region"), ("France", "france")):
        out[f"share_{col}"] = out["tier"].map(shares.get(area, {})).astype(float)
        out[f"{col}_status"] = st.get(area, "non calculé")
    return out


def run_diagnostic(
    graph: Graph,
    communes: pd.DataFrame,
    bpe: pd.DataFrame,
    gammes: pd.DataFrame,
    *,
    options: DiagnosticOptions,
    data: TerritorialData | None = None,
    polygons=None,
    run: Run | None = None,
) -> Diagnostic:
    """The diagnostic of ``options.departements`` (see the module docstring).

    Parameters
    ----------
    graph, communes, bpe, gammes
        As :func:`accessibility.analyses.zones.compute_access`.
    options : DiagnosticOptions
        :func:`check_diagnostic_options`.
    data : TerritorialData, optional
        The territorial and socio-economic tables (:func:`.data.read_territorial_data`);
        without them the parts they feed are empty and the notes say so.
    polygons : geopandas.GeoDataFrame, optional
        Commune polygons: sectors need them (without, every zone-grise commune is its own sector).
    run : Run, optional
        Manifest to fill (stages ``place``, ``route``, ``tables`` of the engine, then
        ``diagnostic``).

    Returns
    -------
    Diagnostic

    Raises
    ------
    AccessibilityError
        What the engine raises (no commune placed, no service …), one line.
    """
    data = data if data is not None else TerritorialData(missing={})
    run = run if run is not None else Run("diagnostic")
    engine = _run_access(graph, communes, bpe, gammes, departements=options.departements, method=options.method,
                         thresholds_min=options.thresholds_min, pole_share=options.pole_share,
                         max_distance_m=options.max_distance_m, run=run)
    res = engine.result
    with run.stage("diagnostic"):
        levels = pole_levels(res.poles)
        flags = zone_grise_flags(res, options.method)
        placed = res.communes.loc[res.communes["placed"].astype(bool), "code"].to_numpy(object)
        assign = assign_bassins(graph, engine.places, placed, levels)
        c = commune_table(armature(res), flags, assign, res, data)
        sec, sector_of = sectors(c, polygons, min_size=options.min_sector_size)
        c["sector"] = c["code"].map(sector_of).astype(object)
        bas = bassin_table(assign, c, c[["code", *[f"zone_grise_{t}" for t in TIERS]]], levels)
        terr = {k: by_territory(c, BY_CHOICES[k][0], BY_CHOICES[k][1]) for k in options.by
                if data.get(BY_CHOICES[k][2]) is not None}
        status, shares = comparisons(engine, communes, bpe, gammes, options)
    with run.stage("diagnostic"):
        diag = Diagnostic(
            communes=c, poles=levels, bassins=bas, sectors=sec,
            density=by_density(c) if data.get("territory_density") is not None else pd.DataFrame(),
            deficient=deficient_services(c, res, options.thresholds_min), profile=population_profile(c),
            territories=terr, headline=headline_table(res.summary, status, shares), comparisons=status,
            access=res, data=data, options=options, notes=_notes(data, options, polygons, status),
        )
    run.parameters.update(options.as_parameters())
    run.counts.update({"sectors": len(sec), "sectors_retained": int(sec["retained"].sum()) if len(sec) else 0,
                       "poles": len(levels), "territorial_tables_missing": len(data.missing)})
    return diag


def _notes(data: TerritorialData, opts: DiagnosticOptions, polygons, status: pd.DataFrame) -> list[str]:
    notes = [f"Table absente ({role}) : {loss} ne sont pas produits." for role, loss in data.missing.items()]
    for k in opts.by:
        if data.get(BY_CHOICES[k][2]) is None:
            notes.append(f"Le tableau par {k} n'est pas produit : il faut la table {BY_CHOICES[k][2]}.")
    if polygons is None:
        notes.append("Pas de polygones des communes : chaque commune en zone grise forme son propre secteur, "
                     "et les cartes dessinent les communes en points.")
    for r in status.itertuples():
        if not r.computed:
            notes.append(f"Part {r.area} ({r.code}) {r.status}.")
    return notes
