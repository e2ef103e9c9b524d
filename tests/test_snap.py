"""Snapping places onto the network, and place-level routing built on it."""

from __future__ import annotations

import numpy as np
import pytest

from accessibility.errors import InvalidParameterError, SnapError
from accessibility.inputs.osm import haversine_m
from accessibility.network.graph import graph_from_edges
from accessibility.routing import nearest_place, place_matrix, snap_points
from accessibility.settings import CONNECTOR_SPEED_KMH


def _chain_graph():
    """Two junctions A=0 and B=4 joined by a two-way chain 0-1-2-3-4, plus spurs so that 0
    and 4 stay junctions. Nodes on a line at latitude 44, 0.01 deg of longitude apart."""
    pairs = [(0, 1, 10.0), (1, 2, 20.0), (2, 3, 30.0), (3, 4, 40.0), (0, 5, 5.0), (0, 6, 5.0), (4, 7, 5.0), (4, 8, 5.0)]
    u, v, w = [], [], []
    for a, b, t in pairs:
        u += [a, b]
        v += [b, a]
        w += [t, t]
    x = [6.00, 6.01, 6.02, 6.03, 6.04, 5.99, 6.00, 6.05, 6.04]
    y = [44.0, 44.0, 44.0, 44.0, 44.0, 44.0, 43.99, 44.0, 44.01]
    g, ids = graph_from_edges(u, v, w, x=x, y=y)
    return g, ids, np.array(x), np.array(y)


def test_chain_is_contracted_and_points_on_it_are_exact():
    g, ids, x, y = _chain_graph()
    assert list(ids[[1, 2, 3]]) == [-1, -1, -1]  # middle nodes became shape points
    s = snap_points(g, x[[1, 3, 0, 7]], y[[1, 3, 0, 7]])
    assert s.ok.all() and np.allclose(s.distance_m, 0)
    m = place_matrix(g, s, s)
    # along the chain without passing a junction, both ways
    assert m[0, 1] == pytest.approx(50.0) and m[1, 0] == pytest.approx(50.0)
    # from a shape point to a junction and beyond
    assert m[0, 2] == pytest.approx(10.0)
    assert m[1, 3] == pytest.approx(45.0)
    assert m[3, 0] == pytest.approx(5 + 40 + 30 + 20)
    np.testing.assert_allclose(np.diag(m), 0.0)


def test_access_leg_and_limit():
    g, ids, x, y = _chain_graph()
    lat_off = 0.002  # about 222 m north of node 2
    s = snap_points(g, [6.02, 6.02, 6.02], [44.0 + lat_off, 44.02, 44.0])
    d = haversine_m(6.02, 44.0 + lat_off, 6.02, 44.0)
    assert s.ok.tolist() == [True, False, True]
    assert s.distance_m[0] == pytest.approx(d)
    assert s.access_s[0] == pytest.approx(d / (CONNECTOR_SPEED_KMH / 3.6))
    assert np.isnan(s.access_s[1])
    assert s.unsnapped.tolist() == [1]
    # an unsnapped place is unreachable, never moved
    m = place_matrix(g, s, s)
    assert np.isinf(m[1]).all() and np.isinf(m[:, 1]).all()
    assert m[0, 2] == pytest.approx(s.access_s[0])
    with pytest.raises(SnapError, match="from the nearest road"):
        snap_points(g, [6.02], [44.02], strict=True)
    s2 = snap_points(g, [6.02], [44.02], max_distance_m=3000)
    assert s2.ok.all()


def test_bad_coordinates():
    g, *_ = _chain_graph()
    with pytest.raises(InvalidParameterError, match="invalid coordinates"):
        snap_points(g, [6.0, np.nan], [44.0, 44.0])
    with pytest.raises(InvalidParameterError, match="invalid coordinates"):
        snap_points(g, [6.0], [144.0])
    with pytest.raises(InvalidParameterError, match="same length"):
        snap_points(g, [6.0, 6.1], [44.0])


def test_nearest_place_agrees_with_matrix(embedded_graph):
    g = embedded_graph
    rng = np.random.default_rng(3)
    lon = rng.uniform(5.8, 6.9, 120)
    lat = rng.uniform(43.9, 44.9, 120)
    s = snap_points(g, lon, lat, max_distance_m=200)
    origins = snap_points(g, lon[:80], lat[:80])
    places = snap_points(g, lon[80:], lat[80:])
    m = place_matrix(g, origins, places)
    t, j = nearest_place(g, origins, places)
    np.testing.assert_allclose(t, m.min(axis=1), rtol=1e-9)
    reach = np.isfinite(t)
    np.testing.assert_allclose(m[np.flatnonzero(reach), j[reach]], t[reach], rtol=1e-9)
    assert np.all(j[~reach] == -1)
    # places off the network (random points in the mountains) stay off: inf, never moved
    assert (~s.ok).any()
    assert np.all(np.isinf(t[~origins.ok]))


def test_snapped_chain_points_match_uncontracted(embedded_edges):
    """Places on long stretches: times equal those on the graph without contraction."""
    e = embedded_edges
    small, _ = graph_from_edges(e.u, e.v, e.time_s, length_m=e.length_m, x=e.x, y=e.y)
    full, _ = graph_from_edges(e.u, e.v, e.time_s, length_m=e.length_m, x=e.x, y=e.y, contract=False)
    rng = np.random.default_rng(11)
    pick = rng.choice(len(small.shape_x), 40, replace=False)
    lon, lat = small.shape_x[pick], small.shape_y[pick]
    a = snap_points(small, lon, lat)
    b = snap_points(full, lon, lat)
    assert a.ok.all() and b.ok.all() and np.allclose(a.distance_m, 0) and np.allclose(b.distance_m, 0)
    np.testing.assert_allclose(place_matrix(small, a, a), place_matrix(full, b, b), rtol=1e-9)
