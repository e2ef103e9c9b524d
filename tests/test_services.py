"""BPE loaders (counts and geolocated), gammes, nomenclature changes, presence and pôles."""

from __future__ import annotations

import gzip
import logging

import numpy as np
import pandas as pd
import pytest

from accessibility.errors import DataFormatError, InputFileError, InvalidParameterError
from accessibility.inputs.services import (
    NOMENCLATURE_CHANGES,
    equipment_presence,
    harmonize_nomenclature,
    load_bpe,
    load_bpe_counts,
    load_bpe_points,
    load_gammes,
    pole_mask,
)


def test_embedded_gammes():
    g = load_gammes()
    assert g["tier"].value_counts().to_dict() == {"proximite": 28, "intermediaire": 35, "superieure": 47}
    ar03 = g.set_index("equipment").loc["AR03"]
    assert ar03["typequ"] == ("A206", "A207", "A208") and ar03["tier"] == "proximite"
    assert g["tier"].tolist() == sorted(g["tier"], key=["proximite", "intermediaire", "superieure"].index)


def test_gammes_bad_tier_and_missing_column(tmp_path):
    p = tmp_path / "g.csv"
    p.write_text("code_equipement,regroupement_1,gamme\nX1,X1,luxe\n")
    with pytest.raises(DataFormatError, match="gamme 'luxe'"):
        load_gammes(p)
    p.write_text("code_equipement,gamme\nX1,proximité\n")
    with pytest.raises(DataFormatError, match="lacks the column.*regroupement_1"):
        load_gammes(p)
    p.write_text("Code_Equipement;Regroupement_1;GAMME\nx1;t1;Gamme de Proximité\n")
    g = load_gammes(p)
    assert g.iloc[0][["equipment", "tier"]].tolist() == ["X1", "proximite"] and g.iloc[0]["typequ"] == ("T1",)


@pytest.mark.slow
def test_embedded_bpe_2018():
    b = load_bpe()
    assert list(b.columns) == ["code", "typequ", "nb_equip"]
    assert "D307" in set(b["typequ"]) and "D301" not in set(b["typequ"])  # pharmacie, renamed
    # codes are current: old codes and arrondissements are gone, merged communes summed
    assert not b["code"].str.startswith("751").any() and "13055" in set(b["code"])
    assert not b.duplicated(["code", "typequ"]).any()
    assert b.loc[(b["code"] == "04070") & (b["typequ"] == "D307"), "nb_equip"].item() >= 5


def test_counts_any_format_and_cog_mapping(tmp_path):
    p = tmp_path / "bpe.csv.gz"
    with gzip.open(p, "wt") as fh:
        fh.write("depcom;typequ;nb_equip\n04002;D301;1\n04002;A101;2,0\n04167;A101;1\n4070;a101;3\n04070;B101;0\n")
    ch = {"04002": "04167"}
    b = load_bpe_counts(p, code_changes=ch)
    got = {(r.code, r.typequ): r.nb_equip for r in b.itertuples()}
    assert got == {("04167", "A101"): 3.0, ("04167", "D307"): 1.0, ("04070", "A101"): 3.0, ("04070", "B101"): 0.0}
    assert load_bpe(p, code_changes=ch).equals(b)
    # an empty count is not a 0: refused, naming the line
    with gzip.open(p, "wt") as fh:
        fh.write("depcom;typequ;nb_equip\n04002;D301;1\n04070;B101;\n")
    with pytest.raises(DataFormatError, match="line 3, column 'NB_EQUIP' is empty"):
        load_bpe_counts(p, code_changes=ch)


def test_bpe_without_needed_columns(tmp_path):
    p = tmp_path / "bpe.csv"
    p.write_text("DEPCOM,TYPEQU,COUNT\n04070,A101,1\n")
    with pytest.raises(DataFormatError, match="lacks the column.*NB_EQUIP.*its columns are DEPCOM, TYPEQU, COUNT"):
        load_bpe_counts(p)
    with pytest.raises(DataFormatError, match="neither NB_EQUIP .* nor coordinates"):
        load_bpe_points(p)
    p.write_text("CODGEO,TYPEQU,NB_EQUIP\n04070,A101,1\n")
    with pytest.raises(DataFormatError, match="DEPCOM"):
        load_bpe(p)
    p.write_text("DEPCOM,TYPEQU,NB_EQUIP\n04070,A101,one\n")
    with pytest.raises(DataFormatError, match="line 2, column 'NB_EQUIP' holds 'one', not a finite number"):
        load_bpe(p)
    with pytest.raises(InputFileError, match="does not exist"):
        load_bpe(tmp_path / "none.csv")


def test_geolocated_lambert_and_wgs84(tmp_path):
    # Digne-les-Bains centre (6.2356, 44.0925) is (959021.5, 6337918.4) in Lambert-93
    p = tmp_path / "bpe_xy.csv"
    p.write_text(
        "DEPCOM;DCIRIS;TYPEQU;LAMBERT_X;LAMBERT_Y;QUALITE_XY\n"
        "04070;0407000;D301;959021.5;6337918.4;Bonne\n04070;0407000;D301;959100;6338000;Bonne\n"
        "04070;0407000;A101;;;Non géolocalisé\n97411;;A101;338000;7690000;Bonne\n"
    )
    pts = load_bpe_points(p)
    assert pts["typequ"].tolist() == ["D307", "D307", "A101", "A101"]
    assert pts.loc[0, "lon"] == pytest.approx(6.2356, abs=1e-5) and pts.loc[0, "lat"] == pytest.approx(44.0925, abs=1e-5)
    assert np.isnan(pts.loc[2, "lon"]) and np.isnan(pts.loc[3, "lon"])  # missing; overseas (local CRS)
    counts = load_bpe(p)
    assert {(r.code, r.typequ): r.nb_equip for r in counts.itertuples()} == {
        ("04070", "D307"): 2.0, ("04070", "A101"): 1.0, ("97411", "A101"): 1.0}
    q = tmp_path / "bpe_ll.csv"
    q.write_text("DEPCOM,TYPEQU,LONGITUDE,LATITUDE\n05061,B101,6.08,44.56\n")
    assert load_bpe_points(q)[["lon", "lat"]].iloc[0].tolist() == [6.08, 44.56]
    assert load_bpe(q)["nb_equip"].tolist() == [1.0]


def test_nomenclature_changes_in_one_place():
    assert ("D301", "D307") in [(o, n) for o, n, _ in NOMENCLATURE_CHANGES]
    old = pd.DataFrame({"code": ["1", "2"], "typequ": ["D301", "A101"], "nb_equip": [1.0, 1.0]})
    assert harmonize_nomenclature(old)["typequ"].tolist() == ["D307", "A101"]
    new = pd.DataFrame({"code": ["1", "2"], "typequ": ["D301", "D307"], "nb_equip": [1.0, 1.0]})
    assert harmonize_nomenclature(new)["typequ"].tolist() == ["D301", "D307"]  # a 2021+ vintage


def test_presence_regroupements_and_absent(caplog):
    gammes = pd.DataFrame({
        "equipment": ["AR03", "D307", "F307", "B101"],
        "tier": ["proximite", "proximite", "proximite", "superieure"],
        "label": ["poste", "pharmacie", "bibliothèque", "hyper"],
        "typequ": [("A206", "A207", "A208"), ("D307",), ("F307",), ("B101",)],
    })
    bpe = pd.DataFrame({
        "code": ["04001", "04002", "04002", "04003", "99999"],
        "typequ": ["A208", "D307", "A206", "A207", "B101"],
        "nb_equip": [1.0, 2.0, 0.0, 1.0, 1.0],
    })
    with caplog.at_level(logging.WARNING):
        p = equipment_presence(bpe, gammes, ["04001", "04002", "04003", "04004"], tiers=["proximite"])
    assert p.equipment.tolist() == ["AR03", "D307"]
    assert p.present.tolist() == [[True, False], [False, True], [True, False], [False, False]]
    assert p.absent["equipment"].tolist() == ["F307"] and "F307" in caplog.text
    with pytest.raises(InvalidParameterError, match="valid tiers are proximite, intermediaire, superieure"):
        equipment_presence(bpe, gammes, ["04001"], tiers=["all"])


@pytest.mark.parametrize(
    "counts, share, expected",
    [([4, 2, 1, 0], 0.5, [True, True, False, False]), ([4, 3, 1, 0], 0.75, [True, True, False, False]),
     ([4, 3, 1, 0], 1.0, [True, False, False, False]), ([4, 3, 1, 0], 0.25, [True, True, True, False])],
)
def test_pole_mask(counts, share, expected):
    present = np.array([[j < c for j in range(4)] for c in counts])
    assert pole_mask(present, share=share).tolist() == expected


def test_pole_mask_bad_share():
    with pytest.raises(InvalidParameterError, match=r"\(0, 1\]"):
        pole_mask(np.ones((1, 1), bool), share=1.5)
