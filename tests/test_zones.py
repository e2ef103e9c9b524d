"""Zones grises: the numpy core and compute_access, on a hand-made valley (tests/toy_zones.py)
where every time is known by hand, and on the embedded Alpes du Sud data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from accessibility.analyses.zones import (
    NO_CENTRE,
    OUTSIDE,
    TOO_FAR,
    compute_access,
    mean_minutes,
    nearest_equipment_times,
    parse_departements,
    summarize,
    zone_grise,
)
from accessibility.engine.places import Places
from accessibility.errors import InvalidParameterError, NoCommuneError
from accessibility.routing import snap_points
from accessibility.routing.snap import subset_snapped

from . import toy_zones as toy


@pytest.fixture(scope="module")
def graph():
    return toy.toy_graph()


def _run(graph, **kw):
    kw.setdefault("departements", ["04"])
    kw.setdefault("tiers", ["proximite"])
    kw.setdefault("methods", ["mean", "pole"])
    kw.setdefault("thresholds_min", toy.THRESHOLDS)
    return compute_access(graph, toy.toy_communes(), toy.toy_bpe(), toy.toy_gammes(), **kw)


@pytest.fixture(scope="module", params=["search", "matrix"])
def result(request, graph):
    return _run(graph, strategy=request.param)


# ---- numpy core -----------------------------------------------------------------------------


def test_subset_snapped_equals_snapping_the_subset(graph):
    lon = np.array([6.0, 6.011, 6.02, 6.031, 6.04])
    lat = np.full(5, 44.0003)
    s = snap_points(graph, lon, lat)
    idx = [3, 0, 4]
    a, b = subset_snapped(s, idx), snap_points(graph, lon[idx], lat[idx])
    for f in ("ok", "distance_m", "out_ptr", "out_node", "out_time_s", "in_ptr", "in_node", "in_time_s"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f), err_msg=f)


@pytest.mark.parametrize("strategy", ["search", "matrix", "auto"])
def test_core_times_by_hand(graph, strategy):
    names = ["A", "B", "C", "D"]
    lon = [toy.NODES[n][0] for n in names]
    lat = [toy.NODES[n][1] for n in names]
    places = Places.from_arrays(graph, names, lon, lat)
    present = np.array([[1, 1, 0], [0, 0, 0], [0, 0, 1], [1, 0, 0]], bool)
    t, near, used = nearest_equipment_times(graph, places, places, present, strategy=strategy)
    assert used in ("search", "matrix")
    np.testing.assert_allclose(t, [[0, 0, 180], [60, 60, 120], [180, 180, 0], [0, 480, 300]])
    np.testing.assert_array_equal(near, [[0, 0, 2], [0, 0, 2], [0, 0, 2], [3, 0, 2]])
    np.testing.assert_allclose(mean_minutes(t), [1.0, 80 / 60, 2.0, 780 / 180])


def test_own_commune_is_zero_even_off_the_road(graph):
    """Centre to centre: a commune having the equipment is at 0, not at twice its access leg."""
    s = Places.from_arrays(graph, ["a"], [6.0], [44.0009])  # 100 m north of A
    assert s.placed[0] and s.snapped.access_s[0] > 20
    t, near, _ = nearest_equipment_times(graph, s, s, np.array([[True]]))
    assert t[0, 0] == 0.0 and near[0, 0] == 0
    # another place 30 m away on the same road vertex: the straight line between them, not two legs
    o = Places.from_arrays(graph, ["b"], [6.0], [44.00117])
    t, _, _ = nearest_equipment_times(graph, o, s, np.array([[True]]))
    assert o.snapped.vertex[0] == s.snapped.vertex[0]
    assert t[0, 0] == pytest.approx(30.02 / (15 / 3.6), rel=1e-3)
    assert t[0, 0] < o.snapped.access_s[0] + s.snapped.access_s[0]


def test_no_place_has_the_equipment_is_inf(graph):
    s = Places.from_arrays(graph, ["a", "b"], [6.0, 6.01], [44.0, 44.0])
    t, near, _ = nearest_equipment_times(graph, s, s, np.zeros((2, 1), bool))
    assert np.isinf(t).all() and (near == -1).all()


def test_core_rejects_bad_shapes_and_strategy(graph):
    s = Places.from_arrays(graph, ["a"], [6.0], [44.0])
    with pytest.raises(InvalidParameterError, match="must be accessibility Places"):
        nearest_equipment_times(graph, snap_points(graph, [6.0], [44.0]), s, np.zeros((1, 1), bool))
    with pytest.raises(InvalidParameterError, match="present must have shape"):
        nearest_equipment_times(graph, s, s, np.zeros((2, 1), bool))
    with pytest.raises(InvalidParameterError, match="valid: auto, search, matrix"):
        nearest_equipment_times(graph, s, s, np.zeros((1, 1), bool), strategy="fast")


def test_zone_grise_is_strictly_above_and_ignores_unplaced():
    np.testing.assert_array_equal(zone_grise([1.0, 2.0, 2.01, np.nan, np.inf], 2.0), [False, False, True, False, False])


def test_parse_departements():
    assert parse_departements("4, 05,2a") == ("04", "05", "2A")
    assert parse_departements(["04", "04", "974"]) == ("04", "974")
    with pytest.raises(InvalidParameterError, match="not a département code"):
        parse_departements("04/05")
    with pytest.raises(InvalidParameterError, match="no département"):
        parse_departements(" , ")


# ---- table level, by hand -------------------------------------------------------------------


def _minutes(result, method):
    a = result.access[(result.access["method"] == method) & result.access["placed"]]
    return dict(zip(a["code"], a["minutes"]))


def test_mean_by_hand(result):
    got = _minutes(result, "mean")
    assert got == pytest.approx({k: round(v, 2) for k, v in toy.EXPECTED_MEAN_MIN.items()})


def test_pole_by_hand(result):
    got = _minutes(result, "pole")
    assert got == pytest.approx(toy.EXPECTED_POLE_MIN)
    a = result.access[(result.access["method"] == "pole") & result.access["placed"]]
    assert set(a["nearest_pole"]) == {"04001"}
    assert a.set_index("code")["pole"].to_dict() == {"04001": True, "04002": False, "04003": False, "04004": False}
    assert result.poles["code"].tolist() == ["04001"]


def test_equipment_times_by_hand(result):
    et = result.equipment_times.dropna(subset=["minutes"])
    for code, secs in toy.EXPECTED_S.items():
        got = et[et["code"] == code].set_index("equipment")["minutes"]
        assert got.tolist() == pytest.approx([s / 60 for s in secs], abs=0.005)
    # D's nearest X003 is K, in the neighbouring département: services anywhere in the extract count
    row = et[(et["code"] == "04004") & (et["equipment"] == "X003")]
    assert row["nearest"].item() == "06001"


def test_zones_grises_by_hand(result):
    a = result.access
    zg = a[a["zone_grise"].fillna(False).astype(bool)]
    assert set(zg[zg["method"] == "mean"]["code"]) == {"04004"}
    assert set(zg[zg["method"] == "pole"]["code"]) == {"04003", "04004"}


def test_unplaced_are_listed_and_never_counted(result):
    u = result.unplaced.set_index("code")["reason"].to_dict()
    assert u == {"04005": NO_CENTRE, "04006": OUTSIDE, "04007": TOO_FAR}
    a = result.access[result.access["code"].isin(u)]
    assert a["minutes"].isna().all() and a["zone_grise"].isna().all() and not a["placed"].any()
    assert "06001" not in set(result.access["code"])  # a neighbour serves, is not analysed
    s = result.summary.set_index("method")
    assert s.loc["mean", "communes"] == 4 and s.loc["mean", "communes_zone_grise"] == 1
    assert s.loc["mean", "population"] == 1550 and s.loc["mean", "population_zone_grise"] == 50
    assert s.loc["mean", "share_population_zone_grise"] == pytest.approx(100 * 50 / 1550, abs=0.01)
    assert s.loc["pole", "population_zone_grise"] == 350
    assert s.loc["pole", "communes_unplaced"] == 3 and s.loc["pole", "population_unplaced"] == 22


def test_pole_share_option(graph):
    # share 1/3: every commune having one equipment is a pôle, so times are those of the nearest one
    r = _run(graph, pole_share=1 / 3, methods=["pole"])
    assert set(r.poles["code"]) == {"04001", "04003", "04004", "06001"}
    assert _minutes(r, "pole") == pytest.approx({"04001": 0, "04002": 1, "04003": 0, "04004": 0})


def test_thresholds_change_the_flags_not_the_times(graph):
    r = _run(graph, thresholds_min=[1.5, 20, 30], methods=["mean"])
    a = r.access[r.access["placed"]].set_index("code")
    assert a["zone_grise"].to_dict() == {"04001": False, "04002": False, "04003": True, "04004": True}
    assert (a["threshold_min"] == 1.5).all()


def test_equipment_absent_from_vintage_is_left_out(graph, caplog):
    g = pd.concat([toy.toy_gammes(), pd.DataFrame(
        {"equipment": ["X009"], "tier": ["proximite"], "label": ["new"], "typequ": [("T9",)]})], ignore_index=True)
    r = compute_access(graph, toy.toy_communes(), toy.toy_bpe(), g, departements="04", tiers=["proximite"],
                       methods=["mean", "pole"], thresholds_min=toy.THRESHOLDS)
    assert r.absent_equipments["equipment"].tolist() == ["X009"]
    assert "X009" in caplog.text and "absent from this BPE vintage" in caplog.text
    assert _minutes(r, "mean") == pytest.approx({k: round(v, 2) for k, v in toy.EXPECTED_MEAN_MIN.items()})
    assert r.poles["code"].tolist() == ["04001"]  # share over the 3 equipments of the vintage


def test_bad_parameters(graph):
    with pytest.raises(InvalidParameterError, match="valid tiers are proximite, intermediaire, superieure"):
        _run(graph, tiers=["proxi"])
    with pytest.raises(InvalidParameterError, match="valid methods are mean, pole"):
        _run(graph, methods=["median"])
    with pytest.raises(InvalidParameterError, match="3 numbers"):
        _run(graph, thresholds_min=[10, 20])
    with pytest.raises(InvalidParameterError, match="must be a number of minutes"):
        _run(graph, thresholds_min={"proximite": "ten"})
    with pytest.raises(InvalidParameterError, match="positive"):
        _run(graph, thresholds_min=[0, 20, 30])
    with pytest.raises(InvalidParameterError, match=r"pole share must be in \(0, 1\]"):
        _run(graph, pole_share=0)


def test_departement_without_commune(graph):
    with pytest.raises(NoCommuneError, match="no commune of département.* 13 in the commune table"):
        _run(graph, departements=["13"])
    c = toy.toy_communes()
    c.loc[c["code"] == "04006", "departement"] = "75"
    with pytest.raises(NoCommuneError, match=r"none of the 1 communes of département\(s\) 75 can be placed.*outside"):
        compute_access(graph, c, toy.toy_bpe(), toy.toy_gammes(), departements=["75"])


def test_summarize_counts_only_placed():
    a = pd.DataFrame({
        "departement": ["04"] * 3, "tier": ["proximite"] * 3, "method": ["mean"] * 3, "threshold_min": [10.0] * 3,
        "population": [100, 50, 7], "zone_grise": pd.array([True, False, pd.NA], dtype="boolean"),
        "placed": [True, True, False],
    })
    s = summarize(a).iloc[0]
    assert (s["communes"], s["communes_zone_grise"], s["population"], s["population_zone_grise"]) == (2, 1, 150, 100)
    assert s["share_population_zone_grise"] == pytest.approx(66.67)
    assert (s["communes_unplaced"], s["population_unplaced"]) == (1, 7)


# ---- embedded Alpes du Sud ------------------------------------------------------------------


@pytest.fixture(scope="module")
def alpes(embedded_graph):
    from accessibility.inputs.communes import load_communes
    from accessibility.inputs.services import load_bpe, load_gammes

    return compute_access(embedded_graph, load_communes(), load_bpe(), load_gammes(), methods=["mean", "pole"])


@pytest.mark.slow
def test_embedded_invariants(alpes):
    a, et, s = alpes.access, alpes.equipment_times, alpes.summary
    assert len(a) == 360 * 3 * 2 and a["placed"].all() and len(alpes.unplaced) == 0
    # zone grise iff minutes above the threshold
    assert (a["zone_grise"].astype(bool) == (a["minutes"] > a["threshold_min"])).all()
    # summary sums equal row counts
    for (dep, tier, method), g in a.groupby(["departement", "tier", "method"]):
        row = s[(s["departement"] == dep) & (s["tier"] == tier) & (s["method"] == method)].iloc[0]
        assert row["communes"] == len(g) and row["communes_zone_grise"] == g["zone_grise"].sum()
        assert row["population_zone_grise"] == g.loc[g["zone_grise"].astype(bool), "population"].sum()
    assert s.groupby("departement")["communes"].first().to_dict() == {"04": 198, "05": 162}
    # a commune's own equipment is at 0 and is its own nearest
    zero = et["minutes"] == 0
    assert (et.loc[zero, "nearest"] == et.loc[zero, "code"]).all()
    assert ((et["nearest"] == et["code"]) == zero).all()
    # the mean is the mean of the equipment table
    m = et.groupby(["code", "tier"])["minutes"].mean().round(2)
    mean = a[a["method"] == "mean"].set_index(["code", "tier"])["minutes"]
    assert (m.reindex(mean.index) - mean).abs().max() <= 0.011
    # a pôle is at 0 from itself; every other commune is farther
    pole = a[a["method"] == "pole"]
    assert (pole.loc[pole["pole"], "minutes"] == 0).all()
    assert (pole.loc[~pole["pole"], "minutes"] > 0).all()


@pytest.mark.slow
def test_embedded_prefectures_are_poles_superieurs(alpes):
    a = alpes.access
    sup = a[(a["tier"] == "superieure") & (a["method"] == "pole")].set_index("code")
    for code in ("04070", "05061"):  # Digne-les-Bains, Gap
        assert sup.loc[code, "pole"] and sup.loc[code, "minutes"] == 0 and sup.loc[code, "nearest_pole"] == code
    assert {"04070", "05061"} <= set(alpes.poles.loc[alpes.poles["tier"] == "superieure", "code"])
    # pharmacie (D307 in the 2021 gammes, D301 in BPE 2018) is found through the nomenclature change
    ph = alpes.equipment_times[(alpes.equipment_times["equipment"] == "D307") & (alpes.equipment_times["code"] == "04070")]
    assert ph["minutes"].item() == 0
    assert set(alpes.absent_equipments["equipment"]) == {"F307", "F312", "F315"}
