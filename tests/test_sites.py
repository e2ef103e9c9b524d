"""Point services from files: the embedded France services, CSV and GeoPackage points with their
own column names, bpe:TYPEQU, filters, and bad point files."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from accessibility.errors import DataFormatError, InvalidParameterError, NoServiceError
from accessibility.inputs.points import (
    apply_filters,
    load_point_table,
    load_sites,
    parse_filter,
    parse_service,
    sites_from_bpe,
)


def test_embedded_france_services_and_filters():
    df, path = load_sites("france-services")
    assert len(df) == 2845 and path.name.startswith("france-services")
    assert {"id", "name", "lon", "lat", "format_fs", "insee_com"} <= set(df.columns)
    fixe, _ = load_sites("france-services", filters=[parse_filter("format_fs=Fixe")])
    assert len(fixe) == 2400 and (fixe["format_fs"] == "Fixe").all()
    two, _ = load_sites("france-services", filters=[parse_filter("format_fs=Fixe,Itinérante")])
    assert len(two) == 2400 + 29
    both, _ = load_sites("france-services", filters=[parse_filter("format_fs=Fixe"), parse_filter("insee_dep=04")])
    assert len(both) == 15 and (both["insee_dep"] == "04").all()  # fixed sites of 04


def test_parse_service_and_filter():
    assert parse_service("bpe:d201+D113").types == ("D201", "D113")
    assert parse_service("France-Services").name == "france-services"
    with pytest.raises(InvalidParameterError, match="not bpe:TYPEQU"):
        parse_service("bpe:")
    with pytest.raises(InvalidParameterError, match="neither a known name"):
        parse_service("/no/such/file.csv")
    assert parse_filter(" format_fs = Fixe , Itinérante ") == ("format_fs", ("Fixe", "Itinérante"))
    with pytest.raises(InvalidParameterError, match="COLUMN=VALUE"):
        parse_filter("format_fs")


def test_csv_with_french_columns_and_gzip(tmp_path):
    p = tmp_path / "maisons.csv.gz"
    p.write_bytes(gzip.compress("identifiant;libellé;longitude;latitude;type\nm1;Maison A;6,2356;44,0925;MSP\n"
                                "m2;Maison B;6.079;44.5596;MSP\nm3;Sans lieu;;;MSP\n".encode()))
    df = load_point_table(p)
    assert df["id"].tolist() == ["m1", "m2", "m3"] and df["name"].tolist()[:2] == ["Maison A", "Maison B"]
    assert df["lon"].iloc[0] == pytest.approx(6.2356) and np.isnan(df["lon"].iloc[2])
    assert df["type"].tolist() == ["MSP"] * 3


def test_named_columns_and_no_id(tmp_path):
    p = tmp_path / "pts.csv"
    p.write_text("where,X_coord,Y_coord\nGap,6.079,44.5596\n")
    with pytest.raises(DataFormatError, match="has no coordinates"):
        load_point_table(p)
    df = load_point_table(p, lon_column="X_coord", lat_column="Y_coord", name_column="where")
    assert df["id"].tolist() == ["line-2"] and df["name"].tolist() == ["Gap"]
    with pytest.raises(DataFormatError, match="has no column 'nope'"):
        load_point_table(p, lon_column="nope", lat_column="Y_coord")


def test_geopackage_points_in_lambert(tmp_path):
    import geopandas as gpd

    g = gpd.GeoDataFrame({"id": ["a", "b"], "nom": ["Digne", "Gap"]},
                         geometry=gpd.points_from_xy([6.2356, 6.079], [44.0925, 44.5596]), crs="EPSG:4326")
    p = tmp_path / "pts.gpkg"
    g.to_crs("EPSG:2154").to_file(p)
    df = load_point_table(p)
    assert df["name"].tolist() == ["Digne", "Gap"]
    np.testing.assert_allclose(df["lon"], [6.2356, 6.079], atol=1e-6)


BAD_POINTS = {
    "duplicate-id": ("id,lon,lat\na,6,44\na,6.1,44.1\n", "line 3: id 'a' .* appears more than once"),
    "empty-id": ("id,lon,lat\n,6,44\n", "line 2, column 'id' is empty"),
    "lon-out-of-range": ("id,lon,lat\na,600,44\n", "not WGS84 degrees"),
    "lat-alone": ("id,lon,lat\na,,44\n", "one is missing"),
    "text-coordinate": ("id,lon,lat\na,east,44\n", "column 'lon' holds 'east'"),
    "header-only": ("id,lon,lat\n", "has a header but no data row"),
}


@pytest.mark.parametrize("case", BAD_POINTS, ids=list(BAD_POINTS))
def test_bad_point_files(tmp_path, case):
    content, message = BAD_POINTS[case]
    p = tmp_path / "pts.csv"
    p.write_text(content)
    with pytest.raises(DataFormatError, match=message) as ei:
        load_point_table(p)
    assert "pts.csv" in str(ei.value)


def test_lines_and_polygons_are_not_points(tmp_path):
    import geopandas as gpd
    from shapely.geometry import LineString

    p = tmp_path / "lines.gpkg"
    gpd.GeoDataFrame({"id": ["a"]}, geometry=[LineString([(6, 44), (6.1, 44.1)])], crs="EPSG:4326").to_file(p)
    with pytest.raises(DataFormatError, match="LineString geometries, not points"):
        load_point_table(p)


def test_filters_errors():
    df = pd.DataFrame({"id": ["1", "2"], "format_fs": ["Fixe", "Bus"], "lon": [6, 6], "lat": [44, 44]})
    with pytest.raises(InvalidParameterError, match="no such column; columns: id, format_fs"):
        apply_filters(df, [("colour", ("blue",))])
    with pytest.raises(NoServiceError, match="keeps no site; values of format_fs: Bus, Fixe"):
        apply_filters(df, [("format_fs", ("Train",))])
    assert apply_filters(df, [("format_fs", ("Bus",))])["id"].tolist() == ["2"]


def test_bpe_source():
    from accessibility.inputs.communes import load_communes
    from accessibility.inputs.services import load_bpe

    c, b = load_communes(), load_bpe()
    gps = sites_from_bpe(["D201"], b, c)
    assert len(gps) > 5000 and (gps["equipments"] > 0).all() and gps["id"].is_unique
    with pytest.raises(NoServiceError, match="ZZ99 not in this BPE file"):
        sites_from_bpe(["ZZ99"], b, c)
