"""A run's outputs are one unit: fault injection on every output file, SIGTERM at random points of a
real run (subprocess), output directory rules, and the cleaning of what killed runs left."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from accessibility import _io
from accessibility.analyses import zones_report as report
from accessibility._io import OutputDir, check_out_dir
from accessibility.analyses.zones import compute_access
from accessibility.errors import InputFileError, InvalidParameterError

from . import toy_zones as toy

OUTPUTS = ["access_times.csv", "equipment_times.csv", "summary.csv", "unplaced_communes.csv", "poles.csv",
           "zones_grises.gpkg", "map_proximite_mean.png", "map_proximite_pole.png", "run.json"]


@pytest.fixture(scope="module")
def result():
    return compute_access(toy.toy_graph(), toy.toy_communes(), toy.toy_bpe(), toy.toy_gammes(),
                          departements="04", tiers=["proximite"], methods=["mean", "pole"], thresholds_min=toy.THRESHOLDS)


def _snapshot(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())} if d.exists() else {}


def _is_complete_run(d: Path) -> bool:
    """The directory holds exactly the files its run.json lists, with their sha256."""
    from accessibility._io import sha256_file

    meta = json.loads((d / "run.json").read_text())
    listed = {o["file"]: o["sha256"] for o in meta["outputs"]}
    present = {p.name for p in d.iterdir()} - {"run.json"}
    return set(listed) == present and all(sha256_file(d / f) == h for f, h in listed.items())


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}."))


def _disk_full_at(monkeypatch, victim: str) -> None:
    """Make writing the output ``victim`` fail as on a full disk (``run.json`` is written by commit)."""
    real_path, real_commit = OutputDir.path, OutputDir.commit

    def failing_path(self, name):
        if name == victim:
            raise OSError(errno.ENOSPC, "No space left on device", name)
        return real_path(self, name)

    def failing_commit(self, manifest):
        if victim == "run.json":
            raise OSError(errno.ENOSPC, "No space left on device", "run.json")
        return real_commit(self, manifest)

    monkeypatch.setattr(OutputDir, "path", failing_path)
    monkeypatch.setattr(OutputDir, "commit", failing_commit)


def test_a_run_writes_exactly_its_files(result, tmp_path):
    files = report.write_outputs(result, tmp_path / "out")
    assert sorted(p.name for p in files) == sorted(OUTPUTS) and _is_complete_run(tmp_path / "out")
    meta = json.loads((tmp_path / "out" / "run.json").read_text())
    assert sorted(o["file"] for o in meta["outputs"]) == sorted(OUTPUTS[:-1])
    assert all(len(o["sha256"]) == 64 for o in meta["outputs"])
    assert meta["command"] == "compute" and meta["seconds"]["write"] >= 0
    assert _leftovers(tmp_path, "out") == []


@pytest.mark.parametrize("first_run", [True, False], ids=["first-run", "over-previous-run"])
@pytest.mark.parametrize("victim", OUTPUTS)
def test_any_output_failing_leaves_the_previous_run(result, tmp_path, monkeypatch, victim, first_run):
    out = tmp_path / "out"
    if not first_run:
        report.write_outputs(result, out, maps=False)  # a previous complete run, other files
    before = _snapshot(out)
    _disk_full_at(monkeypatch, victim)
    with pytest.raises(InputFileError, match="No space left on device"):
        report.write_outputs(result, out)
    assert _snapshot(out) == before  # exactly the previous run (or nothing)
    assert _leftovers(tmp_path, "out") == []


FRAGILITY_OUTPUTS = ["fragility.csv", "variables.csv", "sites.csv", "unplaced_communes.csv", "fragility.gpkg",
                     "map_health.png", "map_public_services.png", "map_digital_help.png", "map_dimension.png",
                     "run.json"]


@pytest.fixture(scope="module")
def fragility_result():
    from .test_fragility import _run

    return _run()


@pytest.mark.parametrize("victim", FRAGILITY_OUTPUTS)
def test_any_fragility_output_failing_leaves_the_previous_run(fragility_result, tmp_path, monkeypatch, victim):
    from accessibility.analyses.fragility import report as frep

    out = tmp_path / "out"
    frep.write_outputs(fragility_result, out, maps=False)  # a previous complete run, fewer files
    before = _snapshot(out)
    _disk_full_at(monkeypatch, victim)
    with pytest.raises(InputFileError, match="No space left on device"):
        frep.write_outputs(fragility_result, out)
    assert _snapshot(out) == before and _leftovers(tmp_path, "out") == []


def test_a_crash_while_drawing_leaves_the_previous_run(result, tmp_path, monkeypatch):
    out = tmp_path / "out"
    report.write_outputs(result, out, maps=False)
    before = _snapshot(out)
    monkeypatch.setattr(report, "plot_map", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("boom")))
    with pytest.raises(RuntimeError, match="boom"):
        report.write_outputs(result, out)
    assert _snapshot(out) == before and _leftovers(tmp_path, "out") == []


def test_maps_of_an_earlier_run_do_not_survive(result, tmp_path):
    out = tmp_path / "out"
    report.write_outputs(result, out)
    assert (out / "map_proximite_pole.png").exists()
    report.write_outputs(result, out, maps=False)
    assert not list(out.glob("map_*.png"))


def test_swap_without_renameat2(result, tmp_path, monkeypatch):
    """Where the atomic exchange is missing, two renames are used."""
    monkeypatch.setattr(_io, "_exchange", lambda a, b: False)
    out = tmp_path / "out"
    report.write_outputs(result, out, maps=False)
    report.write_outputs(result, out, maps=False)
    assert (out / "run.json").exists() and _leftovers(tmp_path, "out") == []


def test_a_swap_cut_in_half_is_recovered(tmp_path):
    """A run killed between the two renames left the previous run as .out.old-PID-…: restored."""
    prev = tmp_path / ".out.old-999999999-abcd1234"
    prev.mkdir()
    (prev / "run.json").write_text(json.dumps({"command": "compute"}))
    (tmp_path / ".out.partial-999999999-abcd1234").mkdir()
    with OutputDir(tmp_path / "out"):
        pass  # entering cleans; nothing committed
    assert (tmp_path / "out" / "run.json").exists()
    assert _leftovers(tmp_path, "out") == []


@pytest.mark.parametrize(
    "setup, message",
    [
        (lambda d: None, "is empty"),
        (lambda d: (d / "f").write_text("x"), "is a file"),
        (lambda d: ((d / "f").mkdir(), (d / "f" / "notes.txt").write_text("mine")), "holds other files"),
        (lambda d: ((d / "f").mkdir(), (d / "f" / "run.json").write_text("not json")), "holds other files"),
    ],
    ids=["empty-name", "a-file", "foreign-directory", "broken-run-json"],
)
def test_out_dir_refused(tmp_path, setup, message):
    setup(tmp_path)
    target = "" if message == "is empty" else tmp_path / "f"
    with pytest.raises(InvalidParameterError, match=message):
        check_out_dir(target)


def test_out_dir_accepted(tmp_path):
    assert check_out_dir(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    (tmp_path / "empty").mkdir()
    assert check_out_dir(tmp_path / "empty") == tmp_path / "empty"


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_out_dir_unwritable(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir(mode=0o500)
    with pytest.raises(InvalidParameterError, match="permission denied"):
        check_out_dir(ro / "out")


# ---- SIGTERM at random points of a real run -------------------------------------------------


def _run_cli(args, env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "accessibility.cli.main", *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(4))
def test_sigterm_at_a_random_point(tmp_path, cache_dir, seed):
    import random

    env = {**os.environ, "ACCESSIBILITY_CACHE_DIR": str(cache_dir)}
    out = tmp_path / "out"
    args = ["compute", "--tier", "proximite", "--out", str(out)]
    cache = cache_dir
    if seed == 3:  # an empty graph cache: the signal falls during the graph build
        cache = tmp_path / "cold-cache"
        env["ACCESSIBILITY_CACHE_DIR"] = str(cache)
    else:
        first = _run_cli(args, env)
        assert first.wait(timeout=300) == 0, first.stderr.read()
    before = _snapshot(out)
    p = _run_cli(args, env)
    time.sleep(random.Random(seed).uniform(0.3, 2.5 if seed != 3 else 4.0))
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=120)
    err = p.stderr.read()
    assert "Traceback" not in err
    # rc 130: interrupted; 0: finished first; -15: killed before the handler was installed or
    # during interpreter teardown (Python restores the default handler at exit); -2: the
    # interrupt reached Python's top level, which then dies of SIGINT (a shell shows 130 too)
    assert rc in (0, 130, -signal.SIGTERM, -signal.SIGINT), err
    after = _snapshot(out)
    if after != before:  # then it must be a whole new run, and said so if interrupted after it
        assert _is_complete_run(out), sorted(after)
        assert rc in (0, -signal.SIGTERM, -signal.SIGINT) or "is complete" in err, err
    assert _leftovers(tmp_path, "out") == []
    if cache.exists():
        assert [p.name for p in cache.iterdir() if p.name.startswith(".")] == []


# ---- isochrones: the same promise ------------------------------------------------------------

ISO_OUTPUTS = ["travel_time.tif", "isochrones.gpkg", "isochrones.csv", "sites.csv", "map.png", "run.json"]


@pytest.fixture(scope="module")
def iso_result():
    from accessibility.isochrones import compute_isochrones, points_places

    g = toy.toy_graph()
    return compute_isochrones(g, points_places(g, [(6.01, 44.0, "B")]), minutes=(2, 4), resolution_m=100)


def test_an_isochrone_run_writes_exactly_its_files(iso_result, tmp_path):
    from accessibility.isochrones import write_outputs

    files = write_outputs(iso_result, tmp_path / "out")
    assert sorted(p.name for p in files) == sorted(ISO_OUTPUTS) and _is_complete_run(tmp_path / "out")
    assert _leftovers(tmp_path, "out") == []


@pytest.mark.parametrize("first_run", [True, False], ids=["first-run", "over-previous-run"])
@pytest.mark.parametrize("victim", ISO_OUTPUTS)
def test_any_isochrone_output_failing_leaves_the_previous_run(iso_result, tmp_path, monkeypatch, victim, first_run):
    from accessibility.isochrones import write_outputs

    out = tmp_path / "out"
    if not first_run:
        write_outputs(iso_result, out, maps=False)
    before = _snapshot(out)
    _disk_full_at(monkeypatch, victim)
    with pytest.raises(InputFileError, match="No space left on device"):
        write_outputs(iso_result, out)
    assert _snapshot(out) == before
    assert _leftovers(tmp_path, "out") == []
