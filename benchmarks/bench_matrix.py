"""Many-to-many benchmark: commune distanciers with this engine's strategies next to scipy,
python-igraph, networkit and OSRM, plus the size sweep, PHAST one-to-all and a 10,000 x 10,000 run.

Cases (all engines on the same graph and the same places, in one process; OSRM in its own):

* ``communes``: the commune-centre matrix of a region (PACA 946 x 946, Ile-de-France 1,267 x
  1,267; centres from ``../shared/data/communes/communes-2023.csv``, snapped with
  ``snap_points``). Ours: ``place_matrix`` (strategy ``dijkstra``, seconds only) and
  ``travel_matrix`` with ``ch`` and ``phast`` (seconds and metres; the hierarchy is built once,
  timed apart as preparation). Peers run one Dijkstra per anchor node of the places (scipy by
  blocks of sources, igraph ``distances``, networkit ``SPSP``), then the same access legs and
  same-stretch trips. OSRM: ``osrm-extract`` (car profile) and ``osrm-contract`` on the same PBF,
  then its table service (Python bindings) on the same lon/lat, preparation and query apart;
  agreement is the median ratio of our seconds to OSRM's.
* ``sizes`` (PACA): random placed points, 10 ... 10,000 of them, every strategy: the crossovers
  behind ``strategy="auto"``.
* ``one_to_all`` (PACA): PHAST (``phast_nearest_source``) against the bucket-queue search of
  ``nearest_source``, from 1 and from 500 nodes.
* ``big`` (PACA): one 10,000 x 10,000 placed-point matrix with ``ch``, in a child process, rate
  and peak RSS (the matrix kept in memory, not written).

Every engine's answer is checked against ``place_matrix`` (a mismatch: another ``inf`` pattern
or a relative difference above 1e-9; OSRM is compared by ratio only, its profile differs).
Timings are medians of a few repeats after a warm-up; they never fail the run.

Usage::

    python benchmarks/bench_matrix.py [--quick] [--json] [--only embedded|paca|idf]
                                      [--no-peers] [--no-osrm] [--cold]

``--quick`` (CI): the embedded graph only, 300 random placed points, under a minute; prints the
ratios one Dijkstra per source / ch and scipy / ch; ``--check`` then exits 1 when one falls below
``benchmarks/thresholds.toml``. OSRM needs ``benchmarks/.osrm-venv`` (a
Python 3.12 virtual environment with ``osrm-bindings``, see the README) and is skipped without it.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_routing import SHARED, git_commit, machine_info, mismatches, places_from_anchors  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
COMMUNES_CSV = SHARED / "communes" / "communes-2023.csv"
REGIONS = {
    "paca": (SHARED / "osm" / "paca-roads-2021.osm.pbf", ("04", "05", "06", "13", "83", "84")),
    "idf": (SHARED / "osm" / "idf-roads-2021.osm.pbf", ("75", "77", "78", "91", "92", "93", "94", "95")),
}
OSRM_VENV = REPO / "benchmarks" / ".osrm-venv"
SEED = 20240801

log = logging.getLogger("bench_matrix")


def _median(fn, repeats: int):
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times, out


def _threads(k: int | None):
    import numba

    class _T:
        def __enter__(self):
            self.before = numba.get_num_threads()
            if k:
                numba.set_num_threads(k)

        def __exit__(self, *a):
            numba.set_num_threads(self.before)

    return _T()


def _record(res: dict, name: str, fn, repeats: int, ref=None, threads: int | None = None,
            pairs: int | None = None, **extra):
    try:
        with _threads(threads):
            med, times, out = _median(fn, repeats)
    except Exception as exc:  # a peer failing must not stop the benchmark
        log.warning("%s failed: %s", name, exc)
        res[name] = {"error": str(exc)}
        return None
    import numba

    t = out[0] if isinstance(out, tuple) else out
    entry = {"median_s": med, "times": times, "threads": threads or numba.get_num_threads(), **extra}
    if pairs:
        entry["pairs_per_s"] = pairs / med
    if ref is not None:
        entry["mismatches"] = mismatches(t, ref)
    res[name] = entry
    log.info("    %-24s %9.4f s  (%s)%s", name, med, ", ".join(f"{x:.4f}" for x in times),
             f"  mismatches {entry['mismatches']}" if "mismatches" in entry else "")
    return out


# ---------------------------------------------------------------------------------------------
# peers: one search per anchor node, then the places' access legs (as bench_routing does)


def _combine(rows: np.ndarray, row_of: np.ndarray, col_of: np.ndarray, s):
    """Anchor-node times to a place matrix: access legs, best anchors, same-stretch trips."""
    return places_from_anchors(rows[row_of[s.out_node]][:, col_of[s.in_node]], s)


def _anchor_sets(g, s):
    outs = np.unique(s.out_node)
    ins = np.unique(s.in_node)
    row_of = np.full(g.n_nodes, -1, dtype=np.int64)
    row_of[outs] = np.arange(len(outs))
    col_of = np.full(g.n_nodes, -1, dtype=np.int64)
    col_of[ins] = np.arange(len(ins))
    return outs, ins, row_of, col_of


def peer_scipy(g, s):
    from scipy.sparse.csgraph import dijkstra

    a = g.to_scipy()
    outs, ins, row_of, col_of = _anchor_sets(g, s)

    def run():
        rows = np.empty((len(outs), len(ins)))
        for i in range(0, len(outs), 100):
            rows[i:i + 100] = dijkstra(a, indices=outs[i:i + 100])[:, ins]
        return _combine(rows, row_of, col_of, s)

    return run


def peer_igraph(g, s):
    import igraph as ig

    u, v, w = g.edge_list()
    t0 = time.perf_counter()
    G = ig.Graph(n=g.n_nodes, edges=np.column_stack([u, v]), directed=True)
    G.es["weight"] = w
    prep = time.perf_counter() - t0
    outs, ins, row_of, col_of = _anchor_sets(g, s)

    def run():
        rows = np.asarray(G.distances(source=outs.tolist(), target=ins.tolist(), weights="weight",
                                      mode="out"), dtype=np.float64)
        return _combine(rows, row_of, col_of, s)

    return run, prep


def peer_networkit(g, s, threads: int):
    import networkit as nk

    nk.setNumberOfThreads(threads)
    u, v, w = g.edge_list()
    t0 = time.perf_counter()
    G = nk.GraphFromCoo((w, (u, v)), n=g.n_nodes, weighted=True, directed=True)
    prep = time.perf_counter() - t0
    outs, ins, row_of, col_of = _anchor_sets(g, s)

    def run():
        sp = nk.distance.SPSP(G, outs.tolist())
        sp.setTargets(ins.tolist())
        sp.run()
        rows = np.asarray(sp.getDistances(), dtype=np.float64)
        rows[rows > 1e300] = np.inf
        return _combine(rows, row_of, col_of, s)

    return run, prep


# ---------------------------------------------------------------------------------------------
# OSRM, through its Python bindings in a Python 3.12 environment (a child process)

_OSRM_CHILD = r"""
import json, sys, time, statistics
import numpy as np
import osrm
args = json.loads(sys.argv[1])
lonlat = np.load(args["coords"])
eng = osrm.OSRM(storage_config=args["osrm"], algorithm="CH", use_shared_memory=False,
                max_locations_distance_table=len(lonlat) + 1)
coords = [(float(a), float(b)) for a, b in lonlat]
times, out = [], None
for rep in range(args["repeats"] + 1):  # the first one is a warm-up (pages of the mapped files)
    p = osrm.TableParameters(coordinates=coords, annotations=["duration", "distance"], generate_hints=False)
    t0 = time.perf_counter()
    out = eng.Table(p)
    if rep:
        times.append(time.perf_counter() - t0)
dur = np.array([[np.nan if x is None else x for x in row] for row in out["durations"]], dtype=float)
dist = np.array([[np.nan if x is None else x for x in row] for row in out["distances"]], dtype=float)
np.save(args["out"], np.stack([dur, dist]))
print(json.dumps({"times": times, "median_s": statistics.median(times)}))
"""


def _osrm_bin() -> Path | None:
    py = OSRM_VENV / "bin" / "python"
    if not py.exists():
        return None
    try:
        r = subprocess.run([str(py), "-c", "import osrm, os; print(os.path.dirname(osrm.__file__))"],
                           capture_output=True, text=True, check=True)
    except (OSError, subprocess.CalledProcessError):
        return None
    return Path(r.stdout.strip())


def osrm_prepare(region: str, pbf: Path, cache: Path) -> tuple[Path, dict] | None:
    """osrm-extract (car profile) and osrm-contract, timed; reused when already done."""
    pkg = _osrm_bin()
    if pkg is None:
        log.warning("no OSRM bindings in %s: OSRM skipped", OSRM_VENV)
        return None
    d = cache / "osrm" / region
    base = d / (pbf.name.split(".")[0] + ".osrm")
    info_file = d / "prep.json"
    if info_file.exists() and Path(str(base) + ".hsgr").exists():
        return base, json.loads(info_file.read_text()) | {"reused": True}
    d.mkdir(parents=True, exist_ok=True)
    link = d / pbf.name
    if not link.exists():
        link.symlink_to(pbf)
    profile = next((pkg / "share").rglob("car.lua"), None) or next(pkg.rglob("car.lua"))
    bindir = pkg / "bin"
    env = os.environ | {"LD_LIBRARY_PATH": f"{pkg / 'lib'}:{os.environ.get('LD_LIBRARY_PATH', '')}"}
    info = {}
    for step, cmd in (("extract_s", [str(bindir / "osrm-extract"), "-p", str(profile), str(link)]),
                      ("contract_s", [str(bindir / "osrm-contract"), str(base)])):
        t0 = time.perf_counter()
        subprocess.run(cmd, cwd=d, env=env, check=True, capture_output=True)
        info[step] = time.perf_counter() - t0
        log.info("  OSRM %s %.1f s", step, info[step])
    info["prep_s"] = info["extract_s"] + info["contract_s"]
    info["measured"] = time.strftime("%Y-%m-%d %H:%M")
    info_file.write_text(json.dumps(info))
    return base, info


def osrm_table(base: Path, lon, lat, repeats: int, tmp: Path) -> tuple[dict, np.ndarray]:
    tmp.mkdir(parents=True, exist_ok=True)
    coords = tmp / "coords.npy"
    out = tmp / "osrm-table.npy"
    np.save(coords, np.column_stack([lon, lat]))
    args = {"coords": str(coords), "osrm": str(base), "out": str(out), "repeats": repeats}
    r = subprocess.run([str(OSRM_VENV / "bin" / "python"), "-c", _OSRM_CHILD, json.dumps(args)],
                       capture_output=True, text=True, check=True)
    return json.loads(r.stdout.strip().splitlines()[-1]), np.load(out)


# ---------------------------------------------------------------------------------------------
# cases


def _communes(g, deps):
    import pandas as pd

    from accessibility.routing import snap_points

    c = pd.read_csv(COMMUNES_CSV, dtype={"code": str, "departement": str})
    c = c[c["departement"].isin(deps) & c["lon"].notna()]
    lon, lat = c["lon"].to_numpy(), c["lat"].to_numpy()
    return lon, lat, snap_points(g, lon, lat)


def _random_places(g, k: int, rng):
    from accessibility.routing import snap_points

    i = rng.integers(0, len(g.shape_x), k)
    return snap_points(g, g.shape_x[i] + rng.normal(0, 1e-3, k), g.shape_y[i] + rng.normal(0, 1e-3, k))


def case_places(g, ch, s, *, quick: bool, peers: bool, label: str) -> dict:
    """One place matrix with every engine."""
    import numba

    from accessibility.routing import place_matrix
    from accessibility.routing.matrix import travel_matrix
    from accessibility.routing.snap import subset_snapped

    k = len(s)
    res: dict = {"n": k, "unsnapped": int((~s.ok).sum()), "engines": {}}
    e = res["engines"]
    pairs = k * k
    nth = numba.get_num_threads()
    # warm-up: compilation (serial and parallel variants), the reduction
    few = subset_snapped(s, np.arange(min(5, k)))
    place_matrix(g, few, few)
    for strategy in ("ch", "phast"):
        travel_matrix(g, few, few, strategy=strategy, hierarchy=ch)
        travel_matrix(g, s, s, strategy=strategy, hierarchy=ch)
    reps = 3 if quick else 5
    ref = _record(e, "dijkstra", lambda: place_matrix(g, s, s), 1 if quick else 3, pairs=pairs)
    _record(e, "ch", lambda: travel_matrix(g, s, s, strategy="ch", hierarchy=ch), reps, ref, pairs=pairs)
    _record(e, "ch_seconds_only", lambda: travel_matrix(g, s, s, strategy="ch", hierarchy=ch, metres=False),
            reps, ref, pairs=pairs)
    _record(e, "phast", lambda: travel_matrix(g, s, s, strategy="phast", hierarchy=ch), reps, ref, pairs=pairs)
    if nth > 1 and not quick:
        _record(e, "ch_1thread", lambda: travel_matrix(g, s, s, strategy="ch", hierarchy=ch), reps, ref,
                threads=1, pairs=pairs)
        _record(e, "dijkstra_1thread", lambda: place_matrix(g, s, s), 1, ref, threads=1, pairs=pairs)
    if peers or quick:
        _record(e, "scipy", peer_scipy(g, s), 1, ref, threads=1, pairs=pairs)
    if peers:
        try:
            run, prep = peer_igraph(g, s)
            _record(e, "igraph", run, 1, ref, threads=1, pairs=pairs, prep_s=prep)
        except ImportError as exc:
            log.warning("peer not installed: %s", exc)
        try:
            run, prep = peer_networkit(g, s, nth)
            _record(e, "networkit", run, 1, ref, threads=nth, pairs=pairs, prep_s=prep)
        except ImportError as exc:
            log.warning("peer not installed: %s", exc)
    base = e["ch"].get("median_s")
    for name, entry in e.items():
        if base and "median_s" in entry:
            entry["ratio_to_ch"] = entry["median_s"] / base
    log.info("  %s: ch %.4f s; dijkstra / ch %.1f, scipy / ch %.1f", label, base or float("nan"),
             e["dijkstra"].get("ratio_to_ch", float("nan")),
             e.get("scipy", {}).get("ratio_to_ch", float("nan")))
    return res


def case_sizes(g, ch, *, sizes, dijkstra_max: int) -> dict:
    from accessibility.routing import place_matrix
    from accessibility.routing.matrix import MatrixQuery, add_same_stretch

    rng = np.random.default_rng(SEED)
    out = {}
    for k in sizes:
        s = _random_places(g, k, rng)
        row: dict = {}
        ref = None
        if k <= dijkstra_max:
            reps = 3 if k <= 300 else 1
            ref = _record(row, "dijkstra", lambda: place_matrix(g, s, s), reps, pairs=k * k)
        for strat in ("ch", "phast"):
            def run(strat=strat):
                q = MatrixQuery(g, s.in_ptr, s.in_node, s.in_time_s, s.in_length_m, strategy=strat,
                                hierarchy=ch, cutoff=np.inf)
                t0 = time.perf_counter()
                t, m = q.rows(s.out_ptr, s.out_node, s.out_time_s, s.out_length_m)
                run.rows_s = time.perf_counter() - t0
                add_same_stretch(t, m, s, s, np.inf)
                return t
            reps = 5 if k <= 300 else (3 if k <= 3000 else 1)
            _record(row, strat, run, reps, ref, pairs=k * k)
            if strat in row and "median_s" in row[strat]:
                row[strat]["prepare_targets_s_last"] = row[strat]["times"][-1] - run.rows_s
        out[str(k)] = row
    return out


def case_one_to_all(g, ch) -> dict:
    from accessibility.routing import nearest_source
    from accessibility.routing.ch import phast_nearest_source

    rng = np.random.default_rng(SEED)
    res = {}
    for k in (1, 500):
        src = rng.choice(g.n_nodes, k, replace=False)
        ref, _ = nearest_source(g, src)
        row: dict = {}
        _record(row, "bucket_queue", lambda: nearest_source(g, src)[0], 7, ref, threads=1)
        _record(row, "phast", lambda: phast_nearest_source(g, ch, src), 7, ref, threads=1)
        res[f"from_{k}"] = row
    return res


_BIG_CHILD = r"""
import json, resource, sys, time
import numpy as np
sys.path.insert(0, sys.argv[2])
from bench_matrix import _random_places
from accessibility.network.graph import load_graph
from accessibility.routing.ch import load_ch
from accessibility.routing.matrix import MatrixQuery
a = json.loads(sys.argv[1])
g = load_graph(a["pbf"], cache_dir=a["cache"])
ch = load_ch(a["ch"], graph=g)
s = _random_places(g, a["k"], np.random.default_rng(a["seed"]))
def status(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
peak_setup = status("VmHWM")
rss0 = status("VmRSS")
try:  # reset the high-water mark: the peak below is the query's own
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    reset = True
except OSError:
    reset = False
t0 = time.perf_counter()
q = MatrixQuery(g, s.in_ptr, s.in_node, s.in_time_s, s.in_length_m, strategy=a["strategy"],
                hierarchy=ch, cutoff=np.inf)
t1 = time.perf_counter()
t, m = q.rows(s.out_ptr, s.out_node, s.out_time_s, s.out_length_m, metres=a["metres"])
t2 = time.perf_counter()
print(json.dumps({"k": a["k"], "strategy": a["strategy"], "metres": a["metres"],
                  "prepare_targets_s": t1 - t0, "rows_s": t2 - t1, "total_s": t2 - t0,
                  "pairs_per_s": a["k"] ** 2 / (t2 - t0), "reachable_share": float(np.isfinite(t).mean()),
                  "rss_mb_before_query": rss0, "peak_rss_mb_setup": peak_setup,
                  "peak_rss_mb_query": status("VmHWM") if reset else None,
                  "matrix_mb": t.nbytes / 2**20 + (m.nbytes / 2**20 if m is not None else 0)}))
"""


def case_big(pbf: Path, cache: Path, ch_dir: Path, k: int, strategy: str, metres: bool) -> dict:
    args = {"pbf": str(pbf), "cache": str(cache), "ch": str(ch_dir), "k": k, "seed": SEED,
            "strategy": strategy, "metres": metres}
    r = subprocess.run([sys.executable, "-c", _BIG_CHILD, json.dumps(args), str(Path(__file__).parent)],
                       capture_output=True, text=True)
    if r.returncode:
        log.warning("big run failed: %s", r.stderr[-2000:])
        return {"error": r.stderr[-500:]}
    out = json.loads(r.stdout.strip().splitlines()[-1])
    log.info("  %d x %d %s (metres %s): %.1f s, %.3g pairs/s, RSS %.0f MB before, peak %s MB during the query",
             k, k, strategy, metres, out["total_s"], out["pairs_per_s"], out["rss_mb_before_query"],
             out["peak_rss_mb_query"])
    return out


# ---------------------------------------------------------------------------------------------
# regions


def load(pbf, cache: Path, *, cold: bool) -> tuple[object, dict]:
    from accessibility.network.graph import load_graph

    info = {}
    if cold:
        t0 = time.perf_counter()
        load_graph(pbf, cache_dir=cache, rebuild=True)
        info["graph_build_cold_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    g = load_graph(pbf, cache_dir=cache)
    dt = time.perf_counter() - t0
    info["graph_from_cache_s" if g.report.from_cache else "graph_build_cold_s"] = dt
    return g, info


def prepare_ch(g, cache: Path, label: str) -> tuple[object, dict, Path]:
    from accessibility.routing.ch import build_ch, load_ch, save_ch

    t0 = time.perf_counter()
    ch = build_ch(g)
    info = {"ch_build_s": time.perf_counter() - t0, "n_core": ch.n_core, "n_arcs": ch.n_arcs,
            "n_shortcuts": ch.build["n_shortcuts"], "contract_s": ch.build["contract_s"]}
    d = cache / f"ch-{label}"
    t0 = time.perf_counter()
    save_ch(ch, d)
    info["ch_save_s"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    ch = load_ch(d, graph=g)
    info["ch_load_mmap_s"] = time.perf_counter() - t0
    log.info("  %s: hierarchy %s built in %.1f s (save %.2f s, load %.3f s)", label, ch,
             info["ch_build_s"], info["ch_save_s"], info["ch_load_mmap_s"])
    return ch, info, d


def region(label: str, args, cache: Path, results: dict) -> None:
    pbf, deps = REGIONS[label]
    if not pbf.exists() or not COMMUNES_CSV.exists():
        log.warning("no %s or %s: %s skipped", pbf, COMMUNES_CSV, label)
        return
    log.info("%s", label)
    g, info = load(pbf, cache, cold=args.cold)
    ch, chi, ch_dir = prepare_ch(g, cache, label)
    r: dict = {"nodes": g.n_nodes, "edges": g.n_edges, "prep": info | chi}
    lon, lat, s = _communes(g, deps)
    log.info("  %d communes, %d not snapped", len(s), int((~s.ok).sum()))
    r["communes"] = case_places(g, ch, s, quick=False, peers=not args.no_peers, label=label)
    if not args.no_osrm:
        prep = osrm_prepare(label, pbf, cache)
        if prep is not None:
            base, pinfo = prep
            q, tab = osrm_table(base, lon, lat, 5, cache / "osrm" / label)
            from accessibility.routing.matrix import travel_matrix

            ours, _ = travel_matrix(g, s, s, strategy="ch", hierarchy=ch)
            both = np.isfinite(ours) & np.isfinite(tab[0]) & (tab[0] > 0)
            ratio = ours[both] / tab[0][both]
            r["communes"]["engines"]["osrm"] = {
                "median_s": q["median_s"], "times": q["times"], "prep_s": pinfo["prep_s"],
                "prep": pinfo, "pairs_per_s": len(s) ** 2 / q["median_s"],
                "ratio_to_ch": q["median_s"] / r["communes"]["engines"]["ch"]["median_s"],
                "agreement_median_ratio_ours_to_osrm": float(np.median(ratio)),
                "agreement_p10_p90": [float(np.quantile(ratio, 0.1)), float(np.quantile(ratio, 0.9))],
                "pairs_compared": int(both.sum()),
            }
            log.info("  OSRM table %.3f s (prep %.0f s), ours/OSRM median ratio %.3f", q["median_s"],
                     pinfo["prep_s"], float(np.median(ratio)))
    if label == "paca" and not args.communes_only:
        sizes = [10, 30, 100, 300, 1000, 3000, 10000]
        r["sizes"] = case_sizes(g, ch, sizes=sizes, dijkstra_max=10000)
        r["one_to_all"] = case_one_to_all(g, ch)
        del g, ch
        r["big"] = {m: case_big(pbf, cache, ch_dir, 10000, "ch", m == "with_metres")
                    for m in ("seconds_only", "with_metres")}
    results["regions"][label] = r


def quick(cache: Path, results: dict) -> None:
    """The embedded graph: ch against one Dijkstra per source and scipy, in under a minute."""
    from accessibility.network.graph import load_graph
    from accessibility.routing.ch import build_ch

    g = load_graph(cache_dir=cache)
    t0 = time.perf_counter()
    ch = build_ch(g)
    prep = time.perf_counter() - t0
    s = _random_places(g, 300, np.random.default_rng(SEED))
    r = case_places(g, ch, s, quick=True, peers=False, label="embedded")
    r["ch_build_s"] = prep
    results["regions"]["embedded"] = {"nodes": g.n_nodes, "edges": g.n_edges, "places": r}


def check(results: dict) -> list[str]:
    """The ratios of ``thresholds.toml`` that the quick run falls below (empty: all hold)."""
    import tomllib

    limits = tomllib.loads((Path(__file__).parent / "thresholds.toml").read_text())["matrix"]
    e = results["regions"]["embedded"]["places"]["engines"]
    failed = []
    for key, peer in (("min_dijkstra_over_ch", "dijkstra"), ("min_scipy_over_ch", "scipy")):
        got = e.get(peer, {}).get("ratio_to_ch")
        ok = got is not None and got >= limits[key]
        print(f"{'ok  ' if ok else 'FAIL'} {peer} / ch = {got if got is None else round(got, 1)}"
              f" (threshold {limits[key]})")
        if not ok:
            failed.append(key)
    return failed


def table(results: dict) -> str:
    lines = []
    for label, r in results["regions"].items():
        lines.append(f"\n{label}: {r['nodes']:,} nodes, {r['edges']:,} edges"
                     + "".join(f"; {k} {v:.3g}" for k, v in r.get("prep", {}).items() if isinstance(v, float)))
        for case in ("places", "communes"):
            if case not in r:
                continue
            c = r[case]
            lines.append(f"{case} {c['n']} x {c['n']} ({c['unsnapped']} not snapped)")
            lines.append(f"{'engine':<20}{'threads':>8}{'median s':>11}{'/ ch':>9}{'pairs/s':>12}{'mismatch':>10}")
            for name, e in c["engines"].items():
                if "error" in e:
                    lines.append(f"{name:<20}{'':>8}{'failed':>11}")
                    continue
                mm = str(e["mismatches"]) if "mismatches" in e else "-"
                lines.append(f"{name:<20}{e.get('threads', '-'):>8}{e['median_s']:>11.4f}"
                             f"{e.get('ratio_to_ch', float('nan')):>9.2f}{e.get('pairs_per_s', 0):>12.3g}{mm:>10}")
        for k, row in r.get("sizes", {}).items():
            lines.append(f"sizes {k:>6}: " + ", ".join(
                f"{n} {e['median_s']:.4f} s" for n, e in row.items() if "median_s" in e))
        for k, row in r.get("one_to_all", {}).items():
            lines.append(f"one_to_all {k}: " + ", ".join(
                f"{n} {e['median_s']:.4f} s" for n, e in row.items() if "median_s" in e))
        for k, b in r.get("big", {}).items():
            if "total_s" in b:
                lines.append(f"big {b['k']} x {b['k']} {k}: {b['total_s']:.1f} s, {b['pairs_per_s']:.3g} pairs/s, "
                             f"RSS {b['rss_mb_before_query']:.0f} MB before, peak {b['peak_rss_mb_query']} MB in the query")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="embedded graph only, under a minute")
    ap.add_argument("--json", action="store_true", help="one JSON object on stdout (logs on stderr)")
    ap.add_argument("--only", choices=["embedded", "paca", "idf"])
    ap.add_argument("--no-peers", action="store_true", help="skip scipy, igraph and networkit (not in --quick)")
    ap.add_argument("--no-osrm", action="store_true", help="skip OSRM")
    ap.add_argument("--cold", action="store_true", help="time a cold graph build too")
    ap.add_argument("--communes-only", action="store_true",
                    help="PACA: skip the size sweep, one-to-all and the 10,000 x 10,000 run")
    ap.add_argument("--check", action="store_true",
                    help="with --quick: exit 1 when a ratio falls below benchmarks/thresholds.toml")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    cache = Path(os.environ.get("ACCESSIBILITY_CACHE_DIR") or REPO / "benchmarks" / ".cache")
    results = {"machine": machine_info(), "git_commit": git_commit(), "quick": args.quick,
               "unit": "seconds; ratio_to_ch = median / ch median", "regions": {}}
    if args.quick or args.only == "embedded":
        quick(cache, results)
    else:
        for label in ("paca", "idf"):
            if args.only in (None, label):
                region(label, args, cache, results)
    results["loadavg_at_end"] = os.getloadavg()[0]
    results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if args.json:
        json.dump(results, sys.stdout, indent=1, default=float)
        sys.stdout.write("\n")
    else:
        print(f"commit {results['git_commit']}; " + ", ".join(f"{k} {v}" for k, v in results["machine"].items()))
        print(table(results))
    if args.check and args.quick:
        return 1 if check(results) else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
