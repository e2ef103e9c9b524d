"""The whole PACA road file of ../shared/data (skipped where it is absent): build figures
against the data's README, and our times against scipy on the full regional graph."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.sparse.csgraph import dijkstra as sp_dijkstra

from accessibility.routing import nearest_source, shortest_times

from .conftest import shared_path


@pytest.fixture(scope="module")
def paca_graph(cache_dir):
    from accessibility.network.graph import load_graph

    return load_graph(shared_path("osm", "paca-roads-2021.osm.pbf"), cache_dir=cache_dir)


def test_paca_build_matches_published_counts(paca_graph):
    r = paca_graph.report
    # ../shared/data/README.md: "Drivable part (motorway ... service): PACA 2.56 M nodes, 97 % in
    # the largest strongly connected component"
    assert r.nodes_raw == pytest.approx(2.56e6, rel=0.01)
    assert r.share_nodes_kept == pytest.approx(0.97, abs=0.01)
    assert paca_graph.n_nodes < 0.25 * r.nodes_scc


def test_paca_against_scipy(paca_graph):
    g = paca_graph
    rng = np.random.default_rng(5)
    src = rng.integers(0, g.n_nodes, 5)
    ref = sp_dijkstra(g.to_scipy(), indices=src)
    for i, s in enumerate(src):
        np.testing.assert_allclose(shortest_times(g, int(s)), ref[i], rtol=1e-9)
    ms, _ = nearest_source(g, src)
    np.testing.assert_allclose(ms, ref.min(axis=0), rtol=1e-9)
