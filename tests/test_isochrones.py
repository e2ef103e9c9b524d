"""Travel-time surfaces and isochrones: a synthetic straight road with a known speed, the raster
against an independent brute-force reference (scipy Dijkstra + KD-tree), against ``route`` on
200 random cells of the real extract, nodata, the GeoTIFF read back with rasterio, contours,
populations, and the command line."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from accessibility._geo import haversine_m
from accessibility.cli.main import cli
from accessibility.engine.places import Places
from accessibility.isochrones import (
    CellPopulation,
    check_minutes,
    compute_isochrones,
    contours,
    point_times,
    points_places,
    population_from_communes,
    population_from_points,
    travel_time_surface,
    vertex_times,
    write_geotiff,
)
from accessibility.isochrones.surface import _checked_sites, _Reach
from accessibility.network.graph import graph_from_edges
from accessibility.routing import route
from accessibility.settings import CONNECTOR_SPEED_KMH

LEG_S_PER_M = 3.6 / CONNECTOR_SPEED_KMH
DIGNE = (6.2356, 44.0925)
GAP = (6.0790, 44.5596)
#: The raster's off-road leg is a planar distance in the snapping index's projection (WGS84
#: ellipsoid), ``route``'s a great circle on the mean sphere: they differ by up to 0.3 % of the
#: leg, 0.4 s for a 500 m leg.
LEG_TOLERANCE_S = 1.0

# ---- a synthetic straight road ---------------------------------------------------------------

ROAD_KMH = 60.0  # 1 km per minute
ROAD_LAT = 44.0
ROAD_KM = 30.0
STEP_M = 50.0


def _straight_road():
    """A two-way road along the parallel 44° N from 6° E, 30 km, a node every 50 m, 60 km/h."""
    n = int(ROAD_KM * 1000 / STEP_M) + 1
    dlon = STEP_M / (111_195.0 * np.cos(np.radians(ROAD_LAT)))
    x = 6.0 + dlon * np.arange(n)
    y = np.full(n, ROAD_LAT)
    a = np.arange(n - 1)
    ln = haversine_m(x[a], y[a], x[a + 1], y[a + 1])
    u = np.concatenate([a, a + 1])
    v = np.concatenate([a + 1, a])
    ln2 = np.concatenate([ln, ln])
    g, _ = graph_from_edges(u, v, ln2 / (ROAD_KMH / 3.6), length_m=ln2, x=x, y=y)
    return g, x


@pytest.fixture(scope="module")
def road():
    return _straight_road()


def test_straight_road_contours_at_the_right_distances(road):
    g, x = road
    mid = x[len(x) // 2]  # 15 km along the road
    site = points_places(g, [(mid, ROAD_LAT, "mid")])
    assert g.n_nodes == 2 and len(g.shape_x) > 500  # one contracted stretch: shape points do the work
    s = travel_time_surface(g, site, resolution_m=100)
    iso_l93 = contours(s, [5, 10])
    iso = iso_l93.to_crs("EPSG:4326")
    for minutes, geom in zip(iso["minutes"], iso.geometry):
        west, south, east, north = geom.bounds
        reach_e = haversine_m(mid, ROAD_LAT, east, ROAD_LAT) / 1000
        reach_w = haversine_m(mid, ROAD_LAT, west, ROAD_LAT) / 1000
        # 1 km per minute along the road; the cells on the road's row start up to 50 m off it
        # (12 s of off-road leg, 0.2 km of road) and end half a cell (50 m) beyond their centre
        for reach in (reach_e, reach_w):
            assert minutes - 0.3 <= reach <= minutes + 0.1, (minutes, reach)
        # across the road: never more than the off-road limit plus half a cell's diagonal (the
        # Lambert-93 cells are turned 2° from the parallel)
        assert haversine_m(mid, south, mid, north) <= 2 * (500 + 50 * np.sqrt(2))
    # the 10-minute polygon holds the 5-minute one
    assert iso_l93.geometry[1].buffer(0.01).contains(iso_l93.geometry[0])


def test_straight_road_times_are_road_plus_leg(road):
    g, x = road
    mid = x[len(x) // 2]
    site = points_places(g, [(mid, ROAD_LAT, "mid")])
    # points on the road: exactly the road time; points off it: plus the straight leg
    along = np.array([1000.0, 4000.0, 9000.0])
    lon = mid + along / (111_195.0 * np.cos(np.radians(ROAD_LAT)))
    on = point_times(g, site, lon, np.full(3, ROAD_LAT))
    np.testing.assert_allclose(on, haversine_m(mid, ROAD_LAT, lon, ROAD_LAT) / (ROAD_KMH / 3.6), rtol=1e-6, atol=0.01)
    off_lat = ROAD_LAT + 300.0 / 111_132.0  # 300 m north
    off = point_times(g, site, lon, np.full(3, off_lat))
    # the best leg is oblique, towards the site: it meets the road at the angle whose cosine is
    # the speed ratio (Snell's law), and costs d sqrt(1 - r^2) / v_leg more than the road alone
    r = CONNECTOR_SPEED_KMH / ROAD_KMH
    leg = haversine_m(lon, ROAD_LAT, lon, off_lat) * np.sqrt(1 - r * r) * LEG_S_PER_M
    np.testing.assert_allclose(off - on, leg, atol=LEG_TOLERANCE_S)


def test_nodata_exactly_where_no_road_is_near(road):
    g, x = road
    site = points_places(g, [(x[100], ROAD_LAT, "west")])
    s = travel_time_surface(g, site, resolution_m=100)
    rows, cols = np.indices(s.grid.shape)
    lon, lat = s.grid.to_wgs84(*s.grid.centres(rows.ravel(), cols.ravel()))
    _, dn = g.snap_index().nearest(lon, lat)
    far = (dn > 500.0).reshape(s.grid.shape)
    edge = (np.abs(dn - 500.0) < 0.05).reshape(s.grid.shape)  # the limit itself: either way
    assert far.any() and (~far).any()
    assert np.array_equal(np.isnan(s.minutes) & ~edge, far & ~edge)
    assert np.nanmin(s.minutes) >= 0 and not np.any(s.minutes[far] == 0)
    # beyond max_minutes: nodata too, never a 0
    lim = travel_time_surface(g, site, grid=s.grid, max_minutes=5)
    assert np.nanmax(lim.minutes) <= 5 and np.isnan(lim.minutes).sum() > np.isnan(s.minutes).sum()


# ---- the real extract: an independent reference, and route ------------------------------------


@pytest.fixture(scope="module")
def two_sites(embedded_graph):
    return points_places(embedded_graph, [(*DIGNE, "Digne-les-Bains"), (*GAP, "Gap")])


@pytest.fixture(scope="module")
def surface(embedded_graph, two_sites):
    return travel_time_surface(embedded_graph, two_sites, max_minutes=40)


def _reference_vertex_times(g, sites: Places, groups: np.ndarray) -> np.ndarray:
    """Independent vertex times: scipy's Dijkstra on the reverse graph from every in-anchor, then
    the shape points by their chains and the trips along a site's own stretch, in plain numpy."""
    from scipy.sparse.csgraph import dijkstra

    rev = g.to_scipy(reverse=True)
    sn = sites.snapped
    nn, ns = g.n_nodes, len(g.shape_x)
    out = np.full((nn + ns, groups.shape[1]), np.inf)
    for k in range(groups.shape[1]):
        node_t = np.full(nn, np.inf)
        for p in np.flatnonzero(groups[:, k] & sites.placed):
            for a in range(sn.in_ptr[p], sn.in_ptr[p + 1]):
                node_t = np.minimum(node_t, dijkstra(rev, indices=int(sn.in_node[a])) + sn.in_time_s[a])
        out[:nn, k] = node_t
        for j in range(2):
            c = g.shape_chain[:, j]
            ok = c >= 0
            t = np.maximum(g.chain_time_s[c[ok]] - g.shape_offset_s[ok, j], 0) + node_t[g.chain_head[c[ok]]]
            out[nn + np.flatnonzero(ok), k] = np.minimum(out[nn + np.flatnonzero(ok), k], t)
        for p in np.flatnonzero(groups[:, k] & sites.placed):
            for j in range(2):
                c = sn.chain[p, j]
                if c < 0:
                    continue
                for jj in range(2):
                    on = (g.shape_chain[:, jj] == c) & (g.shape_offset_s[:, jj] <= sn.chain_offset_s[p, j])
                    t = sn.chain_offset_s[p, j] - g.shape_offset_s[on, jj] + sn.access_s[p]
                    idx = nn + np.flatnonzero(on)
                    out[idx, k] = np.minimum(out[idx, k], t)
    return out


def _reference_cells(g, sites, groups, qx, qy, radius=500.0) -> np.ndarray:
    """Brute force with a KD-tree: per point and group, the best vertex time plus leg, or the leg
    straight to a site; the mean over groups (seconds)."""
    from scipy.spatial import cKDTree

    idx = g.snap_index()
    vt = _reference_vertex_times(g, sites, groups)
    tree = cKDTree(np.column_stack([idx.vx, idx.vy]))
    sx, sy = idx.projection.forward(sites.lon[sites.placed], sites.lat[sites.placed])
    sg = groups[sites.placed]
    out = np.empty(len(qx))
    for i, cand in enumerate(tree.query_ball_point(np.column_stack([qx, qy]), radius)):
        cand = np.asarray(cand, dtype=np.int64)
        d = np.hypot(idx.vx[cand] - qx[i], idx.vy[cand] - qy[i])
        best = (vt[cand] + d[:, None] * LEG_S_PER_M).min(axis=0) if len(cand) else np.full(groups.shape[1], np.inf)
        ds = np.hypot(sx - qx[i], sy - qy[i])
        near = ds <= radius
        for k in range(groups.shape[1]):
            if (near & sg[:, k]).any():
                best[k] = min(best[k], ds[near & sg[:, k]].min() * LEG_S_PER_M)
        out[i] = best.mean()
    return out


def _cells_in_index(g, sites, groups, s, rows, cols):
    """The cells' centres in the index's projection, as the surface computed them (interpolated
    over the whole grid)."""
    _, gr = _checked_sites(g, sites, groups)
    all_r, all_c = np.nonzero(s.in_area)
    qx, qy = _Reach(g, sites, gr, 500.0, CONNECTOR_SPEED_KMH).project_cells(s.grid, all_r, all_c)
    pos = np.full(s.grid.shape, -1, dtype=np.int64)
    pos[all_r, all_c] = np.arange(len(all_r))
    return qx[pos[rows, cols]], qy[pos[rows, cols]]


def _sample_cells(s, n, seed, *, finite=True):
    rng = np.random.default_rng(seed)
    rows, cols = np.nonzero(np.isfinite(s.minutes) if finite else s.in_area)
    pick = rng.choice(len(rows), size=min(n, len(rows)), replace=False)
    return rows[pick], cols[pick]


def test_vertex_times_equal_route_from_the_vertex(embedded_graph, two_sites):
    g = embedded_graph
    vt = vertex_times(g, two_sites)[:, 0]
    rng = np.random.default_rng(3)
    reach = np.flatnonzero(vt < 1800)
    nodes = rng.choice(reach[reach < g.n_nodes], 40, replace=False)
    shapes = rng.choice(reach[reach >= g.n_nodes], 80, replace=False)
    checked = 0
    for v in np.concatenate([nodes, shapes]):
        lon, lat = (g.x[v], g.y[v]) if v < g.n_nodes else (g.shape_x[v - g.n_nodes], g.shape_y[v - g.n_nodes])
        times = [route(g, (lon, lat), site) for site in (DIGNE, GAP)]
        if min(r.origin_snap_m for r in times) > 0.01:  # another vertex at the same place
            continue
        assert vt[v] == pytest.approx(min(r.seconds for r in times), abs=1e-6), v
        checked += 1
    assert checked >= 110


def test_raster_equals_an_independent_reference(embedded_graph, two_sites, surface):
    g = embedded_graph
    rows, cols = _sample_cells(surface, 1500, seed=1, finite=False)
    groups = np.ones((len(two_sites), 1), dtype=bool)
    qx, qy = _cells_in_index(g, two_sites, None, surface, rows, cols)
    ref = _reference_cells(g, two_sites, groups, qx, qy)
    ref_min = np.where(ref <= 40 * 60, ref / 60, np.nan)
    got = surface.minutes[rows, cols].astype(np.float64)
    assert np.array_equal(np.isnan(got), np.isnan(ref_min))
    np.testing.assert_allclose(got, ref_min, rtol=1e-6, atol=1e-5)
    assert np.isfinite(got).sum() > 200 and np.isnan(got).sum() > 200


def test_grouped_surface_is_the_mean_of_its_groups(embedded_graph, monkeypatch):
    g = embedded_graph
    pts = [(6.2356, 44.0925, "a"), (6.0790, 44.5596, "b"), (5.9333, 44.1983, "c"), (6.6505, 44.3859, "d")]
    sites = points_places(g, pts)
    groups = np.array([[1, 0, 1], [0, 1, 1], [1, 1, 0], [0, 0, 1]], dtype=bool)
    s = travel_time_surface(g, sites, groups=groups, resolution_m=400)
    from accessibility.isochrones import surface as surface_module

    monkeypatch.setattr(surface_module, "_GROUPS_PER_CHUNK", 2)  # groups in two blocks: the same
    np.testing.assert_array_equal(travel_time_surface(g, sites, groups=groups, grid=s.grid).minutes, s.minutes)
    parts = [travel_time_surface(g, sites, groups=groups[:, [k]], grid=s.grid).minutes for k in range(3)]
    np.testing.assert_allclose(s.minutes, np.mean(parts, axis=0), rtol=1e-5, atol=1e-4, equal_nan=True)
    rows, cols = _sample_cells(s, 300, seed=2)
    qx, qy = _cells_in_index(g, sites, groups, s, rows, cols)
    np.testing.assert_allclose(s.minutes[rows, cols], _reference_cells(g, sites, groups, qx, qy) / 60, rtol=1e-6, atol=1e-5)


@pytest.mark.slow
def test_consistency_with_route_on_200_random_cells(embedded_graph):
    """The issue's check, from Digne-les-Bains. ``route`` snaps the cell's centre to its *nearest*
    road vertex; the raster takes the best road position within 500 m. So, for 200 random
    reachable cells:

    - the raster equals ``route`` from the cell's best position plus the straight leg to it,
      within the leg tolerance, and is never above ``route`` from the cell's centre (the
      nearest position is one of the candidates);
    - it is never below the network time of the nearest network position plus the shortest
      leg, the network time taken as the best over the positions within reach.
    """
    g = embedded_graph
    site = points_places(g, [(*DIGNE, "Digne-les-Bains")])
    s = travel_time_surface(g, site, max_minutes=45)
    idx = g.snap_index()
    vt = vertex_times(g, site)[:, 0]
    rows, cols = _sample_cells(s, 400, seed=7)
    lon, lat = s.grid.to_wgs84(*s.grid.centres(rows, cols))
    qx, qy = idx.projection.forward(lon, lat)
    _, dn = idx.nearest(lon, lat)
    ptr, vert, dist = idx.within(qx, qy, 500.0)
    checked = gap_over_leg = 0
    for i in range(len(rows)):
        if dn[i] > 490 or checked == 200:  # route's own snapping limit is 500 m on the sphere
            continue
        raster_s = float(s.minutes[rows[i], cols[i]]) * 60
        from_centre = route(g, (lon[i], lat[i]), DIGNE).seconds
        assert raster_s <= from_centre + LEG_TOLERANCE_S
        v, d = vert[ptr[i]:ptr[i + 1]], dist[ptr[i]:ptr[i + 1]]
        best = int(np.argmin(vt[v] + d * LEG_S_PER_M))
        vv = v[best]
        vlon, vlat = (g.x[vv], g.y[vv]) if vv < g.n_nodes else (g.shape_x[vv - g.n_nodes], g.shape_y[vv - g.n_nodes])
        network = route(g, (vlon, vlat), DIGNE).seconds
        assert raster_s == pytest.approx(network + d[best] * LEG_S_PER_M, abs=LEG_TOLERANCE_S)
        assert raster_s >= vt[v].min() + d.min() * LEG_S_PER_M - LEG_TOLERANCE_S
        gap_over_leg += from_centre - raster_s > 500 * LEG_S_PER_M
        checked += 1
    assert checked == 200
    # how often the best position is not the nearest one by more than a whole leg: a few
    # percent of the cells (a hamlet nearer a dead-end lane than to the road it uses)
    assert gap_over_leg < 40


def test_interpolated_cell_projection_within_a_centimetre(embedded_graph, two_sites, surface):
    g = embedded_graph
    _, gr = _checked_sites(g, two_sites, None)
    reach = _Reach(g, two_sites, gr, 500.0, CONNECTOR_SPEED_KMH)
    rows, cols = np.nonzero(np.ones(surface.grid.shape, dtype=bool))
    qx, qy = reach.project_cells(surface.grid, rows, cols)
    ex, ey = reach.project(*surface.grid.to_wgs84(*surface.grid.centres(rows, cols)))
    assert np.hypot(qx - ex, qy - ey).max() < 0.01


# ---- outputs -----------------------------------------------------------------------------------


def test_geotiff_reads_back_with_its_metadata(surface, tmp_path):
    import rasterio

    p = write_geotiff(surface, tmp_path / "t.tif", title="test")
    with rasterio.open(p) as src:
        assert src.crs.to_epsg() == 2154
        assert src.transform == surface.transform and (src.height, src.width) == surface.grid.shape
        assert src.dtypes == ("float32",) and np.isnan(src.nodata)
        assert src.overviews(1) and src.overviews(1)[0] == 2
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.tags()["units"] == "minutes" and "nearest site" in src.tags()["direction"]
        a = src.read(1)
        assert src.block_shapes[0] == (256, 256)
    assert np.array_equal(np.isnan(a), np.isnan(surface.minutes))
    np.testing.assert_array_equal(a[np.isfinite(a)], surface.minutes[np.isfinite(surface.minutes)])


def test_contours_are_valid_nested_and_measured(surface):
    iso = contours(surface, "10,20,40")
    assert list(iso["minutes"]) == [10, 20, 40] and iso.crs.to_epsg() == 2154
    assert iso.is_valid.all() and not iso.geometry.is_empty.any()
    for a, b in zip(iso.geometry[:-1], iso.geometry[1:]):
        assert b.buffer(1).contains(a)
    cell_km2 = surface.grid.resolution_m**2 / 1e6
    planar = iso.geometry.area.to_numpy() / 1e6
    np.testing.assert_allclose(planar, iso["cells"].to_numpy() * cell_km2, rtol=1e-9)
    # ellipsoidal area within 0.3 % of Lambert-93's planar area in the Alps
    np.testing.assert_allclose(iso["area_km2"], planar, rtol=3e-3)
    assert iso["population"].isna().all()  # no population layer: empty, never 0


def test_populations_area_weighted_and_exact(surface):
    import geopandas as gpd
    from shapely.geometry import box

    g = surface.grid
    x0, y0, x1, y1 = g.bounds
    # one commune covering the whole grid, 1,000 inhabitants: area-weighted = 1,000 x area share
    poly = gpd.GeoDataFrame({"code": ["04070"]}, geometry=[box(x0, y0, x1, y1)], crs=g.crs)
    pop = population_from_communes(g, poly, {"04070": 1000.0})
    iso = contours(surface, [20], population=pop)
    assert pop.total == pytest.approx(1000.0)
    assert iso["population"][0] == round(1000.0 * iso["cells"][0] / g.n_cells)
    assert "area-weighted" in iso["population_method"][0]
    # an unknown population is left out and counted, never 0
    unknown = population_from_communes(g, poly, {"04070": np.nan})
    assert unknown.left_out == 1 and unknown.total == 0
    # people live near roads: spread over the cells near a road only, the total is kept
    near = population_from_communes(g, poly, {"04070": 1000.0}, where=surface.near_road, where_label="near a road")
    assert near.total == pytest.approx(1000.0) and (near.values[~surface.near_road] == 0).all()
    assert "near a road" in near.method
    iso_near = contours(surface, [20], population=near)
    assert iso_near["population"][0] == round(1000.0 * iso_near["cells"][0] / surface.near_road.sum())
    # a commune half outside the grid: its cells beyond the edge count in proportion of its area
    half = gpd.GeoDataFrame({"code": ["04070"]}, geometry=[box(x0, y0, x1 + (x1 - x0), y1)], crs=g.crs)
    assert population_from_communes(g, half, {"04070": 1000.0}, where=surface.near_road).total == pytest.approx(500.0)
    # exact: points inside the 20-minute cells count, the others not
    rows, cols = np.nonzero(np.isfinite(surface.minutes) & (surface.minutes <= 20))
    lon, lat = g.to_wgs84(*g.centres(rows[:50], cols[:50]))
    far_r, far_c = np.nonzero(np.isnan(surface.minutes))
    flon, flat = g.to_wgs84(*g.centres(far_r[:30], far_c[:30]))
    pts = population_from_points(g, np.r_[lon, flon, 0.0], np.r_[lat, flat, 0.0], np.r_[np.full(50, 7.0), np.full(30, 11.0), 5.0])
    assert pts.left_out == 1  # the point at (0, 0) is outside the grid
    assert contours(surface, [20], population=pts)["population"][0] == 50 * 7
    assert isinstance(pts, CellPopulation)


def test_population_of_the_area_is_the_departements(embedded_graph):
    """Spread over the cells near a road, the inhabitants of 04 and 05 all land in the area."""
    from accessibility.inputs.communes import load_commune_polygons, load_communes
    from accessibility.isochrones import study_area

    com, poly = load_communes(), load_commune_polygons()
    sites = points_places(embedded_graph, [(*DIGNE, "Digne-les-Bains")])
    area = study_area(("04", "05"), communes=com, polygons=poly)
    r = compute_isochrones(embedded_graph, sites, area=area, resolution_m=400, minutes=(30, 60), polygons=poly,
                           populations=com.set_index("code")["population"])
    total = int(com.loc[com["departement"].isin(["04", "05"]), "population"].sum())
    assert r.manifest.counts["population_left_out"] == 0
    assert r.manifest.counts["population_in_area"] == pytest.approx(total, abs=2)
    assert r.contours["population"].iloc[-1] < total  # some of 04 and 05 is more than an hour away


def test_compute_isochrones_api(embedded_graph, two_sites):
    r = compute_isochrones(embedded_graph, two_sites, minutes=(10, 20), max_minutes=20, resolution_m=250)
    assert r.raster.dtype == np.float32 and r.raster.shape == r.surface.grid.shape
    assert r.transform.a == 250 and r.crs == "EPSG:2154"
    assert list(r.contours["minutes"]) == [10, 20]
    m = r.manifest.to_dict()
    assert m["counts"]["sites_placed"] == 2 and m["parameters"]["max_offroad_m"] == 500
    assert {"search", "raster", "contours"} <= set(m["seconds"])


@pytest.mark.parametrize("text, expected", [("10,20,30", (10.0, 20.0, 30.0)), ("5", (5.0,)), ([2.5, 7], (2.5, 7.0))])
def test_check_minutes(text, expected):
    assert check_minutes(text) == expected


# ---- the command line --------------------------------------------------------------------------


def test_cli_from_points(tmp_path, cache_dir):
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["isochrones", "--from", "6.2356,44.0925,Digne", "--from", "6.0790,44.5596,Gap",
                                 "--minutes", "10,20", "--resolution", "250", "--out", str(out),
                                 "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted(["travel_time.tif", "isochrones.gpkg", "isochrones.csv", "sites.csv", "map.png", "run.json"])
    meta = json.loads((out / "run.json").read_text())
    assert meta["command"] == "isochrones" and meta["parameters"]["max_minutes"] == 20
    assert {"read", "graph", "place", "search", "raster", "contours", "write", "maps"} <= set(meta["seconds"])
    assert "population" in r.output and "10" in r.output


def test_cli_service_csv_of_points(tmp_path, cache_dir):
    csv = tmp_path / "sites.csv"
    csv.write_text("ident;nom;X;Y\nA;Digne;6.2356;44.0925\nB;Nowhere;2.35;48.85\n", encoding="utf-8")
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["isochrones", "--service", str(csv), "--id-column", "ident", "--lon-column", "X",
                                 "--lat-column", "Y", "--departement", "04", "--resolution", "500", "--no-maps",
                                 "--out", str(out), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "run.json").read_text())
    assert meta["counts"]["sites_placed"] == 1 and meta["counts"]["sites_outside_the_road_extract"] == 1
    assert meta["parameters"]["departements"] == ["04"]


@pytest.mark.slow
def test_cli_tier_is_the_mean_over_the_gamme(tmp_path, cache_dir):
    out = tmp_path / "out"
    r = CliRunner().invoke(cli, ["isochrones", "--tier", "proximite", "--departement", "05", "--resolution", "500",
                                 "--no-maps", "--out", str(out), "--cache-dir", str(cache_dir)])
    assert r.exit_code == 0, r.output
    meta = json.loads((out / "run.json").read_text())
    assert meta["counts"]["equipments"] >= 20 and "mean over" in r.output


@pytest.mark.slow
def test_gamme_surface_at_the_commune_centres_is_access_compute(embedded_graph):
    """The raster counterpart of ``access compute``'s mean: at every commune centre of 05, the
    gamme's mean by the raster's rule is never above compute's (the centre's nearest road vertex
    is one of the raster's candidates), and equal for most communes."""
    from accessibility.analyses.zones import compute_access
    from accessibility.inputs.communes import load_code_changes, load_communes
    from accessibility.inputs.services import load_bpe, load_gammes
    from accessibility.isochrones import gamme_servers

    g = embedded_graph
    com, gam = load_communes(), load_gammes()
    bpe = load_bpe(code_changes=load_code_changes())
    acc = compute_access(g, com, bpe, gam, departements="05", tiers=["proximite"], methods=["mean"]).access
    servers, present, equipment, _ = gamme_servers(g, com, bpe, gam, "proximite", departements=("05",))
    centres = com.set_index("code").loc[acc["code"]]
    raster_rule = point_times(g, servers, centres["lon"], centres["lat"], groups=present) / 60
    diff = raster_rule - acc["minutes"].to_numpy(float)
    assert np.isfinite(diff).all() and len(diff) == 162
    assert diff.max() <= LEG_TOLERANCE_S / 60
    assert np.median(np.abs(diff)) < 0.1 and np.mean(np.abs(diff) < 1 / 60) > 0.3


def test_areas_are_on_the_ground_whatever_the_projection(embedded_graph, two_sites):
    """Web Mercator stretches areas 1.93 times at 44° N: the isochrone's area in km² must not."""
    l93 = contours(travel_time_surface(embedded_graph, two_sites, max_minutes=20, resolution_m=200), [20])
    merc = contours(travel_time_surface(embedded_graph, two_sites, max_minutes=20, resolution_m=280, crs="EPSG:3857"), [20])
    assert merc.geometry.area[0] / 1e6 > 1.8 * merc["area_km2"][0]  # the planar area is stretched
    assert merc["area_km2"][0] == pytest.approx(l93["area_km2"][0], rel=0.03)


def test_grid_interpolation_paths_agree():
    """Grid.interpolate: exact on the control cells, bilinear between, the same whether the whole
    grid (separable pass) or a few cells (pointwise) are asked."""
    from accessibility.isochrones import grid_covering

    g = grid_covering(900_000, 6_300_000, 960_000, 6_340_000, resolution_m=200)
    f = lambda x, y: (np.sin(x / 7e3) + 1e-4 * y, np.hypot(x - 9e5, y - 6.3e6))  # noqa: E731
    rows, cols = np.indices(g.shape).reshape(2, -1)
    full = g.interpolate(rows, cols, f)
    rng = np.random.default_rng(0)
    pick = rng.choice(len(rows), 5000, replace=False)  # enough for the lattice, a twelfth of the grid
    few = g.interpolate(rows[pick], cols[pick], f)
    for a, b in zip(full, few):
        np.testing.assert_allclose(a[pick], b, rtol=1e-12, atol=1e-9)
    on = (rows % 16 == 0) & (cols % 16 == 0)
    exact = f(*g.centres(rows[on], cols[on]))
    for a, e in zip(full, exact):
        np.testing.assert_allclose(a[on], e, rtol=1e-12, atol=1e-9)
