"""``access data assemble``: the full fetch -> assemble -> compute round trip on the fixture mirror
(Embrun and the Ubaye, 05 + 04), each reader of a source format, hand-placed files, the clip
checked against an independent selection, and Var (83) from ../shared/data against the whole
PACA network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.analyses.zones import compute_access
from accessibility.cli.main import cli
from accessibility.errors import DataFormatError, InputFileError, InvalidParameterError
from accessibility.inputs.communes import load_code_changes, load_commune_polygons, load_communes
from accessibility.inputs.datasets.assemble import (
    assemble_departement,
    read_bpe_counts_melodi,
    read_code_changes_npm,
    read_gammes_xlsx,
    read_geo_api_communes,
    study_area,
)
from accessibility.inputs.datasets.fetch import fetch_departement
from accessibility.inputs.datasets.layout import STANDARD_NAMES, open_data_dir
from accessibility.inputs.services import equipment_presence, load_bpe, load_bpe_points, load_gammes
from accessibility.network.graph import load_graph

from .conftest import REPO, shared_path
from .mirror_server import MIRROR, NPM_TGZ, MirrorServer, fixture_catalogue

OSM_DIR = MIRROR / "download.openstreetmap.fr/extracts/europe/france/provence_alpes_cote_d_azur"
FIXTURE_PBFS = [OSM_DIR / "hautes_alpes-latest.osm.pbf", OSM_DIR / "alpes_de_haute_provence-latest.osm.pbf"]


@pytest.fixture(scope="module")
def fetched(tmp_path_factory):
    root = tmp_path_factory.mktemp("fetched")
    with MirrorServer() as srv:
        rep = fetch_departement("05", dest=root, neighbours=["04"], mirror=srv.url, population_grid=True,
                                catalogue=fixture_catalogue(), progress=False)
    assert not rep.failed
    return root


@pytest.fixture(scope="module")
def assembled(fetched, tmp_path_factory):
    dest = tmp_path_factory.mktemp("datadir")
    return assemble_departement("05", from_dir=fetched, dest=dest, neighbours=["04"], catalogue=fixture_catalogue())


# ---- the round trip ----------------------------------------------------------------------------


def test_round_trip_fetch_assemble_compute(assembled, cache_dir):
    dd = open_data_dir(assembled.root)
    assert dd.departements == ("05",) and dd.neighbours == ("04",)
    # the fragility index's own sources (BPE 2019, places of digital mediation) and the diagnostic's
    # territorial tables are not assembled yet
    diagnostic_roles = {r for r in STANDARD_NAMES if r.startswith(("territory_", "socio_", "grid_"))}
    assert set(dd.files) == set(STANDARD_NAMES) - {"bpe_2019", "mediation", "cnfs"} - diagnostic_roles
    changes = load_code_changes(dd.path("code_changes"))
    communes = load_communes(dd.path("communes"))
    bpe = load_bpe(dd.path("bpe"), code_changes=changes)
    gammes = load_gammes(dd.path("gammes"))
    graph = load_graph(dd.path("osm"), cache_dir=cache_dir)
    res = compute_access(graph, communes, bpe, gammes, departements="05", methods=("mean", "pole"))

    # Vars' chef-lieu is 7 km from the fixture's roads (its road leaves the fixture box)
    assert res.unplaced[["code", "reason"]].values.tolist() == [["05177", "outside the road extract"]]
    # services across the border count: the 04 villages of the fixture find most of their
    # services in 05 (Savines-le-Lac, Embrun), whose communes are in the table as neighbours
    res04 = compute_access(graph, communes, bpe, gammes, departements="04")
    near = res04.equipment_times.dropna(subset=["nearest"])
    assert (near.nearest.str[:2] == "05").mean() > 0.5
    a = res.access
    assert a.loc[a.code != "05177", "minutes"].notna().all()
    # a pôle is at 0 minutes from its gamme's pôle; Embrun is the pôle of every gamme here
    pole = a[a.method == "pole"]
    for tier in ("proximite", "intermediaire", "superieure"):
        poles = set(res.poles.loc[res.poles.tier == tier, "code"])
        assert "05046" in poles
        sel = pole[(pole.tier == tier) & pole.code.isin(poles)]
        assert len(sel) and (sel.minutes == 0).all()
        assert (pole.loc[(pole.tier == tier) & ~pole.code.isin(poles) & pole.placed, "minutes"] > 0).all()
    # a commune that has every equipment of a gamme found in the extract is at 0 (mean method)
    from accessibility.routing import snap_points

    placed = communes[snap_points(graph, communes.lon.to_numpy(), communes.lat.to_numpy()).ok]
    # Méolans-Revel (04) is 2.7 km from the fixture's roads, Vars 7 km: not places
    assert set(communes.code) - set(placed.code) == {"04161", "05177"}
    pres = equipment_presence(bpe, gammes, placed.code.tolist())
    found = pres.present.any(axis=0)
    mean = a[a.method == "mean"].set_index(["code", "tier"])["minutes"]
    zero = []
    for i, code in enumerate(pres.codes):
        for tier in ("proximite", "intermediaire", "superieure"):
            cols = pres.of_tier(tier)
            cols = cols[found[cols]]
            if (code, tier) in mean.index and pres.present[i, cols].all():
                assert mean[(code, tier)] == 0.0
                zero.append((code, tier))
    assert ("05046", "proximite") in zero  # not vacuous: Embrun has every proximité equipment
    # the summary counts what the access table says
    s = res.summary.set_index(["tier", "method"])
    for (tier, method), row in s.iterrows():
        sel = a[(a.tier == tier) & (a.method == method) & a.placed]
        assert row.communes_zone_grise == int(sel.zone_grise.astype(bool).sum())


def test_manifest_records_sources_coverage_and_licences(assembled, fetched):
    m = json.loads((assembled.root / "datadir.json").read_text())
    assert m["format"] == "accessibility-datadir" and m["buffer_km"] == 20.0
    rec = json.loads((fetched / "sources.json").read_text())["files"]
    by_file = {s["file"]: s for s in m["sources"]}
    for rel, r in rec.items():
        assert by_file[rel]["sha256"] == r["sha256"] and by_file[rel]["url"] == r["url"]
        assert by_file[rel]["licence"]
    osm = [s for s in m["sources"] if s["role"] == "osm"]
    assert {s["attribution"] for s in osm} == {"© OpenStreetMap contributors"}
    cov = m["coverage"]
    assert cov["communes"]["05"]["communes"] == 16 and cov["communes"]["04"]["communes"] == 5
    assert cov["communes"]["05"]["centre"] == {"mairie": 16}
    assert cov["bpe"]["from"].startswith("INSEE counts per commune (DS_BPE_CSV_FR.zip, 2025)")
    assert cov["bpe"]["equipments"] == cov["bpe"]["equipments_in_geolocated_file"]
    # nothing missing but the fragility inputs that no source downloads (placed by hand only)
    assert len(m["notes"]) == 1 and m["notes"][0].startswith("`access fragility` inputs not placed by hand")
    assert all(STANDARD_NAMES[r] in m["notes"][0] for r in ("bpe_2019", "mediation", "cnfs"))


def test_clip_equals_an_independent_selection(assembled):
    """Ways with a node in the study area (05 + 20 km), from both extracts, once each, whole."""
    import osmium
    import shapely

    polys = load_commune_polygons(assembled.path("polygons"))
    polys["departement"] = polys["code"].str[:2]
    area = study_area(polys, ["05"], buffer_km=20.0)
    expected_ways: dict[int, tuple] = {}
    loc: dict[int, tuple[float, float]] = {}
    for pbf in FIXTURE_PBFS:
        for o in osmium.FileProcessor(str(pbf)).with_locations():
            if o.is_node():
                loc[o.id] = (o.location.lon, o.location.lat)
            elif o.is_way() and any(shapely.contains_xy(area, *loc[n.ref]) for n in o.nodes):
                expected_ways[o.id] = tuple(n.ref for n in o.nodes)
    got_ways, got_nodes, order = {}, set(), []
    for o in osmium.FileProcessor(str(assembled.path("osm"))):
        order.append((0 if o.is_node() else 1, o.id))
        if o.is_node():
            got_nodes.add(o.id)
        else:
            got_ways[o.id] = tuple(n.ref for n in o.nodes)
    assert got_ways == expected_ways
    assert got_nodes == {r for refs in expected_ways.values() for r in refs}
    assert order == sorted(set(order))  # sorted by type then id, no duplicate
    # the two fixture extracts overlap: some ways are in both, and are written once
    both = set.intersection(*[
        {o.id for o in osmium.FileProcessor(str(p), osmium.osm.WAY)} for p in FIXTURE_PBFS
    ])
    assert both and both <= set(got_ways)


def test_a_smaller_buffer_keeps_fewer_roads(fetched, assembled, tmp_path):
    dd = assemble_departement("05", from_dir=fetched, dest=tmp_path, neighbours=["04"], buffer_km=0,
                              catalogue=fixture_catalogue())
    small, wide = dd.manifest["coverage"]["osm"], assembled.manifest["coverage"]["osm"]
    assert 0 < small["ways"] < wide["ways"] and small["area_km2"] < wide["area_km2"]


def test_population_grid_sums_to_commune_populations(assembled):
    from accessibility.inputs.datasets.readers import load_population_grid

    pop = load_population_grid(assembled.path("population_grid"))
    assert list(pop.columns) == ["idcar_200m", "lon", "lat", "population", "code"]
    com = load_communes(assembled.path("communes")).set_index("code")["population"]
    per = pop.groupby("code")["population"].sum()
    assert per.to_dict() == {c: float(com[c]) for c in per.index}
    assert set(per.index) == set(com.index)


def test_bpe_points_keep_coordinates_and_quality(assembled):
    pts = pd.read_csv(assembled.path("bpe_points"), dtype=str, keep_default_na=False)
    assert {"DEPCOM", "TYPEQU", "LAMBERT_X", "LAMBERT_Y", "LONGITUDE", "LATITUDE", "QUALITE_XY", "QUALITE_GEOLOC"} <= set(pts.columns)
    assert "NOMRS" not in pts.columns
    loaded = load_bpe_points(assembled.path("bpe_points"))
    assert len(loaded) == len(pts)
    geoloc = pts.LONGITUDE != ""
    # Lambert-93 and WGS84 columns describe the same points
    assert np.allclose(loaded.loc[geoloc.to_numpy(), "lon"], pts.loc[geoloc, "LONGITUDE"].astype(float), atol=1e-6)
    assert loaded.loc[~geoloc.to_numpy(), "lon"].isna().all()


# ---- readers of the source formats -------------------------------------------------------------


def test_geo_api_centre_is_the_mairie_else_a_point_in_the_polygon(tmp_path):
    p = tmp_path / "c.json"
    p.write_text(json.dumps([
        {"code": "05046", "nom": "Embrun", "codeDepartement": "05", "codeRegion": "93", "population": 6412,
         "centre": {"type": "Point", "coordinates": [6.47, 44.55]}, "mairie": {"type": "Point", "coordinates": [6.4959, 44.5637]}},
        {"code": "05999", "nom": "Sans chef-lieu", "codeDepartement": "05", "population": 10,
         "centre": {"type": "Point", "coordinates": [6.1, 44.1]}, "mairie": {"type": "Point", "coordinates": [6.1, 44.1]}},
        {"code": "05998", "nom": "Sans point", "codeDepartement": "05", "population": 0},
    ]))
    df = read_geo_api_communes(p)
    assert df[["code", "lon", "lat", "centre"]].values.tolist()[:2] == [
        ["05046", 6.4959, 44.5637, "mairie"], ["05999", 6.1, 44.1, "polygon"]]
    assert np.isnan(df.lon[2]) and df.centre[2] == ""
    p.write_text('{"type": "FeatureCollection"}')
    with pytest.raises(Exception, match="not a geo.api.gouv.fr list of communes"):
        read_geo_api_communes(p)


def test_code_changes_from_the_npm_package():
    df = read_code_changes_npm(MIRROR / NPM_TGZ)
    fixture = {c["code"] for dep in ("04", "05")
               for c in json.loads((MIRROR / f"geo.api.gouv.fr/departements/{dep}/communes.json").read_text())}
    emb = pd.read_csv(REPO / "data/communes/commune-code-changes.csv", dtype=str)
    ref = emb[emb.code.isin(fixture)]
    assert len(ref) > 0
    assert sorted(map(tuple, df.values.tolist())) == sorted(map(tuple, ref.values.tolist()))


def test_gamme_workbook_gives_the_same_gammes_as_the_csv():
    xl = read_gammes_xlsx(MIRROR / "www.insee.fr/fr/statistiques/fichier/8217535/BPE_gammes_equipements_2025.xlsx")
    tmp = REPO / "data/bpe/bpe-gammes-2021.csv"
    a = load_gammes(tmp).set_index("equipment")
    import tempfile

    with tempfile.TemporaryDirectory() as td:
        p = Path(td) / "g.csv"
        xl.to_csv(p, index=False)
        b = load_gammes(p).set_index("equipment")
    assert a.sort_index()[["tier", "typequ"]].equals(b.sort_index()[["tier", "typequ"]])


def test_melodi_counts_drop_totals_other_levels_and_older_vintages():
    df, vintage = read_bpe_counts_melodi(MIRROR / "www.insee.fr/fr/statistiques/fichier/8217527/DS_BPE_CSV_FR.zip",
                                         ["05", "04"])
    assert vintage == 2025
    pts = pd.read_csv(MIRROR / "www.insee.fr/fr/statistiques/fichier/8217525/BPE25.zip", sep=";", dtype=str)
    ref = pts.groupby(["DEPCOM", "TYPEQU"]).size()
    got = df.set_index(["DEPCOM", "TYPEQU"])["NB_EQUIP"]
    assert got.astype(int).sort_index().to_dict() == ref.sort_index().to_dict()


# ---- hand-placed files and errors --------------------------------------------------------------


def test_hand_placed_files_in_the_loaders_format(tmp_path):
    src = tmp_path / "by-hand"
    for rel, target in {
        "osm/my-extract.osm.pbf": FIXTURE_PBFS[0],
        "communes/communes.csv.gz": REPO / "data/communes/communes-2023.csv.gz",
        "communes/communes-polygons.gpkg": REPO / "data/communes/communes-alpes-du-sud-2023-polygons.gpkg",
        "bpe/bpe-communes.csv.gz": REPO / "data/bpe/bpe-2018-communes.csv.gz",
        "bpe/bpe-gammes.csv": REPO / "data/bpe/bpe-gammes-2021.csv",
        "bpe/bpe-2019-communes.csv.gz": REPO / "data/bpe/bpe-2019-communes.csv.gz",
        "services/lieux-mediation-numerique.csv.gz": REPO / "data/services/lieux-mediation-numerique-paca-2023-05-16.csv.gz",
    }.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(target, src / rel)
    dd = assemble_departement("05", from_dir=src, dest=tmp_path / "dd")
    m = dd.manifest
    # the fragility sources placed by hand are taken as they are; the one missing is said
    assert dd.path("bpe_2019").read_bytes() == (src / "bpe/bpe-2019-communes.csv.gz").read_bytes()
    placed = pd.read_csv(src / "services/lieux-mediation-numerique.csv.gz", sep=None, engine="python", dtype=str)
    assert m["coverage"]["mediation"]["rows"] == len(placed) > 0 and "cnfs" not in m["files"]
    assert [n for n in m["notes"] if "fragility" in n] == [
        "`access fragility` inputs not placed by hand (conseillers numériques places: "
        "services/cnfs-lieux-mediation-numerique.csv.gz): their variables are left empty unless given with "
        "--bpe/--mediation"]
    r = CliRunner().invoke(cli, ["fragility", "--data", str(tmp_path / "dd"), "--no-maps", "--out", str(tmp_path / "f"),
                                 "--cache-dir", str(tmp_path / "cache")])
    assert r.exit_code == 0, r.output
    used = {i["role"]: i["path"] for i in json.loads((tmp_path / "f" / "run.json").read_text())["inputs"]}
    assert used["bpe"] == str(dd.path("bpe_2019")) and used["mediation"] == str(dd.path("mediation"))
    assert m["coverage"]["communes"]["05"]["communes"] == 162
    assert set(m["coverage"]["communes"]) == {"05", "04", "26", "38", "73"}  # the table covers France
    assert any("OSM extracts taken from osm/: my-extract.osm.pbf" in n for n in m["notes"])
    assert any("no commune polygons of neighbouring département(s) 26, 38, 73" in n for n in m["notes"])
    assert any("embedded one (COG 2026)" in n for n in m["notes"])
    assert {s["note"] for s in m["sources"]} == {"not in sources.json: placed by hand"}
    b = load_bpe(dd.path("bpe"), code_changes=load_code_changes(dd.path("code_changes")))
    assert set(b.code.str[:2]) == {"04", "05", "26", "38", "73"}


def test_missing_inputs_and_bad_options_are_clear(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFileError, match=r"no commune polygons in .*communes/geo-api-contours-62.geojson"):
        assemble_departement("62", from_dir=tmp_path / "empty", dest=tmp_path / "dd")
    with pytest.raises(InvalidParameterError, match="must differ"):
        assemble_departement("62", from_dir=tmp_path / "empty", dest=tmp_path / "empty")
    with pytest.raises(InputFileError, match="run `access data fetch` first"):
        assemble_departement("62", from_dir=tmp_path / "nope", dest=tmp_path / "dd")
    with pytest.raises(InvalidParameterError, match="not a département code"):
        assemble_departement("6Z", from_dir=tmp_path / "empty", dest=tmp_path / "dd")
    assert not (tmp_path / "dd" / "datadir.json").exists()


def test_cli_assemble_and_info(fetched, tmp_path):
    r = CliRunner().invoke(cli, ["data", "assemble", "--departement", "05", "--from", str(fetched), "--dest",
                                 str(tmp_path / "dd"), "--no-neighbours", "--buffer-km", "5"])
    assert r.exit_code == 0, r.output
    assert "compute     ready" in r.output and "study area: 05   neighbours included: none" in r.output
    r = CliRunner().invoke(cli, ["data", "info", str(tmp_path / "dd"), "--json"])
    desc = json.loads(r.output)
    assert desc["commands"]["compute"]["ready"] and desc["files"]["osm"]["exists"]
    r = CliRunner().invoke(cli, ["data", "assemble", "--departement", "05", "--from", str(tmp_path / "none")])
    assert r.exit_code == 1 and r.output.startswith("Assembling") and "Error: " in r.output


# ---- Var from the shared PACA data --------------------------------------------------------------


@pytest.mark.shared
@pytest.mark.slow
def test_var_from_hand_placed_shared_files_matches_the_whole_paca_network(tmp_path, cache_dir):
    """Assemble Var (83) from ../shared/data placed by hand, compute its zones grises, and compare
    with the same computation on the whole PACA road file: identical zones grises, and every
    time short enough that no path could leave the 20 km margin and come back is identical."""
    pbf = shared_path("osm", "paca-roads-2021.osm.pbf")
    src = tmp_path / "from"
    for rel, target in {
        "osm/paca-roads-2021.osm.pbf": pbf,
        "communes/communes.csv": shared_path("communes", "communes-2023.csv"),
        "communes/communes-polygons.gpkg": shared_path("communes", "communes-2023-polygons.gpkg"),
        "communes/commune-code-changes.csv": shared_path("communes", "commune-code-changes.csv"),
        "bpe/bpe-communes.csv.gz": shared_path("bpe", "bpe-2018-communes.csv.gz"),
        "bpe/bpe-gammes.csv": shared_path("bpe", "bpe-gammes-2021.csv"),
        "services/france-services.csv": shared_path("services", "france-services-2024-08-01.csv"),
    }.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).symlink_to(target)
    dd = assemble_departement("83", from_dir=src, dest=tmp_path / "var")
    assert dd.neighbours == ("04", "06", "13", "84")
    changes = load_code_changes(dd.path("code_changes"))
    communes = load_communes(dd.path("communes"))
    bpe = load_bpe(dd.path("bpe"), code_changes=changes)
    gammes = load_gammes(dd.path("gammes"))
    g = load_graph(dd.path("osm"), cache_dir=cache_dir)
    res = compute_access(g, communes, bpe, gammes, departements="83", methods=("mean", "pole"))
    assert len(res.unplaced) == 0 and res.summary.communes.eq(153).all()

    full = load_graph(pbf, cache_dir=cache_dir)
    ref = compute_access(full, communes, bpe, gammes, departements="83", methods=("mean", "pole"))
    cols = ["tier", "method", "communes_zone_grise", "population_zone_grise"]
    assert res.summary[cols].equals(ref.summary[cols])
    a = res.equipment_times.set_index(["code", "equipment"])["minutes"]
    b = ref.equipment_times.set_index(["code", "equipment"])["minutes"]
    vmax_m_s = float(np.max(full.length_m / np.maximum(full.time_s, 1e-9)))
    safe_min = 2 * 20_000.0 / vmax_m_s / 60.0  # out to the margin's edge and back, at top speed
    short = b <= safe_min
    assert short.sum() > 0.8 * len(b)
    assert np.allclose(a[short], b[short], rtol=0, atol=1e-9)


def test_population_grid_in_a_7z_says_how_to_read_it(tmp_path, monkeypatch):
    """INSEE's zip holds a .7z archive: without py7zr or 7-Zip the message says what to do."""
    import sys
    import zipfile

    from accessibility.inputs.datasets import assemble as asm

    monkeypatch.setitem(sys.modules, "py7zr", None)  # `import py7zr` raises ImportError
    monkeypatch.setattr(asm.shutil, "which", lambda name: None)
    z = tmp_path / "Filosofi2019_carreaux_200m_gpkg.zip"
    with zipfile.ZipFile(z, "w") as zz:
        zz.writestr("Filosofi2019_carreaux_200m_gpkg.7z", b"7z\xbc\xaf\x27\x1c")
    with pytest.raises(InputFileError, match="install py7zr .* or 7-Zip, or extract the population GeoPackage by hand"):
        asm._population_gpkg(z, tmp_path / "work", "met")


def test_population_grid_exists_for_metropolitan_france_martinique_and_reunion_only():
    from accessibility.inputs.datasets.assemble import _filosofi_part

    assert _filosofi_part(["62", "59"]) == "met" and _filosofi_part(["974"]) == "reun"
    with pytest.raises(InputFileError, match="not 971"):
        _filosofi_part(["971"])


def test_population_grid_reader_errors(tmp_path):
    from accessibility.inputs.datasets.readers import load_population_grid

    p = tmp_path / "p.csv"
    p.write_text("idcar_200m,lon,lat,population\nx,6,44,3\n")
    with pytest.raises(DataFormatError, match=r"lacks the column\(s\) code"):
        load_population_grid(p)
    p.write_text("idcar_200m,lon,lat,population,code\nx,700000,6400000,3,5046\n")
    with pytest.raises(DataFormatError, match="not WGS84"):
        load_population_grid(p)
    p.write_text("idcar_200m,lon,lat,population,code\nx,6.5,44.5,3,5046\ny,6.6,44.6,2,\n")
    df = load_population_grid(p)
    assert df.code.tolist()[0] == "05046" and pd.isna(df.code[1])
    with pytest.raises(InputFileError, match="does not exist"):
        load_population_grid(tmp_path / "none.csv")
