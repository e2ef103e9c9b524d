"""``access compute`` through click's CliRunner: bad input paths, a user's own files for another
département, and an end-to-end run on the embedded Alpes du Sud data."""

from __future__ import annotations

import json

import pandas as pd
import pyogrio
import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli

from . import toy_zones as toy
from .conftest import write_pbf


def _invoke(*args, cache_dir=None):
    extra = ["--cache-dir", str(cache_dir)] if cache_dir else []
    return CliRunner().invoke(cli, ["compute", *args, *extra], catch_exceptions=False)


# ---- bad input ------------------------------------------------------------------------------


def test_unknown_tier_lists_valid_ones(tmp_path):
    r = _invoke("--tier", "proxi", "--out", str(tmp_path))
    assert r.exit_code == 2
    assert "'proxi' is not one of 'proximite', 'intermediaire', 'superieure', 'all'" in r.output


def test_unknown_method(tmp_path):
    r = _invoke("--method", "median", "--out", str(tmp_path))
    assert r.exit_code == 2 and "'mean', 'pole', 'both'" in r.output


@pytest.mark.parametrize(
    "value, message",
    [("a,b,c", "is not 3 numbers of minutes P,I,S"), ("10,20", "has 2 value(s); give 3"),
     ("10,20,30,40", "has 4 value(s)"), ("10,-1,30", "must be positive"), ("10,inf,30", "must be positive")],
)
def test_bad_thresholds(tmp_path, value, message):
    r = _invoke("--thresholds", value, "--out", str(tmp_path))
    assert r.exit_code == 2 and "--thresholds" in r.output and message in r.output


def test_bad_pole_share(tmp_path):
    r = _invoke("--pole-share", "0", "--out", str(tmp_path))
    assert r.exit_code == 2 and "--pole-share" in r.output


def test_bad_departement_code(tmp_path):
    r = _invoke("--departement", "04/05", "--out", str(tmp_path))
    assert r.exit_code == 2 and "not a département code" in r.output


def test_bpe_without_needed_columns(tmp_path):
    bpe = tmp_path / "bpe.csv"
    bpe.write_text("DEPCOM,TYPE,NB\n04070,A101,1\n")
    r = _invoke("--bpe", str(bpe), "--out", str(tmp_path / "out"))
    assert r.exit_code == 1
    assert "lacks the column(s) TYPEQU, NB_EQUIP" in r.output and "Traceback" not in r.output
    assert not (tmp_path / "out").exists()


def test_missing_input_file(tmp_path):
    r = _invoke("--gammes", str(tmp_path / "nope.csv"), "--out", str(tmp_path))
    assert r.exit_code == 1 and "does not exist" in r.output


def test_departement_not_in_table(tmp_path, cache_dir):
    r = _invoke("--departement", "99", "--out", str(tmp_path), cache_dir=cache_dir)
    assert r.exit_code == 1 and "no commune of département(s) 99 in the commune table" in r.output


def test_departement_outside_extract(tmp_path, cache_dir):
    r = _invoke("--departement", "62", "--out", str(tmp_path), cache_dir=cache_dir)
    assert r.exit_code == 1
    assert "none of the 887 communes of département(s) 62 can be placed" in r.output
    assert "887 outside the road extract" in r.output and "--osm" in r.output


# ---- a user's own files, another département ------------------------------------------------


@pytest.fixture(scope="module")
def user_files(tmp_path_factory):
    """The toy valley as a user would bring it: an OSM extract and CSV files, département 62."""
    d = tmp_path_factory.mktemp("user")
    ids = {n: i + 1 for i, n in enumerate(toy.NODES)}
    nodes = {ids[n]: xy for n, xy in toy.NODES.items()}
    ways = [(k + 1, [ids[a], ids[b]], {"highway": "primary"}) for k, (a, b, _) in enumerate(toy.ROADS)]
    write_pbf(d / "valley.osm.pbf", nodes, ways)
    c = toy.toy_communes()
    c["code"] = c["code"].str.replace("04", "62", n=1)
    c["departement"] = c["departement"].replace("04", "62")
    c.to_csv(d / "communes.csv", sep=";", index=False)
    b = toy.toy_bpe()
    b["code"] = b["code"].str.replace("04", "62", n=1)
    b.rename(columns={"code": "DEPCOM", "typequ": "TYPEQU", "nb_equip": "NB_EQUIP"}).to_csv(d / "bpe.csv", index=False)
    g = toy.toy_gammes()
    pd.DataFrame({"code_equipement": g["equipment"], "regroupement_1": [t[0] for t in g["typequ"]],
                  "regroupement_2": [t[1] if len(t) > 1 else "" for t in g["typequ"]],
                  "gamme": "proximité", "libellé équipement": g["label"]}).to_csv(d / "gammes.csv", index=False)
    return d


def test_user_files_other_departement(user_files, tmp_path):
    d = user_files
    out = tmp_path / "out"
    r = _invoke(
        "--osm", str(d / "valley.osm.pbf"), "--communes", str(d / "communes.csv"), "--bpe", str(d / "bpe.csv"),
        "--gammes", str(d / "gammes.csv"), "--departement", "62", "--tier", "proximite", "--method", "both",
        "--thresholds", "2,20,30", "--out", str(out), cache_dir=tmp_path / "cache",
    )
    assert r.exit_code == 0, r.output
    a = pd.read_csv(out / "access_times.csv", dtype={"code": str, "nearest_pole": str})
    placed = a[a["placed"]]
    assert set(placed["code"]) == {"62001", "62002", "62003", "62004"}
    pole = placed[placed["method"] == "pole"].set_index("code")
    assert pole.loc["62001", "minutes"] == 0 and (pole["nearest_pole"] == "62001").all()
    # same ordering as by hand (times now come from road speeds, not the hand-set seconds)
    assert pole["minutes"].is_monotonic_increasing
    u = pd.read_csv(out / "unplaced_communes.csv", dtype={"code": str})
    assert set(u["code"]) == {"62005", "62006", "62007"}
    # no polygon for these communes: centres layer in the GeoPackage, and the maps still drawn
    layers = {name for name, _ in pyogrio.list_layers(out / "zones_grises.gpkg")}
    assert layers == {"centres", "poles"}
    assert {p.name for p in out.glob("map_*.png")} == {"map_proximite_mean.png", "map_proximite_pole.png"}
    assert "62" in r.output


# ---- end to end on the embedded data --------------------------------------------------------


@pytest.fixture(scope="module")
def embedded_run(tmp_path_factory, cache_dir):
    out = tmp_path_factory.mktemp("run") / "access-output"
    r = _invoke("--tier", "all", "--method", "both", "--out", str(out), cache_dir=cache_dir)
    assert r.exit_code == 0, r.output
    return out, r.output


@pytest.mark.slow
def test_embedded_outputs(embedded_run):
    out, text = embedded_run
    names = {p.name for p in out.iterdir()}
    assert names == {
        "access_times.csv", "equipment_times.csv", "summary.csv", "unplaced_communes.csv", "poles.csv",
        "zones_grises.gpkg", "run.json", *(f"map_{t}_{m}.png" for t in toy.THRESHOLDS for m in ("mean", "pole")),
    }
    a = pd.read_csv(out / "access_times.csv", dtype={"code": str, "departement": str, "nearest_pole": str})
    assert {"code", "nom", "departement", "population", "tier", "method", "minutes", "threshold_min",
            "zone_grise", "nearest_pole"} <= set(a.columns)
    assert len(a) == 360 * 3 * 2
    assert (a["zone_grise"] == (a["minutes"] > a["threshold_min"])).all()
    s = pd.read_csv(out / "summary.csv", dtype={"departement": str})
    assert len(s) == 2 * 3 * 2
    assert s["communes"].sum() == len(a) and s["population"].sum() == a["population"].sum()
    assert s["communes_zone_grise"].sum() == a["zone_grise"].sum()
    assert "share_population_zone_grise" in s
    et = pd.read_csv(out / "equipment_times.csv", dtype={"code": str, "nearest": str})
    assert len(et) == 360 * 107
    mat = et[et["equipment"] == "D106"]  # urgences: "how far is the nearest one"
    assert len(mat) == 360 and mat["minutes"].notna().all()
    g = pyogrio.read_dataframe(out / "zones_grises.gpkg", layer="communes")
    assert len(g) == 360 and "minutes_superieure_pole" in g and "zone_grise_proximite_mean" in g
    meta = json.loads((out / "run.json").read_text())
    assert {e["equipment"] for e in meta["absent_equipments"]} == {"F307", "F312", "F315"}
    assert "F307" in text and "superieure" in text and "files written" in text
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


@pytest.mark.slow
def test_embedded_prefectures(embedded_run):
    out, _ = embedded_run
    a = pd.read_csv(out / "access_times.csv", dtype={"code": str, "nearest_pole": str})
    sup = a[(a["tier"] == "superieure") & (a["method"] == "pole")].set_index("code")
    for code in ("04070", "05061"):
        assert sup.loc[code, "minutes"] == 0 and sup.loc[code, "nearest_pole"] == code and sup.loc[code, "pole"]
