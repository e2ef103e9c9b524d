"""The access axis of the digital-fragility index: normalisation by hand, the mapping tables
checked against the real files, a hand-made valley where every time is known, missing sources
(empty and reported, never 0), and ``access fragility`` end to end on the embedded data."""

from __future__ import annotations

import doctest
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from accessibility.analyses.fragility import index as fx
from accessibility.analyses.fragility import report as frep
from accessibility.analyses.fragility import sources as fsrc
from accessibility.analyses.fragility import tables as ft
from accessibility.analyses.fragility.index import combine, compute_fragility, normalise
from accessibility.cli.main import cli
from accessibility.errors import DataFormatError, InvalidParameterError, NoServiceError
from accessibility.settings import embedded_data_dir

from . import toy_zones as toy
from .conftest import shared_path

EMBEDDED = embedded_data_dir()
BPE_2019 = EMBEDDED / "bpe" / "bpe-2019-communes.csv.gz"
MEDIATION = EMBEDDED / "services" / "lieux-mediation-numerique-paca-2023-05-16.csv.gz"
CNFS = EMBEDDED / "services" / "cnfs-lieux-mediation-numerique-france-2023-01-17.csv.gz"
TIME_VARS = [v.name for v in ft.VARIABLES if v.is_time]


@pytest.fixture(autouse=True)
def _private_table_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCESSIBILITY_CACHE_DIR", str(tmp_path / "cache"))


def test_doctests_of_the_package():
    for mod in (ft, fx):
        assert doctest.testmod(mod).failed == 0


# ---- normalisation by hand ------------------------------------------------------------------


@pytest.mark.parametrize("values, minmax, rank", [
    ([0.0, 5.0, 10.0], [0.0, 0.5, 1.0], [0.0, 0.5, 1.0]),
    ([10.0, 30.0, 20.0, 20.0], [0.0, 1.0, 0.5, 0.5], [0.0, 1.0, 1 / 3, 1 / 3]),
    ([0.0, 0.0, 5.0, 20.0], [0.0, 0.0, 0.25, 1.0], [0.0, 0.0, 2 / 3, 1.0]),
    ([3.0, 3.0, 3.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]),          # nobody more fragile than anybody
    ([7.0], [0.0], [0.0]),
    ([np.nan, 2.0, 4.0], [np.nan, 0.0, 1.0], [np.nan, 0.0, 1.0]),  # no value stays no value
    ([np.nan, np.nan], [np.nan, np.nan], [np.nan, np.nan]),
    ([5.0, 1.0, 9.0, 3.0, 7.0], [0.5, 0.0, 1.0, 0.25, 0.75], [0.5, 0.0, 1.0, 0.25, 0.75]),
])
def test_normalise_hand_cases(values, minmax, rank):
    np.testing.assert_allclose(normalise(values, method="minmax"), minmax, equal_nan=True)
    np.testing.assert_allclose(normalise(values, method="rank"), rank, equal_nan=True)


@given(st.lists(st.one_of(st.floats(0, 1e4), st.just(float("nan"))), min_size=1, max_size=40),
       st.sampled_from(["minmax", "rank"]))
@settings(max_examples=150, deadline=None)
def test_normalise_properties(values, method):
    x = np.array(values)
    y = normalise(x, method=method)
    ok = ~np.isnan(x)
    assert np.array_equal(np.isnan(y), ~ok)  # no value in, no value out; never a 0 for it
    if not ok.any():
        return
    v, w = x[ok], y[ok]
    assert ((w >= 0) & (w <= 1)).all()
    assert (w[v == v.min()] == 0).all()  # the least fragile scores 0
    if v.max() > v.min():
        assert method == "rank" or (w[v == v.max()] == 1).all()
    i, j = np.meshgrid(np.arange(len(v)), np.arange(len(v)))
    assert (w[i][v[i] < v[j]] <= w[j][v[i] < v[j]]).all()  # order kept
    assert (w[i][v[i] == v[j]] == w[j][v[i] == v[j]]).all()  # ties equal


def test_normalise_refuses_infinity_and_unknown_methods():
    with pytest.raises(InvalidParameterError, match="infinite"):
        normalise([1.0, np.inf])
    with pytest.raises(InvalidParameterError, match="unknown normalisation 'zscore'"):
        normalise([1.0], method="zscore")


def test_combine_is_the_unweighted_mean_and_empty_when_a_value_is_missing():
    c = np.array([[0.0, 1.0, 0.5], [0.2, np.nan, 0.4], [1.0, 1.0, 1.0]])
    np.testing.assert_allclose(combine(c), [0.5, np.nan, 1.0], equal_nan=True)
    assert np.isnan(combine(np.zeros((2, 0)))).all()


# ---- the mapping tables against the real files --------------------------------------------


@pytest.fixture(scope="module")
def bpe2019_types() -> pd.Series:
    b = pd.read_csv(BPE_2019, dtype={"DEPCOM": str, "TYPEQU": str})
    return b.groupby("TYPEQU")["NB_EQUIP"].sum()


def test_every_bpe_code_of_the_tables_is_in_bpe_2019(bpe2019_types):
    codes = [c for v in ft.VARIABLES for c in v.codes]
    missing = [c for c in codes if bpe2019_types.get(c, 0) <= 0]
    assert missing == [], f"codes of the tables with no equipment in BPE 2019: {missing}"
    assert len(codes) == len(set(codes)), "a BPE code is used by two variables"


def test_every_type_of_the_index_families_is_used_or_excluded_with_a_reason(bpe2019_types):
    used = {c for v in ft.VARIABLES for c in v.codes}
    assert not used & set(ft.BPE_EXCLUDED), "a code both used and excluded"
    family = [t for t in bpe2019_types.index if t.startswith(ft.BPE_FAMILIES)]
    unclassified = sorted(set(family) - used - set(ft.BPE_EXCLUDED))
    assert unclassified == [], f"BPE 2019 types of A1/D1/D2 neither used nor excluded: {unclassified}"
    # the public-service list is the whole A1 domain (only the MSAP, replaced by France services, aside)
    a1 = {t for t in family if t.startswith("A1")}
    assert a1 - used == {"A127"}
    assert set(ft.SPECIALIST_TYPES) == {t for t in family if "D202" <= t <= "D214"}


def test_bpe_2019_counts_agree_with_the_nomenclature(bpe2019_types):
    # one CDAD per département, about 140 maisons de justice et du droit, ~1,350 MSAP (2019)
    assert 95 <= bpe2019_types["A126"] <= 110
    assert 120 <= bpe2019_types["A124"] <= 170
    assert 1200 <= bpe2019_types["A127"] <= 1500


def test_shared_bpe_2019_is_the_embedded_one():
    from accessibility._io import sha256_file

    assert sha256_file(shared_path("bpe", "bpe-2019-communes.csv.gz")) == sha256_file(BPE_2019)


@pytest.mark.parametrize("path", [MEDIATION, CNFS], ids=["mediation-paca", "cnfs"])
def test_every_wording_of_the_real_files_is_in_the_table(path):
    m = fsrc.load_mediation(path)
    assert m.attrs["unmatched"] == {}, f"wordings not in the table: {m.attrs['unmatched']}"
    assert set(m.attrs["wordings"]) <= set(ft.WORDINGS)
    if path == CNFS:  # conseillers numériques: skills only
        assert m["skills"].all() and not m["procedures"].any()
    else:
        assert m["procedures"].sum() > 150 and m["skills"].sum() > 400


def test_the_table_has_the_fifteen_wordings_of_the_standard():
    assert len(ft.WORDINGS) == 15
    assert {k for k, v in ft.WORDINGS.items() if v == ft.PROCEDURES} == {
        "Devenir autonome dans les démarches administratives",
        "Réaliser des démarches administratives avec un accompagnement",
        "Accompagner les démarches de santé"}


def test_classify_services_reports_unmatched_wordings():
    k = ft.classify_services(["Prendre en main un ordinateur;Accéder à du matériel",
                              "S’équiper en matériel informatique",  # curly apostrophe
                              "réaliser des démarches administratives avec un accompagnement ; Inventé",
                              None, ""])
    assert k.skills.tolist() == [True, False, False, False, False]
    assert k.procedures.tolist() == [False, False, True, False, False]
    assert k.unmatched == {"Inventé": 1}


# ---- a hand-made valley --------------------------------------------------------------------
#
# The toy valley of tests/toy_zones.py: A (04001) -60 s- B (04002) -120 s- C (04003) -300 s- D (04004)
# -30 s- I, where K (06001, a neighbour that serves) sits. A has every BPE type of the tables, D an
# emergency service, K a GP and a gendarmerie. Places of digital mediation at A (both kinds) and C
# (skills); France services at A and D. By hand, seconds from A, B, C, D:

HAND_S = {
    "emergency": (0, 60, 180, 0),
    "gp": (0, 60, 180, 30),
    "gendarmerie": (0, 60, 180, 30),
    "specialist": (0, 60, 180, 480),
    "police": (0, 60, 180, 480),
    "france_services": (0, 60, 180, 0),
    "digital_skills": (0, 60, 0, 300),
    "online_procedures": (0, 60, 180, 0),
}
PLACED = ["04001", "04002", "04003", "04004"]


def _toy_bpe() -> pd.DataFrame:
    rows = [("04001", c, 1.0) for v in ft.VARIABLES for c in v.codes]
    rows += [("04004", "D106", 1.0), ("06001", "D201", 2.0), ("06001", "A104", 1.0), ("04002", "A101", 0.0)]
    return pd.DataFrame(rows, columns=["code", "typequ", "nb_equip"])


def _toy_mediation() -> pd.DataFrame:
    return pd.DataFrame({"id": ["a", "c"], "name": ["Médiathèque", "Tiers-lieu"], "network": ["", ""],
                         "lon": [6.00, 6.02], "lat": [44.0, 44.0], "skills": [True, True],
                         "procedures": [True, False]})


def _toy_fs() -> pd.DataFrame:
    return pd.DataFrame({"id": ["1", "2"], "name": ["FS Amont", "FS Digue"], "format": ["Fixe", "Fixe"],
                         "lon": [6.00, 6.03], "lat": [44.0, 44.0]})


def _run(**kw):
    args = dict(mediation=[_toy_mediation()], france_services=_toy_fs(), departements="04")
    args.update(kw)
    bpe = args.pop("bpe", _toy_bpe())
    return compute_fragility(toy.toy_graph(), toy.toy_communes(), bpe, **args)


@pytest.fixture(scope="module")
def toy_result():
    return _run()


def test_times_by_hand(toy_result):
    t = toy_result.table.set_index("code")
    for name, secs in HAND_S.items():
        np.testing.assert_allclose(t.loc[PLACED, f"minutes_{name}"], np.array(secs) / 60.0, atol=1e-6, err_msg=name)
    assert t.loc["04004", "nearest_gp"] == "06001"  # the neighbour serves
    assert t.loc["04003", "nearest_digital_skills"] == "mediation:c"
    assert t.loc["04004", "nearest_france_services"] == "france_services:2"


def test_normalised_variables_and_sub_indices_by_hand(toy_result):
    t = toy_result.table.set_index("code").loc[PLACED]
    np.testing.assert_allclose(t["norm_emergency"], [0, 1 / 3, 1, 0], atol=1e-4)
    np.testing.assert_allclose(t["norm_specialist"], [0, 1 / 8, 3 / 8, 1], atol=1e-4)
    health = (np.array([0, 1 / 3, 1, 0]) + np.array([0, 1 / 3, 1, 1 / 6]) + np.array([0, 1 / 8, 3 / 8, 1])) / 3
    np.testing.assert_allclose(t["index_health"], health, atol=1e-4)
    digital = (np.array([0, 0.2, 0, 1]) + np.array([0, 1 / 3, 1, 0])) / 2
    np.testing.assert_allclose(t["index_digital_help"], digital, atol=1e-4)
    dim = t[["index_health", "index_public_services", "index_digital_help"]].mean(axis=1)
    np.testing.assert_allclose(t["dimension"], dim, atol=2e-4)
    assert t["rank"].tolist() == list(pd.Series(-t["dimension"]).rank(method="first").astype(int))


@pytest.mark.parametrize("normalisation", ["minmax", "rank"])
def test_a_commune_having_every_service_scores_zero(normalisation):
    r = _run(normalisation=normalisation)
    a = r.table.set_index("code").loc["04001"]
    for v in TIME_VARS:
        assert a[f"minutes_{v}"] == 0 and a[f"norm_{v}"] == 0, v
    assert a["index_health"] == a["index_public_services"] == a["index_digital_help"] == a["dimension"] == 0
    assert a["rank"] == 4  # the least fragile of the four placed communes


def test_rank_normalisation_by_hand():
    t = _run(normalisation="rank").table.set_index("code").loc[PLACED]
    np.testing.assert_allclose(t["norm_emergency"], [0, 2 / 3, 1, 0], atol=1e-4)
    np.testing.assert_allclose(t["norm_gp"], [0, 2 / 3, 1, 1 / 3], atol=1e-4)  # 0 < 30 < 60 < 180 s


def test_unplaced_communes_have_no_value_never_zero(toy_result):
    t = toy_result.table.set_index("code")
    for code in ("04005", "04006", "04007"):
        row = t.loc[code]
        assert not row["placed"] and row["reason"]
        assert row[[c for c in t.columns if c.startswith(("minutes_", "norm_", "index_"))]].isna().all()
        assert pd.isna(row["dimension"]) and pd.isna(row["rank"])
    assert set(toy_result.unplaced["code"]) == {"04005", "04006", "04007"}


# ---- missing sources: empty and reported, never 0 -------------------------------------------


def test_no_mediation_file_empties_digital_skills_and_says_so():
    r = _run(mediation=[])
    v = r.variables.set_index("variable")
    assert not v.loc["digital_skills", "available"]
    assert v.loc["digital_skills", "reason"] == "no file of places of digital mediation"
    assert v.loc["online_procedures", "available"] and v.loc["online_procedures", "sources"] == "france_services"
    t = r.table.set_index("code").loc[PLACED]
    assert t["minutes_digital_skills"].isna().all() and t["norm_digital_skills"].isna().all()
    np.testing.assert_allclose(t["index_digital_help"], t["norm_online_procedures"], atol=1e-4)
    assert all("digital_skills" not in s for s in t["variables_available"])
    assert any("digital_skills" in w and "no file of places" in w for w in r.manifest.warnings)


def test_no_bpe_empties_health_and_public_services_but_france_services():
    r = _run(bpe=None)
    v = r.variables.set_index("variable")
    bpe_vars = [x.name for x in ft.VARIABLES if x.source == "bpe"]
    assert not v.loc[bpe_vars, "available"].any() and set(v.loc[bpe_vars, "reason"]) == {"no BPE file"}
    s = r.sub_indices.set_index("sub_index")
    assert not s.loc["health", "available"] and s.loc["health", "reason"] == "no BPE file"
    assert s.loc["public_services", "variables"] == "france_services"
    t = r.table.set_index("code").loc[PLACED]
    assert t["index_health"].isna().all() and t[[f"minutes_{x}" for x in bpe_vars]].isna().all().all()
    np.testing.assert_allclose(t["dimension"], t[["index_public_services", "index_digital_help"]].mean(axis=1), atol=2e-4)
    assert r.available_sub_indices == ["public_services", "digital_help"]


def test_a_bpe_type_absent_from_the_file_is_reported():
    bpe = _toy_bpe()
    r = _run(bpe=bpe[~bpe["typequ"].isin(["A105", "A122"])])
    assert r.report["bpe_codes_absent"] == {"court_of_appeal": ["A105"], "pole_emploi": ["A122"]}
    v = r.variables.set_index("variable")
    assert v.loc["court_of_appeal", "reason"] == "BPE type(s) A105 absent from the BPE file"
    assert v.loc["pole_emploi", "available"]  # measured with A115 and A123


def test_a_service_no_commune_of_the_extract_has_is_empty():
    bpe = _toy_bpe()
    bpe.loc[bpe["typequ"] == "A105", "code"] = "75056"  # a cour d'appel in Paris, outside the valley
    v = _run(bpe=bpe).variables.set_index("variable")
    assert not v.loc["court_of_appeal", "available"]
    assert v.loc["court_of_appeal", "reason"] == "no commune of the road extract has it"


def test_nothing_measurable_is_an_error_never_a_zero():
    with pytest.raises(NoServiceError, match="no variable of the index can be measured"):
        _run(bpe=None, mediation=[], france_services=None)


def test_sites_outside_the_extract_are_counted_not_placed():
    far = _toy_mediation()
    far.loc[1, ["lon", "lat"]] = [2.35, 48.85]  # Paris
    r = _run(mediation=[far])
    assert r.report["sites"]["mediation"] == {"read": 2, "placed": 1, "not_placed": {"outside the road extract": 1}}
    assert "mediation:c" not in set(r.sites["id"])


# ---- the census shares (--extra) ------------------------------------------------------------


def _extra_file(tmp_path, text):
    p = tmp_path / "extra.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_extra_variables_make_the_isolation_sub_index(tmp_path):
    p = _extra_file(tmp_path, "code;plus_75_seuls;menages_sans_voiture\n04001;0,10;0.05\n04002;0.30;0.25\n"
                              "04003;0.20;0.15\n04004;0.50;0.45\n99999;0.1;0.1\n")
    ex = fsrc.load_extra(p, communes=toy.toy_communes())
    assert ex.attrs["variables"] == ["over75_alone", "no_car"] and ex.attrs["unknown_codes"] == ["99999"]
    r = _run(extra=ex)
    t = r.table.set_index("code").loc[PLACED]
    np.testing.assert_allclose(t["norm_over75_alone"], [0, 0.5, 0.25, 1], atol=1e-4)
    np.testing.assert_allclose(t["index_isolation"], [0, 0.5, 0.25, 1], atol=1e-4)
    assert r.available_sub_indices == list(ft.SUB_INDICES) and r.parameters["with_extra"]
    subs = t[[f"index_{s}" for s in ft.SUB_INDICES]].mean(axis=1)
    np.testing.assert_allclose(t["dimension"], subs, atol=2e-4)
    assert r.report["extra_codes_unknown"] == ["99999"]


def test_a_commune_missing_from_extra_has_no_dimension_and_is_reported(tmp_path):
    p = _extra_file(tmp_path, "code,no_car\n04001,0.1\n04002,\n04003,0.2\n")
    r = _run(extra=fsrc.load_extra(p))
    t = r.table.set_index("code")
    assert pd.isna(t.loc["04002", "dimension"]) and pd.isna(t.loc["04004", "dimension"])
    assert t.loc["04001", "dimension"] == 0
    assert r.report["extra_missing"] == {"no_car": 5}  # 04002 (empty cell), 04004 and the three unplaced
    v = r.variables.set_index("variable")
    assert not v.loc["over75_alone", "available"] and v.loc["over75_alone", "reason"] == "not in the --extra file"


# ---- bad files: one line naming the file, line and column ---------------------------------

MEDIATION_CASES = {
    "no-services-column": ("id,latitude,longitude\na,44,6\n", "has no 'services' column"),
    "text-latitude": ("id,latitude,longitude,services\na,north,6,x\n", "line 2, column 'latitude' holds 'north'"),
    "lat-without-lon": ("id,latitude,longitude,services\na,44.1,,x\n", "line 2: lon=nan, lat=44.1 are not WGS84 degrees .or one is missing."),
    "lambert": ("id,latitude,longitude,services\na,6337918,959021,x\n", "are not WGS84 degrees"),
    "duplicate-id": ("id,latitude,longitude,services\na,44,6,x\na,44,6,x\n", "line 3: id 'a' .id. appears more than once"),
    "header-only": ("id,latitude,longitude,services\n", "has a header but no data row"),
}


@pytest.mark.parametrize("case", MEDIATION_CASES, ids=list(MEDIATION_CASES))
def test_mediation_file_family(tmp_path, case):
    text, message = MEDIATION_CASES[case]
    p = tmp_path / "med.csv"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(DataFormatError, match=message) as e:
        fsrc.load_mediation(p)
    assert "\n" not in str(e.value) and "med.csv" in str(e.value)


EXTRA_CASES = {
    "no-variable": ("code,pop\n04001,3\n", "has none of the columns"),
    "negative": ("code,no_car\n04001,-0.1\n", "line 2, column 'no_car' holds '-0.1', below the minimum 0"),
    "text": ("code,no_car\n04001,beaucoup\n", "holds 'beaucoup', not a finite number"),
    "bad-code": ("code,no_car\nParis,0.1\n", "'Paris' is not a commune code"),
    "duplicate": ("code,no_car\n04001,0.1\n4001,0.2\n", "line 3: code 04001 appears more than once"),
}


@pytest.mark.parametrize("case", EXTRA_CASES, ids=list(EXTRA_CASES))
def test_extra_file_family(tmp_path, case):
    text, message = EXTRA_CASES[case]
    p = _extra_file(tmp_path, text)
    with pytest.raises(DataFormatError, match=message) as e:
        fsrc.load_extra(p)
    assert "\n" not in str(e.value) and "extra.csv" in str(e.value)


def test_france_services_file_needs_coordinates(tmp_path):
    p = tmp_path / "fs.csv"
    p.write_text("id_fs,lib_fs\n1,x\n", encoding="utf-8")
    with pytest.raises(DataFormatError, match="has no coordinates"):
        fsrc.load_france_services(p)


# ---- outputs and the command ----------------------------------------------------------------


def test_outputs_and_run_json_list_what_is_empty_and_unmatched(tmp_path):
    med = _toy_mediation()
    med.attrs["unmatched"] = {"Service inventé": 1}
    r = _run(mediation=[med])
    files = frep.write_outputs(r, tmp_path / "out")
    names = sorted(p.name for p in files)
    assert names == sorted(["fragility.csv", "variables.csv", "sites.csv", "unplaced_communes.csv", "fragility.gpkg",
                            "map_health.png", "map_public_services.png", "map_digital_help.png", "map_dimension.png",
                            "run.json"])
    meta = json.loads((tmp_path / "out" / "run.json").read_text())
    assert meta["command"] == "fragility" and meta["unmatched_wordings"] == {"mediation": {"Service inventé": 1}}
    v = {x["variable"]: x for x in meta["variables"]}
    assert v["over75_alone"]["available"] is False and v["over75_alone"]["reason"] == "no --extra file"
    assert {s["sub_index"]: s["available"] for s in meta["sub_indices"]}["isolation"] is False
    assert any("Service inventé" in w for w in meta["warnings"])
    back = pd.read_csv(tmp_path / "out" / "fragility.csv", dtype={"code": str})
    assert back.loc[back["code"] == "04005", "dimension"].isna().all()  # empty cell, not 0
    text = frep.format_summary(r)
    assert "without the census shares" in text and "Amont" in text


def _invoke(*args, cache_dir=None):
    extra = ["--cache-dir", str(cache_dir)] if cache_dir else []
    return CliRunner().invoke(cli, ["fragility", *args, *extra], catch_exceptions=False)


def test_cli_bad_options_fail_fast(tmp_path):
    r = _invoke("--normalise", "zscore", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "'minmax', 'rank'" in r.output
    r = _invoke("--departement", "04/05", "--out", str(tmp_path / "o"))
    assert r.exit_code == 2 and "not a département code" in r.output
    bad = _extra_file(tmp_path, "code,no_car\n04001,-1\n")
    r = _invoke("--extra", str(bad), "--out", str(tmp_path / "o"))
    assert r.exit_code == 1 and r.output.startswith("Error: extra variables file") and len(r.output.splitlines()) == 1
    r = _invoke("--mediation", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "o"))
    assert r.exit_code == 1 and "does not exist" in r.output


def test_cli_on_the_embedded_data(tmp_path, cache_dir):
    """The default run: embedded BPE 2019, PACA mediation and conseillers numériques places,
    France services; 04 and 05."""
    extra = _extra_file(tmp_path, "code,no_car\n" + "".join(f"04{i:03d},{i % 7 / 10}\n" for i in range(1, 260)))
    out = tmp_path / "out"
    r = _invoke("--out", str(out), "--extra", str(extra), "--normalise", "rank", "--top", "5", cache_dir=cache_dir)
    assert r.exit_code == 0, r.output
    assert "The 5 most fragile communes:" in r.output and "with the census shares" in r.output
    meta = json.loads((out / "run.json").read_text())
    roles = {i["role"]: i for i in meta["inputs"]}
    assert roles["bpe"]["vintage"] == "BPE 2019" and roles["mediation"]["embedded"] and "cnfs" in roles
    assert meta["counts"]["communes_placed"] == 360 and meta["unmatched_wordings"] == {"mediation": {}, "cnfs": {}}
    assert meta["bpe_codes_absent"] == {}
    v = {x["variable"]: x for x in meta["variables"]}
    # the only cour d'appel of PACA is in Aix, outside the embedded extract: empty and reported
    assert v["court_of_appeal"]["available"] is False and "no commune of the road extract" in v["court_of_appeal"]["reason"]
    assert v["no_car"]["available"] and not v["over75_alone"]["available"]
    assert meta["extra_missing"] == {"no_car": 162}  # 05 is not in the file
    t = pd.read_csv(out / "fragility.csv", dtype={"code": str, "departement": str})
    assert len(t) == 360 and t.loc[t["departement"] == "05", "dimension"].isna().all()
    d4 = t[t["departement"] == "04"]
    assert d4["dimension"].between(0, 1).all() and d4["dimension"].notna().all()
    for png in ("map_health.png", "map_public_services.png", "map_digital_help.png", "map_isolation.png",
                "map_dimension.png"):
        assert (out / png).stat().st_size > 20_000


@pytest.mark.slow
@pytest.mark.shared
def test_paca_run(cache_dir):
    """The six PACA départements from ../shared/data (see docs/fragility.md)."""
    from accessibility.inputs.communes import load_code_changes, load_communes
    from accessibility.inputs.services import load_bpe
    from accessibility.network.graph import load_graph

    graph = load_graph(shared_path("osm", "paca-roads-2021.osm.pbf"), cache_dir=cache_dir)
    communes = load_communes(shared_path("communes", "communes-2023.csv"))
    bpe = load_bpe(shared_path("bpe", "bpe-2019-communes.csv.gz"),
                   code_changes=load_code_changes(shared_path("communes", "commune-code-changes.csv")))
    med = [fsrc.load_mediation(shared_path("services", "lieux-mediation-numerique-paca-2023-05-16.csv")),
           fsrc.load_mediation(shared_path("services", "cnfs-lieux-mediation-numerique-france-2023-01-17.csv.gz"))]
    fs = fsrc.load_france_services(shared_path("services", "france-services-2024-08-01.csv"))
    r = compute_fragility(graph, communes, bpe, mediation=med, mediation_labels=["mediation", "cnfs"],
                          france_services=fs, departements="04,05,06,13,83,84")
    t = r.table
    assert len(t) == 946 and t["placed"].sum() == 927
    assert t["dimension"].notna().sum() == 927 and t["dimension"].dropna().between(0, 1).all()
    # the shared road file lacks the inner roads of Aix, the only cour d'appel of PACA
    assert "13001" in set(r.unplaced["code"])
    assert r.report["unmatched_wordings"] == {"mediation": {}, "cnfs": {}}
