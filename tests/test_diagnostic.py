"""``access diagnostic`` on the embedded data (04, 05): the headline table against ``access
compute``'s summary, the bassins against a brute-force matrix, the sectors against networkx's
connected components of the polygon adjacency, the qualification totals against the zone grise
totals; the readers' one-line errors."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from accessibility.cli.main import cli
from accessibility.settings import TIERS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def inputs(embedded_graph):
    from accessibility.analyses.diagnostic.data import ROLES, read_territorial_data
    from accessibility.inputs.communes import load_code_changes, load_commune_polygons, load_communes
    from accessibility.inputs.datasets.layout import open_data_dir
    from accessibility.inputs.services import load_bpe, load_gammes

    dd = open_data_dir()
    changes = load_code_changes()
    return {"graph": embedded_graph, "communes": load_communes(), "bpe": load_bpe(None, code_changes=changes),
            "gammes": load_gammes(None), "polygons": load_commune_polygons(),
            "data": read_territorial_data({r: dd.get(r) for r in ROLES}, code_changes=changes)}


@pytest.fixture(scope="module")
def diag(inputs):
    from accessibility.analyses.diagnostic.pipeline import check_diagnostic_options, run_diagnostic

    i = inputs
    return run_diagnostic(i["graph"], i["communes"], i["bpe"], i["gammes"], options=check_diagnostic_options(),
                          data=i["data"], polygons=i["polygons"])


@pytest.mark.parametrize("method", ["mean", "pole"])
def test_headline_equals_compute_summary(method, inputs, tmp_path, cache_dir):
    from accessibility.analyses.diagnostic.pipeline import check_diagnostic_options, run_diagnostic

    r = CliRunner().invoke(cli, ["compute", "--tier", "all", "--method", method, "--no-maps", "--out",
                                 str(tmp_path / "c"), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    summary = pd.read_csv(tmp_path / "c" / "summary.csv", dtype={"departement": str})
    i = inputs
    d = run_diagnostic(i["graph"], i["communes"], i["bpe"], i["gammes"], options=check_diagnostic_options(method=method),
                       data=i["data"], polygons=i["polygons"])
    h = d.headline
    cols = ["communes", "communes_zone_grise", "population", "population_zone_grise"]
    for row in summary.itertuples():
        mine = h[(h["tier"] == row.tier) & (h["area"] == f"département {row.departement}")]
        assert len(mine) == 1
        for c in cols:
            assert int(mine[c].iloc[0]) == getattr(row, c), (row.tier, row.departement, c)
        assert mine["share_population_zone_grise"].iloc[0] == pytest.approx(row.share_population_zone_grise, abs=1e-9)
    for t in TIERS:
        s = summary[summary["tier"] == t]
        tot = h[(h["tier"] == t) & (h["area"] == "ensemble")].iloc[0]
        for c in cols:
            assert tot[c] == s[c].sum()
        assert tot["share_population_zone_grise"] == pytest.approx(100 * s["population_zone_grise"].sum()
                                                                  / s["population"].sum(), abs=0.005)


def test_region_and_france_are_not_made_up_on_the_embedded_extract(diag):
    h = diag.headline
    assert h["share_region"].isna().all() and h["share_france"].isna().all()
    assert h["region_status"].str.startswith("non calculé : le graphe routier ne couvre que").all()
    st = diag.comparisons.set_index("area")
    assert st.loc["région", "communes"] == 946 and not st.loc["région", "computed"]
    assert st.loc["France", "communes"] > 34_000 and not st.loc["France", "computed"]


def test_armature_levels_follow_the_poles(diag):
    c, p = diag.communes, diag.access.poles
    rank = {t: i + 1 for i, t in enumerate(TIERS)}
    expected = p.assign(r=p["tier"].map(rank)).groupby("code")["r"].max()
    got = c.set_index("code")["level"]
    assert (got[got > 0].sort_index() == expected.reindex(got[got > 0].index).sort_index()).all()
    assert not got[got == 0].index.isin(expected.index).any()
    # a pôle of a gamme holds at least the pôle share of its equipments
    for t in TIERS:
        assert (c.loc[c[f"pole_{t}"], f"share_{t}"] >= 0.5 - 1e-9).all()
        assert (c.loc[~c[f"pole_{t}"], f"share_{t}"] < 0.5).all()


def test_bassins_partition_the_placed_communes_and_each_pole_is_the_nearest(diag, inputs):
    from accessibility.engine.places import Places, matrix

    c = diag.communes[diag.communes["placed"].astype(bool)]
    g = inputs["graph"]
    places = Places.from_communes(g, inputs["communes"].reset_index(drop=True))
    orig = places.take(places.row_of(c["code"].to_numpy(object)))
    poles = diag.poles
    targets = places.take(places.row_of(poles["code"].to_numpy(object)))
    brute = matrix(g, orig, targets, strategy="dijkstra")  # one Dijkstra per commune, no hierarchy
    for i, t in enumerate(TIERS):
        b = diag.bassins[diag.bassins["tier"] == t]
        assert c[f"bassin_{t}"].notna().all()
        assert b["communes"].sum() == len(c) and b["pole"].is_unique
        assert b["population"].sum() == c["population"].astype(int).sum()
        assert set(b["pole"]) == set(c[f"bassin_{t}"])
        cand = np.flatnonzero(poles["level"].to_numpy() >= i + 1)
        sub = brute[:, cand]
        best = sub.min(axis=1)
        codes = poles["code"].to_numpy(object)[cand]
        for k, (code, mins) in enumerate(zip(c[f"bassin_{t}"], c[f"bassin_minutes_{t}"])):
            ties = sorted(codes[np.flatnonzero(sub[k] == best[k])])
            assert code == ties[0], (t, c["code"].iloc[k])
            assert mins == pytest.approx(round(best[k] / 60.0, 2), abs=1e-9)


def test_sectors_are_the_connected_components_of_touching_zone_grise_communes(diag, inputs):
    import geopandas as gpd
    import networkx as nx

    c = diag.communes
    zg = c[c["zone_grise_tiers"].fillna(0).astype(int) > 0]
    poly = inputs["polygons"].set_index("code").loc[zg["code"]].reset_index()
    poly = gpd.GeoDataFrame(poly, geometry="geometry", crs=inputs["polygons"].crs)
    pairs = gpd.sjoin(poly, poly, predicate="intersects")
    g = nx.Graph()
    g.add_nodes_from(zg["code"])
    g.add_edges_from((a, b) for a, b in zip(pairs["code_left"], pairs["code_right"]) if a != b)
    expected = {frozenset(comp) for comp in nx.connected_components(g)}
    got = {frozenset(s.split(";")) for s in diag.sectors["codes"]}
    assert got == expected
    s = diag.sectors
    assert (s["retained"] == (s["communes"] >= 2)).all()
    pop = zg.set_index("code")["population"].astype(int)
    for row in s.itertuples():
        members = row.codes.split(";")
        assert row.population == pop.loc[members].sum()
        largest = zg.set_index("code").loc[members].sort_values(["population"], ascending=False, kind="stable")
        assert row.name == f"secteur de {largest['nom'].iloc[0]}"
        assert (c.set_index("code").loc[members, "sector"] == row.sector).all()


def test_qualification_totals_add_up_to_the_zone_grise(diag):
    h = diag.headline[diag.headline["area"] == "ensemble"].set_index("tier")
    d = diag.density
    for t in TIERS:
        for grouping in ("niveau", "groupe"):
            g = d[(d["tier"] == t) & (d["grouping"] == grouping)]
            assert g["communes_zone_grise"].sum() == h.loc[t, "communes_zone_grise"]
            assert g["population_zone_grise"].sum() == h.loc[t, "population_zone_grise"]
            assert g["communes"].sum() == h.loc[t, "communes"]
        p = diag.profile[(diag.profile["tier"] == t) & (diag.profile["area"] == "zone grise")].iloc[0]
        assert p["communes"] == h.loc[t, "communes_zone_grise"] and p["population"] == h.loc[t, "population_zone_grise"]
        e = diag.deficient[(diag.deficient["tier"] == t) & diag.deficient["measured"]]
        assert (e["communes_zone_grise_beyond"] <= h.loc[t, "communes_zone_grise"]).all()
        assert (e["communes_zone_grise_beyond"] <= e["communes_beyond"]).all()
    for key, table in diag.territories.items():
        for t in TIERS:
            assert table[f"communes_zone_grise_{t}"].sum() == h.loc[t, "communes_zone_grise"], key
            assert table[f"population_zone_grise_{t}"].sum() == h.loc[t, "population_zone_grise"], key


def test_every_mean_zone_grise_commune_lacks_some_equipment_beyond_the_threshold(diag):
    # a mean above the threshold needs at least one equipment above it
    et = diag.access.equipment_times
    c = diag.communes
    for t in TIERS:
        thr = diag.options.thresholds_min[t]
        beyond = set(et[(et["tier"] == t) & (et["minutes"] > thr)]["code"])
        zg = set(c.loc[c[f"zone_grise_{t}"].fillna(False).astype(bool), "code"])
        assert zg <= beyond


def test_population_profile_matches_the_sources(diag, inputs):
    grid = inputs["data"].get("grid_ages_1km")
    p = diag.profile.set_index(["tier", "area"])
    codes = diag.communes.loc[diag.communes["departement"] == "04", "code"]
    g = grid[grid["code"].isin(set(codes))]
    assert p.loc[("proximite", "département 04"), "share_65_pct"] == pytest.approx(
        round(100 * g["aged_65"].sum() / g["population"].sum(), 2))
    cen = inputs["data"].get("socio_census")
    cen = cen[cen["code"].str.startswith("05")]
    assert p.loc[("superieure", "département 05"), "unemployment_pct"] == pytest.approx(
        round(100 * cen["unemployed_1564"].sum() / cen["active_1564"].sum(), 2))


def test_readers_name_file_line_and_column(tmp_path):
    from accessibility.errors import DataFormatError, InputFileError
    from accessibility.inputs.socio import load_census
    from accessibility.inputs.territories import load_density, load_epci

    f = tmp_path / "dens.csv"
    f.write_text("CODGEO,DENS\n04001,6\n04004,9\n")
    with pytest.raises(DataFormatError, match=r"dens.csv', line 3, column 'DENS' holds '9': the density levels are 1 to 7"):
        load_density(f)
    f.write_text("code_commune,code_epci,nom_epci\n04001,1,A\n04001,1,A\n")
    with pytest.raises(DataFormatError, match=r"line 3: code 04001 appears more than once"):
        load_epci(f)
    f.write_text("insee_com,population_2021,pop_15_64_active_2021\n04001,3,2\n")
    with pytest.raises(DataFormatError, match=r"lacks the column\(s\) pop_15_64_chomage_2021"):
        load_census(f)
    with pytest.raises(InputFileError, match="does not exist"):
        load_census(tmp_path / "none.csv")
    # INSEE's zonings export ends with an empty record: dropped; an empty record inside is an error
    f.write_text("CODGEO,DENS\n04001,6\n,\n")
    assert load_density(f)["code"].tolist() == ["04001"]
    f.write_text("CODGEO,DENS\n04001,6\n,\n04004,5\n")
    with pytest.raises(DataFormatError, match="line 3, column 'code' is empty"):
        load_density(f)


def test_options_are_checked_before_any_work():
    from accessibility.analyses.diagnostic.pipeline import check_diagnostic_options
    from accessibility.errors import InvalidParameterError

    with pytest.raises(InvalidParameterError, match="unknown territory table 'commune'"):
        check_diagnostic_options(by="epci,commune")
    with pytest.raises(InvalidParameterError, match="minimum sector size must be an integer >= 1"):
        check_diagnostic_options(min_sector_size=0)
    with pytest.raises(InvalidParameterError, match="unknown method 'both'"):
        check_diagnostic_options(method="both")


def test_region_and_france_are_computed_where_the_graph_covers_them(inputs):
    # a commune table of 04 and 05 only: its "France" is 04 + 05, all inside the graph, so that
    # column is computed, by a second engine run, and equals the whole area's share; its région
    # 93 lacks 06, 13, 83 and 84, so that column is not, and says why
    from accessibility.analyses.diagnostic.pipeline import check_diagnostic_options, run_diagnostic

    i = inputs
    communes = i["communes"][i["communes"]["departement"].isin(["04", "05"])].reset_index(drop=True)
    d = run_diagnostic(i["graph"], communes, i["bpe"], i["gammes"], options=check_diagnostic_options(by=()),
                       data=i["data"], polygons=None)
    st = d.comparisons.set_index("area")
    assert st.loc["France", "computed"] and st.loc["France", "status"] == "calculé sur 360 communes placées sur 360"
    assert not st.loc["région", "computed"]
    assert st.loc["région", "status"].endswith("aucune commune du ou des départements 06, 13, 83, 84")
    tot = d.headline[d.headline["area"] == "ensemble"]
    assert tot["share_france"].notna().all()
    assert (tot["share_france"] == tot["share_population_zone_grise"]).all()
    assert tot["share_region"].isna().all()
