"""The outputs of ``access diagnostic`` (embedded data, 04 and 05): written whole, the
GeoPackage's layers and QGIS styles, the HTML in headless Chromium (no console error, every map
loaded, the headline figures shown), the PDF's pages read back, a data directory without the
territorial tables, and the one-line errors."""

from __future__ import annotations

import json
import re
import sqlite3
from html import unescape
from pathlib import Path

import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli
from accessibility.settings import TIERS

from .web_support import chromium_driver

pytestmark = pytest.mark.slow

MAPS = ["carte_armature.png", *[f"carte_bassins_{t}.png" for t in TIERS], "carte_superposition.png"]


@pytest.fixture(scope="module")
def out(tmp_path_factory, cache_dir):
    d = tmp_path_factory.mktemp("diag") / "out"
    r = CliRunner().invoke(cli, ["diagnostic", "--departement", "04,05", "--out", str(d), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    return d, r.output


def test_every_output_is_written_and_listed_in_run_json(out):
    d, text = out
    run = json.loads((d / "run.json").read_text())
    listed = {o["file"] for o in run["outputs"]}
    on_disk = {p.name for p in d.iterdir()} - {"run.json"}
    assert listed == on_disk
    for f in ("rapport.html", "rapport.pdf", "diagnostic.gpkg", "tableau_synthese.csv", "communes.csv", "bassins.csv",
              "secteurs.csv", "qualification_densite.csv", "services_deficitaires.csv", "qualification_population.csv",
              "par_epci.csv", "par_bv.csv", "par_density.csv", *MAPS):
        assert f in listed, f
    assert run["command"] == "diagnostic" and run["report"]["maps"] == sorted(MAPS)
    assert re.search(r"superieure\s+ensemble\s+360\s+158\s", text) and "files written to" in text


def test_geopackage_layers_open_styled(out):
    import pyogrio

    d, _ = out
    gpkg = d / "diagnostic.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(gpkg)}
    assert {"communes", "poles", "secteurs", *[f"bassins_{t}" for t in TIERS]} <= layers
    con = sqlite3.connect(gpkg)
    try:
        rows = con.execute("SELECT f_table_name, f_geometry_column, useAsDefault, styleQML FROM layer_styles").fetchall()
    finally:
        con.close()
    styled = {r[0] for r in rows}
    assert styled == layers - {"layer_styles"}
    for name, geom, default, qml in rows:
        assert geom == "geom" and default == 1 and qml.startswith("<!DOCTYPE qgis") and "renderer-v2" in qml
    communes = pyogrio.read_dataframe(gpkg, layer="communes")
    assert len(communes) == 360 and {"level", "zone_grise_tiers", "bassin_superieure", "nom_epci", "sector"} <= set(communes)
    sectors = pd.read_csv(d / "secteurs.csv", dtype=str)
    assert len(pyogrio.read_dataframe(gpkg, layer="secteurs")) == len(sectors)
    b = pd.read_csv(d / "bassins.csv", dtype={"pole": str})
    for t in TIERS:
        assert len(pyogrio.read_dataframe(gpkg, layer=f"bassins_{t}")) == int((b["tier"] == t).sum())


def test_pdf_has_the_expected_pages(out):
    from accessibility.analyses.diagnostic.pdf import pdf_page_count

    d, _ = out
    data = (d / "rapport.pdf").read_bytes()
    assert data.startswith(b"%PDF-")
    run = json.loads((d / "run.json").read_text())
    # the headline, the five maps, the sectors, the population of the zones grises
    assert pdf_page_count(d / "rapport.pdf") == 1 + len(MAPS) + 2 == run["report"]["pdf_pages"]
    assert data.count(b"/Type /Page\n") + data.count(b"/Type /Page ") + data.count(b"/Type /Page>") >= 1


@pytest.fixture(scope="module")
def browser():
    with chromium_driver() as driver:
        yield driver


def test_html_renders_in_chromium_without_console_error(out, browser):
    d, _ = out
    browser.get((d / "rapport.html").resolve().as_uri())
    assert browser.title.startswith("Diagnostic d'accessibilité aux services")
    imgs = browser.find_elements("tag name", "img")
    assert len(imgs) == len(MAPS)
    for img in imgs:
        assert browser.execute_script("return arguments[0].complete && arguments[0].naturalWidth > 0", img)
        assert img.get_attribute("src").startswith("data:image/png;base64,")
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "ERROR")]
    assert errors == []
    text = " ".join(browser.find_element("tag name", "body").text.replace("\u202f", " ").split())
    h = pd.read_csv(d / "tableau_synthese.csv")
    tot = h[(h["tier"] == "superieure") & (h["area"] == "ensemble")].iloc[0]
    assert f"{int(tot['population_zone_grise']):,}".replace(",", " ") in text
    assert "Source : tableau_synthese.csv" in text and "Source : secteurs.csv" in text
    assert "non calculé : le graphe routier ne couvre que" in text
    # no external resource: everything the page needs is in the file
    html = (d / "rapport.html").read_text()
    assert not re.search(r"""(src|href)=["']?(https?:|//)|url\(\s*["']?https?:|<link\b|<script\b""", html)


def _bare_data_dir(tmp_path: Path) -> Path:
    """A data directory with the embedded required files only (no territorial table, no polygons)."""
    from accessibility.inputs.datasets.layout import open_data_dir, write_manifest

    emb = open_data_dir()
    root = tmp_path / "bare"
    root.mkdir()
    files = {}
    for role in ("osm", "communes", "bpe", "gammes", "code_changes"):
        src = emb.path(role)
        (root / src.name).symlink_to(src)
        files[role] = src.name
    write_manifest(root, files=files, departements=["04", "05"], name="bare")
    return root


def test_a_data_directory_without_territorial_tables_still_gives_a_report(tmp_path, cache_dir):
    root = _bare_data_dir(tmp_path)
    r = CliRunner().invoke(cli, ["diagnostic", "--data", str(root), "--out", str(tmp_path / "o"), "--no-pdf",
                                 "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    o = tmp_path / "o"
    missing = pd.read_csv(o / "donnees_manquantes.csv")
    assert set(missing["role"]) == {"territory_epci", "territory_density", "territory_zonages", "territory_cantons",
                                    "socio_filosofi", "socio_census", "grid_ages_1km"}
    html = unescape((o / "rapport.html").read_text())
    assert "Table absente (territory_epci)" in html and "Le tableau par epci n'est pas produit" in html
    assert "Pas de polygones des communes" in html
    assert not (o / "par_epci.csv").exists() and not (o / "rapport.pdf").exists()
    prof = pd.read_csv(o / "qualification_population.csv")
    assert prof["share_65_pct"].isna().all() and prof["median_income_eur"].isna().all()
    assert (o / "tableau_synthese.csv").exists() and (o / "secteurs.csv").exists()


def test_bad_input_is_one_line_and_nothing_is_written(tmp_path, cache_dir):
    bad = tmp_path / "dens.csv"
    bad.write_text("CODGEO,DENS\n04001,8\n")
    r = CliRunner().invoke(cli, ["diagnostic", "--density", str(bad), "--out", str(tmp_path / "o"),
                                 "--cache-dir", str(cache_dir)])
    assert r.exit_code == 1
    assert r.output.strip().count("\n") == 0 and "line 2, column 'DENS' holds '8'" in r.output
    assert not (tmp_path / "o").exists()
    r = CliRunner().invoke(cli, ["diagnostic", "--by", "epci,communes", "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "'communes' is not a territory table" in r.output
