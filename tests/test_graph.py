"""Graph build: component filter, degree-2 contraction that keeps every time, cache on disk."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import coo_array
from scipy.sparse.csgraph import dijkstra as sp_dijkstra

from accessibility.errors import InvalidParameterError, NoDrivableRoadError
from accessibility.network.graph import graph_from_edges, load_graph, read_graph, save_graph
from accessibility.routing import shortest_times

from .conftest import random_digraph


def _scipy_from_edges(u, v, w, n):
    """Scipy matrix keeping the fastest of parallel edges (coo would sum them)."""
    order = np.lexsort((w, v, u))
    u, v, w = u[order], v[order], w[order]
    first = np.ones(len(u), bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    keep = first & (u != v)
    return coo_array((w[keep], (u[keep], v[keep])), shape=(n, n)).tocsr()


def _road_like(rng, n_junctions=30, n_links=60, max_chain=5, oneway_share=0.3):
    """Junctions joined by chains of intermediate nodes, some one-way."""
    u, v, w = [], [], []
    nxt = n_junctions
    for _ in range(n_links):
        a, b = rng.integers(0, n_junctions, 2)
        k = int(rng.integers(0, max_chain + 1))
        path = [int(a)] + list(range(nxt, nxt + k)) + [int(b)]
        nxt += k
        oneway = rng.random() < oneway_share
        for p, q in zip(path[:-1], path[1:]):
            t = float(rng.uniform(1, 60))
            u.append(p), v.append(q), w.append(t)
            if not oneway:
                u.append(q), v.append(p), w.append(float(rng.uniform(1, 60)) if rng.random() < 0.2 else t)
    return np.array(u), np.array(v), np.array(w), nxt


@pytest.mark.parametrize("seed", range(8))
def test_contraction_keeps_all_times(seed):
    rng = np.random.default_rng(seed)
    u, v, w, n = _road_like(rng)
    full, ids_full = graph_from_edges(u, v, w, contract=False)
    small, ids_small = graph_from_edges(u, v, w, contract=True)
    assert small.n_nodes <= full.n_nodes
    kept = np.flatnonzero(ids_small >= 0)
    assert np.all(ids_full[kept] >= 0)
    ref = sp_dijkstra(full.to_scipy(), indices=ids_full[kept])[:, ids_full[kept]]
    for i, node in enumerate(kept):
        got = shortest_times(small, int(ids_small[node]))[ids_small[kept]]
        np.testing.assert_allclose(got, ref[i], rtol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_shape_points_lie_on_their_chains(seed):
    """Time from a node to a shape point through its chain anchors equals the full graph's."""
    rng = np.random.default_rng(100 + seed)
    u, v, w, n = _road_like(rng)
    x = rng.uniform(6.0, 6.5, n)
    y = rng.uniform(44.0, 44.5, n)
    full, ids_full = graph_from_edges(u, v, w, x=x, y=y, contract=False)
    small, ids_small = graph_from_edges(u, v, w, x=x, y=y, contract=True)
    removed = np.flatnonzero((ids_small < 0) & (ids_full >= 0))
    assert len(removed) == len(small.shape_x) > 0
    # shape points are stored in input-id order
    np.testing.assert_array_equal(small.shape_x, x[removed])
    src_in = np.flatnonzero(ids_small >= 0)[0]
    d_small = shortest_times(small, int(ids_small[src_in]))
    d_full = sp_dijkstra(full.to_scipy(), indices=ids_full[src_in])
    for s, node in enumerate(removed):
        best = np.inf
        for slot in range(2):
            c = small.shape_chain[s, slot]
            if c >= 0:
                best = min(best, d_small[small.chain_tail[c]] + small.shape_offset_s[s, slot])
        assert best == pytest.approx(d_full[ids_full[node]], rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(2, 25),
    m=st.integers(1, 80),
    seed=st.integers(0, 2**32 - 1),
    contract=st.booleans(),
)
def test_random_graphs_against_networkx(n, m, seed, contract):
    import networkx as nx

    rng = np.random.default_rng(seed)
    u, v, w = random_digraph(rng, n, m)
    try:
        g, ids = graph_from_edges(u, v, w, contract=contract)
    except NoDrivableRoadError:
        # nothing to keep: no node lies on a cycle (only self-loops, or one-way edges only)
        H = nx.DiGraph([(int(a), int(b)) for a, b in zip(u, v) if a != b])
        assert max((len(c) for c in nx.strongly_connected_components(H)), default=0) <= 1
        return
    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for a, b, t in zip(u, v, w):
        if a != b and (not G.has_edge(a, b) or G[a][b]["weight"] > t):
            G.add_edge(int(a), int(b), weight=float(t))
    kept = np.flatnonzero(ids >= 0)
    for s in kept[:5]:
        ref = nx.single_source_dijkstra_path_length(G, int(s))
        got = shortest_times(g, int(ids[s]))
        for t_node in kept:
            expected = ref.get(int(t_node), np.inf)
            assert got[ids[t_node]] == pytest.approx(expected, rel=1e-12)


def test_largest_component_drops_one_way_dead_ends():
    # 0 <-> 1 <-> 2 is strongly connected; 2 -> 3 is a one-way dead end; 4 <-> 5 is an island
    u = [0, 1, 1, 2, 2, 4, 5]
    v = [1, 0, 2, 1, 3, 5, 4]
    w = [1.0] * 7
    g, ids = graph_from_edges(u, v, w, length_m=[100.0] * 7, contract=False)
    assert list(ids[[3, 4, 5]]) == [-1, -1, -1]
    assert g.n_nodes == 3
    r = g.report
    assert r.nodes_raw == 6 and r.nodes_scc == 3
    assert r.km_raw == pytest.approx(0.4)  # 4 segments of 100 m, each counted once
    assert r.km_scc == pytest.approx(0.2)


def test_bad_edges():
    with pytest.raises(NoDrivableRoadError):
        graph_from_edges([], [], [])
    with pytest.raises(InvalidParameterError, match="finite and >= 0"):
        graph_from_edges([0, 1], [1, 0], [1.0, -2.0])
    with pytest.raises(InvalidParameterError, match="same length"):
        graph_from_edges([0, 1], [1], [1.0, 1.0])


def test_save_and_read_roundtrip(tmp_path, embedded_graph):
    p = save_graph(embedded_graph, tmp_path / "g.npz")
    g2 = read_graph(p)
    for name in ("indptr", "indices", "time_s", "rev_indptr", "x", "shape_chain", "shape_offset_s"):
        np.testing.assert_array_equal(getattr(g2, name), getattr(embedded_graph, name))
    assert g2.report.nodes == embedded_graph.report.nodes


def test_cache_is_used_and_corrupt_cache_rebuilt(tmp_path, caplog):
    from accessibility.network.graph import default_osm_path

    g1 = load_graph(cache_dir=tmp_path)
    assert not g1.report.from_cache
    dirs = list(tmp_path.glob("graph-*"))
    assert len(dirs) == 1 and dirs[0].is_dir()
    g2 = load_graph(cache_dir=tmp_path)
    assert g2.report.from_cache
    np.testing.assert_array_equal(g1.time_s, g2.time_s)
    # corrupt the cache: zero bytes in the middle of the edge times
    f = dirs[0] / "time_s.npy"
    data = bytearray(f.read_bytes())
    mid = len(data) // 2
    data[mid : mid + 64] = bytes(64)
    f.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING, logger="accessibility.network.graph"):
        g3 = load_graph(default_osm_path(), cache_dir=tmp_path)
    assert not g3.report.from_cache
    assert "rebuilding" in caplog.text
    np.testing.assert_array_equal(g1.time_s, g3.time_s)
    # truncated cache also rebuilt
    f.write_bytes(f.read_bytes()[:1000])
    assert not load_graph(cache_dir=tmp_path).report.from_cache
    assert load_graph(cache_dir=tmp_path).report.from_cache


def test_cache_key_follows_profile(tmp_path):
    import shutil

    from accessibility.settings import DEFAULT_PROFILE_PATH

    prof = tmp_path / "slow.toml"
    shutil.copy(DEFAULT_PROFILE_PATH, prof)
    prof.write_text(prof.read_text().replace("residential = 25", "residential = 20"))
    a = load_graph(cache_dir=tmp_path / "c")
    b = load_graph(cache_dir=tmp_path / "c", profile=prof)
    assert not b.report.from_cache
    assert len(list((tmp_path / "c").glob("graph-*"))) == 2
    assert b.time_s.sum() > a.time_s.sum()


def test_real_graph_matches_scipy_on_uncontracted(embedded_edges):
    """50 random sources: contracted-graph times equal scipy's on the uncontracted graph."""
    e = embedded_edges
    small, ids_small = graph_from_edges(e.u, e.v, e.time_s, length_m=e.length_m, x=e.x, y=e.y)
    full, ids_full = graph_from_edges(
        e.u, e.v, e.time_s, length_m=e.length_m, x=e.x, y=e.y, contract=False
    )
    assert small.n_nodes < 0.3 * full.n_nodes
    kept = np.flatnonzero(ids_small >= 0)
    rng = np.random.default_rng(2024)
    sources = rng.choice(kept, 50, replace=False)
    ref = sp_dijkstra(full.to_scipy(), indices=ids_full[sources])[:, ids_full[kept]]
    for i, s in enumerate(sources):
        got = shortest_times(small, int(ids_small[s]))[ids_small[kept]]
        assert np.array_equal(np.isinf(got), np.isinf(ref[i]))
        np.testing.assert_allclose(got, ref[i], rtol=1e-6)
    assert np.isfinite(ref).all()  # one strongly connected component: everything reachable
