"""Warm-run benchmark of ``access compute --tier all`` on the embedded data, split per stage.

Two measurements, same machine, same caches:

* **in process**: the command runs through click's ``CliRunner`` in this process, several times
  after a warm-up (numba kernels loaded, graph and parsed tables cached); the stage times come
  from each run's ``run.json`` (``read``, ``graph``, ``place``, ``route``, ``tables``, ``write``,
  ``maps``);
* **command line**: ``access compute --tier all`` as a fresh process (Python start, imports,
  numba's first-call set-up included), wall-clock time.

Usage::

    python benchmarks/bench_compute.py [--quick] [--json] [--repeat N]

Timings never fail the run (CI gates on ratios: ``benchmarks/gate.py``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_routing import git_commit, machine_info  # noqa: E402

STAGES = ("read", "graph", "place", "route", "tables", "write", "maps")


def in_process(out: Path, repeat: int, extra: list[str]) -> list[dict]:
    from click.testing import CliRunner

    from accessibility.cli.main import cli

    runs = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        r = CliRunner().invoke(cli, ["compute", "--tier", "all", "--out", str(out), *extra])
        wall = time.perf_counter() - t0
        if r.exit_code != 0:
            raise SystemExit(f"access compute failed: {r.output}")
        if i == 0:
            continue  # warm-up
        sec = json.loads((out / "run.json").read_text())["seconds"]
        runs.append({**{s: sec.get(s, 0.0) for s in STAGES}, "total": sec["total"], "wall": wall})
    return runs


def command_line(out: Path, repeat: int, extra: list[str]) -> list[float]:
    exe = Path(sys.executable).with_name("access")
    cmd = [str(exe) if exe.exists() else sys.executable, *([] if exe.exists() else ["-m", "accessibility.cli.main"]),
           "compute", "--tier", "all", "--out", str(out), *extra]
    walls = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        walls.append(time.perf_counter() - t0)
    return walls


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 5)
    result = {"machine": machine_info(), "commit": git_commit(), "repeat": repeat}
    with tempfile.TemporaryDirectory() as d:
        for label, extra in (("with maps", []), ("no maps", ["--no-maps"])):
            runs = in_process(Path(d) / "out", repeat, extra)
            med = {k: round(statistics.median(r[k] for r in runs), 3) for k in (*STAGES, "total", "wall")}
            walls = command_line(Path(d) / "out", repeat, extra)
            result[label] = {"in_process_median_s": med, "command_line_wall_s": [round(w, 2) for w in walls],
                             "command_line_median_s": round(statistics.median(walls), 2)}
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    m = result["machine"]
    print(f"access compute --tier all, embedded data, warm caches — {m['nproc']} CPUs {m['cpu']}, commit {result['commit']}")
    print(f"{'':12}" + "".join(f"{s:>8}" for s in (*STAGES, "total")) + f"{'CLI wall':>10}")
    for label in ("with maps", "no maps"):
        med = result[label]["in_process_median_s"]
        print(f"{label:12}" + "".join(f"{med[s]:8.3f}" for s in (*STAGES, "total"))
              + f"{result[label]['command_line_median_s']:10.2f}")
    print("(seconds; stages: median of the in-process runs; CLI wall: a fresh process, imports included)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
