"""osmnx/networkx interop: a graph built by osmnx's own functions (``graph_from_xml`` on a small OSM
file cut from the embedded extract, ``add_edge_speeds``, ``add_edge_travel_times``) gives the same
times in our kernels, and our graph exported back to networkx gives the same times again."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

ox = pytest.importorskip("osmnx")
nx = pytest.importorskip("networkx")

from accessibility.errors import InvalidParameterError  # noqa: E402
from accessibility.network.interop import graph_from_osmnx, graph_to_networkx  # noqa: E402
from accessibility.routing import shortest_times  # noqa: E402

#: Made by scripts/make_dataset_fixtures.py: drivable ways of the embedded extract (July 2021,
#: © OpenStreetMap contributors, ODbL) with a node in a 700 m x 800 m box of Digne-les-Bains.
XML = Path(__file__).resolve().parent / "data" / "osm" / "digne-small.osm"


@pytest.fixture(scope="module", params=[False, True], ids=["raw", "simplified"])
def osmnx_graph(request):
    G = ox.graph_from_xml(XML, simplify=request.param)
    G = ox.add_edge_speeds(G)
    return ox.add_edge_travel_times(G)


def _compare(G, g, node_of, sources):
    worst = 0.0
    n = 0
    for s in sources:
        ref = nx.single_source_dijkstra_path_length(G, s, weight="travel_time")
        ours = shortest_times(g, node_of[s])
        for node, t in ref.items():
            k = node_of[node]
            if k >= 0:
                worst = max(worst, abs(ours[k] - t))
                n += 1
    return worst, n


@pytest.mark.parametrize("contract", [True, False])
def test_same_times_as_networkx_on_the_osmnx_graph(osmnx_graph, contract):
    G = osmnx_graph
    g, node_of = graph_from_osmnx(G, contract=contract)
    kept = [n for n, k in node_of.items() if k >= 0]
    assert len(kept) == g.n_nodes and len(node_of) == G.number_of_nodes()
    if not contract:
        # without contraction every node of the largest strongly connected component is kept
        scc = max(nx.strongly_connected_components(G), key=len)
        assert set(kept) == scc
    rng = np.random.default_rng(7)
    sources = [kept[i] for i in rng.choice(len(kept), size=min(15, len(kept)), replace=False)]
    worst, n = _compare(G, g, node_of, sources)
    assert n > 100 and worst < 1e-9


def test_speed_kph_alone_gives_the_same_times(osmnx_graph):
    G = osmnx_graph.copy()
    for _, _, d in G.edges(data=True):
        del d["travel_time"]
    g1, m1 = graph_from_osmnx(osmnx_graph)
    g2, m2 = graph_from_osmnx(G)
    assert m1 == m2
    np.testing.assert_allclose(g1.time_s, g2.time_s, rtol=1e-12, atol=0)


def test_back_to_networkx_keeps_the_times(osmnx_graph):
    G = osmnx_graph
    g, node_of = graph_from_osmnx(G)
    H = graph_to_networkx(g)
    assert isinstance(H, nx.MultiDiGraph) and H.graph["crs"] == "epsg:4326"
    assert H.number_of_nodes() == g.n_nodes and H.number_of_edges() == g.n_edges
    k0 = next(iter(H.nodes))
    assert H.nodes[k0]["x"] == g.x[k0] and H.nodes[k0]["y"] == g.y[k0]
    kept = [n for n, k in node_of.items() if k >= 0]
    for s in kept[:10]:
        ref = nx.single_source_dijkstra_path_length(G, s, weight="travel_time")
        back = nx.single_source_dijkstra_path_length(H, node_of[s], weight="travel_time")
        for node, t in ref.items():
            k = node_of[node]
            if k >= 0:
                assert abs(back[k] - t) < 1e-9
    # osmnx's own routing runs on the exported graph
    a, b = node_of[kept[0]], node_of[kept[-1]]
    path = ox.routing.shortest_path(H, a, b, weight="travel_time")
    assert path[0] == a and path[-1] == b
    assert abs(sum(min(d["travel_time"] for d in H[u][v].values()) for u, v in zip(path, path[1:]))
               - nx.shortest_path_length(G, kept[0], kept[-1], weight="travel_time")) < 1e-9


def test_errors_name_the_edge_and_the_fix():
    G = nx.MultiDiGraph()
    G.add_node(1, x=6.0, y=44.0)
    G.add_node(2, x=6.1, y=44.0)
    G.add_edge(1, 2, length=100.0)
    with pytest.raises(InvalidParameterError, match=r"edge \(1, 2, 0\) has no 'travel_time'.*osmnx.add_edge_speeds"):
        graph_from_osmnx(G)
    with pytest.raises(InvalidParameterError, match="directed graph"):
        graph_from_osmnx(nx.Graph(G))
    G2 = nx.MultiDiGraph()
    G2.add_node(1, x=6.0)
    G2.add_node(2, x=6.1, y=44.0)
    G2.add_edge(1, 2, length=10.0, travel_time=1.0)
    with pytest.raises(InvalidParameterError, match="node 1 has no numeric 'x'/'y'"):
        graph_from_osmnx(G2)
    G3 = nx.MultiDiGraph()
    G3.add_node(1, x=6.0, y=44.0)
    G3.add_node(2, x=6.1, y=44.0)
    G3.add_edge(1, 2, length=10.0, travel_time=-1.0)
    with pytest.raises(InvalidParameterError, match=r"edge \(1, 2\) has time -1.0"):
        graph_from_osmnx(G3)
