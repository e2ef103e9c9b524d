"""``access diagnostic --departement 84`` on the PACA road file of ../shared/data (skipped when
absent): the région column is computed (the graph covers PACA), the France column is not and
says why, and the headline rows are ``access compute``'s summary."""

from __future__ import annotations

import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli
from accessibility.settings import TIERS

from .conftest import shared_path

pytestmark = [pytest.mark.shared, pytest.mark.slow]


def test_vaucluse_with_the_region_column(tmp_path, cache_dir):
    s = {k: str(shared_path(*v.split("/"))) for k, v in {
        "osm": "osm/paca-roads-2021.osm.pbf", "polygons": "communes/communes-2023-polygons.gpkg",
        "epci": "territories/epci-communes-2026.csv", "density": "territories/grille-densite-7-niveaux-2024.csv.gz",
        "zonages": "territories/zonages-insee-communes-cog2024.csv.gz", "cantons": "territories/cantons-2024.csv",
        "filosofi": "socio/filosofi-2016-communes.csv.gz",
        "census": "socio/insee-rp2021-communes-population-chomage.csv.gz",
        "age-grid": "population/eurostat-census2021-grid1km-paca.csv.gz"}.items()}
    args = ["diagnostic", "--departement", "84", "--out", str(tmp_path / "o"), "--no-maps", "--no-pdf",
            "--cache-dir", str(cache_dir)]
    for k, v in s.items():
        args += [f"--{k}", v]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    h = pd.read_csv(tmp_path / "o" / "tableau_synthese.csv")
    comp = pd.read_csv(tmp_path / "o" / "comparaisons.csv").set_index("area")
    assert comp.loc["région", "computed"] and comp.loc["région", "communes"] == 946
    assert not comp.loc["France", "computed"]
    assert h["share_region"].notna().all() and h["share_region"].between(0, 100).all()
    assert h["share_france"].isna().all() and h["france_status"].str.startswith("non calculé").all()
    summary = pd.read_csv(tmp_path / "o" / "summary.csv", dtype={"departement": str})
    for t in TIERS:
        row = summary[summary["tier"] == t].iloc[0]
        mine = h[(h["tier"] == t) & (h["area"] == "département 84")].iloc[0]
        assert mine["population_zone_grise"] == row["population_zone_grise"]
        assert mine["communes_zone_grise"] == row["communes_zone_grise"]
    for col in ("epci", "bv", "density"):
        assert (tmp_path / "o" / f"par_{col}.csv").exists()
