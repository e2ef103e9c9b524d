"""Routing benchmark: this engine next to scipy, networkit, python-igraph and networkx.

Every engine runs on the same contracted graph (the CSR arrays of :class:`accessibility.Graph`),
in one process, on the same random nodes:

* ``one_to_all``: times from one node to every node;
* ``multi_source``: every node's time from the nearest of 500 nodes (scipy: ``min_only=True``;
  networkit and igraph: one search from an extra node joined to the 500 by zero-time edges);
* ``matrix``: sources x targets times (scipy: ``dijkstra(indices=sources)`` by blocks of 100
  sources, then the target columns; networkit: ``SPSP`` with targets; igraph: ``distances``);
* ``communes`` (PACA only): the 946 x 946 commune-centre matrix with :func:`place_matrix`
  (scipy: searches from every anchor node, then the same access legs and same-stretch trips).

Timings are medians of a few repeats after a warm-up (which compiles our kernels and builds the
reduced graph, timed apart as ``prep``). Results are checked against scipy: a mismatch is a
different ``inf`` pattern or a relative difference above 1e-9. Timings never fail the run.

Usage::

    python benchmarks/bench_routing.py [--quick] [--json] [--only embedded|paca]

The PACA graph comes from ``../shared/data/osm/paca-roads-2021.osm.pbf`` next to the repository
and is skipped when that file is absent. Graphs are cached in ``$ACCESSIBILITY_CACHE_DIR``, else
``benchmarks/.cache``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "data"
PACA_PBF = SHARED / "osm" / "paca-roads-2021.osm.pbf"
COMMUNES_CSV = SHARED / "communes" / "communes-2023.csv"
PACA_DEPARTEMENTS = ("04", "05", "06", "13", "83", "84")
SEED = 20240801
RTOL = 1e-9

log = logging.getLogger("bench_routing")


# ---------------------------------------------------------------------------------------------
# helpers


def _median_time(fn, repeats: int) -> tuple[float, list[float], object]:
    times = []
    out = None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def mismatches(got: np.ndarray, ref: np.ndarray) -> int:
    """Entries whose reachability differs or whose relative difference exceeds RTOL."""
    got = np.asarray(got, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    gi, ri = ~np.isfinite(got), ~np.isfinite(ref)
    both = ~gi & ~ri
    rel = np.abs(got[both] - ref[both]) > RTOL * np.maximum(np.abs(ref[both]), 1e-300)
    return int(np.count_nonzero(gi != ri) + np.count_nonzero(rel))


def machine_info() -> dict:
    import numba
    import scipy

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "numba_threads": numba.get_num_threads(),
        "loadavg_at_start": os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
    }
    for mod in ("networkit", "igraph", "networkx"):
        try:
            info[mod] = __import__(mod).__version__
        except ImportError:
            info[mod] = None
    return info


def git_commit() -> str:
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=REPO,
                               capture_output=True, text=True, check=True).stdout.strip()
        return sha + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# ---------------------------------------------------------------------------------------------
# engines: each one takes the graph's CSR and answers the three questions


class Ours:
    name = "accessibility"

    def __init__(self, g):
        import numba

        self.g = g
        self.threads = numba.get_num_threads()
        t0 = time.perf_counter()
        g.derived.core_fwd = g.derived.core_rev = None  # time the reduction even when the cache held it
        g.reduced()
        g.reduced(reverse=True)
        self.prep_s = time.perf_counter() - t0

    def warm_up(self):
        from accessibility.routing import nearest_source, shortest_times, time_matrix

        shortest_times(self.g, 0)
        nearest_source(self.g, [0, 1])
        time_matrix(self.g, [0, 1], [2, 3])

    def one_to_all(self, s):
        from accessibility.routing import shortest_times

        return shortest_times(self.g, int(s))

    def multi_source(self, sources):
        from accessibility.routing import nearest_source

        return nearest_source(self.g, sources)[0]

    def matrix(self, sources, targets):
        from accessibility.routing import time_matrix

        return time_matrix(self.g, sources, targets)


class OneThread:
    """Our engine on one numba thread (the matrix is parallel over sources otherwise)."""

    name = "accessibility_1thread"
    threads = 1

    def __init__(self, ours):
        self.ours = ours

    def __getattr__(self, attr):
        return getattr(self.ours, attr)


class Scipy:
    name = "scipy"
    threads = 1

    def __init__(self, g):
        t0 = time.perf_counter()
        self.a = g.to_scipy()
        self.prep_s = time.perf_counter() - t0

    def warm_up(self):
        from scipy.sparse.csgraph import dijkstra

        dijkstra(self.a, indices=0)

    def one_to_all(self, s):
        from scipy.sparse.csgraph import dijkstra

        return dijkstra(self.a, indices=int(s))

    def multi_source(self, sources):
        from scipy.sparse.csgraph import dijkstra

        return dijkstra(self.a, indices=sources, min_only=True)

    def rows(self, sources, block: int = 100):
        """Full rows for the sources, by blocks (a 1,000 x 430,000 block would be 3.4 GB)."""
        from scipy.sparse.csgraph import dijkstra

        for i in range(0, len(sources), block):
            yield i, dijkstra(self.a, indices=sources[i:i + block])

    def matrix(self, sources, targets):
        out = np.empty((len(sources), len(targets)))
        for i, rows in self.rows(sources):
            out[i:i + len(rows)] = rows[:, targets]
        return out


class Networkit:
    name = "networkit"

    def __init__(self, g, threads: int):
        import networkit as nk

        nk.setNumberOfThreads(threads)
        self.threads = nk.getMaxNumberOfThreads()
        self.nk = nk
        self.n = g.n_nodes
        u, v, w = g.edge_list()
        t0 = time.perf_counter()
        self.G = nk.GraphFromCoo((w, (u, v)), n=g.n_nodes, weighted=True, directed=True)
        self.prep_s = time.perf_counter() - t0
        self._uvw = (u, v, w)
        self._super = None

    @staticmethod
    def _inf(a):
        a = np.asarray(a, dtype=np.float64)
        a[a > 1e300] = np.inf
        return a

    def warm_up(self):
        self.one_to_all(0)

    def one_to_all(self, s):
        d = self.nk.distance.Dijkstra(self.G, int(s), storePaths=False)
        d.run()
        return self._inf(d.getDistances())

    def prepare_multi(self, sources):
        """A copy of the graph with an extra node joined to the sources (not timed)."""
        u, v, w = self._uvw
        k = len(sources)
        self._super = self.nk.GraphFromCoo(
            (np.r_[w, np.zeros(k)], (np.r_[u, np.full(k, self.n)], np.r_[v, sources])),
            n=self.n + 1, weighted=True, directed=True,
        )

    def multi_source(self, sources):
        d = self.nk.distance.Dijkstra(self._super, self.n, storePaths=False)
        d.run()
        return self._inf(d.getDistances())[: self.n]

    def matrix(self, sources, targets):
        sp = self.nk.distance.SPSP(self.G, [int(s) for s in sources])
        sp.setTargets([int(t) for t in targets])
        sp.run()
        return self._inf(sp.getDistances())


class Igraph:
    name = "igraph"
    threads = 1

    def __init__(self, g):
        import igraph as ig

        self.ig = ig
        self.n = g.n_nodes
        u, v, w = g.edge_list()
        t0 = time.perf_counter()
        self.G = ig.Graph(n=g.n_nodes, edges=np.column_stack([u, v]), directed=True)
        self.G.es["weight"] = w
        self.prep_s = time.perf_counter() - t0
        self._uvw = (u, v, w)
        self._super = None

    def warm_up(self):
        self.G.distances(source=[0], target=[1], weights="weight", mode="out")

    def one_to_all(self, s):
        return np.asarray(self.G.distances(source=[int(s)], weights="weight", mode="out")[0])

    def prepare_multi(self, sources):
        u, v, w = self._uvw
        k = len(sources)
        edges = np.column_stack([np.r_[u, np.full(k, self.n)], np.r_[v, sources]])
        self._super = self.ig.Graph(n=self.n + 1, edges=edges, directed=True)
        self._super.es["weight"] = np.r_[w, np.zeros(k)]

    def multi_source(self, sources):
        d = self._super.distances(source=[self.n], weights="weight", mode="out")[0]
        return np.asarray(d[: self.n], dtype=np.float64)

    def matrix(self, sources, targets):
        return np.asarray(self.G.distances(source=[int(s) for s in sources],
                                           target=[int(t) for t in targets],
                                           weights="weight", mode="out"), dtype=np.float64)


class Networkx:
    name = "networkx"
    threads = 1

    def __init__(self, g):
        import networkx as nx

        self.nx = nx
        self.n = g.n_nodes
        u, v, w = g.edge_list()
        t0 = time.perf_counter()
        self.G = nx.DiGraph()
        self.G.add_nodes_from(range(g.n_nodes))
        self.G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()))
        self.prep_s = time.perf_counter() - t0

    def warm_up(self):
        pass

    def one_to_all(self, s):
        d = self.nx.single_source_dijkstra_path_length(self.G, int(s))
        out = np.full(self.n, np.inf)
        out[np.fromiter(d.keys(), dtype=np.int64, count=len(d))] = np.fromiter(d.values(), dtype=np.float64, count=len(d))
        return out


# ---------------------------------------------------------------------------------------------
# one graph


def _case(results: dict, case: str, engine, fn, repeats: int, ref=None) -> np.ndarray | None:
    import numba

    before = numba.get_num_threads()
    if isinstance(engine, OneThread):
        numba.set_num_threads(1)
    try:
        med, times, out = _median_time(fn, repeats)
    except Exception as exc:  # a peer failing must not stop the benchmark
        log.warning("%s %s failed: %s", engine.name, case, exc)
        results.setdefault(case, {})[engine.name] = {"error": str(exc)}
        return None
    finally:
        numba.set_num_threads(before)
    threads = engine.threads if case.startswith(("matrix", "communes")) else 1
    entry = {"median_s": med, "repeats": repeats, "threads": threads}
    if ref is not None:
        entry["mismatches"] = mismatches(out, ref)
    results.setdefault(case, {})[engine.name] = entry
    log.info("  %-14s %-12s %9.4f s  (%s)%s", case, engine.name, med,
             ", ".join(f"{t:.4f}" for t in times),
             f"  mismatches vs scipy: {entry['mismatches']}" if "mismatches" in entry else "")
    return out


def bench_graph(label: str, g, *, quick: bool, matrix_size: int, with_networkx: bool,
                communes: bool) -> dict:
    rng = np.random.default_rng(SEED)
    n = g.n_nodes
    out: dict = {"nodes": n, "edges": g.n_edges, "cases": {}, "prep_s": {}}
    import numba

    engines = [Ours(g), Scipy(g)]
    for factory in (lambda: Networkit(g, numba.get_num_threads()), lambda: Igraph(g)):
        try:
            engines.append(factory())
        except ImportError as exc:
            log.warning("peer not installed: %s", exc)
    nx_engine = None
    if with_networkx:
        try:
            nx_engine = Networkx(g)
        except ImportError as exc:
            log.warning("peer not installed: %s", exc)
    for e in engines + ([nx_engine] if nx_engine else []):
        out["prep_s"][e.name] = e.prep_s
        e.warm_up()
    log.info("%s: %d nodes, %d edges; prep %s", label, n, g.n_edges,
             ", ".join(f"{k} {v:.2f} s" for k, v in out["prep_s"].items()))
    cases = out["cases"]
    r_fast = 3 if quick else 7
    r_matrix = 1 if quick else 3
    r_slow_matrix = 1 if quick else 2

    # one-to-all
    s = int(rng.integers(n))
    _, _, ref = _median_time(lambda: engines[1].one_to_all(s), 1)
    for e in engines + ([nx_engine] if nx_engine else []):
        reps = 1 if e.name == "networkx" else r_fast
        _case(cases, "one_to_all", e, lambda e=e: e.one_to_all(s), reps, ref)

    # multi-source
    sources = rng.choice(n, 500, replace=False)
    ref = engines[1].multi_source(sources)
    for e in engines:
        if hasattr(e, "prepare_multi"):
            e.prepare_multi(sources)
        _case(cases, "multi_source_500", e, lambda e=e: e.multi_source(sources), r_fast, ref)

    # matrix
    src = rng.choice(n, matrix_size, replace=False)
    tgt = rng.choice(n, matrix_size, replace=False)
    case = f"matrix_{matrix_size}x{matrix_size}"
    sc = engines[1]
    ref = _case(cases, case, sc, lambda: sc.matrix(src, tgt), r_slow_matrix)
    for e in engines:
        if e is sc:
            continue
        reps = r_matrix if e.name == "accessibility" else r_slow_matrix
        _case(cases, case, e, lambda e=e: e.matrix(src, tgt), reps, ref)
    _case(cases, case, OneThread(engines[0]), lambda: engines[0].matrix(src, tgt), r_matrix, ref)

    if communes:
        out["communes_unsnapped"] = _communes(cases, g, engines[0], sc, quick=quick)

    for case, res in cases.items():
        base = res.get("scipy", {}).get("median_s")
        for entry in res.values():
            if base and "median_s" in entry:
                entry["ratio_to_scipy"] = entry["median_s"] / base
    return out


def places_from_anchors(a: np.ndarray, s) -> np.ndarray:
    """The place matrix of a peer from its anchor-node times ``a`` (row ``i``: the out-anchor
    ``s.out_node[i]``, column ``j``: the in-anchor ``s.in_node[j]``): access legs added, the best
    anchor of each place, and the trips along one road stretch (what place_matrix does)."""
    from accessibility.routing.points import _same_chain

    k = len(s)
    a = a + s.out_time_s[:, None] + s.in_time_s[None, :]
    m = np.full((k, k), np.inf)
    so = np.flatnonzero(np.diff(s.out_ptr) > 0)
    si = np.flatnonzero(np.diff(s.in_ptr) > 0)
    a = np.minimum.reduceat(a, s.out_ptr[so], axis=0)
    a = np.minimum.reduceat(a, s.in_ptr[si], axis=1)
    m[np.ix_(so, si)] = a
    ia, ib, t, _ = _same_chain(s, s)
    if len(ia):
        np.minimum.at(m, (ia, ib), t)
    return m


def _communes(cases: dict, g, ours, sc, *, quick: bool) -> int | None:
    """The PACA commune-centre matrix, with place_matrix (and scipy on the same anchors)."""
    import pandas as pd

    from accessibility.routing import place_matrix, snap_points

    if not COMMUNES_CSV.exists():
        log.warning("no %s: communes case skipped", COMMUNES_CSV)
        return None
    c = pd.read_csv(COMMUNES_CSV, dtype={"code": str, "departement": str})
    c = c[c["departement"].isin(PACA_DEPARTEMENTS)]
    snapped = snap_points(g, c["lon"].to_numpy(), c["lat"].to_numpy())
    k = len(c)
    case = f"communes_{k}x{k}"
    log.info("  %d PACA communes, %d not snapped", k, int((~snapped.ok).sum()))

    def scipy_places():
        out_nodes = np.unique(snapped.out_node)
        row_of = np.full(g.n_nodes, -1, dtype=np.int64)
        row_of[out_nodes] = np.arange(len(out_nodes))
        rows = np.empty((len(out_nodes), len(snapped.in_node)))
        for i, block in sc.rows(out_nodes):
            rows[i:i + len(block)] = block[:, snapped.in_node]
        return places_from_anchors(rows[row_of[snapped.out_node]], snapped)

    ref = None
    if not quick:
        ref = _case(cases, case, sc, scipy_places, 1)
    _case(cases, case, ours, lambda: place_matrix(g, snapped, snapped), 1 if quick else 3, ref)
    if not quick:
        _case(cases, case, OneThread(ours), lambda: place_matrix(g, snapped, snapped), 1, ref)
    return int((~snapped.ok).sum())


def load(label: str, path, cache_dir: Path, *, cold: bool) -> tuple[object, dict]:
    from accessibility.network.graph import load_graph

    info = {}
    if cold:
        t0 = time.perf_counter()
        load_graph(path, cache_dir=cache_dir, rebuild=True)
        info["build_cold_s"] = time.perf_counter() - t0
        log.info("%s: cold build %.1f s", label, info["build_cold_s"])
    t0 = time.perf_counter()
    g = load_graph(path, cache_dir=cache_dir)
    dt = time.perf_counter() - t0
    if g.report.from_cache:
        info["load_cached_s"] = dt
    else:
        info["build_cold_s"] = dt
        t0 = time.perf_counter()
        g = load_graph(path, cache_dir=cache_dir)
        info["load_cached_s"] = time.perf_counter() - t0
    log.info("%s: %s", label, ", ".join(f"{k} {v:.2f} s" for k, v in info.items()))
    return g, info


# ---------------------------------------------------------------------------------------------
# report


def table(results: dict) -> str:
    lines = []
    for label, gr in results["graphs"].items():
        lines.append(f"\n{label}: {gr['nodes']:,} nodes, {gr['edges']:,} edges"
                     + "".join(f"; {k} {v:.2f} s" for k, v in gr.get("load", {}).items()))
        lines.append("prep (not in the timings): " + ", ".join(f"{k} {v:.2f} s" for k, v in gr["prep_s"].items()))
        lines.append(f"{'case':<22}{'engine':<23}{'threads':>8}{'median s':>11}{'/ scipy':>9}{'mismatch':>10}")
        for case, res in gr["cases"].items():
            for eng, e in res.items():
                if not isinstance(e, dict):
                    continue
                if "error" in e:
                    lines.append(f"{case:<22}{eng:<23}{'':>8}{'failed':>11}")
                    continue
                ratio = f"{e['ratio_to_scipy']:.3f}" if "ratio_to_scipy" in e else "-"
                mm = str(e["mismatches"]) if "mismatches" in e else "-"
                lines.append(f"{case:<22}{eng:<23}{e['threads']:>8}{e['median_s']:>11.4f}{ratio:>9}{mm:>10}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, 200 x 200 matrix on PACA")
    ap.add_argument("--json", action="store_true", help="print one JSON object on stdout (logs on stderr)")
    ap.add_argument("--only", choices=["embedded", "paca"], help="one graph only")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 when a ratio falls below benchmarks/thresholds.toml [routing] (embedded graph)")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    cache_dir = Path(os.environ.get("ACCESSIBILITY_CACHE_DIR") or REPO / "benchmarks" / ".cache")
    results = {"machine": machine_info(), "git_commit": git_commit(), "quick": args.quick,
               "unit": "seconds; ratio_to_scipy = median / scipy median", "graphs": {}}
    log.info("machine: %s", results["machine"])
    if args.only in (None, "embedded"):
        g, info = load("embedded", None, cache_dir, cold=False)
        r = bench_graph("embedded", g, quick=args.quick, matrix_size=1000, with_networkx=True, communes=False)
        r["load"] = info
        results["graphs"]["embedded"] = r
        del g
    if args.only in (None, "paca"):
        if not PACA_PBF.exists():
            log.warning("no %s: PACA skipped", PACA_PBF)
        else:
            g, info = load("paca", PACA_PBF, cache_dir, cold=not args.quick)
            r = bench_graph("paca", g, quick=args.quick, matrix_size=200 if args.quick else 1000,
                            with_networkx=not args.quick, communes=True)
            r["load"] = info
            results["graphs"]["paca"] = r
    results["loadavg_at_end"] = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    if args.json:
        json.dump(results, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(f"commit {results['git_commit']}; " + ", ".join(f"{k} {v}" for k, v in results["machine"].items())
              + f", loadavg_at_end {results['loadavg_at_end']}")
        print(table(results))
    if args.check:
        return 1 if check(results) else 0
    return 0


def check(results: dict) -> list[str]:
    """The ratios of ``thresholds.toml`` [routing] that this run falls below (empty: all hold)."""
    import tomllib

    limits = tomllib.loads((Path(__file__).parent / "thresholds.toml").read_text())["routing"]
    cases = results["graphs"].get("embedded", {}).get("cases", {})
    failed = []
    for key, case in (("min_scipy_over_multi_source", "multi_source_500"), ("min_scipy_over_one_to_all", "one_to_all")):
        c = cases.get(case, {})
        ours, sc = c.get("accessibility", {}).get("median_s"), c.get("scipy", {}).get("median_s")
        got = sc / ours if ours and sc else None
        ok = got is not None and got >= limits[key]
        print(f"{'ok  ' if ok else 'FAIL'} scipy / ours, {case} = {got if got is None else round(got, 2)} "
              f"(threshold {limits[key]})")
        if not ok:
            failed.append(key)
    return failed


if __name__ == "__main__":
    sys.exit(main())
