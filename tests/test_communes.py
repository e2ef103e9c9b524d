"""Commune table, COG code changes, commune polygons."""

from __future__ import annotations

import gzip

import pytest

from accessibility.errors import DataFormatError, InputFileError
from accessibility.inputs.communes import (
    departement_of,
    load_code_changes,
    load_commune_polygons,
    load_communes,
    map_commune_codes,
    normalize_codes,
)

from .conftest import shared_path


def test_embedded_table():
    c = load_communes()
    assert len(c) == 34_969 and c["code"].is_unique
    assert (c["code"].str.len() == 5).all()
    alpes = c[c["departement"].isin(["04", "05"])]
    assert len(alpes) == 360 and alpes[["lon", "lat"]].notna().all().all()
    digne = c.set_index("code").loc["04070"]
    assert digne["nom"] == "Digne-les-Bains" and digne["population"] > 15_000
    assert c["lon"].isna().sum() == 102  # mergers without a point, overseas collectivities
    # unknown populations are empty, never 0 (the 5 TAAF districts and Clipperton)
    assert str(c["population"].dtype) == "Int64" and c["population"].isna().sum() == 6


def test_normalize_and_departement():
    assert normalize_codes(["1001", 4070, "2A004", " 05061 ", "1001.0"]).tolist() == [
        "01001", "04070", "2A004", "05061", "01001"]
    assert departement_of(["04070", "2B033", "97411", "98735"]).tolist() == ["04", "2B", "974", "987"]


def test_code_changes_embedded():
    ch = load_code_changes()
    assert len(ch) > 4000
    # 04002 (Aiglun's former neighbour merged) and BPE 2018 codes
    assert map_commune_codes(["04002", "04070"], ch).tolist() == [ch["04002"], "04070"]


def test_code_changes_follow_chains_plm_and_splits(tmp_path):
    p = tmp_path / "changes.csv"
    p.write_text("old_code,code\n10001,10002\n10002,10003\n55273,55245\n55273,55386\n")
    ch = load_code_changes(p)
    assert ch == {"10001": "10002", "10002": "10003", "55273": "55245"}  # a split goes to the first
    got = map_commune_codes(["10001", "10002", "75108", "69383", "13216", "13055", "99999"], ch)
    assert got.tolist() == ["10003", "10003", "75056", "69123", "13055", "13055", "99999"]


def test_code_changes_cycle_is_an_error():
    with pytest.raises(DataFormatError, match="loop"):
        map_commune_codes(["10001"], {"10001": "10002", "10002": "10001"})


def test_semicolon_gzip_any_case(tmp_path):
    p = tmp_path / "c.csv.gz"
    with gzip.open(p, "wt", encoding="utf-8") as fh:
        fh.write("CODE;Nom;DEPARTEMENT;Population;LON;LAT\n4070;Digne;04;16000;6.2356;44.0925\n05061;Gap;05;;6.08;44.56\n")
    c = load_communes(p)
    assert c["code"].tolist() == ["04070", "05061"]
    assert c["population"].iloc[0] == 16000 and c["population"].isna().iloc[1]  # unknown, not 0
    assert c["centre"].tolist() == ["given", "given"]


def test_missing_column(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("code,nom,population,lon,lat\n04070,Digne,1,6.2,44.1\n")
    with pytest.raises(DataFormatError, match="lacks the column.*departement.*its columns are code, nom"):
        load_communes(p)


def test_bad_values(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("code,nom,departement,population,lon,lat\n04070,Digne,04,many,6.2,44.1\n")
    with pytest.raises(DataFormatError, match="line 2, column 'population' holds 'many'"):
        load_communes(p)
    p.write_text("code,nom,departement,population,lon,lat\n04070,Digne,04,1,959021,6337918\n")
    with pytest.raises(DataFormatError, match="WGS84"):
        load_communes(p)
    p.write_text("code,nom,departement,population,lon,lat\n04070,Digne,04,1,6.2,44.1\n4070,Digne,04,1,6.2,44.1\n")
    with pytest.raises(DataFormatError, match="04070 appears more than once"):
        load_communes(p)


def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        load_communes(tmp_path / "nope.csv")


def test_polygons(tmp_path):
    g = load_commune_polygons()
    assert len(g) == 566 and g.crs.to_epsg() == 4326
    assert {"04070", "05061"} <= set(g["code"])
    bad = tmp_path / "p.gpkg"
    g.rename(columns={"code": "id"}).to_file(bad, layer="x")
    with pytest.raises(DataFormatError, match="no commune code column"):
        load_commune_polygons(bad)
    with pytest.raises(InputFileError):
        load_commune_polygons(tmp_path / "nope.gpkg")


@pytest.mark.shared
def test_shared_table_matches_embedded():
    import pandas as pd

    shared = pd.read_csv(shared_path("communes", "communes-2023.csv"), dtype={"code": str})
    assert len(shared) == len(load_communes())
