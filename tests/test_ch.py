"""Contraction hierarchies: every strategy against plain Dijkstra (networkx, scipy, and a
lexicographic (seconds, metres) reference for lengths), persistence and its checks.

Random graphs carry integer seconds and metres, so sums are exact and ties are real ties: the
length returned must then be exactly the shortest length among the fastest paths, which the
reference below computes with (seconds, metres) tuples in a heap.
"""

from __future__ import annotations

import heapq
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse.csgraph import dijkstra as sp_dijkstra

from accessibility.errors import InputFileError, InvalidParameterError
from accessibility.network.graph import EdgeOptions, graph_from_edges
from accessibility.routing import nearest_source, place_matrix, snap_points
from accessibility.routing.ch import build_ch, check_ch, load_ch, phast_nearest_source, save_ch
from accessibility.routing.matrix import MatrixQuery, choose_strategy, node_matrix, travel_matrix

from .conftest import shared_path

STRATEGIES = ("dijkstra", "ch", "phast")
BUILDS = [{}, {"max_settled": 1}, {"max_hops": 1}, {"lazy": False, "w_level": 0.0}]


# ---------------------------------------------------------------------------------------------
# references


def _lex_dijkstra(g, seeds):
    """(seconds, metres) of the lexicographically smallest path from the seeds to every node.

    ``seeds``: (node, seconds, metres). Plain heapq Dijkstra on the graph's CSR.
    """
    best = {}
    heap = [(float(t), float(m), int(x)) for x, t, m in seeds]
    heapq.heapify(heap)
    while heap:
        t, m, x = heapq.heappop(heap)
        if x in best:
            continue
        best[x] = (t, m)
        for e in range(g.indptr[x], g.indptr[x + 1]):
            y = int(g.indices[e])
            if y not in best:
                heapq.heappush(heap, (t + g.time_s[e], m + g.length_m[e], y))
    return best


def _nx(g):
    import networkx as nx

    G = nx.DiGraph()
    G.add_nodes_from(range(g.n_nodes))
    u, v, w = g.edge_list()
    G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()))
    return G


def _random_road_graph(rng, n_core, n_extra, n_detached):
    """A ring with chords, trees, paths and chains hanging off it, and a detached part; some
    arcs one-way, some of zero seconds; integer seconds and metres."""
    u, v, t, m = [], [], [], []

    def add(a, b, both):
        s = 0.0 if rng.random() < 0.15 else float(rng.integers(1, 9))
        u.append(a), v.append(b), t.append(s), m.append(float(rng.integers(0, 30)))
        if both:
            s2 = s if rng.random() < 0.7 else float(rng.integers(0, 9))
            u.append(b), v.append(a), t.append(s2), m.append(float(rng.integers(0, 30)))

    for i in range(n_core):
        add(i, (i + 1) % n_core, rng.random() < 0.8)
    for _ in range(n_core):
        a, b = rng.integers(0, n_core, 2)
        add(int(a), int(b), rng.random() < 0.7)
    n = n_core
    for _ in range(n_extra):
        parent = int(rng.integers(0, n))
        add(parent, n, rng.random() < 0.8)
        if rng.random() < 0.2:
            add(n, int(rng.integers(0, n)), rng.random() < 0.5)
        n += 1
    for i in range(n_detached):  # a separate piece: unreachable both ways
        add(n + i, n + (i + 1) % n_detached, rng.random() < 0.5)
    n += n_detached
    return np.array(u), np.array(v), np.array(t), np.array(m), n


def _graph(rng, n_core, n_extra, n_detached):
    u, v, t, m, n = _random_road_graph(rng, n_core, n_extra, n_detached)
    g, _ = graph_from_edges(u, v, t, length_m=m, x=np.arange(n, dtype=float), y=np.zeros(n),
                            contract=False,
                              options=EdgeOptions(largest_component=False))
    return g


def _anchors(rng, n_places, n_nodes, max_k):
    """Random places as CSR anchors: 0..max_k nodes each, integer seconds and metres."""
    counts = rng.integers(0, max_k + 1, n_places)
    ptr = np.zeros(n_places + 1, dtype=np.int64)
    np.cumsum(counts, out=ptr[1:])
    k = int(ptr[-1])
    return (ptr, rng.integers(0, n_nodes, k), rng.integers(0, 4, k).astype(float),
            rng.integers(0, 10, k).astype(float))


def _place_reference(g, src, tgt, cutoff):
    sp, sn, st_, sl = src
    tp, tn, tt, tl = tgt
    ns, nt = len(sp) - 1, len(tp) - 1
    ref_t = np.full((ns, nt), np.inf)
    ref_l = np.full((ns, nt), np.inf)
    for i in range(ns):
        best = _lex_dijkstra(g, zip(sn[sp[i]:sp[i + 1]], st_[sp[i]:sp[i + 1]], sl[sp[i]:sp[i + 1]]))
        for j in range(nt):
            cands = [(best[x][0] + a, best[x][1] + b)
                     for x, a, b in zip(tn[tp[j]:tp[j + 1]], tt[tp[j]:tp[j + 1]], tl[tp[j]:tp[j + 1]])
                     if x in best]
            if cands:
                c = min(cands)
                if c[0] <= cutoff:
                    ref_t[i, j], ref_l[i, j] = c
    return ref_t, ref_l


# ---------------------------------------------------------------------------------------------
# random graphs


graphs = st.tuples(st.integers(1, 25), st.integers(0, 60), st.integers(0, 6), st.integers(0, 2**32 - 1))


@settings(max_examples=120, deadline=None)
@given(graphs, st.sampled_from(BUILDS), st.sampled_from([None, 12.0]))
def test_node_matrix_against_networkx_and_lex_reference(spec, build, cutoff):
    import networkx as nx

    n_core, n_extra, n_det, seed = spec
    rng = np.random.default_rng(seed)
    g = _graph(rng, n_core, n_extra, n_det)
    ch = build_ch(g, **build)
    assert check_ch(ch, g) is None
    n = g.n_nodes
    src = rng.integers(0, n, min(n, 8))
    tgt = rng.integers(0, n, min(n, 9))
    G = _nx(g)
    ref_t = np.full((len(src), len(tgt)), np.inf)
    ref_l = np.full((len(src), len(tgt)), np.inf)
    for i, s in enumerate(src):
        d = nx.single_source_dijkstra_path_length(G, int(s))
        lex = _lex_dijkstra(g, [(s, 0.0, 0.0)])
        for j, x in enumerate(tgt):
            if x in d and (cutoff is None or d[x] <= cutoff):
                ref_t[i, j] = d[x]
                assert lex[int(x)][0] == d[x]
                ref_l[i, j] = lex[int(x)][1]
    for strategy in STRATEGIES:
        got_t, got_l = node_matrix(g, src, tgt, strategy=strategy, hierarchy=ch, cutoff_s=cutoff)
        np.testing.assert_array_equal(got_t, ref_t, err_msg=strategy)
        np.testing.assert_array_equal(got_l, ref_l, err_msg=strategy)
    seconds_only, none = node_matrix(g, src, tgt, strategy="dijkstra", cutoff_s=cutoff, metres=False)
    assert none is None
    np.testing.assert_array_equal(seconds_only, ref_t)


@settings(max_examples=100, deadline=None)
@given(graphs, st.sampled_from([np.inf, 9.0]))
def test_places_with_several_anchors_and_access_legs(spec, cutoff):
    """Sources and targets with 0-3 anchors each (initial seconds and metres), as snapped places."""
    n_core, n_extra, n_det, seed = spec
    rng = np.random.default_rng(seed)
    g = _graph(rng, n_core, n_extra, n_det)
    ch = build_ch(g)
    src = _anchors(rng, 7, g.n_nodes, 3)
    tgt = _anchors(rng, 6, g.n_nodes, 3)
    ref_t, ref_l = _place_reference(g, src, tgt, cutoff)
    for strategy in STRATEGIES:
        q = MatrixQuery(g, *tgt, strategy=strategy, hierarchy=ch, cutoff=cutoff)
        got_t, got_l = q.rows(*src)
        np.testing.assert_array_equal(got_t, ref_t, err_msg=strategy)
        np.testing.assert_array_equal(got_l, ref_l, err_msg=strategy)
        # a block of sources gives the same rows as the whole
        sp = src[0]
        k = sp[3]
        part_t, _ = q.rows(sp[3:] - k, src[1][k:], src[2][k:], src[3][k:])
        np.testing.assert_array_equal(part_t, ref_t[3:], err_msg=strategy)


@settings(max_examples=100, deadline=None)
@given(graphs, st.integers(1, 4), st.sampled_from([None, 10.0]))
def test_phast_one_to_all_against_lex_reference(spec, k, cutoff):
    n_core, n_extra, n_det, seed = spec
    rng = np.random.default_rng(seed)
    g = _graph(rng, n_core, n_extra, n_det)
    ch = build_ch(g)
    sources = rng.integers(0, g.n_nodes, k)
    st0 = rng.integers(0, 5, k).astype(float)
    sl0 = rng.integers(0, 5, k).astype(float)
    t, m, lab = phast_nearest_source(g, ch, sources, source_times_s=st0, source_lengths_m=sl0,
                                     cutoff_s=cutoff)
    ref = _lex_dijkstra(g, zip(sources, st0, sl0))
    cut = np.inf if cutoff is None else cutoff
    per_seed = [_lex_dijkstra(g, [(s, a, b)]) for s, a, b in zip(sources, st0, sl0)]
    for x in range(g.n_nodes):
        e = ref.get(x, (np.inf, np.inf))
        if e[0] > cut:
            e = (np.inf, np.inf)
        assert (t[x], m[x]) == e
        if np.isfinite(e[0]):
            assert per_seed[lab[x]].get(x) == e  # the label's seed does reach x that way
        else:
            assert lab[x] == -1
    # the same times as the bucket-queue multi-source search
    ms, _ = nearest_source(g, sources, source_times_s=st0, cutoff_s=cutoff)
    np.testing.assert_array_equal(ms, t)


def test_unreachable_and_zero_times():
    # 0 -> 1 -> 2 (zero seconds, 5 m), 2 -> 0; 3 <-> 4 detached; 1 -> 2 also by 5 (0 s, 2 m)
    u = [0, 1, 2, 3, 4, 1, 5]
    v = [1, 2, 0, 4, 3, 5, 2]
    t = [3.0, 0.0, 4.0, 1.0, 1.0, 0.0, 0.0]
    m = [30.0, 5.0, 40.0, 10.0, 10.0, 1.0, 1.0]
    g, ids = graph_from_edges(u, v, t, length_m=m, x=np.arange(6.0), y=np.zeros(6),
                              contract=False,
                              options=EdgeOptions(largest_component=False))
    ch = build_ch(g)
    for strategy in STRATEGIES:
        tt, mm = node_matrix(g, ids[[0, 3]], ids[[2, 4, 0]], strategy=strategy, hierarchy=ch)
        np.testing.assert_array_equal(tt, [[3.0, np.inf, 0.0], [np.inf, 1.0, np.inf]])
        # the zero-second detour by 5 is shorter (2 m) than the direct arc (5 m)
        np.testing.assert_array_equal(mm, [[32.0, np.inf, 0.0], [np.inf, 10.0, np.inf]])


_CH_ARRAYS = ("node_rank", "anchor1", "offset1_s", "offset1_m", "anchor2", "offset2_s", "offset2_m",
              "up_indptr", "up_indices", "up_time_s", "up_length_m", "up_mid", "down_indptr",
              "down_indices", "down_time_s", "down_length_m", "down_mid")


def test_build_is_deterministic_and_limits_only_add_shortcuts(embedded_graph):
    g = embedded_graph
    a = build_ch(g)
    b = build_ch(g)
    for name in _CH_ARRAYS:
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.build["n_shortcuts"] > 0
    # tighter witness limits: the build stays deterministic, stops witness searches earlier, so
    # it proves fewer shortcuts redundant (more of them), and every answer stays the same
    lim = build_ch(g, max_settled=5, max_hops=2)
    lim2 = build_ch(g, max_settled=5, max_hops=2)
    for name in _CH_ARRAYS:
        np.testing.assert_array_equal(getattr(lim, name), getattr(lim2, name), err_msg=name)
    assert lim.build["max_settled"] == 5 and lim.build["max_hops"] == 2
    assert lim.build["n_shortcuts"] > a.build["n_shortcuts"]
    assert lim.n_core == a.n_core and np.array_equal(np.asarray(lim.node_rank) >= 0, np.asarray(a.node_rank) >= 0)
    rng = np.random.default_rng(7)
    src, tgt = rng.integers(0, g.n_nodes, 30), rng.integers(0, g.n_nodes, 40)
    ref = sp_dijkstra(g.to_scipy(), indices=src)[:, tgt]
    t_a, m_a = node_matrix(g, src, tgt, strategy="ch", hierarchy=a)
    t_l, m_l = node_matrix(g, src, tgt, strategy="ch", hierarchy=lim)
    np.testing.assert_allclose(t_a, ref, rtol=1e-9)
    np.testing.assert_allclose(t_l, ref, rtol=1e-9)
    np.testing.assert_allclose(m_l, m_a, rtol=1e-9)


# ---------------------------------------------------------------------------------------------
# the embedded graph


@pytest.fixture(scope="module")
def embedded_ch(embedded_graph):
    return build_ch(embedded_graph)


def _pred_lengths(g, pred, src, tgt):
    """Metres along scipy's predecessor paths (one fastest path per pair), vectorised."""
    n = g.n_nodes
    keys = np.repeat(np.arange(n, dtype=np.int64), np.diff(g.indptr)) * n + g.indices
    out = np.zeros((len(src), len(tgt)))
    for i in range(len(src)):
        cur = np.array(tgt, dtype=np.int64)
        acc = np.zeros(len(tgt))
        live = pred[i, cur] >= 0
        while live.any():
            p = pred[i, cur[live]]
            e = np.searchsorted(keys, p.astype(np.int64) * n + cur[live])
            acc[live] += g.length_m[e]
            cur[live] = p
            live = np.zeros(len(tgt), dtype=bool)
            live[:] = pred[i, cur] >= 0
        out[i] = acc
    return out


def test_embedded_node_pairs_against_scipy(embedded_graph, embedded_ch):
    g = embedded_graph
    rng = np.random.default_rng(11)
    src = rng.integers(0, g.n_nodes, 50)
    tgt = rng.integers(0, g.n_nodes, 80)  # 4,000 pairs
    ref, pred = sp_dijkstra(g.to_scipy(), indices=src, return_predecessors=True)
    ref_len = _pred_lengths(g, pred, src, tgt)
    got = {s: node_matrix(g, src, tgt, strategy=s, hierarchy=embedded_ch) for s in STRATEGIES}
    for s, (t, m) in got.items():
        np.testing.assert_allclose(t, ref[:, tgt], rtol=1e-9, err_msg=s)
        np.testing.assert_allclose(m, got["dijkstra"][1], rtol=1e-9, err_msg=s)
        # scipy's path is one fastest path: ours is never longer
        fin = np.isfinite(m)
        assert np.all(m[fin] <= ref_len[fin] * (1 + 1e-9) + 1e-6), s


def test_embedded_places_equal_place_matrix(embedded_graph, embedded_ch):
    g = embedded_graph
    rng = np.random.default_rng(12)
    i = rng.integers(0, len(g.shape_x), 300)
    lon = np.r_[g.shape_x[i] + rng.normal(0, 2e-3, 300), 3.0]  # the last one far from any road
    lat = np.r_[g.shape_y[i] + rng.normal(0, 2e-3, 300), 47.0]
    places = snap_points(g, lon, lat)
    assert not places.ok[-1]  # its row and column are inf
    ref = place_matrix(g, places, places)
    lengths = {}
    for s in STRATEGIES:
        t, m = travel_matrix(g, places, places, strategy=s, hierarchy=embedded_ch)
        np.testing.assert_allclose(t, ref, rtol=1e-9, err_msg=s)
        assert np.array_equal(np.isinf(m), np.isinf(t))
        lengths[s] = m
    np.testing.assert_allclose(lengths["ch"], lengths["dijkstra"], rtol=1e-9)
    np.testing.assert_allclose(lengths["phast"], lengths["dijkstra"], rtol=1e-9)
    # cutoff: the same pairs as place_matrix's
    t, _ = travel_matrix(g, places, places, strategy="ch", hierarchy=embedded_ch, cutoff_s=900.0)
    np.testing.assert_allclose(t, place_matrix(g, places, places, cutoff_s=900.0), rtol=1e-9)


def test_embedded_phast_against_nearest_source(embedded_graph, embedded_ch):
    g = embedded_graph
    src = np.random.default_rng(13).integers(0, g.n_nodes, 40)
    t, m, lab = phast_nearest_source(g, embedded_ch, src)
    ref, _ = nearest_source(g, src)
    np.testing.assert_allclose(t, ref, rtol=1e-9)
    assert np.all(np.isfinite(m))  # one strongly connected component


# ---------------------------------------------------------------------------------------------
# persistence and checks


def test_save_load_roundtrip_memory_mapped(tmp_path, embedded_graph, embedded_ch):
    d = save_ch(embedded_ch, tmp_path / "ch")
    meta = json.loads((d / "meta.json").read_text())
    assert meta["n_core"] == embedded_ch.n_core and meta["graph_key"] == embedded_ch.graph_key
    ch = load_ch(d, graph=embedded_graph)
    assert isinstance(ch.up_indices, np.memmap)
    for name in ("node_rank", "up_indices", "down_time_s", "offset2_m"):
        np.testing.assert_array_equal(getattr(ch, name), getattr(embedded_ch, name))
    src = np.arange(0, embedded_graph.n_nodes, 5000)
    a = node_matrix(embedded_graph, src, src, strategy="ch", hierarchy=ch)
    b = node_matrix(embedded_graph, src, src, strategy="ch", hierarchy=embedded_ch)
    np.testing.assert_array_equal(a[0], b[0])
    # saving again over it replaces it
    save_ch(embedded_ch, d)
    assert load_ch(d, mmap=False).n_core == embedded_ch.n_core


def _corrupt(tmp_path, ch, name, fn, *, recrc: bool = True):
    """Save ``ch``, rewrite one array with ``fn``; with ``recrc``, record the new array's CRC in
    meta.json too, so that the content checks (not the CRC) are what must catch it."""
    import zlib

    d = save_ch(ch, tmp_path / name)
    b = fn(np.load(d / f"{name}.npy").copy())
    np.save(d / f"{name}.npy", b)
    if recrc:
        meta = json.loads((d / "meta.json").read_text())
        meta["arrays"][name] = {"dtype": b.dtype.str, "shape": list(b.shape),
                                "crc32": zlib.crc32(np.ascontiguousarray(b).tobytes()) if b.size else 0}
        (d / "meta.json").write_text(json.dumps(meta))
    return d


@pytest.mark.parametrize(
    "name, fn, match",
    [
        ("node_rank", lambda a: np.where(a == 1, 0, a), "not a permutation"),
        ("up_indices", lambda a: np.zeros_like(a), "higher ranks"),
        ("down_time_s", lambda a: np.where(np.arange(len(a)) == 3, -1.0, a), "finite and >= 0"),
        ("up_length_m", lambda a: np.where(np.arange(len(a)) == 3, np.nan, a), "finite and >= 0"),
        ("up_indptr", lambda a: a[::-1].copy(), "indptr"),
        ("anchor1", lambda a: a + 10**8, "anchor"),
        ("down_indices", lambda a: a[:-1].copy(), "differ from meta"),
    ],
)
def test_load_detects_corrupt_arrays(tmp_path, embedded_ch, name, fn, match):
    # the CRC recorded at save time refuses the rewritten file...
    with pytest.raises(InputFileError, match="damaged"):
        load_ch(_corrupt(tmp_path / "crc", embedded_ch, name, fn, recrc=False))
    # ...and the content checks refuse it even with a matching CRC
    with pytest.raises(InputFileError, match=match):
        load_ch(_corrupt(tmp_path, embedded_ch, name, fn))


def test_load_errors(tmp_path, embedded_graph, embedded_ch):
    with pytest.raises(InputFileError, match="cannot read hierarchy"):
        load_ch(tmp_path / "nowhere")
    d = save_ch(embedded_ch, tmp_path / "ch")
    (d / "up_time_s.npy").write_bytes((d / "up_time_s.npy").read_bytes()[:100])  # truncated
    with pytest.raises(InputFileError, match="cannot read hierarchy"):
        load_ch(d)
    d = save_ch(embedded_ch, tmp_path / "ch2")
    meta = json.loads((d / "meta.json").read_text())
    meta["format"] = 99
    (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(InputFileError, match="format 99"):
        load_ch(d)
    other = graph_from_edges([0, 1], [1, 0], [1.0, 1.0], x=[0.0, 1.0], y=[0.0, 0.0])[0]
    d = save_ch(build_ch(other), tmp_path / "ch3")
    with pytest.raises(InputFileError, match="another graph"):
        load_ch(d, graph=embedded_graph)


def test_bad_parameters(embedded_graph, embedded_ch):
    g = embedded_graph
    with pytest.raises(InvalidParameterError, match="strategy must be one of"):
        node_matrix(g, [0], [1], strategy="osrm")
    with pytest.raises(InvalidParameterError, match="max_settled"):
        build_ch(g, max_settled=0)
    other = graph_from_edges([0, 1], [1, 0], [1.0, 1.0], x=[0.0, 1.0], y=[0.0, 0.0])[0]
    with pytest.raises(InvalidParameterError, match="built for a graph of"):
        node_matrix(g, [0], [1], strategy="ch", hierarchy=build_ch(other))
    with pytest.raises(InvalidParameterError, match="source_times_s"):
        phast_nearest_source(g, embedded_ch, [0, 1], source_times_s=[1.0])
    assert choose_strategy(10, 10, prepared=False) == "dijkstra"
    assert choose_strategy(10, 10, prepared=True) == "ch"


# ---------------------------------------------------------------------------------------------
# PACA (../shared/data)


@pytest.fixture(scope="module")
def paca(cache_dir):
    from accessibility.network.graph import load_graph

    g = load_graph(shared_path("osm", "paca-roads-2021.osm.pbf"), cache_dir=cache_dir)
    return g, build_ch(g)


@pytest.mark.shared
@pytest.mark.slow
def test_paca_10000_pairs_against_scipy(paca):
    g, ch = paca
    rng = np.random.default_rng(21)
    src = rng.integers(0, g.n_nodes, 100)
    tgt = rng.integers(0, g.n_nodes, 100)  # 10,000 pairs
    ref, pred = sp_dijkstra(g.to_scipy(), indices=src, return_predecessors=True)
    ref_len = _pred_lengths(g, pred, src, tgt)
    lex = node_matrix(g, src, tgt, strategy="dijkstra", hierarchy=ch)[1]
    for s in ("ch", "phast"):
        t, m = node_matrix(g, src, tgt, strategy=s, hierarchy=ch)
        np.testing.assert_allclose(t, ref[:, tgt], rtol=1e-9, err_msg=s)
        np.testing.assert_allclose(m, lex, rtol=1e-9, err_msg=s)
        fin = np.isfinite(m)
        assert np.all(m[fin] <= ref_len[fin] * (1 + 1e-9) + 1e-6), s


@pytest.mark.shared
@pytest.mark.slow
def test_paca_places_equal_place_matrix(paca):
    g, ch = paca
    rng = np.random.default_rng(22)
    i = rng.integers(0, len(g.shape_x), 100)
    places = snap_points(g, g.shape_x[i] + rng.normal(0, 1e-3, 100), g.shape_y[i] + rng.normal(0, 1e-3, 100))
    ref = place_matrix(g, places, places)
    t, _ = travel_matrix(g, places, places, strategy="ch", hierarchy=ch)
    np.testing.assert_allclose(t, ref, rtol=1e-9)


def test_load_or_build_rebuilds_a_stale_hierarchy(tmp_path, embedded_graph, caplog):
    from accessibility.routing.ch import load_or_build_ch

    small = graph_from_edges([0, 1, 1, 2], [1, 0, 2, 1], [1.0, 1.0, 2.0, 2.0], x=[0.0, 1.0, 2.0],
                             y=[0.0, 0.0, 0.0], contract=False)[0]
    d = tmp_path / "ch"
    first = load_or_build_ch(small, d)
    assert (d / "meta.json").exists() and first.n_nodes == 3
    # another graph finds the saved hierarchy stale: rebuilt and saved over it
    other = graph_from_edges([0, 1], [1, 0], [1.0, 1.0], x=[0.0, 1.0], y=[0.0, 0.0])[0]
    second = load_or_build_ch(other, d)
    assert second.n_nodes == 2 and "rebuilding" in caplog.text
    assert load_ch(d, graph=other).n_nodes == 2
