"""Exchange graphs with networkx and osmnx.

- :func:`graph_from_osmnx`: an osmnx ``MultiDiGraph`` (nodes with ``x``/``y``, edges with
  ``length`` in metres and ``travel_time`` in seconds, or ``speed_kph``, as
  ``osmnx.add_edge_speeds`` and ``osmnx.add_edge_travel_times`` leave them) becomes a
  :class:`~accessibility.network.graph.Graph`, so the numba kernels run on a network built with osmnx.
- :func:`graph_to_networkx`: a :class:`~accessibility.network.graph.Graph` becomes a networkx
  ``MultiDiGraph`` in osmnx's conventions (``x``, ``y``, ``length``, ``travel_time``, ``crs``),
  so osmnx and networkx functions run on ours.

Times are the same both ways: parallel edges keep the fastest, degree-2 contraction keeps every
time between kept nodes. networkx and osmnx are imported only inside these functions
(``pip install "accessibility[osmnx]"``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from accessibility.errors import InvalidParameterError

__all__ = ["graph_from_osmnx", "graph_to_networkx"]


def graph_from_osmnx(
    G: Any,
    *,
    weight: str = "travel_time",
    contract: bool = True,
    largest_component: bool = True,
):
    """Build a :class:`~accessibility.network.graph.Graph` from an osmnx/networkx directed graph.

    Parameters
    ----------
    G : networkx.MultiDiGraph or networkx.DiGraph
        Nodes with ``x`` (longitude) and ``y`` (latitude); edges with ``length`` (metres) and
        ``weight`` (seconds), or ``length`` and ``speed_kph`` (km/h), from which the time is
        ``length / (speed_kph / 3.6)`` as ``osmnx.add_edge_travel_times`` computes it. Two-way
        roads are two edges, as osmnx builds them.
    weight : str, default "travel_time"
        Edge attribute holding the time in seconds.
    contract : bool, default True
        Contract degree-2 chains (times between kept nodes do not change).
    largest_component : bool, default True
        Keep only the largest strongly connected component.

    Returns
    -------
    graph : Graph
    node_of : dict
        Node of ``G`` -> node index in ``graph``, or -1 when the node was dropped (outside the
        largest component) or became a shape point of a contracted chain.

    Raises
    ------
    InvalidParameterError
        ``G`` is not directed, has no edge, a node lacks ``x``/``y``, or an edge has neither a
        usable time nor ``length`` and ``speed_kph`` (the message names the edge and the osmnx
        functions that add them).
    """
    from accessibility.network.graph import EdgeOptions, graph_from_edges

    if not getattr(G, "is_directed", lambda: False)():
        raise InvalidParameterError(
            "graph_from_osmnx needs a directed graph (osmnx MultiDiGraph): one-way streets would be lost"
        )
    nodes = list(G.nodes)
    if G.number_of_edges() == 0:
        raise InvalidParameterError("the graph has no edge")
    index = {n: k for k, n in enumerate(nodes)}
    x = np.empty(len(nodes))
    y = np.empty(len(nodes))
    for k, (n, d) in enumerate(G.nodes(data=True)):
        try:
            x[k] = float(d["x"])
            y[k] = float(d["y"])
        except (KeyError, TypeError, ValueError):
            raise InvalidParameterError(f"node {n!r} has no numeric 'x'/'y' (longitude/latitude)") from None
    m = G.number_of_edges()
    u = np.empty(m, dtype=np.int64)
    v = np.empty(m, dtype=np.int64)
    t = np.empty(m)
    ln = np.empty(m)
    edges = G.edges(keys=True, data=True) if G.is_multigraph() else ((a, b, None, d) for a, b, d in G.edges(data=True))
    for k, (a, b, key, d) in enumerate(edges):
        u[k] = index[a]
        v[k] = index[b]
        length = d.get("length")
        ln[k] = float(length) if length is not None else 0.0
        tt = d.get(weight)
        if tt is None:
            speed = d.get("speed_kph")
            if length is None or speed is None or not float(speed) > 0:
                raise InvalidParameterError(
                    f"edge ({a!r}, {b!r}, {key!r}) has no {weight!r} and no 'length' with a positive "
                    "'speed_kph': call osmnx.add_edge_speeds(G) and osmnx.add_edge_travel_times(G) first"
                )
            tt = float(length) / (float(speed) / 3.6)
        t[k] = float(tt)
    if not np.all(np.isfinite(t)) or np.any(t < 0):
        bad = int(np.flatnonzero(~np.isfinite(t) | (t < 0))[0])
        raise InvalidParameterError(
            f"edge ({nodes[u[bad]]!r}, {nodes[v[bad]]!r}) has time {float(t[bad])!r}: times must be finite seconds >= 0"
        )
    graph, node_ids = graph_from_edges(
        u, v, t, length_m=ln, x=x, y=y, contract=contract,
        options=EdgeOptions(largest_component=largest_component, source=f"osmnx graph ({len(nodes):,} nodes)"),
    )
    return graph, {n: int(node_ids[k]) for k, n in enumerate(nodes)}


def graph_to_networkx(graph) -> Any:
    """A :class:`~accessibility.network.graph.Graph` as a networkx ``MultiDiGraph`` in osmnx's conventions.

    Parameters
    ----------
    graph : Graph

    Returns
    -------
    networkx.MultiDiGraph
        Nodes ``0 … n-1`` with ``x`` (lon) and ``y`` (lat); one edge per CSR edge with
        ``travel_time`` (seconds) and ``length`` (metres); graph attribute ``crs="epsg:4326"``.
        Contracted chains are single edges (their shape points are not nodes).
    """
    import networkx as nx

    H = nx.MultiDiGraph(crs="epsg:4326", created_by="accessibility")
    H.add_nodes_from((k, {"x": float(graph.x[k]), "y": float(graph.y[k])}) for k in range(graph.n_nodes))
    u, v, t = graph.edge_list()
    H.add_edges_from(
        (int(a), int(b), {"travel_time": float(s), "length": float(ln)})
        for a, b, s, ln in zip(u.tolist(), v.tolist(), t.tolist(), graph.length_m.tolist())
    )
    return H
