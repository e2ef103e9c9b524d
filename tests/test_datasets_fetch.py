"""``access data fetch``: the plan, robust downloads against a real HTTP server on 127.0.0.1 (404,
connection cut, stall, checksums, SIGTERM), the sources.json record, and the CLI."""

from __future__ import annotations

import hashlib
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli
from accessibility.errors import DownloadError, InvalidParameterError
from accessibility.inputs.datasets import sources as src_mod
from accessibility.inputs.datasets.departements import DEPARTEMENTS, check_departements, neighbours_of
from accessibility.inputs.datasets.fetch import download, fetch_departement, read_sources_manifest
from accessibility.inputs.datasets.sources import SOURCES, plan_downloads

from .mirror_server import MIRROR, NPM_TGZ, MirrorServer, copy_mirror, fixture_catalogue

BPE_ZIP = "www.insee.fr/fr/statistiques/fichier/8217525/BPE25.zip"
OSM_05 = "download.openstreetmap.fr/extracts/europe/france/provence_alpes_cote_d_azur/hautes_alpes-latest.osm.pbf"


def _sha256(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _partials(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.endswith(".part") or p.name.endswith(".tmp")]


# ---- départements and the plan ------------------------------------------------------------


def test_departement_table_is_complete_and_symmetric():
    assert len(DEPARTEMENTS) == 101
    assert {"2A", "2B", "971", "972", "973", "974", "976"} <= set(DEPARTEMENTS)
    assert neighbours_of("62") == ("59", "80")
    assert set(neighbours_of("83")) == {"04", "06", "13", "84"}
    for code, d in DEPARTEMENTS.items():
        for n in d.neighbours:
            assert code in DEPARTEMENTS[n].neighbours, (code, n)
        assert d.osm_extract.rsplit("/", 1)[-1]


@pytest.mark.parametrize(
    "code, message",
    [
        ("20", "2A (Corse-du-Sud) and 2B (Haute-Corse)"),
        ("975", "overseas collectivité"),
        ("96", "there is no département 96"),
        ("62x", "2A and 2B for Corsica) or three overseas (971"),
        ("", "no département given"),
    ],
)
def test_bad_departement_codes_say_how_codes_look(code, message):
    with pytest.raises(InvalidParameterError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_departements(code)


def test_departement_codes_are_normalised():
    assert check_departements(["5", "2a", "62,59", "62"]) == ("05", "2A", "62", "59")


def test_plan_for_pas_de_calais_with_neighbours():
    plan = plan_downloads("62")
    osm = [p for p in plan if p.name == "osm"]
    assert [p.departement for p in osm] == ["62", "59", "80"]
    assert osm[0].url == (
        "https://download.openstreetmap.fr/extracts/europe/france/nord_pas_de_calais/pas_de_calais-latest.osm.pbf"
    )
    assert osm[2].local == "osm/somme-latest.osm.pbf"
    assert [p.departement for p in plan if p.name == "communes"] == ["62", "59", "80"]
    names = {p.name for p in plan}
    assert names == {"osm", "communes", "polygons", "code_changes", "bpe_points", "bpe_counts", "gammes", "france_services"}
    bpe = next(p for p in plan if p.name == "bpe_points")
    assert bpe.url.endswith("/8217525/BPE25.zip") and bpe.local == "bpe/BPE25.zip"
    assert {p.name for p in plan_downloads("62", neighbours=False, population_grid=True)} >= {"population_grid"}
    assert [p.departement for p in plan_downloads("62", neighbours=False) if p.name == "osm"] == ["62"]


def test_plan_with_geofabrik_shares_region_files():
    plan = plan_downloads("62", osm_provider="geofabrik")
    osm = [p for p in plan if p.source.role == "osm"]
    assert [p.local for p in osm] == ["osm/nord-pas-de-calais-latest.osm.pbf", "osm/picardie-latest.osm.pbf"]
    assert osm[0].url == "https://download.geofabrik.de/europe/france/nord-pas-de-calais-latest.osm.pbf"


def test_mirror_replaces_every_host():
    plan = plan_downloads("05", neighbours=False, mirror="http://mirror.local/base/")
    assert all(p.url.startswith("http://mirror.local/base/") and p.mirrored for p in plan)
    by = {p.name: p for p in plan}
    assert by["communes"].url == "http://mirror.local/base/geo.api.gouv.fr/departements/05/communes.json"
    assert by["osm"].url == f"http://mirror.local/base/{OSM_05}"


def test_plan_rejects_bad_options():
    with pytest.raises(InvalidParameterError, match="unknown OSM provider 'osmand'"):
        plan_downloads("62", osm_provider="osmand")
    with pytest.raises(InvalidParameterError, match="mirror must be an http"):
        plan_downloads("62", mirror="ftp://x")
    with pytest.raises(InvalidParameterError, match="unknown data source"):
        plan_downloads("62", only=["bpe"])
    with pytest.raises(InvalidParameterError, match="BPE year 1999"):
        plan_downloads("62", bpe_year=1999)


def test_every_source_has_licence_attribution_and_mirror_path():
    for s in SOURCES:
        assert s.licence and s.attribution and s.mirror_path and s.local and s.documentation and s.verified
        assert not s.mirror_path.startswith("/") and "://" not in s.mirror_path


# ---- downloads --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server():
    with MirrorServer() as srv:
        yield srv


def test_full_fetch_records_every_file_and_rerun_downloads_nothing(server, tmp_path):
    cat = fixture_catalogue()
    rep = fetch_departement(
        "05", dest=tmp_path, neighbours=["04"], mirror=server.url, population_grid=True, catalogue=cat, progress=False
    )
    assert [f for f in rep.failed] == []
    assert len(rep.files) == 12
    doc = read_sources_manifest(tmp_path)
    plan = plan_downloads("05", neighbours=["04"], population_grid=True, mirror=server.url, catalogue=cat)
    for pf in plan:
        got = tmp_path / pf.local
        ref = MIRROR / pf.source.mirror_path.format(**src_mod.format_fields(pf.departement, 2025))
        assert got.read_bytes() == ref.read_bytes(), pf.local
        rec = doc["files"][pf.local]
        assert rec["sha256"] == _sha256(ref) and rec["bytes"] == ref.stat().st_size
        assert rec["url"] == pf.url and rec["downloaded_at"] and rec["licence"]
    assert doc["files"]["communes/decoupage-administratif-6.0.0.tgz"]["checksum"]["verified"] is True
    assert doc["request"]["departements"] == ["05"]
    assert _partials(tmp_path) == []
    plain = tmp_path / "plain"
    plain.write_text("")
    assert (tmp_path / "bpe/BPE25.zip").stat().st_mode == plain.stat().st_mode  # umask, not 0600
    plain.unlink()
    # a rerun asks the server nothing and keeps the records
    n = len(server.state.requests)
    rep2 = fetch_departement("05", dest=tmp_path, neighbours=["04"], mirror=server.url, population_grid=True,
                             catalogue=cat, progress=False)
    assert {f["status"] for f in rep2.files} == {"present"}
    assert len(server.state.requests) == n
    assert read_sources_manifest(tmp_path)["files"] == doc["files"]


def test_404_is_one_line_and_other_files_still_come(tmp_path):
    mirror = copy_mirror(tmp_path / "mirror")
    (mirror / "geo.api.gouv.fr/departements/05/communes.json").unlink()
    with MirrorServer(mirror) as srv:
        rep = fetch_departement("05", dest=tmp_path / "dl", neighbours=False, mirror=srv.url,
                                catalogue=fixture_catalogue(), progress=False)
    failed = rep.failed
    assert len(failed) == 1 and failed[0]["local"] == "communes/geo-api-communes-05.json"
    assert failed[0]["error"] == f"HTTP 404 Not Found for {srv.url}/geo.api.gouv.fr/departements/05/communes.json"
    assert not (tmp_path / "dl/communes/geo-api-communes-05.json").exists()
    assert (tmp_path / "dl/bpe/BPE25.zip").is_file()
    assert "communes/geo-api-communes-05.json" not in read_sources_manifest(tmp_path / "dl")["files"]


def test_connection_cut_leaves_no_partial_file_and_a_rerun_completes(server, tmp_path):
    server.state.cut_after[BPE_ZIP] = 5000
    try:
        rep = fetch_departement("05", dest=tmp_path, neighbours=False, mirror=server.url, only=["bpe_points"],
                                retries=0, progress=False)
    finally:
        del server.state.cut_after[BPE_ZIP]
    size = (MIRROR / BPE_ZIP).stat().st_size
    assert rep.failed[0]["error"] == (
        f"connection cut after 5,000 of {size:,} bytes of {server.url}/{BPE_ZIP}; nothing kept, run again to retry"
    )
    assert not (tmp_path / "bpe/BPE25.zip").exists() and _partials(tmp_path) == []
    rep = fetch_departement("05", dest=tmp_path, neighbours=False, mirror=server.url, only=["bpe_points"],
                            retries=0, progress=False)
    assert rep.files[0]["status"] == "downloaded"
    assert (tmp_path / "bpe/BPE25.zip").read_bytes() == (MIRROR / BPE_ZIP).read_bytes()


def test_a_cut_is_retried(server, tmp_path, monkeypatch):
    import accessibility.inputs.datasets.fetch as fetch_mod

    monkeypatch.setattr(fetch_mod, "RETRY_PAUSE_S", 0.0)
    calls = []
    real = fetch_mod.download

    def flaky(url, dest, **kw):
        calls.append(url)
        if len(calls) == 1:
            server.state.cut_after[BPE_ZIP] = 100
        else:
            server.state.cut_after.pop(BPE_ZIP, None)
        return real(url, dest, **kw)

    monkeypatch.setattr(fetch_mod, "download", flaky)
    rep = fetch_departement("05", dest=tmp_path, neighbours=False, mirror=server.url, only=["bpe_points"],
                            retries=1, progress=False)
    assert len(calls) == 2 and rep.files[0]["status"] == "downloaded"


def test_wrong_checksum_keeps_nothing(server, tmp_path):
    # the real catalogue pins the sha1 of the real npm tarball; the fixture tarball differs
    rep = fetch_departement("05", dest=tmp_path, neighbours=False, mirror=server.url, only=["code_changes"],
                            progress=False)
    err = rep.failed[0]["error"]
    got = hashlib.sha1((MIRROR / NPM_TGZ).read_bytes()).hexdigest()
    assert err.startswith(f"checksum mismatch for {server.url}/{NPM_TGZ}: sha1 {got}, expected 0330556cf07e21fff21111e5775a316ec18b9636")
    assert not (tmp_path / "communes/decoupage-administratif-6.0.0.tgz").exists() and _partials(tmp_path) == []


def test_md5_file_next_to_the_data_is_checked(tmp_path):
    mirror = copy_mirror(tmp_path / "mirror")
    target = mirror / "download.geofabrik.de/europe/france/provence-alpes-cote-d-azur-latest.osm.pbf"
    target.parent.mkdir(parents=True)
    target.write_bytes((MIRROR / OSM_05).read_bytes())
    md5 = hashlib.md5(target.read_bytes()).hexdigest()
    Path(str(target) + ".md5").write_text(f"{md5}  {target.name}\n")
    with MirrorServer(mirror) as srv:
        rep = fetch_departement("05", dest=tmp_path / "ok", neighbours=False, mirror=srv.url, osm_provider="geofabrik",
                                only=["osm_geofabrik"], progress=False)
        assert rep.files[0]["status"] == "downloaded"
        assert rep.files[0]["checksum"] == {"type": "md5", "value": md5, "verified": True}
        Path(str(target) + ".md5").write_text("0" * 32 + "  x\n")
        rep = fetch_departement("05", dest=tmp_path / "bad", neighbours=False, mirror=srv.url,
                                osm_provider="geofabrik", only=["osm_geofabrik"], progress=False)
        assert "checksum mismatch" in rep.failed[0]["error"] and "md5" in rep.failed[0]["error"]
        assert not list((tmp_path / "bad").rglob("*.osm.pbf"))


def test_datagouv_resolver_uses_the_api_checksum_and_size(server, tmp_path):
    csv = MIRROR / "www.data.gouv.fr/datasets/liste-des-structures-labellisees-france-services/france-services.csv"
    body = csv.read_bytes()
    res = lambda sha1, size: {  # noqa: E731
        "resources": [
            {"format": "pdf", "title": "documentation", "url": f"{server.url}/doc.pdf"},
            {"format": "csv", "title": "Liste des structures France services (ancienne)", "url": f"{server.url}/old.csv",
             "last_modified": "2023-01-01T00:00:00"},
            {"format": "csv", "title": "Liste des structures France services", "last_modified": "2026-10-01T00:00:00",
             "url": f"{server.url}/fs.csv", "checksum": {"type": "sha1", "value": sha1}, "filesize": size},
        ]
    }
    server.state.canned["fs.csv"] = (200, body, "text/csv")
    import dataclasses

    cat = [dataclasses.replace(s, url=f"{server.url}/api/1/datasets/fs/") if s.name == "france_services" else s
           for s in SOURCES]
    server.state.canned["api/1/datasets/fs/"] = (
        200, json.dumps(res(hashlib.sha1(body).hexdigest(), len(body))).encode(), "application/json")
    rep = fetch_departement("05", dest=tmp_path / "a", neighbours=False, only=["france_services"], catalogue=cat,
                            progress=False)
    rec = rep.files[0]
    assert rec["status"] == "downloaded" and rec["url"] == f"{server.url}/fs.csv"
    assert rec["checksum"]["type"] == "sha1" and rec["checksum"]["verified"]
    assert rec["resource_title"] == "Liste des structures France services"
    server.state.canned["api/1/datasets/fs/"] = (
        200, json.dumps(res(hashlib.sha1(body).hexdigest(), len(body) + 1)).encode(), "application/json")
    rep = fetch_departement("05", dest=tmp_path / "b", neighbours=False, only=["france_services"], catalogue=cat,
                            progress=False)
    assert rep.failed[0]["error"] == f"{server.url}/fs.csv has {len(body):,} bytes where its source announces {len(body) + 1:,}"


def test_stalled_server_times_out_in_one_line(server, tmp_path):
    server.state.stall[BPE_ZIP] = 3.0
    try:
        with pytest.raises(DownloadError, match=r"^no data for 0.5 s from .*BPE25.zip after [0-9,]+ bytes \(timeout\)$"):
            download(f"{server.url}/{BPE_ZIP}", tmp_path / "x.zip", timeout=0.5, progress=False)
    finally:
        del server.state.stall[BPE_ZIP]
    assert list(tmp_path.iterdir()) == []


def test_unreachable_host_is_one_line(tmp_path):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DownloadError, match=rf"^cannot reach http://127.0.0.1:{port}/x: .*refused"):
        download(f"http://127.0.0.1:{port}/x", tmp_path / "x", timeout=2, progress=False)


def test_sigterm_leaves_no_partial_file(server, tmp_path):
    server.state.stall[BPE_ZIP] = 30.0
    code = (
        "import sys\n"
        "from accessibility.inputs.datasets.fetch import download\n"
        f"download({server.url + '/' + BPE_ZIP!r}, {str(tmp_path / 'BPE25.zip')!r}, timeout=60, progress=False)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent.parent)
    try:
        deadline = time.monotonic() + 60
        while not _partials(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _partials(tmp_path), "the download never started"
        proc.send_signal(signal.SIGTERM)
        rc = proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        server.state.stall.pop(BPE_ZIP, None)
    assert rc != 0
    assert list(tmp_path.iterdir()) == []


# ---- CLI --------------------------------------------------------------------------------------


def test_cli_fetch_and_its_errors(server, tmp_path):
    r = CliRunner().invoke(cli, ["data", "fetch", "--departement", "05", "--no-neighbours", "--mirror", server.url,
                                 "--dest", str(tmp_path), "--only", "communes", "--only", "polygons"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "communes/geo-api-communes-05.json").is_file()
    assert "2 of 2 files" in r.output
    r = CliRunner().invoke(cli, ["data", "fetch", "--departement", "05", "--no-neighbours", "--mirror",
                                 server.url + "/nowhere", "--dest", str(tmp_path / "x"), "--only", "gammes"])
    assert r.exit_code == 1
    last = r.output.strip().splitlines()[-1]
    assert last.startswith("Error: 1 file(s) failed, first bpe/BPE_gammes_equipements_2025.xlsx: HTTP 404")
    r = CliRunner().invoke(cli, ["data", "fetch", "--departement", "99"])
    assert r.exit_code == 2 and "there is no département 99" in r.output


def test_cli_sources_json_lists_every_source():
    r = CliRunner().invoke(cli, ["data", "sources", "--json"])
    assert r.exit_code == 0
    rows = json.loads(r.output)
    assert [x["name"] for x in rows] == [s.name for s in SOURCES]
    for x in rows:
        assert {"name", "url", "mirror_path", "licence", "attribution", "vintage"} <= set(x)
    bpe = next(x for x in rows if x["name"] == "bpe_points")
    assert bpe["attribution"] == "INSEE, Base permanente des équipements 2025"
    text = CliRunner().invoke(cli, ["data", "sources"]).output
    assert "mirror:     <MIRROR>/geo.api.gouv.fr/departements/{dep}/communes.json" in text


def test_cli_default_bpe_year_matches_the_library():
    from accessibility.cli import data as cli_data

    assert cli_data._DEFAULT_BPE_YEAR == src_mod.DEFAULT_BPE_YEAR



def test_4xx_and_checksums_are_not_retried_but_5xx_are(server, tmp_path, monkeypatch):
    import accessibility.inputs.datasets.fetch as fetch_mod

    monkeypatch.setattr(fetch_mod, "RETRY_PAUSE_S", 0.0)
    gammes = "www.insee.fr/fr/statistiques/fichier/8217535/BPE_gammes_equipements_2025.xlsx"
    for status, expected in ((404, 1), (503, 3)):
        server.state.canned[gammes] = (status, b"no", "text/plain")
        before = server.state.requests.count(gammes)
        try:
            rep = fetch_departement("05", dest=tmp_path / str(status), neighbours=False, mirror=server.url,
                                    only=["gammes"], retries=2, progress=False)
        finally:
            del server.state.canned[gammes]
        assert rep.failed[0]["error"].startswith(f"HTTP {status} ")
        assert server.state.requests.count(gammes) - before == expected
    before = server.state.requests.count(NPM_TGZ)
    rep = fetch_departement("05", dest=tmp_path / "ck", neighbours=False, mirror=server.url, only=["code_changes"],
                            retries=2, progress=False)
    assert "checksum mismatch" in rep.failed[0]["error"] and server.state.requests.count(NPM_TGZ) - before == 1
