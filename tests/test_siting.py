"""Siting: hand-made cases where the best site is known, monotonicity (hypothesis), incremental
what-ifs equal full recomputations, greedy against exact against brute force, set covering
minimal, and the command line's bad inputs."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accessibility.analyses.siting import InfeasibleCover, SitingModel, max_coverage, p_median, set_cover
from accessibility.cli.main import cli
from accessibility.engine.places import PlaceOptions, Places
from accessibility.errors import InvalidParameterError, SnapError
from accessibility.network.graph import graph_from_edges

from . import toy_zones as toy

# ---- a hand-made valley: A -60s- B -120s- C -300s- D -30s- I, and H 600 s above A -----------


@pytest.fixture(scope="module")
def valley():
    g = toy.toy_graph()
    names = ["A", "B", "C", "D", "I"]
    pops = [1000, 200, 300, 400, 50]
    communes = Places.from_arrays(g, [f"c{n}" for n in names], [toy.NODES[n][0] for n in names],
                                  [toy.NODES[n][1] for n in names], names=names, population=pops,
                                  options=PlaceOptions(kind="commune"))
    sites = Places.from_arrays(g, ["siteA"], [toy.NODES["A"][0]], [toy.NODES["A"][1]], options=PlaceOptions(kind="site"))
    return g, communes, sites


def test_today_by_hand(valley):
    g, communes, sites = valley
    m = SitingModel(g, communes, sites, threshold_min=2.0)
    sc = m.evaluate()
    mins = sc.communes.set_index("code")["minutes_before"].to_dict()
    assert mins == pytest.approx({"cA": 0.0, "cB": 1.0, "cC": 3.0, "cD": 8.0, "cI": 8.5})
    t = sc.totals.set_index("when").loc["before"]
    assert (t["communes_beyond"], t["population_beyond"]) == (3, 750)
    assert t["weighted_mean_minutes"] == pytest.approx((200 * 1 + 300 * 3 + 400 * 8 + 50 * 8.5) / 1950, abs=0.01)


def test_best_new_site_by_hand(valley):
    """Threshold 2 min: a site at D (or at I, 30 s away) covers D (400) and I (50): 450, more
    than C (300) or B (covers C at 2 min: 300). Greedy breaks the tie D/I by order: D."""
    g, communes, sites = valley
    m = SitingModel(g, communes, sites, threshold_min=2.0)
    for method in ("greedy", "exact"):
        o = m.optimize(1, objective="coverage", exact=(method == "exact"))
        sol = o.exact if method == "exact" else o.greedy
        assert communes.placed_only().ids[sol.chosen[0]] in ({"cD"} if method == "greedy" else {"cD", "cI"})
        assert sol.gains[0] == 450 and sol.objective == 1000 + 200 + 450
    o = m.optimize(1, objective="mean-time")
    assert communes.ids[o.exact.chosen[0]] == communes.ids[o.greedy.chosen[0]] == "cD"
    after = o.scenario.communes.set_index("code")["minutes_after"].to_dict()
    assert after == pytest.approx({"cA": 0.0, "cB": 1.0, "cC": 3.0, "cD": 0.0, "cI": 0.5})
    cover = m.cover_all()
    assert cover.exact.objective == 2  # C (or B) for C, and D for D and I
    chosen = {communes.ids[j] for j in cover.exact.chosen}
    assert len(chosen & {"cB", "cC"}) == 1 and len(chosen & {"cD", "cI"}) == 1


def test_what_if_by_hand_add_and_remove(valley):
    g, communes, sites = valley
    m = SitingModel(g, communes, sites, threshold_min=2.0)
    add = m.place_communes(["cC"])
    sc = m.evaluate(add=add)
    assert sc.crossings["code"].tolist() == ["cC"] and sc.crossings["crossing"].tolist() == ["enters"]
    assert sc.communes.set_index("code").loc["cD", "minutes_after"] == 5.0
    sites2 = sites.union(Places.from_arrays(g, ["siteD"], [toy.NODES["D"][0]], [toy.NODES["D"][1]], options=PlaceOptions(kind="site")))
    m2 = SitingModel(g, communes, sites2, threshold_min=2.0)
    sc2 = m2.evaluate(remove=["siteD"])
    assert sc2.crossings.set_index("code")["crossing"].to_dict() == {"cD": "leaves", "cI": "leaves"}
    s = sc2.sites.set_index("id")
    assert s.loc["siteD", "status"] == "removed" and s.loc["siteD", "communes_after"] == 0
    assert s.loc["siteA", "population_after"] == 1950


# ---- random graphs: monotonicity and incremental = full ---------------------------------------


def _grid_graph(rng, n_side: int):
    n = n_side * n_side
    ii, jj = np.divmod(np.arange(n), n_side)
    x, y = 6.0 + 0.01 * jj, 44.0 + 0.01 * ii
    u, v = [], []
    for a in range(n):
        i, j = divmod(a, n_side)
        for b in ((a + 1) if j + 1 < n_side else None, (a + n_side) if i + 1 < n_side else None):
            if b is not None:
                u += [a, b]
                v += [b, a]
    u, v = np.array(u), np.array(v)
    t = rng.uniform(10, 300, len(u))
    oneway = rng.random(len(u)) < 0.15
    keep = ~oneway | (np.arange(len(u)) % 2 == 0)
    g, _ = graph_from_edges(u[keep], v[keep], t[keep], x=x, y=y, contract=False)
    return g, x, y


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_sites=st.integers(1, 4), n_add=st.integers(1, 3))
def test_adding_never_raises_and_removing_never_lowers(seed, n_sites, n_add):
    rng = np.random.default_rng(seed)
    g, x, y = _grid_graph(rng, 6)
    nodes = np.arange(g.n_nodes)
    comm = Places.from_arrays(g, [f"c{i}" for i in nodes], g.x, g.y, population=rng.integers(1, 100, g.n_nodes))
    pick = rng.choice(g.n_nodes, n_sites + n_add, replace=False)
    sites = Places.from_arrays(g, [f"s{i}" for i in pick[:n_sites]], g.x[pick[:n_sites]], g.y[pick[:n_sites]])
    m = SitingModel(g, comm, sites, threshold_min=3.0)
    extra = m.place_points(g.x[pick[n_sites:]], g.y[pick[n_sites:]])
    t_add, _ = m.times_after(add=extra)
    assert np.all(t_add <= m.base_s)
    # the incremental what-if equals a full computation with the sites in the list
    full = SitingModel(g, comm, sites.union(extra), threshold_min=3.0)
    np.testing.assert_allclose(t_add, full.base_s, rtol=1e-12)
    if n_sites > 1:
        gone = sites.ids[rng.integers(0, n_sites)]
        t_rm, k_rm = m.times_after(remove=[gone])
        assert np.all(t_rm >= m.base_s)
        rest = SitingModel(g, comm, sites.take(sites.ids != gone), threshold_min=3.0)
        np.testing.assert_allclose(t_rm, rest.base_s, rtol=1e-12)
        assert not np.isin(k_rm, sites.row_of([gone])).any()


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**31 - 1), n_sites=st.integers(2, 4), n_add=st.integers(0, 2), k=st.integers(1, 3),
       objective=st.sampled_from(["coverage", "mean-time"]))
def test_optimize_on_a_what_if_equals_optimize_with_those_sites(seed, n_sites, n_add, k, objective):
    """The best k sites on top of a what-if (add, remove) are those of a model whose sites are
    the what-if's: the page's "meilleur site suivant" answers for the tab's scenario."""
    rng = np.random.default_rng(seed)
    g, x, y = _grid_graph(rng, 6)
    nodes = np.arange(g.n_nodes)
    comm = Places.from_arrays(g, [f"c{i}" for i in nodes], g.x, g.y, population=rng.integers(1, 100, g.n_nodes))
    pick = rng.choice(g.n_nodes, n_sites + n_add, replace=False)
    sites = Places.from_arrays(g, [f"s{i}" for i in pick[:n_sites]], g.x[pick[:n_sites]], g.y[pick[:n_sites]])
    m = SitingModel(g, comm, sites, threshold_min=3.0)
    extra = m.place_points(g.x[pick[n_sites:]], g.y[pick[n_sites:]]) if n_add else None
    gone = [str(sites.ids[0])]
    o = m.optimize(k, objective=objective, add=extra, remove=gone, time_limit=30)
    kept = sites.take(sites.ids != gone[0])
    ref = SitingModel(g, comm, kept if extra is None else kept.union(extra), threshold_min=3.0).optimize(
        k, objective=objective, time_limit=30)
    assert o.greedy.chosen.tolist() == ref.greedy.chosen.tolist()
    assert o.exact.objective == pytest.approx(ref.exact.objective) and o.exact.before == pytest.approx(ref.exact.before)
    st_ = o.scenario.sites.set_index("id")["status"]
    assert st_[gone[0]] == "removed" and (st_ == "added").sum() == n_add + k
    np.testing.assert_allclose(o.scenario.totals.set_index("when").loc["after", "mean_minutes"],
                               ref.scenario.totals.set_index("when").loc["after", "mean_minutes"])


def test_optimize_reuses_the_candidate_matrix_and_passes_the_time_limit(valley, monkeypatch):
    import accessibility.analyses.siting.model as model_mod

    g, communes, sites = valley
    m = SitingModel(g, communes, sites, threshold_min=2.0)
    calls, limits = [], []
    real_matrix, real_cov = model_mod.matrix, model_mod.max_coverage
    monkeypatch.setattr(model_mod, "matrix", lambda *a, **kw: calls.append(1) or real_matrix(*a, **kw))
    monkeypatch.setattr(model_mod, "max_coverage", lambda *a, **kw: limits.append(kw.get("time_limit")) or real_cov(*a, **kw))
    for k in (1, 2, 1):
        m.optimize(k, time_limit=7.5)
    m.optimize(1, add=m.place_communes(["cC"]), time_limit=7.5)
    assert len(calls) == 1  # one candidate x commune matrix for every call (default candidates)
    assert limits and set(limits) == {7.5}


# ---- optimisation: greedy <= exact == brute force; set cover minimal --------------------------


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(3, 14), m=st.integers(2, 8), k=st.integers(1, 3))
def test_greedy_exact_and_brute_force(seed, n, m, k):
    rng = np.random.default_rng(seed)
    k = min(k, m)
    cost = rng.uniform(0, 60, (n, m))
    cost[rng.random((n, m)) < 0.1] = np.inf
    w = rng.integers(0, 500, n).astype(float)
    base = rng.uniform(5, 80, n)
    combos = list(itertools.combinations(range(m), k))
    g, e = max_coverage(cost, w, base, 30, k), max_coverage(cost, w, base, 30, k, method="exact")
    brute = max(w[(base <= 30) | (cost[:, list(c)] <= 30).any(axis=1)].sum() for c in combos)
    assert g.objective <= e.objective == pytest.approx(brute) and e.optimal
    assert g.objective == pytest.approx(g.before + g.gains.sum())
    g, e = p_median(cost, w, base, k), p_median(cost, w, base, k, method="exact")
    if w.sum() > 0:
        brute = min((w * np.minimum(base, cost[:, list(c)].min(axis=1))).sum() / w.sum() for c in combos)
        assert g.objective >= e.objective - 1e-9 and e.objective == pytest.approx(brute, abs=1e-9)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n=st.integers(2, 12), m=st.integers(1, 7))
def test_set_cover_covers_and_is_minimal(seed, n, m):
    rng = np.random.default_rng(seed)
    cost = rng.uniform(0, 60, (n, m))
    base = rng.uniform(5, 80, n)
    need = base > 30
    reach = cost <= 30
    if (need & ~reach.any(axis=1)).any():
        with pytest.raises(InfeasibleCover) as ei:
            set_cover(cost, base, 30, method="exact")
        assert set(ei.value.uncoverable) == set(np.flatnonzero(need & ~reach.any(axis=1)))
        return
    for method in ("greedy", "exact"):
        sol = set_cover(cost, base, 30, method=method)
        chosen = list(sol.chosen)
        assert (~need | reach[:, chosen].any(axis=1)).all()  # it covers
    smallest = next(r for r in range(m + 1) for c in itertools.combinations(range(m), r)
                    if (~need | reach[:, list(c)].any(axis=1)).all())
    assert set_cover(cost, base, 30, method="exact").objective == smallest
    assert set_cover(cost, base, 30).objective >= smallest


def test_optimisation_bad_inputs():
    cost, w, base = np.ones((3, 2)), np.ones(3), np.ones(3)
    with pytest.raises(InvalidParameterError, match="cannot choose 3 new sites among 2 candidates"):
        max_coverage(cost, w, base, 30, 3)
    with pytest.raises(InvalidParameterError, match="integer >= 1"):
        p_median(cost, w, base, 0)
    with pytest.raises(InvalidParameterError, match="never NaN"):
        p_median(np.full((3, 2), np.nan), w, base, 1)


# ---- the embedded data: France services of 04/05 ----------------------------------------------


@pytest.fixture(scope="module")
def alpes_model(embedded_graph):
    from accessibility.inputs.communes import load_communes
    from accessibility.inputs.points import load_sites, parse_filter

    c = load_communes()
    origins = Places.from_communes(embedded_graph, c[c["departement"].isin(["04", "05"])].reset_index(drop=True))
    df, _ = load_sites("france-services", filters=[parse_filter("format_fs=Fixe")])
    sites = Places.from_frame(embedded_graph, df, attrs=["format_fs"])
    return SitingModel(embedded_graph, origins, sites.placed_only(), threshold_min=30)


def test_embedded_what_if_equals_recompute(alpes_model, embedded_graph):
    m = alpes_model
    add = m.place_points([6.6291], [44.2408], ["Allos"])
    sc = m.evaluate(add=add, remove=[m.sites.ids[0]])
    kept = m.sites.take(m.sites.ids != m.sites.ids[0]).union(add)
    full = SitingModel(embedded_graph, m.communes, kept, threshold_min=30)
    np.testing.assert_allclose(sc.communes["minutes_after"], np.round(full.base_s / 60, 2))
    assert (sc.communes["minutes_after"] <= sc.communes["minutes_before"]).sum() > 0


def test_site_off_the_network_is_an_error(alpes_model):
    with pytest.raises(SnapError, match="cannot be placed: too far from any road"):
        alpes_model.place_points([6.8], [44.99], ["glacier"])  # high mountain, no road
    with pytest.raises(InvalidParameterError, match="unknown site id 'nope'"):
        alpes_model.evaluate(remove=["nope"])


# ---- the command line -------------------------------------------------------------------------


def _site(tmp_path, *args, cache_dir=None):
    out = tmp_path / "out"
    extra = ["--cache-dir", str(cache_dir)] if cache_dir else []
    r = CliRunner().invoke(cli, ["site", *args, "--out", str(out), *extra])
    return r, out


def test_cli_what_if(tmp_path, cache_dir):
    r, out = _site(tmp_path, "--filter", "format_fs=Fixe", "--add", "6.6291,44.2408,Allos", "--no-maps",
                   cache_dir=cache_dir)
    assert r.exit_code == 0, r.output
    assert "come within 30 min: Allos" in r.output
    t = pd.read_csv(out / "totals.csv").set_index("when")
    assert t.loc["after", "communes_beyond"] < t.loc["before", "communes_beyond"]
    s = pd.read_csv(out / "sites.csv", dtype={"id": str})
    assert (s["status"] == "added").sum() == 1
    assert json.loads((out / "run.json").read_text())["parameters"]["add"] == [[6.6291, 44.2408, "Allos"]]


def test_cli_optimize_and_bpe_source(tmp_path, cache_dir):
    r, out = _site(tmp_path, "--service", "bpe:D201", "--optimize", "2", "--objective", "mean-time", "--no-maps",
                   "--threshold", "20", cache_dir=cache_dir)
    assert r.exit_code == 0, r.output
    o = pd.read_csv(out / "optimisation.csv")
    assert sorted(o["method"].unique()) == ["exact", "greedy"] and len(o) == 4
    assert "gap greedy vs exact" in r.output


BAD = {
    "site-off-the-network": (["--add", "6.8,44.99,glacier"], "cannot be placed"),
    "unknown-id-to-remove": (["--remove", "nope"], "unknown site id 'nope'"),
    "k-larger-than-candidates": (["--optimize", "3", "--candidates", "CANDS"], "cannot choose 3 new sites among 2"),
    "filter-missing-column": (["--filter", "colour=blue"], "filter on 'colour'"),
    "filter-matching-nothing": (["--filter", "format_fs=Spaceship"], "keeps no site; values of format_fs"),
    "point-file-without-coordinates": (["--service", "NOCOORDS"], "has no coordinates"),
    "unknown-service": (["--service", "hospitals"], "neither a known name"),
    "bad-add": (["--add", "6.8"], "is not LON,LAT"),
    "what-if-and-optimize": (["--add", "6.1,44.1", "--optimize", "1"], "not both"),
    "unknown-departement": (["--departement", "04,99"], "no commune of département(s) 99 in the commune table"),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_cli_bad_inputs(tmp_path, cache_dir, case):
    args, message = BAD[case]
    cands = tmp_path / "cands.csv"
    cands.write_text("id,name,lon,lat\na,A,6.2356,44.0925\nb,B,6.079,44.5596\n")
    nocoords = tmp_path / "sites.csv"
    nocoords.write_text("id,name,town\n1,x,Gap\n")
    args = [str(cands) if a == "CANDS" else str(nocoords) if a == "NOCOORDS" else a for a in args]
    r, out = _site(tmp_path, *args, "--no-maps", cache_dir=cache_dir)
    assert r.exit_code != 0 and message in r.output, r.output
    assert "Traceback" not in r.output and not out.exists()
