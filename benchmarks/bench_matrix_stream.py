"""``access matrix`` end to end, streamed to Parquet: rate and peak memory as the pairs grow.

Each case runs ``access matrix`` as a fresh process (so its peak RSS is its own, read from
``getrusage(RUSAGE_CHILDREN)`` after it exits) between random points placed on a road graph of
``../shared/data`` (graph and hierarchy cached beforehand; their preparation is not timed here):

* ``idf``: the Île-de-France commune matrix (1,267 × 1,267), then random points at 4× and 16×
  the pairs — memory must stay flat (parts of ``--chunk-pairs`` pairs);
* ``paca-10k``: 10,000 × 10,000 random points on the PACA graph (100 M pairs).

Usage::

    python benchmarks/bench_matrix_stream.py [--only idf|paca-10k] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_routing import SHARED, git_commit, machine_info  # noqa: E402

CACHE = REPO / "benchmarks" / ".cache"
IDF = ("75", "77", "78", "91", "92", "93", "94", "95")


def _points(graph, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    k = rng.choice(graph.n_nodes, n, replace=False)
    return pd.DataFrame({"id": [f"p{i}" for i in range(n)], "name": "", "lon": graph.x[k], "lat": graph.y[k]})


def _run(args: list[str]) -> dict:
    """Run the command; wall time and the peak RSS of that process alone (``wait4``)."""
    t0 = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        p = subprocess.Popen([sys.executable, "-m", "accessibility.cli.main", *args], stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t0
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if p.returncode != 0:
        return {"error": stderr.strip().splitlines()[-1] if stderr.strip() else f"exit {p.returncode}"}
    return {"wall_s": round(wall, 2), "peak_rss_mb": round(usage.ru_maxrss / 1024), "output": stdout.strip().splitlines()[-1]}


def case(label: str, pbf: Path, sizes: list[tuple[str, int | None]], *, departements=None, chunk: int) -> dict:
    from accessibility.network.graph import load_graph

    g = load_graph(pbf, cache_dir=CACHE)
    from accessibility.routing.ch import hierarchy

    hierarchy(g)  # cached beside the graph: the runs below only load it
    out = {"nodes": g.n_nodes, "runs": {}}
    with tempfile.TemporaryDirectory() as d:
        for name, n in sizes:
            args = ["matrix", "--osm", str(pbf), "--cache-dir", str(CACHE), "--chunk-pairs", str(chunk)]
            if n is None:
                args += ["--departement", ",".join(departements)]
                pairs = None
            else:
                f = Path(d) / f"{name}.csv"
                _points(g, n, seed=n).to_csv(f, index=False)
                args += ["--from", str(f), "--to", str(f)]
                pairs = n * n
            target = Path(d) / f"{name}.parquet"
            r = _run([*args, "--out", str(target)])
            if "error" not in r:
                meta = json.loads((target / "_run.json").read_text())
                pairs = meta["counts"]["pairs"]
                r.update({"pairs": pairs, "route_s": meta["seconds"].get("route"), "write_s": meta["seconds"].get("write"),
                          "pairs_per_s_end_to_end": round(pairs / r["wall_s"]),
                          "dataset_mb": round(sum(f.stat().st_size for f in target.iterdir()) / 2**20, 1)})
            out["runs"][name] = r
            print(f"{label} {name}: {r}", file=sys.stderr)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", choices=["idf", "paca-10k"])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--chunk-pairs", type=int, default=2_000_000)
    args = ap.parse_args(argv)
    res = {"machine": machine_info(), "commit": git_commit(), "chunk_pairs": args.chunk_pairs, "cases": {}}
    idf, paca = SHARED / "osm" / "idf-roads-2021.osm.pbf", SHARED / "osm" / "paca-roads-2021.osm.pbf"
    if args.only in (None, "idf") and idf.exists():
        res["cases"]["idf"] = case("idf", idf, [("communes 1x", None), ("points 4x", 2534), ("points 16x", 5068)],
                                   departements=IDF, chunk=args.chunk_pairs)
    if args.only in (None, "paca-10k") and paca.exists():
        res["cases"]["paca-10k"] = case("paca", paca, [("points 10k x 10k", 10_000)], chunk=args.chunk_pairs)
    print(json.dumps(res, indent=1) if args.json else "\n".join(
        f"{c} {n}: {r}" for c, v in res["cases"].items() for n, r in v["runs"].items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
