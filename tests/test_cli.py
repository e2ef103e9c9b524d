"""``access graph build`` and ``access route`` through click's CliRunner, bad input included."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli

from .conftest import write_pbf


@pytest.fixture
def run(cache_dir):
    runner = CliRunner()

    def _run(*args):
        return runner.invoke(cli, [*args], env={"ACCESSIBILITY_CACHE_DIR": str(cache_dir)})

    return _run


def test_help_lists_commands(run):
    r = run("--help")
    assert r.exit_code == 0
    for cmd in ("graph", "route", "compute"):
        assert cmd in r.output


def test_graph_build_summary(run, embedded_graph):
    r = run("graph", "build")
    assert r.exit_code == 0, r.output
    for word in ("nodes", "edges", "km", "largest component", "ratio"):
        assert word in r.output
    r = run("graph", "build", "--json")
    d = json.loads(r.stdout)
    assert d["nodes"] == embedded_graph.n_nodes and d["from_cache"] is True
    assert 0.9 < d["largest_component_share_nodes"] <= 1.0
    assert 0 < d["contraction_ratio"] < 1


def test_route_json(run, embedded_graph):
    # Digne-les-Bains -> Gap: about 1 h 15 and 87 km by the N85 / D4085
    r = run("route", "--from", "6.2356,44.0925", "--to", "6.0790,44.5596", "--json")
    assert r.exit_code == 0, r.output
    d = json.loads(r.stdout)
    assert 60 < d["minutes"] < 90
    assert 80 < d["km"] < 95
    r = run("route", "--from", "6.2356,44.0925", "--to", "6.0790,44.5596")
    assert r.output.strip().endswith("km")


def _one_line_error(r):
    assert r.exit_code != 0
    assert "Traceback" not in r.output
    err = [line for line in r.output.splitlines() if line.startswith("Error")]
    assert len(err) == 1
    return err[0]


def test_missing_file(run, tmp_path):
    assert "not found" in _one_line_error(run("graph", "build", "--osm", str(tmp_path / "x.osm.pbf")))


def test_not_a_pbf(run, tmp_path):
    p = tmp_path / "roads.osm.pbf"
    p.write_text("hello")
    assert "not an OSM PBF" in _one_line_error(run("graph", "build", "--osm", str(p)))


def test_truncated_pbf(run, tmp_path):
    from accessibility.network.graph import default_osm_path

    p = tmp_path / "cut.osm.pbf"
    p.write_bytes(default_osm_path().read_bytes()[:200_000])
    assert "truncated or corrupt" in _one_line_error(run("graph", "build", "--osm", str(p)))


def test_no_drivable_road(run, tmp_path):
    p = write_pbf(tmp_path / "f.osm.pbf", {1: (6.0, 44.0), 2: (6.001, 44.0)}, [(1, [1, 2], {"highway": "footway"})])
    assert "no drivable road" in _one_line_error(run("graph", "build", "--osm", str(p)))


def test_point_outside_network(run, embedded_graph):
    msg = _one_line_error(run("route", "--from", "2.35,48.85", "--to", "6.0790,44.5596"))
    assert "from the nearest road" in msg


@pytest.mark.parametrize("bad", ["6.2", "6.2,44,1", "abc,44", "6.2;44.0", "200,44"])
def test_malformed_coordinates(run, bad):
    msg = _one_line_error(run("route", "--from", bad, "--to", "6.0790,44.5596"))
    assert "--from" in msg


def test_no_work_at_import():
    """``import accessibility`` and the CLI group load neither numba nor pandas."""
    import subprocess
    import sys

    code = (
        "import sys, accessibility, accessibility.cli.main; "
        "print(any(m in sys.modules for m in ('numba', 'pandas', 'osmium')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
