"""Every output file of ``access compute --tier all --method both`` on the embedded data is the one
the code wrote before the restructuring of issue 18: the same bytes for the CSV tables and PNG
maps, the same content for each layer of the GeoPackage (its bytes hold its write time).
``run.json`` holds timings and is checked by its own tests.

The fingerprints in ``tests/data/golden/compute-all-both-outputs.json`` were made by commit
``bf7ed10`` (the last one before the restructuring) with ``scripts/output_fingerprints.py``; the
README beside them says how to remake them when a change of outputs is intended.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli

ROOT = Path(__file__).resolve().parents[1]
EXPECTED = ROOT / "tests" / "data" / "golden" / "compute-all-both-outputs.json"


def _fingerprints(directory: Path) -> dict:
    spec = importlib.util.spec_from_file_location("output_fingerprints", ROOT / "scripts" / "output_fingerprints.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.fingerprints(directory)


@pytest.mark.slow
def test_compute_outputs_are_those_of_the_code_before(tmp_path, embedded_graph, cache_dir):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["-q", "compute", "--tier", "all", "--method", "both", "--cache-dir", str(cache_dir),
                                    "--out", str(out)])
    assert res.exit_code == 0, res.output
    expected = json.loads(EXPECTED.read_text())
    got = _fingerprints(out)
    assert sorted(got) == sorted(expected)
    differ = [name for name in expected if got[name] != expected[name]]
    assert not differ, f"outputs that changed: {differ}"
