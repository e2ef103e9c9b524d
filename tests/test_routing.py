"""Routing kernels and their wrappers against networkx and scipy; behaviour on the ground."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra as sp_dijkstra

from accessibility.errors import InvalidParameterError
from accessibility.inputs.osm import haversine_m
from accessibility.network.graph import EdgeOptions, graph_from_edges
from accessibility.routing import nearest_source, route, shortest_times, time_matrix

from .conftest import random_digraph, write_pbf


def _nx(u, v, w, n):
    import networkx as nx

    G = nx.DiGraph()
    G.add_nodes_from(range(n))
    for a, b, t in zip(u, v, w):
        if a != b and (not G.has_edge(a, b) or G[a][b]["weight"] > t):
            G.add_edge(int(a), int(b), weight=float(t))
    return G


def _uncontracted(u, v, w, n):
    """Our graph of the same edges with every node kept (no filter, no contraction)."""
    x = np.arange(n, dtype=float)  # distinct positions so ids map one to one
    g, ids = graph_from_edges(u, v, w, x=x, y=np.zeros(n), contract=False,
                              options=EdgeOptions(largest_component=False))
    return g, ids


graphs = st.tuples(st.integers(2, 30), st.integers(1, 120), st.integers(0, 2**32 - 1))


@settings(max_examples=80, deadline=None)
@given(graphs, st.booleans())
def test_one_to_all_against_networkx(spec, reverse):
    import networkx as nx

    n, m, seed = spec
    rng = np.random.default_rng(seed)
    u, v, w = random_digraph(rng, n, m)
    g, ids = _uncontracted(u, v, w, n)
    G = _nx(u, v, w, n)
    if reverse:
        G = G.reverse()
    present = np.flatnonzero(ids >= 0)
    s = int(present[0])
    ref = nx.single_source_dijkstra_path_length(G, s)
    got = shortest_times(g, int(ids[s]), reverse=reverse)
    for node in present:
        assert got[ids[node]] == pytest.approx(ref.get(int(node), np.inf), rel=1e-12)


@settings(max_examples=80, deadline=None)
@given(graphs, st.integers(1, 6), st.sampled_from([None, 30.0, 80.0]))
def test_multi_source_against_networkx(spec, k, cutoff):
    import networkx as nx

    n, m, seed = spec
    rng = np.random.default_rng(seed)
    u, v, w = random_digraph(rng, n, m)
    g, ids = _uncontracted(u, v, w, n)
    present = np.flatnonzero(ids >= 0)
    sources = rng.choice(present, min(k, len(present)), replace=False)
    G = _nx(u, v, w, n)
    ref = nx.multi_source_dijkstra_path_length(G, {int(s) for s in sources})
    time_s, nearest = nearest_source(g, ids[sources], cutoff_s=cutoff)
    per_source = [nx.single_source_dijkstra_path_length(G, int(s)) for s in sources]
    for node in present:
        expected = ref.get(int(node), np.inf)
        if cutoff is not None and expected > cutoff:
            expected = np.inf
        got = time_s[ids[node]]
        assert got == pytest.approx(expected, rel=1e-12)
        j = nearest[ids[node]]
        if np.isinf(expected):
            assert j == -1
        else:  # the labelled source really is at that time
            assert per_source[j][int(node)] == pytest.approx(expected, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(graphs, st.sampled_from([None, 50.0]))
def test_matrix_against_networkx(spec, cutoff):
    import networkx as nx

    n, m, seed = spec
    rng = np.random.default_rng(seed)
    u, v, w = random_digraph(rng, n, m)
    g, ids = _uncontracted(u, v, w, n)
    present = np.flatnonzero(ids >= 0)
    src = rng.choice(present, min(5, len(present)), replace=True)
    tgt = rng.choice(present, min(7, len(present)), replace=True)
    G = _nx(u, v, w, n)
    got = time_matrix(g, ids[src], ids[tgt], cutoff_s=cutoff)
    for i, s in enumerate(src):
        ref = nx.single_source_dijkstra_path_length(G, int(s))
        for j, t in enumerate(tgt):
            e = ref.get(int(t), np.inf)
            if cutoff is not None and e > cutoff:
                e = np.inf
            assert got[i, j] == pytest.approx(e, rel=1e-12)


def test_real_graph_against_scipy(embedded_graph):
    g = embedded_graph
    rng = np.random.default_rng(7)
    src = rng.integers(0, g.n_nodes, 20)
    tgt = rng.integers(0, g.n_nodes, 300)
    ref = sp_dijkstra(g.to_scipy(), indices=src)
    np.testing.assert_allclose(time_matrix(g, src, tgt), ref[:, tgt], rtol=1e-9)
    np.testing.assert_allclose(shortest_times(g, int(src[0])), ref[0], rtol=1e-9)
    ms, _ = nearest_source(g, src)
    np.testing.assert_allclose(ms, ref.min(axis=0), rtol=1e-9)
    rev = shortest_times(g, int(src[1]), reverse=True)
    ref_rev = sp_dijkstra(g.to_scipy().T.tocsr(), indices=int(src[1]))
    np.testing.assert_allclose(rev, ref_rev, rtol=1e-9)


def test_unreachable_is_inf_and_cutoff():
    # 0 -> 1 -> 2, 3 isolated from 0
    g, ids = graph_from_edges([0, 1, 3], [1, 2, 0], [5.0, 7.0, 1.0], x=[0, 1, 2, 3], y=[0, 0, 0, 0],
                              contract=False,
                              options=EdgeOptions(largest_component=False))
    d = shortest_times(g, int(ids[0]))
    assert d[ids[2]] == 12.0 and np.isinf(d[ids[3]])
    d = shortest_times(g, int(ids[0]), cutoff_s=10)
    assert d[ids[1]] == 5.0 and np.isinf(d[ids[2]])
    t, near = nearest_source(g, [ids[2]])
    assert np.isinf(t[ids[0]]) and near[ids[0]] == -1


def test_bad_node_ids(embedded_graph):
    with pytest.raises(InvalidParameterError, match="not in"):
        shortest_times(embedded_graph, embedded_graph.n_nodes)
    with pytest.raises(InvalidParameterError, match="cutoff_s"):
        shortest_times(embedded_graph, 0, cutoff_s=-1)
    with pytest.raises(InvalidParameterError, match="source_times_s"):
        nearest_source(embedded_graph, [0, 1], source_times_s=[1.0])


# --- on the ground -----------------------------------------------------------------------------

# Rue des Pins, Gap (OSM way 100136872): a one-way residential street, drawn north to south.
RUE_DES_PINS = [(6.0762386, 44.5649921), (6.0768287, 44.5639334)]


def test_one_way_street_in_gap(embedded_graph, embedded_edges):
    a, b = RUE_DES_PINS
    fwd = route(embedded_graph, a, b)
    back = route(embedded_graph, b, a)
    # along the street: straight down it, a few hundred metres
    assert fwd.origin_snap_m == 0 and fwd.destination_snap_m == 0
    assert 150 < fwd.metres < 250
    # against it: a detour through the neighbouring streets
    assert back.metres > 3 * fwd.metres
    assert back.seconds > 3 * fwd.seconds


@pytest.fixture
def roundabout_graph(tmp_path, cache_dir):
    """A four-arm roundabout (ring drawn counter-clockwise, as driven in France)."""
    from accessibility.network.graph import load_graph

    c = (6.0, 44.0)
    r = 0.0003
    ring = {1: (c[0] + r, c[1]), 2: (c[0], c[1] + r), 3: (c[0] - r, c[1]), 4: (c[0], c[1] - r)}
    arms = {11: (c[0] + 4 * r, c[1]), 12: (c[0], c[1] + 4 * r), 13: (c[0] - 4 * r, c[1]), 14: (c[0], c[1] - 4 * r)}
    ways = [(100, [1, 2, 3, 4, 1], {"highway": "primary", "junction": "roundabout"})]
    ways += [(200 + i, [10 + i, i], {"highway": "primary"}) for i in range(1, 5)]
    p = write_pbf(tmp_path / "roundabout.osm.pbf", {**ring, **arms}, ways)
    return load_graph(p, cache_dir=tmp_path / "cache"), arms


def test_roundabout_is_driven_one_way(roundabout_graph):
    g, arms = roundabout_graph
    east, north = arms[11], arms[12]
    quarter = route(g, east, north)   # east arm -> next exit: a quarter of the ring
    three = route(g, north, east)     # back: three quarters of the ring
    arm = haversine_m(*east, 6.0003, 44.0) + haversine_m(*north, 6.0, 44.0003)
    ring_quarter = haversine_m(6.0003, 44.0, 6.0, 44.0003)
    assert quarter.metres == pytest.approx(arm + ring_quarter, rel=1e-9)
    assert three.metres == pytest.approx(arm + 3 * ring_quarter, rel=1e-5)  # quarters differ by mm


def _tree_and_chain_graph(rng, n_core, n_extra):
    """A small cyclic core with trees, paths and chains hanging off it, some edges one-way,
    some zero-time: the shapes the dead-end pruning and re-contraction of the kernels handle."""
    u, v, w = [], [], []

    def add(a, b, both):
        t = 0.0 if rng.random() < 0.1 else float(rng.uniform(0, 50))
        u.append(a), v.append(b), w.append(t)
        if both:
            u.append(b), v.append(a), w.append(t if rng.random() < 0.7 else float(rng.uniform(0, 50)))

    for i in range(n_core):  # a ring with chords
        add(i, (i + 1) % n_core, rng.random() < 0.8)
    for _ in range(n_core // 2):
        a, b = rng.integers(0, n_core, 2)
        add(int(a), int(b), rng.random() < 0.7)
    n = n_core
    for _ in range(n_extra):  # grow trees and paths: attach a new node to any existing one
        parent = int(rng.integers(0, n))
        add(parent, n, rng.random() < 0.85)
        if rng.random() < 0.15:  # sometimes close a loop back into the core (a chain)
            add(n, int(rng.integers(0, n_core)), rng.random() < 0.5)
        n += 1
    return np.array(u), np.array(v), np.array(w), n


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 12),
    st.integers(0, 60),
    st.integers(0, 2**32 - 1),
    st.integers(1, 4),
    st.sampled_from([None, 20.0, 60.0]),
    st.booleans(),
)
def test_trees_and_chains_with_seed_times(n_core, n_extra, seed, k, cutoff, reverse):
    import networkx as nx

    rng = np.random.default_rng(seed)
    u, v, w, n = _tree_and_chain_graph(rng, n_core, n_extra)
    g, ids = _uncontracted(u, v, w, n)
    G = _nx(u, v, w, n)
    if reverse:
        G = G.reverse()
    present = np.flatnonzero(ids >= 0)
    sources = rng.choice(present, min(k, len(present)), replace=False)
    seed_t = rng.uniform(0, 10, len(sources))
    # reference: a super-source joined to each seed by an edge of its seed time
    G.add_node(-1)
    for s, t in zip(sources, seed_t):
        G.add_edge(-1, int(s), weight=float(t))
    ref = nx.single_source_dijkstra_path_length(G, -1)
    got, _ = nearest_source(g, ids[sources], source_times_s=seed_t, cutoff_s=cutoff, reverse=reverse)
    for node in present:
        e = ref.get(int(node), np.inf)
        if cutoff is not None and e > cutoff:
            e = np.inf
        assert got[ids[node]] == pytest.approx(e, rel=1e-12, abs=1e-12)
    one = shortest_times(g, int(ids[sources[0]]), reverse=reverse)
    G.remove_node(-1)
    ref1 = nx.single_source_dijkstra_path_length(G, int(sources[0]))
    for node in present:
        assert one[ids[node]] == pytest.approx(ref1.get(int(node), np.inf), rel=1e-12, abs=1e-12)
    if not reverse:
        m = time_matrix(g, ids[sources], ids[present], cutoff_s=cutoff)
        for i, s in enumerate(sources):
            ref_s = nx.single_source_dijkstra_path_length(G, int(s))
            for j, node in enumerate(present):
                e = ref_s.get(int(node), np.inf)
                if cutoff is not None and e > cutoff:
                    e = np.inf
                assert m[i, j] == pytest.approx(e, rel=1e-12, abs=1e-12)
