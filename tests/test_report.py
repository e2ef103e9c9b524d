"""Outputs: GeoPackage layers, maps, printed summary; a failed run leaves the previous files and
no temporary file (the fault-injection and SIGTERM families are in test_outputs.py)."""

from __future__ import annotations

import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from accessibility.analyses import zones_report as report
from accessibility._io import OutputDir
from accessibility.analyses.zones import compute_access
from accessibility.analyses.zones_report import format_summary, write_outputs

from . import toy_zones as toy


@pytest.fixture(scope="module")
def result():
    return compute_access(toy.toy_graph(), toy.toy_communes(), toy.toy_bpe(), toy.toy_gammes(),
                          departements="04", tiers=["proximite"], methods=["mean", "pole"], thresholds_min=toy.THRESHOLDS)


@pytest.fixture(scope="module")
def polygons():
    import geopandas as gpd

    rows = [(code, box(lon - 0.005, lat - 0.004, lon + 0.005, lat + 0.004))
            for code, lon, lat in [("04001", 6.0, 44.0), ("04002", 6.01, 44.0), ("04003", 6.02, 44.0), ("06001", 6.04, 44.0)]]
    return gpd.GeoDataFrame({"code": [r[0] for r in rows]}, geometry=[r[1] for r in rows], crs="EPSG:4326")


def test_write_outputs(result, polygons, tmp_path):
    files = write_outputs(result, tmp_path, polygons=polygons)
    assert {p.name for p in files} == {p.name for p in tmp_path.iterdir()}
    assert files[-1].name == "run.json"
    layers = dict(pyogrio.list_layers(tmp_path / "zones_grises.gpkg"))
    assert set(layers) == {"communes", "centres", "poles"}  # 04004..04007 have no polygon
    g = pyogrio.read_dataframe(tmp_path / "zones_grises.gpkg", layer="communes")
    assert sorted(g["code"]) == ["04001", "04002", "04003"]
    assert g.set_index("code")["minutes_proximite_pole"].to_dict() == {"04001": 0.0, "04002": 1.0, "04003": 3.0}
    assert g.set_index("code")["nearest_pole_proximite"].eq("04001").all()
    c = pyogrio.read_dataframe(tmp_path / "zones_grises.gpkg", layer="centres")
    assert sorted(c["code"]) == ["04004", "04005", "04006", "04007"]
    a = pd.read_csv(tmp_path / "access_times.csv", dtype={"code": str})
    assert a.loc[a["code"] == "04005", "minutes"].isna().all()
    assert a.loc[a["code"] == "04005", "zone_grise"].isna().all()  # empty, neither served nor grey


def test_failed_run_leaves_previous_outputs(result, polygons, tmp_path, monkeypatch):
    write_outputs(result, tmp_path, polygons=polygons, maps=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(report, "plot_map", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        write_outputs(result, tmp_path, polygons=polygons)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before  # nothing replaced, no temporary file left


def test_output_dir_commits_together(tmp_path):
    with OutputDir(tmp_path / "new") as out:
        out.path("a.csv").write_text("a\n")
        out.path("b.csv").write_text("b\n")
        assert not (tmp_path / "new").exists()
        out.commit({"command": "test"})
    assert (tmp_path / "new" / "a.csv").read_text() == "a\n" and (tmp_path / "new" / "b.csv").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["new"]


def test_map_is_a_png(result, polygons, tmp_path):
    p = report.plot_map(result, "proximite", "pole", tmp_path / "m.png", polygons=polygons)
    data = p.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300_000


def test_format_summary(result):
    text = format_summary(result.summary)
    lines = text.splitlines()
    assert lines[0].split()[:3] == ["dép", "method", "tier"] and len(lines) == 2 + 2
    assert "1,550" in text and "3.2" in text
