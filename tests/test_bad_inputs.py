"""Bad input, as families: every bad file gets one line naming it, every value outside its domain
is refused with file, line and column, a figure that cannot be measured is an error (never a 0),
and type errors in the Python API stay inside the AccessibilityError tree."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.analyses.fragility import compute_fragility
from accessibility.analyses.zones import compute_access
from accessibility.cli.main import cli
from accessibility.errors import (
    AccessibilityError,
    DataFormatError,
    InputFileError,
    InvalidParameterError,
    NoCommuneError,
    NoDrivableRoadError,
    NoServiceError,
    SnapError,
)
from accessibility.inputs.communes import load_code_changes, load_commune_polygons, load_communes
from accessibility.inputs.services import load_bpe, load_gammes
from accessibility.settings import DEFAULT_PROFILE_PATH, load_profile

from . import toy_zones as toy
from .conftest import write_pbf

COMMUNES_HEAD = "code,nom,departement,population,lon,lat\n"
GOOD_COMMUNE = "04070,Digne,04,16000,6.2356,44.0925\n"
BPE_HEAD = "DEPCOM,TYPEQU,NB_EQUIP\n"
GAMMES = (DEFAULT_PROFILE_PATH.parent.parent.parent / "data" / "bpe" / "bpe-gammes-2021.csv")


@pytest.fixture(autouse=True)
def _private_table_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("ACCESSIBILITY_CACHE_DIR", str(tmp_path / "cache"))


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif path.suffix == ".gz":
        path.write_bytes(gzip.compress(content.encode("utf-8")))
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _one_line_naming(exc: BaseException, path) -> None:
    msg = str(exc)
    assert "\n" not in msg and str(path.name) in msg, msg


# ---- loaders ---------------------------------------------------------------------------------

COMMUNE_CASES = {
    "empty-code": (COMMUNES_HEAD + GOOD_COMMUNE + ",Nowhere,04,10,6.1,44.1\n", "line 3, column 'code' is empty"),
    "negative-population": (COMMUNES_HEAD + "04070,Digne,04,-5,6.2,44.1\n", "line 2, column 'population' holds '-5', below"),
    "nan-population": (COMMUNES_HEAD + "04070,Digne,04,nan,6.2,44.1\n", "'population' holds 'nan', not a finite number"),
    "inf-population": (COMMUNES_HEAD + "04070,Digne,04,inf,6.2,44.1\n", "'population' holds 'inf', not a finite number"),
    "text-lon": (COMMUNES_HEAD + "04070,Digne,04,1,east,44.1\n", "column 'lon' holds 'east'"),
    "lon-without-lat": (COMMUNES_HEAD + "04070,Digne,04,1,6.2,\n", "has only one of lon and lat"),
    "lambert-coordinates": (COMMUNES_HEAD + "04070,Digne,04,1,959021,6337918\n", "WGS84"),
    "duplicate-code": (COMMUNES_HEAD + GOOD_COMMUNE + "4070,Digne bis,04,1,6.2,44.1\n", "line 3: code 04070 appears more than once"),
    "header-only": (COMMUNES_HEAD, "has a header but no data row"),
    "empty-file": ("", "is empty"),
    "missing-column": ("code,nom,population,lon,lat\n04070,D,1,6,44\n", r"lacks the column\(s\) departement"),
    "latin-1": ((COMMUNES_HEAD + "04070,Digne-les-Bains é,04,1,6.2,44.1\n").encode("latin-1"), "not UTF-8"),
    "binary": (bytes(range(256)) * 4, "not UTF-8"),
    "nul-bytes": ((COMMUNES_HEAD + GOOD_COMMUNE).encode() + b"\x00\x00", "NUL bytes"),
    "ragged-row": (COMMUNES_HEAD + "04070,Digne,04,1,6.2,44.1,extra,more\n", "cannot be parsed"),
}


@pytest.mark.parametrize("case", COMMUNE_CASES, ids=list(COMMUNE_CASES))
def test_commune_table_family(tmp_path, case):
    content, message = COMMUNE_CASES[case]
    p = _write(tmp_path / "communes.csv", content)
    with pytest.raises(DataFormatError, match=message) as ei:
        load_communes(p)
    _one_line_naming(ei.value, p)


def test_truncated_gzip_commune_table(tmp_path):
    full = gzip.compress((COMMUNES_HEAD + GOOD_COMMUNE * 2000).encode())
    p = _write(tmp_path / "communes.csv.gz", full[: len(full) // 2])
    with pytest.raises(DataFormatError, match="damaged or truncated gzip") as ei:
        load_communes(p)
    _one_line_naming(ei.value, p)


BPE_CASES = {
    "negative-count": (BPE_HEAD + "04070,A101,-1\n", "line 2, column 'NB_EQUIP' holds '-1', below the minimum 0"),
    "inf-count": (BPE_HEAD + "04070,A101,1e400\n", "holds '1e400', not a finite number"),
    "nan-count": (BPE_HEAD + "04070,A101,NaN\n", "holds 'NaN', not a finite number"),
    "empty-count": (BPE_HEAD + "04070,A101,\n", "column 'NB_EQUIP' is empty"),
    "empty-code": (BPE_HEAD + "04070,A101,1\n,A101,1\n", "line 3, column 'code' is empty"),
    "empty-type": (BPE_HEAD + "04070,,1\n", "column 'typequ' is empty"),
    "duplicate-key": (BPE_HEAD + "04070,A101,1\n04070,A101,2\n", "line 3: code/typequ 04070, A101 appears more than once"),
    "header-only": (BPE_HEAD, "has a header but no data row"),
    "latin-1": ((BPE_HEAD + "04070,A101,1\n04070,é,1\n").encode("latin-1"), "not UTF-8"),
    "not-a-bpe": ("a,b,c\n1,2,3\n", "lacks the column"),
}


@pytest.mark.parametrize("case", BPE_CASES, ids=list(BPE_CASES))
def test_bpe_family(tmp_path, case):
    content, message = BPE_CASES[case]
    p = _write(tmp_path / "bpe.csv", content)
    with pytest.raises(DataFormatError, match=message) as ei:
        load_bpe(p, code_changes={})
    _one_line_naming(ei.value, p)


GAMMES_HEAD = "code_equipement,regroupement_1,gamme\n"
GAMME_CASES = {
    "header-only": (GAMMES_HEAD, "has a header but no data row"),
    "unknown-gamme": (GAMMES_HEAD + "A101,A101,locale\n", "line 2: equipment A101 has gamme 'locale'"),
    "empty-gamme": (GAMMES_HEAD + "A101,A101,\n", "column 'tier' is empty"),
    "duplicate-equipment": (GAMMES_HEAD + "A101,A101,proximité\na101,A101,proximité\n", "equipment A101 appears more than once"),
    "empty-equipment": (GAMMES_HEAD + ",A101,proximité\n", "column 'equipment' is empty"),
    "latin-1": ((GAMMES_HEAD + "A101,A101,proximité\n").encode("latin-1"), "not UTF-8"),
}


@pytest.mark.parametrize("case", GAMME_CASES, ids=list(GAMME_CASES))
def test_gamme_table_family(tmp_path, case):
    content, message = GAMME_CASES[case]
    p = _write(tmp_path / "gammes.csv", content)
    with pytest.raises(DataFormatError, match=message) as ei:
        load_gammes(p)
    _one_line_naming(ei.value, p)


def test_code_changes_with_an_empty_cell(tmp_path):
    p = _write(tmp_path / "changes.csv", "old_code,code\n04001,\n")
    with pytest.raises(DataFormatError, match="line 2, column 'code' is empty"):
        load_code_changes(p)


POLYGON_CASES = {
    "a-csv": ("polygons.csv", COMMUNES_HEAD + GOOD_COMMUNE, (DataFormatError, InputFileError)),
    "a-text-file": ("polygons.gpkg", "hello", (InputFileError,)),
    "points": ("points.geojson", '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"code":"04070"},'
               '"geometry":{"type":"Point","coordinates":[6.2,44.1]}}]}', (DataFormatError,)),
}


@pytest.mark.parametrize("case", POLYGON_CASES, ids=list(POLYGON_CASES))
def test_polygon_file_family(tmp_path, case):
    name, content, errors = POLYGON_CASES[case]
    p = _write(tmp_path / name, content)
    with pytest.raises(errors) as ei:
        load_commune_polygons(p)
    _one_line_naming(ei.value, p)


# ---- speed profile ---------------------------------------------------------------------------

PROFILE_CASES = {
    "string-false": ('[speeds_kmh]\nprimary = 50\n[rules]\ninclude_tracks = "false"\n', "rules.include_tracks must be true or false"),
    "infinite-speed": ("[speeds_kmh]\nprimary = inf\n", r"speeds_kmh.primary must be in \(0, 300\]"),
    "nan-speed": ("[speeds_kmh]\nprimary = nan\n", "speeds_kmh.primary must be in"),
    "zero-speed": ("[speeds_kmh]\nprimary = 0\n", "speeds_kmh.primary must be in"),
    "text-speed": ('[speeds_kmh]\nprimary = "fast"\n', "speeds_kmh.primary must be a number"),
    "bool-speed": ("[speeds_kmh]\nprimary = true\n", "speeds_kmh.primary must be a number"),
    "string-list": ('[speeds_kmh]\nprimary = 50\n[rules]\naccess_denied = "private"\n', "rules.access_denied must be a list of strings"),
    "number-list": ("[speeds_kmh]\nprimary = 50\n[rules]\nimplied_oneway = [1, 2]\n", "rules.implied_oneway must be a list of strings"),
    "factor-negative": ("[speeds_kmh]\nprimary = 50\n[maxspeed]\nfactor = -0.8\n", r"maxspeed.factor must be a number in \(0, 2\]"),
    "implicit-text": ('[speeds_kmh]\nprimary = 50\n[maxspeed.implicit_kmh]\nurban = "50"\n', "maxspeed.implicit_kmh.urban must be a number"),
    "unknown-key": ("[speeds_kmh]\nprimary = 50\n[rules]\ninclude_track = true\n", "key 'include_track' is unknown"),
    "unknown-table": ("[speed_kmh]\nprimary = 50\n", "key 'speed_kmh' is unknown"),
    "no-speeds": ('name = "x"\n', r"\[speeds_kmh\] is missing"),
    "empty-speeds": ("[speeds_kmh]\n", "is empty"),
    "speeds-not-table": ("speeds_kmh = 5\n", "speeds_kmh must be a table"),
    "not-toml": ("[speeds_kmh\nprimary = 50\n", "is not valid TOML"),
    "not-utf8": ("[speeds_kmh]\n# é\nprimary = 50\n".encode("latin-1"), "is not UTF-8"),
}


@pytest.mark.parametrize("case", PROFILE_CASES, ids=list(PROFILE_CASES))
def test_profile_family(tmp_path, case):
    content, message = PROFILE_CASES[case]
    p = _write(tmp_path / "profile.toml", content)
    with pytest.raises(DataFormatError, match=message) as ei:
        load_profile(p)
    _one_line_naming(ei.value, p)


# ---- figures that cannot be measured ---------------------------------------------------------


def _toy(**kw):
    args = dict(departements="04", tiers=["proximite"], methods=["mean"], thresholds_min=toy.THRESHOLDS)
    args.update(kw.pop("opts", {}))
    data = dict(communes=toy.toy_communes(), bpe=toy.toy_bpe(), gammes=toy.toy_gammes())
    data.update(kw)
    return compute_access(toy.toy_graph(), data["communes"], data["bpe"], data["gammes"], **args)


UNMEASURABLE = {
    "gamme-table-missing-the-tier": (dict(opts={"tiers": ["proximite", "superieure"]}), NoServiceError,
                                     "gamme superieure: none of its 0 equipments"),
    "all-counts-zero": (dict(bpe=toy.toy_bpe().assign(nb_equip=0.0)), NoServiceError, "gamme proximite: .*nothing to measure"),
    "bpe-of-another-area": (dict(bpe=toy.toy_bpe().assign(code="13055")), NoServiceError, "no commune of the road extract"),
    "gamme-types-unknown-to-the-bpe": (dict(bpe=toy.toy_bpe().assign(typequ="ZZZ")), NoServiceError, "none of its 3 equipments"),
    "unknown-departement-in-a-list": (dict(opts={"departements": "04,99"}), NoCommuneError, "département.s. 99"),
}


@pytest.mark.parametrize("case", UNMEASURABLE, ids=list(UNMEASURABLE))
def test_unmeasurable_is_an_error_never_zero(case):
    kw, error, message = UNMEASURABLE[case]
    with pytest.raises(error, match=message):
        _toy(**kw)


def test_unknown_population_is_empty_and_counted():
    c = toy.toy_communes()
    c["population"] = pd.array([1000, None, 300, 50, 10, 7, 5, 99], dtype="Int64")
    r = _toy(communes=c)
    s = r.summary.iloc[0]
    assert s["population"] == 1000 + 300 + 50 and s["communes_population_unknown"] == 1
    assert r.access.set_index("code").loc["04002", "population"] is pd.NA


# ---- the command line: one line, non-zero exit, no output ------------------------------------


CLI_FILE_CASES = {
    "--communes": ("communes.csv", COMMUNES_HEAD + ",X,04,1,6,44\n"),
    "--bpe": ("bpe.csv.gz", gzip.compress((BPE_HEAD + "04070,A101,1\n" * 3000).encode())[:500]),
    "--gammes": ("gammes.csv", GAMMES_HEAD),
    "--polygons": ("polygons.gpkg", COMMUNES_HEAD + GOOD_COMMUNE),
    "--code-changes": ("changes.csv", b"\xff\xfe\x00garbage"),
    "--profile": ("car.toml", '[speeds_kmh]\nprimary = 50\n[rules]\ninclude_tracks = "false"\n'),
}


@pytest.mark.parametrize("option", CLI_FILE_CASES, ids=list(CLI_FILE_CASES))
def test_cli_bad_file_family(tmp_path, option):
    name, content = CLI_FILE_CASES[option]
    p = _write(tmp_path / name, content)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["compute", option, str(p), "--out", str(out), "--no-maps"])
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in r.output, r.output
    assert not out.exists()


@pytest.mark.parametrize(
    "args, message",
    [(["--out", ""], "is empty"), (["--departement", "04,99"], "99"), (["--departement", "04/05"], "not a département code")],
    ids=["empty-out", "unknown-departement", "bad-departement"],
)
def test_cli_bad_options_fail_fast(tmp_path, args, message):
    r = CliRunner().invoke(cli, ["compute", *args, "--no-maps", "--cache-dir", str(tmp_path / "never")]
                           + ([] if "--out" in args else ["--out", str(tmp_path / "o")]))
    assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "never").exists()  # reported before the graph is loaded


FRAGILITY_FILE_CASES = {
    "--bpe": ("bpe.csv", BPE_HEAD + "04070,A101,beaucoup\n"),
    "--mediation": ("lieux.csv", "id,latitude,longitude,services\na,44.1,,Prendre en main un ordinateur\n"),
    "--france-services": ("fs.csv", "id_fs,lib_fs,latitude,longitude\n1,x,91,6\n"),
    "--extra": ("extra.csv", "code,no_car\n04070,-1\n"),
    "--communes": ("communes.csv", COMMUNES_HEAD + ",X,04,1,6,44\n"),
}


@pytest.mark.parametrize("option", FRAGILITY_FILE_CASES, ids=list(FRAGILITY_FILE_CASES))
def test_fragility_cli_bad_file_family(tmp_path, option):
    name, content = FRAGILITY_FILE_CASES[option]
    p = _write(tmp_path / name, content)
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["fragility", option, str(p), "--out", str(out), "--no-maps",
                                 "--cache-dir", str(tmp_path / "never")])
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1 and name in lines[0] and "Traceback" not in r.output, r.output
    assert not out.exists() and not (tmp_path / "never").exists()  # refused before the graph is loaded


@pytest.mark.parametrize(
    "args, message",
    [(["--departement", "04,99"], "99"), (["--normalise", "zscore"], "zscore"), (["--out", ""], "is empty")],
    ids=["unknown-departement", "bad-normalisation", "empty-out"],
)
def test_fragility_cli_bad_options_fail_fast(tmp_path, args, message):
    r = CliRunner().invoke(cli, ["fragility", *args, "--no-maps", "--cache-dir", str(tmp_path / "never")]
                           + ([] if "--out" in args else ["--out", str(tmp_path / "o")]))
    assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output
    assert not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    "args, message",
    [(["--departement", "04/05"], "not a département code"), (["--departement", "04,99"], "99"),
     (["--port", "70000"], "70000"), (["--threshold", "0"], "--threshold"),
     (["--service", "hospitals"], "neither a known name"), (["--filter", "colour"], "--filter"),
     (["--host", "203.0.113.7"], "cannot listen on 203.0.113.7")],  # TEST-NET-3: not an address of this machine
    ids=["bad-departement", "unknown-departement", "port-out-of-range", "threshold-zero", "unknown-service",
         "bad-filter", "host-not-here"],
)
def test_serve_bad_options_fail_fast(tmp_path, args, message):
    """``access serve``: one line, non-zero exit, before the graph is loaded and before serving."""
    r = CliRunner().invoke(cli, ["serve", "--port", "0", *args, "--cache-dir", str(tmp_path / "never")])
    assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output, r.output
    assert not (tmp_path / "never").exists()


# ---- the Python API: type errors stay in the tree --------------------------------------------


@pytest.fixture(scope="module")
def graph():
    return toy.toy_graph()


def _api_cases(graph):
    from accessibility.engine.places import Places, matrix, nearest
    from accessibility.routing import nearest_source, route, shortest_times, snap_points, time_matrix
    from accessibility.web import Planner, create_app

    p = Places.from_arrays(graph, ["a"], [6.0], [44.0])
    return {
        "compute-graph-string": lambda: compute_access("graph", toy.toy_communes(), toy.toy_bpe(), toy.toy_gammes()),
        "compute-communes-none": lambda: compute_access(graph, None, toy.toy_bpe(), toy.toy_gammes(), departements="04"),
        "compute-bpe-array": lambda: compute_access(graph, toy.toy_communes(), np.zeros(3), toy.toy_gammes(), departements="04"),
        "compute-tiers-int": lambda: compute_access(graph, toy.toy_communes(), toy.toy_bpe(), toy.toy_gammes(), tiers=5),
        "compute-pole-share-str": lambda: compute_access(graph, toy.toy_communes(), toy.toy_bpe(), toy.toy_gammes(),
                                                         departements="04", pole_share="half"),
        "fragility-graph-string": lambda: compute_fragility("graph", toy.toy_communes(), None),
        "fragility-bpe-array": lambda: compute_fragility(graph, toy.toy_communes(), np.zeros(3), departements="04"),
        "fragility-mediation-arrays": lambda: compute_fragility(graph, toy.toy_communes(), None, mediation=[np.zeros(2)],
                                                                departements="04"),
        "fragility-normalise-unknown": lambda: compute_fragility(graph, toy.toy_communes(), None, normalisation="z",
                                                                 departements="04"),
        "fragility-extra-dict": lambda: compute_fragility(graph, toy.toy_communes(), None, extra={}, departements="04"),
        "places-ids-none": lambda: Places.from_arrays(graph, None, [6.0], [44.0]),
        "places-lon-text": lambda: Places.from_arrays(graph, ["a"], ["east"], [44.0]),
        "places-duplicate-ids": lambda: Places.from_arrays(graph, ["a", "a"], [6.0, 6.01], [44.0, 44.0]),
        "places-negative-population": lambda: Places.from_arrays(graph, ["a"], [6.0], [44.0], population=[-1]),
        "nearest-raw-array": lambda: nearest(graph, np.array([0, 1]), p),
        "matrix-none": lambda: matrix(graph, p, None),
        "nearest-graph-none": lambda: nearest(None, p, p),
        "snap-text": lambda: snap_points(graph, "a", "b"),
        "snap-distance-text": lambda: snap_points(graph, [6.0], [44.0], max_distance_m="far"),
        "shortest-times-text": lambda: shortest_times(graph, "x"),
        "shortest-cutoff-text": lambda: shortest_times(graph, 0, cutoff_s="soon"),
        "nearest-source-none": lambda: nearest_source(graph, None),
        "time-matrix-floats": lambda: time_matrix(graph, [0.5], [1]),
        "route-graph-dict": lambda: route({}, (6.0, 44.0), (6.01, 44.0)),
        "places-mark-unknown-reason": lambda: p.mark([0], "tired"),
        "places-row-of-unknown": lambda: p.row_of(["zz"]),
        "web-planner-of-a-string": lambda: Planner("model"),
        "web-app-without-planner": lambda: create_app(None),
    }


def test_api_type_errors_stay_in_the_tree(graph):
    for name, call in _api_cases(graph).items():
        with pytest.raises(AccessibilityError) as ei:
            call()
        assert isinstance(ei.value, (InvalidParameterError, DataFormatError, NoCommuneError)), name
        assert str(ei.value), name


def test_places_of_another_graph_are_refused(graph, embedded_graph):
    from accessibility.engine.places import Places, nearest

    p = Places.from_arrays(graph, ["a"], [6.0], [44.0])
    with pytest.raises(InvalidParameterError, match="placed on another graph"):
        nearest(embedded_graph, p, p)


# ---- smaller ones ----------------------------------------------------------------------------


def test_one_way_only_extract_is_refused(tmp_path):
    nodes = {1: (6.0, 44.0), 2: (6.001, 44.0), 3: (6.002, 44.0)}
    p = write_pbf(tmp_path / "oneway.osm.pbf", nodes, [(10, [1, 2, 3], {"highway": "primary", "oneway": "yes"})])
    from accessibility.network.graph import load_graph

    with pytest.raises(NoDrivableRoadError, match="no road is left .* one-way"):
        load_graph(p, use_cache=False)


def test_route_from_a_point_to_itself_is_zero(embedded_graph):
    from accessibility.routing import route

    r = route(embedded_graph, (6.2356, 44.0925), (6.2356, 44.0925))
    assert r.seconds == 0.0 and r.metres == 0.0


# ---- isochrones: the API ---------------------------------------------------------------------

#: A point of the embedded extract 2.2 km from any road (Mercantour).
OFF_ROAD = (6.62, 44.27)


def _iso_cases(g):
    from accessibility.isochrones import (
        check_crs,
        compute_isochrones,
        contours,
        points_places,
        population_from_points,
        travel_time_surface,
    )

    site = Places_from(g)
    return {
        "unknown-crs": (lambda: travel_time_surface(g, site, crs="EPSG:999999"), InvalidParameterError, "unknown CRS 'EPSG:999999'"),
        "crs-not-a-crs": (lambda: check_crs("Lambert"), InvalidParameterError, "unknown CRS 'Lambert'"),
        "geographic-crs": (lambda: travel_time_surface(g, site, crs="EPSG:4326"), InvalidParameterError, "is not projected"),
        "crs-in-feet": (lambda: travel_time_surface(g, site, crs="EPSG:2229"), InvalidParameterError, "not metres"),
        "zero-resolution": (lambda: travel_time_surface(g, site, resolution_m=0), InvalidParameterError, "resolution must be a number of metres > 0, got 0"),
        "negative-resolution": (lambda: travel_time_surface(g, site, resolution_m=-200), InvalidParameterError, "got -200"),
        "nan-resolution": (lambda: travel_time_surface(g, site, resolution_m=float("nan")), InvalidParameterError, "got nan"),
        "text-resolution": (lambda: travel_time_surface(g, site, resolution_m="fine"), InvalidParameterError, "got 'fine'"),
        "too-many-cells": (lambda: travel_time_surface(g, site, resolution_m=1), InvalidParameterError, "more than the 25,000,000 allowed"),
        "minutes-decreasing": (lambda: compute_isochrones(g, site, minutes="20,10"), InvalidParameterError, "strictly increasing .* 10 after 20"),
        "minutes-repeated": (lambda: compute_isochrones(g, site, minutes=[10, 10]), InvalidParameterError, "strictly increasing"),
        "minutes-zero": (lambda: compute_isochrones(g, site, minutes="0,10"), InvalidParameterError, "> 0, got 0"),
        "minutes-inf": (lambda: compute_isochrones(g, site, minutes="10,inf"), InvalidParameterError, "> 0, got inf"),
        "minutes-text": (lambda: compute_isochrones(g, site, minutes="ten"), InvalidParameterError, "numbers separated by commas"),
        "minutes-empty": (lambda: compute_isochrones(g, site, minutes=""), InvalidParameterError, "numbers separated by commas"),
        "minutes-bool": (lambda: compute_isochrones(g, site, minutes=[True]), InvalidParameterError, "numbers separated by commas"),
        "point-off-network": (lambda: points_places(g, [(*OFF_ROAD, "col")]), SnapError, r"'col' .* off the road network: too far from any road \(2,1\d\d m from the nearest road"),
        "point-outside-extract": (lambda: points_places(g, [(2.35, 48.85)]), SnapError, "off the road network: outside the road extract"),
        "point-malformed": (lambda: points_places(g, ["6.2;44.1"]), InvalidParameterError, "is not LON,LAT"),
        "no-point": (lambda: points_places(g, []), InvalidParameterError, "no point given"),
        "sites-raw-array": (lambda: travel_time_surface(g, np.array([0, 1])), InvalidParameterError, "sites must be accessibility Places"),
        "graph-string": (lambda: travel_time_surface("graph", site), InvalidParameterError, "graph must be an accessibility Graph"),
        "groups-wrong-shape": (lambda: travel_time_surface(g, site, groups=np.ones((3, 1), bool)), InvalidParameterError, r"groups must have shape \(len\(sites\)=1"),
        "max-offroad-negative": (lambda: travel_time_surface(g, site, max_offroad_m=-1), InvalidParameterError, "max_offroad_m must be a number >= 0"),
        "max-minutes-zero": (lambda: travel_time_surface(g, site, max_minutes=0), InvalidParameterError, "max_minutes must be a number > 0"),
        "contours-of-an-array": (lambda: contours(np.zeros((3, 3)), [10]), InvalidParameterError, "surface must be an isochrones Surface"),
        "population-bad-shape": (lambda: population_from_points(None, [6.0], [44.0, 44.1], [1.0]), InvalidParameterError, "one length"),
    }


def Places_from(g):
    from accessibility.isochrones import points_places

    return points_places(g, [(6.2356, 44.0925, "Digne")])


def test_isochrone_api_bad_inputs(embedded_graph):
    for name, (call, error, message) in _iso_cases(embedded_graph).items():
        with pytest.raises(error, match=message) as ei:
            call()
        assert "\n" not in str(ei.value), name


def test_isochrone_with_no_site_placed_is_an_error_never_zero(embedded_graph):
    from accessibility.engine.places import Places
    from accessibility.isochrones import travel_time_surface

    p = Places.from_arrays(embedded_graph, ["far"], [OFF_ROAD[0]], [OFF_ROAD[1]])
    with pytest.raises(NoServiceError, match="no site placed on the road network .*1 too far from any road"):
        travel_time_surface(embedded_graph, p)


# ---- isochrones: the command line ------------------------------------------------------------

ISO_CLI_CASES = {
    "unknown-crs": (["--from", "6.2356,44.0925", "--crs", "EPSG:999999"], "unknown CRS 'EPSG:999999'"),
    "geographic-crs": (["--from", "6.2356,44.0925", "--crs", "EPSG:4326"], "is not projected"),
    "zero-resolution": (["--from", "6.2356,44.0925", "--resolution", "0"], "resolution must be a number of metres > 0"),
    "negative-resolution": (["--from", "6.2356,44.0925", "--resolution", "-100"], "got '-100'"),
    "minutes-decreasing": (["--from", "6.2356,44.0925", "--minutes", "30,20"], "strictly increasing"),
    "minutes-text": (["--from", "6.2356,44.0925", "--minutes", "10,abc"], "numbers separated by commas"),
    "malformed-point": (["--from", "6.2356;44.0925"], "is not LON,LAT"),
    "no-sites": ([], "give the sites one way"),
    "two-ways": (["--from", "6.2356,44.0925", "--tier", "proximite"], "give the sites one way"),
    "bad-bpe-source": (["--service", "bpe:"], "is not bpe:TYPEQU"),
    "missing-service-file": (["--service", "no-such-file.csv"], "neither a known name"),
    "unknown-departement": (["--tier", "proximite", "--departement", "99"], "département(s) 99"),
}


@pytest.mark.parametrize("case", ISO_CLI_CASES, ids=list(ISO_CLI_CASES))
def test_isochrone_cli_bad_options_fail_fast(tmp_path, case):
    args, message = ISO_CLI_CASES[case]
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["isochrones", *args, "--out", str(out), "--cache-dir", str(tmp_path / "never")])
    assert r.exit_code != 0 and message in r.output and "Traceback" not in r.output, r.output
    assert len([ln for ln in r.output.splitlines() if ln.startswith("Error")]) == 1
    assert not out.exists() and not (tmp_path / "never").exists()  # before the graph is loaded


ISO_CLI_LATE_CASES = {
    "point-off-network": (["--from", f"{OFF_ROAD[0]},{OFF_ROAD[1]},col"], None, "off the road network"),
    "service-csv-without-coordinates": (["--service", "{f}"], "id,name\n1,a\n", "has no coordinates"),
    "service-csv-text-lat": (["--service", "{f}"], "id,name,lon,lat\n1,a,6.2,north\n", "line 2, column 'lat' holds 'north'"),
    "population-grid-negative": (["--from", "6.2356,44.0925", "--population-grid", "{f}"], "lon,lat,population\n6.2,44.1,-3\n",
                                 "line 2, column 'population' holds '-3', below the minimum 0"),
}


@pytest.mark.parametrize("case", ISO_CLI_LATE_CASES, ids=list(ISO_CLI_LATE_CASES))
def test_isochrone_cli_bad_input_one_line_no_output(tmp_path, cache_dir, case):
    args, content, message = ISO_CLI_LATE_CASES[case]
    if content is not None:
        f = _write(tmp_path / "input.csv", content)
        args = [a.replace("{f}", str(f)) for a in args]
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["isochrones", *args, "--out", str(out), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 1, r.output
    lines = [ln for ln in r.output.splitlines() if ln.startswith("Error")]
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in r.output, r.output
    assert not out.exists() and _leftover_partials(tmp_path) == []


def _leftover_partials(d):
    return [p.name for p in d.iterdir() if p.name.startswith(".out.")]
