"""The data directory (``datadir.json``): opening it, its errors, the embedded one, ``access data info``."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli
from accessibility.errors import DataFormatError, InputFileError
from accessibility.inputs.datasets.info import describe_data_dir
from accessibility.inputs.datasets.layout import (
    COMMAND_ROLES,
    ROLES,
    STANDARD_NAMES,
    open_data_dir,
    write_manifest,
)
from accessibility.settings import embedded_data_dir

from .conftest import REPO


def test_embedded_data_directory_lists_its_files():
    dd = open_data_dir()
    assert dd.root == embedded_data_dir().resolve()
    assert dd.departements == ("04", "05")
    listed = {dd.path(role).relative_to(dd.root).as_posix() for role in dd.files}
    data_files = {
        p.relative_to(REPO / "data").as_posix()
        for p in (REPO / "data").rglob("*")
        if p.is_file() and p.name not in ("README.md", "datadir.json")
    }
    assert listed == data_files
    # the loaders' defaults are the files the manifest names
    from accessibility.inputs.communes import (
        default_code_changes_path,
        default_communes_path,
        default_polygons_path,
    )
    from accessibility.inputs.services import default_bpe_path, default_gammes_path
    from accessibility.network.graph import default_osm_path

    assert dd.path("osm") == default_osm_path().resolve()
    assert dd.path("communes") == default_communes_path().resolve()
    assert dd.path("code_changes") == default_code_changes_path().resolve()
    assert dd.path("polygons") == default_polygons_path().resolve()
    assert dd.path("bpe") == default_bpe_path().resolve()
    assert dd.path("gammes") == default_gammes_path().resolve()
    for s in dd.sources:
        assert s["licence"] and s["attribution"] and s["role"] in ROLES


def test_missing_role_names_role_file_and_directory():
    dd = open_data_dir()
    with pytest.raises(InputFileError, match=r"has no 'population_grid' file \(population on 200 m squares.*lists: bpe, bpe_2019, cnfs, code_changes"):
        dd.path("population_grid")
    assert dd.get("bpe_points") is None and not dd.has("bpe_points")


def _tmp_dir(tmp_path: Path, **doc) -> Path:
    (tmp_path / "osm").mkdir()
    (tmp_path / "osm" / "roads.osm.pbf").write_bytes(b"x")
    base = {"format": "accessibility-datadir", "version": 1, "files": {"osm": "osm/roads.osm.pbf", "bpe": "bpe/gone.csv"}}
    base.update(doc)
    (tmp_path / "datadir.json").write_text(json.dumps(base))
    return tmp_path


def test_listed_but_missing_file(tmp_path):
    dd = open_data_dir(_tmp_dir(tmp_path))
    assert dd.path("osm").read_bytes() == b"x"
    with pytest.raises(InputFileError, match=r"the 'bpe' file 'bpe/gone.csv' listed in datadir.json does not exist"):
        dd.path("bpe")
    assert dd.missing("compute") == (["communes", "bpe", "gammes"], list(COMMAND_ROLES["compute"][1]))


@pytest.mark.parametrize(
    "content, error, message",
    [
        (None, InputFileError, "is not a data directory: it has no datadir.json"),
        ("{oops", DataFormatError, "is not valid JSON"),
        ('{"format": "other"}', DataFormatError, "is not a data-directory manifest"),
        ('{"format": "accessibility-datadir", "version": 99, "files": {}}', DataFormatError, "upgrade accessibility"),
        ('{"format": "accessibility-datadir", "version": 1, "files": {"osm": "/etc/passwd"}}', DataFormatError,
         "must be relative and inside the directory"),
        ('{"format": "accessibility-datadir", "version": 1, "files": {"osm": "../x.pbf"}}', DataFormatError,
         "must be relative and inside the directory"),
        ('{"format": "accessibility-datadir", "version": 1, "files": []}', DataFormatError, "must map roles"),
    ],
)
def test_bad_manifests(tmp_path, content, error, message):
    if content is not None:
        (tmp_path / "datadir.json").write_text(content)
    with pytest.raises(error, match=message):
        open_data_dir(tmp_path)


def test_not_a_directory(tmp_path):
    with pytest.raises(InputFileError, match="does not exist or is not a directory"):
        open_data_dir(tmp_path / "nope")


def test_write_manifest_round_trip_and_extra_roles(tmp_path):
    (tmp_path / "x.csv").write_text("a\n")
    write_manifest(tmp_path, files={"mediation": "x.csv"}, departements=["62"], neighbours=["59", "80"],
                   name="Pas-de-Calais (62)", coverage={"a": 1})
    dd = open_data_dir(tmp_path / "datadir.json")
    assert dd.path("mediation") == (tmp_path / "x.csv").resolve()
    assert dd.neighbours == ("59", "80") and dd.manifest["coverage"] == {"a": 1}
    assert not list(tmp_path.glob("*.tmp"))


def test_standard_names_cover_every_role():
    assert set(STANDARD_NAMES) == set(ROLES)
    for req, opt in COMMAND_ROLES.values():
        assert set(req) | set(opt) <= set(ROLES)


def test_info_on_the_embedded_data():
    desc = describe_data_dir()
    assert desc["commands"]["compute"] == {"ready": True, "missing_required": [],
                                           "missing_optional": ["bpe_points", "population_grid"]}
    assert desc["files"]["osm"]["exists"] and desc["files"]["osm"]["bytes"] == 5_112_893
    r = CliRunner().invoke(cli, ["data", "info"])
    assert r.exit_code == 0
    assert "compute     ready (without: bpe_points, population_grid)" in r.output
    assert "cite: © OpenStreetMap contributors" in r.output


def test_info_says_what_each_command_lacks(tmp_path):
    shutil.copytree(REPO / "data", tmp_path / "d")
    doc = json.loads((tmp_path / "d" / "datadir.json").read_text())
    del doc["files"]["gammes"]
    (tmp_path / "d" / "datadir.json").write_text(json.dumps(doc))
    r = CliRunner().invoke(cli, ["data", "info", str(tmp_path / "d")])
    assert "compute     MISSING gammes" in r.output and "matrix      ready" in r.output
    r = CliRunner().invoke(cli, ["data", "info", str(tmp_path / "nope")])
    assert r.exit_code == 1 and r.output.startswith("Error: data directory") and len(r.output.splitlines()) == 1
