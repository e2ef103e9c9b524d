"""Where people and equipments really are (issue 13, item 4), on the hand-made valley of
tests/toy_zones.py, with files in the real formats (geolocated BPE in Lambert-93, the population
grid of a data directory) and answers known by hand.

Valley (seconds): A -60- B -120- C -300- D -30- I. Communes A..D (04001..04004) on their nodes.

* At location: the T1 equipment of commune A (X001) is really at B's place. Centre to centre,
  A is at 0 (it has X001); at location, A drives to B: 60 s. D's own T1 is at D: 0.
* Population: commune C (04003) has 100 inhabitants at C and 300 in a hamlet at D's place. For
  X002 (only A has it): 180 s from C's cell, 480 s from the hamlet: (100·180 + 300·480) / 400 =
  405 s, where the chef-lieu gives 180 s. For X003 (C has it, and K at I, 30 s from D):
  (100·0 + 300·30) / 400 = 22.5 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner
from pyproj import Transformer

from accessibility.analyses.zones import compute_access
from accessibility.inputs.datasets.readers import load_population_grid
from accessibility.inputs.services import load_bpe_points

from . import toy_zones as toy


def _lambert(lon, lat):
    return Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True).transform(lon, lat)


@pytest.fixture()
def bpe_points_file(tmp_path):
    """INSEE's geolocated BPE layout (``;``, Lambert-93, QUALITE_XY)."""
    rows = [("04001", "T1", *toy.NODES["B"]), ("04001", "T2B", *toy.NODES["A"]), ("04003", "T3", *toy.NODES["C"]),
            ("04004", "T1", *toy.NODES["D"]), ("06001", "T3", *toy.NODES["I"])]
    lines = ["DEPCOM;DCIRIS;TYPEQU;LAMBERT_X;LAMBERT_Y;QUALITE_XY"]
    for code, t, lon, lat in rows:
        x, y = _lambert(lon, lat)
        lines.append(f"{code};{code}0000;{t};{x:.1f};{y:.1f};Bonne")
    lines.append("04002;040020000;T9;;;Non géolocalisé")  # no coordinates: at its commune's centre
    p = tmp_path / "bpe_points.csv"
    p.write_text("\n".join(lines) + "\n")
    return p


@pytest.fixture()
def grid_file(tmp_path):
    p = tmp_path / "population_grid.csv"
    rows = ["idcar_200m,lon,lat,population,code",
            f"cellA,{toy.NODES['A'][0]},{toy.NODES['A'][1]},1000,04001",
            f"cellB,{toy.NODES['B'][0]},{toy.NODES['B'][1]},200,04002",
            f"cellC,{toy.NODES['C'][0]},{toy.NODES['C'][1]},100,04003",
            f"cellC-hamlet,{toy.NODES['D'][0]},{toy.NODES['D'][1]},300,04003",
            "cellEmpty,6.03,44.0,0,04004",  # no one lives there: ignored
            "cellFar,6.03,44.04,20,04004"]  # 4 km from any road: not placed, D keeps... its other cells
    p.write_text("\n".join(rows) + "\n")
    return p


def _run(**kw):
    return compute_access(toy.toy_graph(), toy.toy_communes(), toy.toy_bpe(), toy.toy_gammes(), departements="04",
                          tiers=["proximite"], methods=["mean", "pole"], thresholds_min=toy.THRESHOLDS, **kw)


def _eq_minutes(r, code, equipment):
    et = r.equipment_times
    return float(et[(et["code"] == code) & (et["equipment"] == equipment)]["minutes"].iloc[0])


def test_equipments_at_location(bpe_points_file):
    pts = load_bpe_points(bpe_points_file, code_changes={})
    assert np.isnan(pts["lon"]).sum() == 1
    r = _run(equipments="at-location", bpe_points=pts)
    assert _eq_minutes(r, "04001", "X001") == pytest.approx(1.0)  # A drives to B
    assert _eq_minutes(r, "04004", "X001") == 0.0
    assert _eq_minutes(r, "04002", "X001") == 0.0  # B is where A's equipment is
    assert _eq_minutes(r, "04003", "X001") == pytest.approx(2.0)  # C -> B, 120 s
    centre = _run()
    assert _eq_minutes(centre, "04001", "X001") == 0.0 and _eq_minutes(centre, "04003", "X001") == 3.0
    # pôles stay communes: the same under both modes
    pole = lambda res: res.access[res.access["method"] == "pole"].set_index("code")["minutes"]  # noqa: E731
    assert pole(r).equals(pole(centre))
    assert r.manifest.counts["equipment_points_at_commune_centre"] == 0  # T9 is in no gamme


def test_origins_population(grid_file):
    grid = load_population_grid(grid_file)
    r = _run(origins="population", population_grid=grid)
    assert _eq_minutes(r, "04003", "X002") == pytest.approx(405 / 60, abs=0.005)
    assert _eq_minutes(r, "04003", "X003") == pytest.approx(22.5 / 60, abs=0.0051)  # rounded to 2 decimals
    assert _eq_minutes(r, "04001", "X001") == 0.0  # its only cell is at its centre
    c = r.communes.set_index("code")
    assert c.loc["04003", "origin"] == "population"
    assert c.loc["04004", "origin"] == "centre (no cell placed)"  # its only inhabited cell is 4 km from a road
    assert r.manifest.counts["population_cells"] == 5 and r.manifest.counts["population_cells_placed"] == 4


def test_modes_need_their_files():
    from accessibility.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="needs the geolocated BPE"):
        _run(equipments="at-location")
    with pytest.raises(InvalidParameterError, match="needs the population grid"):
        _run(origins="population")
    with pytest.raises(InvalidParameterError, match="unknown origins mode 'hamlets'"):
        _run(origins="hamlets")


def test_cli_modes_on_the_embedded_data(tmp_path, cache_dir, grid_file):
    from accessibility.cli.main import cli

    r = CliRunner().invoke(cli, ["compute", "--origins", "population", "--out", str(tmp_path / "o"), "--no-maps"])
    assert r.exit_code == 2 and "needs a population grid file" in r.output
    # a grid whose cells are all in the valley: the Alpes communes keep their centres, flagged
    r = CliRunner().invoke(cli, ["compute", "--tier", "proximite", "--origins", "population", "--population-grid",
                                 str(grid_file), "--out", str(tmp_path / "o"), "--no-maps", "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    assert "no inhabited cell placed" in r.output
