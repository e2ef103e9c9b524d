"""Siting what-ifs: the situation today, scenarios (add or remove sites), optimisation.

:class:`SitingModel` is loaded once (graph, communes, existing sites, threshold): it holds the
base times (each commune's time to its nearest site, one multi-source search) and answers many
scenarios without touching that state, so a web page can serve one scenario per browser tab:

- :meth:`SitingModel.evaluate` — before/after of adding sites (one search from the added sites,
  then a minimum with what exists) and removing sites (a new search from the remaining sites,
  whose times replace only those of the communes the removed sites served);
- :meth:`SitingModel.optimize` — ``k`` new sites among candidates, greedy and exact
  (:mod:`accessibility.analyses.siting.optimize`), on one parallel candidate × commune matrix;
- :meth:`SitingModel.cover_all` — the fewest new sites so that every placed commune is within
  the threshold, or the proof that no candidate set can.

Times are from each commune's centre **to** the site (the way a resident drives), in minutes;
a commune that reaches no site, or is not placed, has empty minutes and is counted apart.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from accessibility.analyses.siting.optimize import OBJECTIVES, Solution, max_coverage, p_median, set_cover
from accessibility.engine.places import PlaceOptions, Places, matrix, nearest
from accessibility.errors import InvalidParameterError, NoServiceError
from accessibility.network.graph import Graph
from accessibility.routing.dijkstra import check_graph_arg
from accessibility.settings import SNAP_MAX_DISTANCE_M

__all__ = ["SitingModel", "Scenario", "Optimisation", "totals"]

log = logging.getLogger(__name__)

#: Threshold (minutes) of the national commitment for France services.
DEFAULT_THRESHOLD_MIN = 30.0


def _minutes(t_s: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(t_s), t_s / 60.0, np.nan)


def totals(minutes: np.ndarray, population: np.ndarray, threshold: float, placed: np.ndarray) -> dict:
    """Communes and inhabitants beyond the threshold, mean and population-weighted mean time.

    Communes not placed or reaching no site (NaN minutes) are counted apart, never as 0.
    """
    m = np.asarray(minutes, dtype=float)
    pop = np.asarray(population, dtype=float)
    ok = placed & np.isfinite(m)
    known = ok & np.isfinite(pop)
    beyond = ok & (m > threshold)
    pop_known = float(pop[known].sum())
    return {
        "communes": int(ok.sum()),
        "communes_beyond": int(beyond.sum()),
        "population": int(round(pop_known)),
        "population_beyond": int(round(pop[beyond & known].sum())),
        "share_population_beyond": round(100.0 * pop[beyond & known].sum() / pop_known, 2) if pop_known else float("nan"),
        "mean_minutes": round(float(m[ok].mean()), 2) if ok.any() else float("nan"),
        "weighted_mean_minutes": round(float((m[known] * pop[known]).sum() / pop_known), 2) if pop_known else float("nan"),
        "communes_unmeasured": int((~ok).sum()),
        "communes_population_unknown": int((ok & ~np.isfinite(pop)).sum()),
    }


@dataclass(frozen=True)
class Scenario:
    """Before and after a what-if.

    Attributes
    ----------
    communes : pandas.DataFrame
        Per commune: ``code, nom, departement, population, minutes_before, site_before,
        minutes_after, site_after, gain_minutes, beyond_before, beyond_after, crossing``
        (``enters`` when the commune comes within the threshold, ``leaves`` when it falls
        beyond, empty otherwise).
    sites : pandas.DataFrame
        Per site: ``id, name, status`` (existing / added / removed), ``lon, lat``, communes and
        inhabitants served before and after.
    totals : pandas.DataFrame
        Two rows, ``before`` and ``after`` (:func:`totals`).
    crossings : pandas.DataFrame
        The communes whose ``crossing`` is not empty.
    added : Places
        The sites added.
    removed : tuple of str
        Ids of the sites removed.
    threshold_min : float
    """

    communes: pd.DataFrame
    sites: pd.DataFrame
    totals: pd.DataFrame
    crossings: pd.DataFrame
    added: Places | None
    removed: tuple[str, ...]
    threshold_min: float


@dataclass(frozen=True)
class Optimisation:
    """New sites chosen among candidates: the greedy and (when asked) the exact answer.

    Attributes
    ----------
    problem : str
        ``coverage``, ``mean-time`` or ``cover-all``.
    k : int or None
    candidates : Places
    greedy, exact : Solution or None
    gap : float
        Relative gap of greedy to exact on the objective (0 when equal), NaN without exact.
    table : pandas.DataFrame
        One row per chosen site and method: ``method, rank, id, name, lon, lat, gain``,
        ``cumulative`` (objective after this site).
    scenario : Scenario
        The exact (else greedy) set of new sites evaluated as a what-if.
    """

    problem: str
    k: int | None
    candidates: Places
    greedy: Solution | None
    exact: Solution | None
    gap: float
    table: pd.DataFrame
    scenario: Scenario


@dataclass
class SitingModel:
    """Load once, ask many scenarios (see the module docstring).

    Parameters
    ----------
    graph : Graph
    communes : Places
        The communes analysed (their population weighs the totals and the optimisation).
    sites : Places
        The existing sites (those not placed are listed, not used).
    threshold_min : float, default 30
        A commune is *beyond* when its time exceeds this.

    Raises
    ------
    NoServiceError
        No existing site is placed on the graph.
    """

    graph: Graph
    communes: Places
    sites: Places
    threshold_min: float = DEFAULT_THRESHOLD_MIN
    base_s: np.ndarray = field(init=False, repr=False)
    base_site: np.ndarray = field(init=False, repr=False)
    _cost: dict = field(init=False, repr=False, default_factory=dict)
    _default_candidates: Places | None = field(init=False, repr=False, default=None)

    def __post_init__(self) -> None:
        check_graph_arg(self.graph)
        for what, x in (("communes", self.communes), ("sites", self.sites)):
            if not isinstance(x, Places):
                raise InvalidParameterError(f"{what} must be accessibility Places, got {type(x).__name__}")
        t = self.threshold_min
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating)) or not (0 < t < np.inf):
            raise InvalidParameterError(f"threshold must be a positive number of minutes, got {t!r}")
        if self.sites.n_placed == 0:
            raise NoServiceError(
                f"none of the {len(self.sites)} sites can be placed on the road extract "
                f"({', '.join(sorted(set(self.sites.reason)))}): nothing to measure"
            )
        self.base_s, self.base_site = nearest(self.graph, self.communes, self.sites)

    # ------------------------------------------------------------------ placing new sites
    def place_points(self, lon, lat, labels: Sequence[str] | None = None, *, ids: Sequence[str] | None = None,
                     max_distance_m: float = SNAP_MAX_DISTANCE_M) -> Places:
        """New sites at ``(lon, lat)``; a point farther than ``max_distance_m`` from any road is
        an error (:class:`~accessibility.errors.SnapError`), never moved."""
        from accessibility.errors import SnapError

        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        n = len(lon)
        ids = list(ids) if ids is not None else [f"new-{i + 1}" for i in range(n)]
        labels = list(labels) if labels is not None else [f"nouveau site {i + 1}" for i in range(n)]
        p = Places.from_arrays(self.graph, ids, lon, lat, names=labels, options=PlaceOptions(kind="site", max_distance_m=max_distance_m))
        bad = np.flatnonzero(~p.placed)
        if len(bad):
            i = int(bad[0])
            raise SnapError(
                f"new site {labels[i]!r} ({p.lon[i]:.5f}, {p.lat[i]:.5f}) cannot be placed: {p.reason[i]}"
                + (f" ({p.distance_m[i]:,.0f} m from the nearest road, {max_distance_m:,.0f} m allowed)"
                   if np.isfinite(p.distance_m[i]) else "")
            )
        return p

    def place_communes(self, codes: Sequence[str]) -> Places:
        """New sites at the centre of the communes ``codes`` (of the communes analysed)."""
        rows = self.communes.row_of(list(codes))
        p = self.communes.take(rows)
        bad = np.flatnonzero(~p.placed)
        if len(bad):
            raise InvalidParameterError(f"commune {p.ids[bad[0]]} cannot host a site: {p.reason[bad[0]]}")
        from dataclasses import replace

        return replace(p, ids=np.array([f"commune-{c}" for c in p.ids], dtype=object), kind="site")

    # ------------------------------------------------------------------ scenarios
    def times_after(self, add: Places | None = None, remove: Sequence[str] = ()) -> tuple[np.ndarray, np.ndarray]:
        """Seconds from each commune to its nearest site after the what-if, and which site
        (row in ``sites``; ``len(sites) + r`` for added site ``r``; -1 when none)."""
        t, k = self.base_s.copy(), self.base_site.copy()
        remove = tuple(dict.fromkeys(map(str, remove)))
        if remove:
            rows = self.sites.row_of(list(remove))
            keep = np.ones(len(self.sites), dtype=bool)
            keep[rows] = False
            affected = np.isin(k, rows)
            if affected.any():
                remaining = self.sites.take(keep)
                if remaining.n_placed:
                    t2, k2 = nearest(self.graph, self.communes.take(affected), remaining)
                    k2 = np.where(k2 >= 0, np.flatnonzero(keep)[np.maximum(k2, 0)], -1)
                else:
                    t2, k2 = np.full(int(affected.sum()), np.inf), np.full(int(affected.sum()), -1)
                t[affected], k[affected] = t2, k2
        if add is not None and len(add):
            add.check_graph(self.graph)
            ta, ka = nearest(self.graph, self.communes, add)
            better = ta < t  # ties: the existing site stays
            t[better] = ta[better]
            k[better] = len(self.sites) + ka[better]
        return t, k

    def evaluate(self, *, add: Places | None = None, remove: Sequence[str] = ()) -> Scenario:
        """Before and after adding ``add`` and removing the sites ``remove`` (ids)."""
        remove = tuple(dict.fromkeys(map(str, remove)))
        if add is not None and not isinstance(add, Places):
            raise InvalidParameterError(f"add must be Places (place_points, place_communes), got {type(add).__name__}")
        t, k = self.times_after(add, remove)
        return self._scenario(t, k, add, remove)

    def _site_ids(self, add: Places | None) -> tuple[np.ndarray, np.ndarray]:
        ids = self.sites.ids if add is None else np.concatenate([self.sites.ids, add.ids])
        names = self.sites.names if add is None else np.concatenate([self.sites.names, add.names])
        return ids, names

    def _scenario(self, t_after, k_after, add, remove) -> Scenario:
        c = self.communes
        thr = self.threshold_min
        ids, names = self._site_ids(add)
        mb, ma = _minutes(self.base_s), _minutes(t_after)
        placed = c.placed
        bb, ba = placed & (mb > thr), placed & (ma > thr)
        crossing = np.where(bb & ~ba & np.isfinite(ma), "enters", np.where(~bb & ba & np.isfinite(mb), "leaves", ""))

        def site_of(k):
            out = np.full(len(k), None, dtype=object)
            out[k >= 0] = ids[k[k >= 0]]
            return out

        df = pd.DataFrame({
            "code": c.ids, "nom": c.names, "departement": c.attrs.get("departement", np.full(len(c), "")),
            "population": c.to_frame()["population"],
            "minutes_before": np.round(mb, 2), "site_before": site_of(self.base_site),
            "minutes_after": np.round(ma, 2), "site_after": site_of(k_after),
            "gain_minutes": np.round(mb - ma, 2),
            "beyond_before": pd.array(np.where(np.isfinite(mb), bb, False), dtype="boolean"),
            "beyond_after": pd.array(np.where(np.isfinite(ma), ba, False), dtype="boolean"),
            "crossing": crossing,
        })
        df.loc[~np.isfinite(mb), "beyond_before"] = pd.NA
        df.loc[~np.isfinite(ma), "beyond_after"] = pd.NA
        tot = pd.DataFrame([{"when": "before", **totals(mb, c.population, thr, placed)},
                            {"when": "after", **totals(ma, c.population, thr, placed)}])
        return Scenario(
            communes=df, sites=self._sites_table(add, remove, k_after, ids, names), totals=tot,
            crossings=df[df["crossing"] != ""].reset_index(drop=True), added=add, removed=remove, threshold_min=thr,
        )

    def _sites_table(self, add, remove, k_after, ids, names) -> pd.DataFrame:
        n_all = len(ids)
        pop = np.nan_to_num(self.communes.population, nan=0.0)

        def served(k):
            sel = k >= 0
            return (np.bincount(k[sel], minlength=n_all), np.bincount(k[sel], weights=pop[sel], minlength=n_all))

        cb, pb = served(self.base_site)
        ca, pa = served(k_after)
        status = np.array(["existing"] * len(self.sites) + ["added"] * (n_all - len(self.sites)), dtype=object)
        if remove:
            status[self.sites.row_of(list(remove))] = "removed"
        lon = self.sites.lon if add is None else np.concatenate([self.sites.lon, add.lon])
        lat = self.sites.lat if add is None else np.concatenate([self.sites.lat, add.lat])
        reason = self.sites.reason if add is None else np.concatenate([self.sites.reason, add.reason])
        return pd.DataFrame({
            "id": ids, "name": names, "status": status, "lon": lon, "lat": lat, "placed": reason == "",
            "reason": reason, "communes_before": cb, "population_before": np.round(pb).astype(np.int64),
            "communes_after": ca, "population_after": np.round(pa).astype(np.int64),
        })

    # ------------------------------------------------------------------ optimisation
    def candidate_costs(self, candidates: Places) -> np.ndarray:
        """Minutes from each commune to each candidate (one parallel matrix, cached per candidate set)."""
        key = id(candidates)
        hit = self._cost.get(key)
        if hit is None or hit[0] is not candidates:
            cost = _minutes(matrix(self.graph, self.communes, candidates))
            hit = (candidates, np.where(np.isnan(cost), np.inf, cost))
            self._cost = {key: hit}
        return hit[1]

    def _demand(self, t_s: np.ndarray | None = None):
        """Placed communes, their weights (unknown population: 0, counted) and their minutes to
        the nearest site (``t_s`` seconds: the base times unless a scenario's are given)."""
        t_s = self.base_s if t_s is None else t_s
        rows = np.flatnonzero(self.communes.placed & (np.isfinite(self.base_s) | np.isfinite(t_s)))
        w = self.communes.population[rows]
        unknown = int(np.isnan(w).sum())
        if unknown:
            log.warning("%d communes have no known population: they weigh 0 in the optimisation", unknown)
        return rows, np.nan_to_num(w, nan=0.0), t_s[rows] / 60.0

    def optimize(self, k: int, *, objective: str = "coverage", candidates: Places | None = None,
                 exact: bool = True, time_limit: float = 120.0, add: Places | None = None,
                 remove: Sequence[str] = ()) -> Optimisation:
        """``k`` new sites among ``candidates`` (default: the communes analysed, placed).

        Parameters
        ----------
        k : int
            New sites (existing ones are kept).
        objective : {"coverage", "mean-time"}
            Most inhabitants within the threshold (maximal covering), or the least
            population-weighted time (p-median).
        candidates : Places, optional
        exact : bool, default True
            Also solve the integer program (HiGHS) and report the gap.
        time_limit : float, default 120
            Seconds allowed to the exact solver (``Solution.optimal`` says whether it proved
            optimality within them).
        add, remove : optional
            Optimise on top of a what-if (as :meth:`evaluate` takes it): the ``k`` sites come
            in addition to ``add``, with the sites ``remove`` closed; ``.scenario`` then holds
            ``add`` and the chosen sites, and the removals.
        """
        if objective not in OBJECTIVES:
            raise InvalidParameterError(f"unknown objective {objective!r}; valid: {', '.join(OBJECTIVES)}")
        if add is not None and not isinstance(add, Places):
            raise InvalidParameterError(f"add must be Places (place_points, place_communes), got {type(add).__name__}")
        remove = tuple(dict.fromkeys(map(str, remove)))
        cand = self._candidates(candidates)
        t_s = self.times_after(add, remove)[0] if (add is not None or remove) else None
        rows, w, base = self._demand(t_s)
        cost = self.candidate_costs(cand)[rows]
        solve = (lambda m: max_coverage(cost, w, base, self.threshold_min, k, method=m, time_limit=time_limit)) \
            if objective == "coverage" else (lambda m: p_median(cost, w, base, k, method=m, time_limit=time_limit))
        greedy = solve("greedy")
        ex = solve("exact") if exact else None
        return self._optimisation(objective, k, cand, greedy, ex, add=add, remove=remove)

    def cover_all(self, *, candidates: Places | None = None, exact: bool = True, time_limit: float = 120.0) -> Optimisation:
        """The fewest new sites so that every placed commune is within the threshold.

        Raises
        ------
        InfeasibleCover
            Some communes are beyond the threshold from every candidate (``.uncoverable`` gives
            their rows in ``communes``): no candidate set can.
        """
        from accessibility.analyses.siting.optimize import InfeasibleCover

        cand = self._candidates(candidates)
        rows, w, base = self._demand()
        cost = self.candidate_costs(cand)[rows]
        try:
            greedy = set_cover(cost, base, self.threshold_min, weights=w, method="greedy")
            ex = set_cover(cost, base, self.threshold_min, weights=w, method="exact", time_limit=time_limit) if exact else None
        except InfeasibleCover as exc:
            bad = rows[exc.uncoverable]
            names = ", ".join(f"{self.communes.names[i]} ({self.communes.ids[i]})" for i in bad[:8])
            raise InfeasibleCover(
                f"no set of candidates brings every commune within {self.threshold_min:g} min: {len(bad)} communes "
                f"are farther than that from every candidate and every existing site: {names}"
                + (" …" if len(bad) > 8 else ""), bad) from None
        return self._optimisation("cover-all", None, cand, greedy, ex)

    def _candidates(self, candidates: Places | None) -> Places:
        """The placed candidates; the same object from one call to the next when nothing is
        left out (the default, the communes, is made once), so their cost matrix is reused."""
        if candidates is None:
            if self._default_candidates is None:
                self._default_candidates = self.communes.placed_only()
            return self._default_candidates
        if not isinstance(candidates, Places):
            raise InvalidParameterError(f"candidates must be Places, got {type(candidates).__name__}")
        candidates.check_graph(self.graph)
        if candidates.n_placed == 0:
            raise NoServiceError("no candidate site can be placed on the road extract")
        return candidates if candidates.n_placed == len(candidates) else candidates.placed_only()

    def _optimisation(self, problem, k, cand, greedy, ex, *, add: Places | None = None,
                      remove: tuple[str, ...] = ()) -> Optimisation:
        best = ex if ex is not None else greedy
        gap = float("nan")
        if ex is not None:
            a, b = greedy.objective, ex.objective
            gap = 0.0 if a == b else abs(a - b) / abs(b) if b else float("inf")
        rows = []
        for sol in (greedy, ex):
            if sol is None:
                continue
            for r, (j, g) in enumerate(zip(sol.chosen, sol.gains), start=1):
                rows.append({"method": sol.method, "rank": r, "id": cand.ids[j], "name": cand.names[j],
                             "lon": cand.lon[j], "lat": cand.lat[j], "gain": round(float(g), 2)})
        table = pd.DataFrame(rows, columns=["method", "rank", "id", "name", "lon", "lat", "gain"])
        chosen = cand.take(best.chosen)
        from dataclasses import replace

        chosen = replace(chosen, ids=np.array([f"new-{i}" if not str(i).startswith("new") else str(i) for i in chosen.ids], dtype=object),
                         kind="site")
        if add is not None and len(add):
            chosen = add.union(chosen) if len(chosen) else add
        scenario = self.evaluate(add=chosen if len(chosen) else None, remove=remove)
        return Optimisation(problem, k, cand, greedy, ex, gap, table, scenario)
