"""Siting benchmark: what-ifs in milliseconds, optimisation greedy and exact, against PySAL spopt.

On the embedded Alpes du Sud (04, 05) and on the whole PACA graph (``../shared/data``, skipped
when absent): the existing France services (fixed sites) are kept, the candidates are all the
communes analysed, threshold 30 minutes.

* ``what_if_add_ms`` / ``what_if_remove_ms``: one :meth:`SitingModel.evaluate` (tables
  included) once the model is loaded, median over random additions / removals;
* ``greedy`` and ``exact`` (HiGHS through scipy.milp) for K = 3, objectives ``coverage`` (MCLP)
  and ``mean-time`` (p-median), and ``cover-all`` (LSCP);
* spopt ``MCLP``, ``PMedian``, ``LSCP`` (``from_cost_matrix``, CBC through PuLP) on the same
  cost matrix, the existing sites as predefined facilities: objective values compared, time
  ratio reported (ours exact / spopt, including model building).

Usage::

    python benchmarks/bench_siting.py [--quick] [--json] [--only embedded|paca]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_routing import SHARED, git_commit, machine_info  # noqa: E402

PACA = ("04", "05", "06", "13", "83", "84")
K = 3
THRESHOLD = 30.0


def _model(graph, communes_df, departements):
    from accessibility.analyses.siting import SitingModel
    from accessibility.engine.places import Places
    from accessibility.inputs.points import load_sites, parse_filter

    mine = communes_df[communes_df["departement"].isin(departements)].reset_index(drop=True)
    origins = Places.from_communes(graph, mine)
    df, _ = load_sites("france-services", filters=[parse_filter("format_fs=Fixe")])
    sites = Places.from_frame(graph, df).placed_only()
    t0 = time.perf_counter()
    m = SitingModel(graph, origins, sites, threshold_min=THRESHOLD)
    return m, time.perf_counter() - t0


def _what_ifs(m, repeat: int, rng) -> dict:
    cand = m.communes.placed_only()
    add_ms, rm_ms = [], []
    m.evaluate(add=m.place_communes([cand.ids[0]]))  # warm-up
    for _ in range(repeat):
        code = cand.ids[rng.integers(len(cand))]
        add = m.place_communes([code])
        t0 = time.perf_counter()
        m.evaluate(add=add)
        add_ms.append(1000 * (time.perf_counter() - t0))
        sid = m.sites.ids[rng.integers(len(m.sites))]
        t0 = time.perf_counter()
        m.evaluate(remove=[sid])
        rm_ms.append(1000 * (time.perf_counter() - t0))
    return {"what_if_add_ms": round(statistics.median(add_ms), 2), "what_if_remove_ms": round(statistics.median(rm_ms), 2)}


def _spopt(cost_new, cost_exist, w, k, problem, time_limit):
    """spopt on [existing | candidates] with the existing ones predefined; (objective, seconds)."""
    import pulp
    from spopt.locate import LSCP, MCLP, PMedian

    n_e = cost_exist.shape[1]
    big = np.concatenate([cost_exist, cost_new], axis=1)
    big = np.where(np.isfinite(big), big, 1e6)  # spopt needs finite costs: unreachable = far
    pre = np.concatenate([np.ones(n_e, dtype=int), np.zeros(cost_new.shape[1], dtype=int)])
    solver = pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit)
    t0 = time.perf_counter()
    if problem == "coverage":
        mdl = MCLP.from_cost_matrix(big, w, THRESHOLD, p_facilities=n_e + k, predefined_facilities_arr=pre)
        mdl.solve(solver)
        obj = float(pulp.value(mdl.problem.objective))
    elif problem == "mean-time":
        mdl = PMedian.from_cost_matrix(big, w, p_facilities=n_e + k, predefined_facilities_arr=pre)
        mdl.solve(solver)
        obj = float(pulp.value(mdl.problem.objective)) / w.sum()
    else:
        mdl = LSCP.from_cost_matrix(big, THRESHOLD, predefined_facilities_arr=pre)
        mdl.solve(solver)
        obj = float(pulp.value(mdl.problem.objective)) - n_e
    return obj, time.perf_counter() - t0, pulp.LpStatus[mdl.problem.status]


def bench(label: str, graph, communes_df, departements, *, quick: bool, with_spopt: bool, time_limit: float) -> dict:
    rng = np.random.default_rng(20240801)
    m, base_s = _model(graph, communes_df, departements)
    out = {"communes": len(m.communes), "sites": len(m.sites), "model_load_s": round(base_s, 3)}
    out.update(_what_ifs(m, 5 if quick else 25, rng))
    cand = m.communes.placed_only()
    t0 = time.perf_counter()
    cost = m.candidate_costs(cand)
    out["candidate_matrix_s"] = round(time.perf_counter() - t0, 3)
    out["candidates"] = len(cand)
    rows, w, base = m._demand()
    cost = cost[rows]
    # the existing sites' columns, for spopt's predefined facilities
    from accessibility.engine.places import matrix

    cost_exist = np.where(np.isfinite(c := matrix(graph, m.communes, m.sites)[rows] / 60.0), c, np.inf)
    from accessibility.analyses.siting.optimize import max_coverage, p_median, set_cover

    cases = {}
    for problem in ("coverage", "mean-time", "cover-all"):
        res = {}
        for method in ("greedy", "exact"):
            t0 = time.perf_counter()
            if problem == "coverage":
                sol = max_coverage(cost, w, base, THRESHOLD, K, method=method, time_limit=time_limit)
            elif problem == "mean-time":
                sol = p_median(cost, w, base, K, method=method, time_limit=time_limit)
            else:
                sol = set_cover(cost, base, THRESHOLD, weights=w, method=method, time_limit=time_limit)
            res[method] = {"objective": round(sol.objective, 4), "seconds": round(time.perf_counter() - t0, 3),
                           "optimal": bool(sol.optimal), "chosen": [str(cand.ids[j]) for j in sol.chosen]}
        if with_spopt:
            try:
                obj, sec, status = _spopt(cost, cost_exist, w, K, problem, time_limit)
                res["spopt"] = {"objective": round(obj, 4), "seconds": round(sec, 3), "status": status,
                                "equal_objective": bool(np.isclose(obj, res["exact"]["objective"], rtol=1e-6, atol=1e-6)),
                                "time_ratio_ours_exact_over_spopt": round(res["exact"]["seconds"] / sec, 4)}
            except Exception as exc:  # noqa: BLE001 - a peer failing is reported, not fatal
                res["spopt"] = {"error": f"{type(exc).__name__}: {exc}"}
        cases[problem] = res
    out["problems"] = cases
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="embedded graph only, fewer repeats, no spopt")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--only", choices=["embedded", "paca"])
    ap.add_argument("--time-limit", type=float, default=300.0)
    args = ap.parse_args(argv)
    from accessibility.inputs.communes import load_communes
    from accessibility.network.graph import load_graph

    try:
        import spopt  # noqa: F401
        with_spopt = not args.quick
    except ImportError:
        with_spopt = False
    result = {"machine": machine_info(), "commit": git_commit(), "k": K, "threshold_min": THRESHOLD, "graphs": {}}
    communes = load_communes()
    if args.only in (None, "embedded"):
        g = load_graph()
        result["graphs"]["embedded"] = bench("embedded", g, communes, ("04", "05"), quick=args.quick,
                                             with_spopt=with_spopt, time_limit=args.time_limit)
    pbf = SHARED / "osm" / "paca-roads-2021.osm.pbf"
    if args.only in (None, "paca") and not args.quick and pbf.exists():
        g = load_graph(pbf, cache_dir=REPO / "benchmarks" / ".cache")
        result["graphs"]["paca"] = bench("paca", g, communes, PACA, quick=False, with_spopt=with_spopt,
                                         time_limit=args.time_limit)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    for name, r in result["graphs"].items():
        print(f"{name}: {r['communes']} communes, {r['sites']} sites, {r['candidates']} candidates; "
              f"what-if add {r['what_if_add_ms']} ms, remove {r['what_if_remove_ms']} ms; "
              f"candidate matrix {r['candidate_matrix_s']} s")
        for problem, res in r["problems"].items():
            row = [f"  {problem:10}"]
            for k in ("greedy", "exact", "spopt"):
                if k in res and "objective" in res[k]:
                    row.append(f"{k} {res[k]['objective']:.2f} in {res[k]['seconds']:.2f} s")
                elif k in res:
                    row.append(f"{k}: {res[k]['error'][:60]}")
            print(" | ".join(row))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
