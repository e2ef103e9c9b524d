"""Benchmark of the travel-time surfaces and isochrones on the embedded Alpes du Sud data.

Two cases, one process, the graph loaded from its cache beforehand (its load time is reported
apart):

* **surface**: the time from every cell of 04 and 05 to the nearest France services site, at
  200 m and at 100 m (cells inside the communes of 04 and 05), split into ``search`` (the
  reverse multi-source search), ``raster`` (vertex times, cell projection, the cell kernel),
  ``contours`` (polygons at 10, 20, 30 min with the populations area-weighted over the part
  of each commune near a road, as ``access isochrones`` computes them) and ``writing``
  (the Cloud-Optimised GeoTIFF and the GeoPackage);
* **one site**: the 30-minute isochrone of Digne-les-Bains, ours (surface limited to 30 min
  plus the contour) beside the way an osmnx user draws it today — ``networkx.ego_graph`` on the
  same contracted graph (reversed, so that both measure the time *to* the site; its networkx
  build is reported apart), then the convex hull (osmnx's example) and a concave hull
  (``shapely.concave_hull``, ratio 0.3) of the reached nodes — time ratio, and how the areas
  differ (area, intersection, the share of each outside the other).

Usage::

    python benchmarks/bench_isochrones.py [--quick] [--json] [--repeat N]

Timings never fail the run.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_routing import git_commit, machine_info  # noqa: E402

DIGNE = (6.2356, 44.0925)
MINUTES = (10.0, 20.0, 30.0)


def _median(xs):
    return round(statistics.median(xs), 4)


def surface_case(g, resolution: float, repeat: int) -> dict:
    from accessibility.inputs.communes import load_commune_polygons, load_communes
    from accessibility.isochrones import (
        contours,
        population_from_communes,
        service_places,
        study_area,
        travel_time_surface,
        write_geotiff,
    )

    com, poly = load_communes(), load_commune_polygons()
    pops = com.set_index("code")["population"]
    sites, _, _ = service_places(g, "france-services")
    area = study_area(("04", "05"), communes=com, polygons=poly)
    runs = []
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        s = travel_time_surface(g, sites, area=area, resolution_m=resolution)
        t1 = time.perf_counter()
        iso = contours(s, MINUTES, population=population_from_communes(s.grid, poly, pops, where=s.near_road))
        t2 = time.perf_counter()
        with tempfile.TemporaryDirectory() as d:
            write_geotiff(s, Path(d) / "t.tif")
            iso.to_file(Path(d) / "i.gpkg", layer="isochrones", driver="GPKG")
        t3 = time.perf_counter()
        if i == 0:
            continue  # warm-up: numba kernels loaded from their cache, pyproj transformers built
        runs.append({"search": s.seconds["search"], "raster": s.seconds["raster"], "contours": t2 - t1,
                     "writing": t3 - t2, "total": t3 - t0})
    out = {k: _median([r[k] for r in runs]) for k in runs[0]}
    return {
        "resolution_m": resolution, "sites_placed": sites.n_placed, **s.counts, "median_s": out,
        "all_totals_s": [round(r["total"], 3) for r in runs],
        "isochrones": [{"minutes": float(r.minutes), "area_km2": float(r.area_km2), "population": int(r.population)}
                       for r in iso.itertuples()],
    }


def one_site_case(g, repeat: int) -> dict:
    import networkx as nx
    import shapely
    from pyproj import Transformer

    from accessibility.isochrones import contours, points_places, travel_time_surface

    site = points_places(g, [(*DIGNE, "Digne-les-Bains")])
    ours_t, iso = [], None
    for i in range(repeat + 1):
        t0 = time.perf_counter()
        s = travel_time_surface(g, site, max_minutes=30)
        iso = contours(s, [30])
        if i:
            ours_t.append(time.perf_counter() - t0)
    ours_geom = iso.geometry[0]

    t0 = time.perf_counter()
    u, v, w = g.edge_list()
    G = nx.DiGraph()
    G.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()), weight="time")
    build_s = time.perf_counter() - t0
    # osmnx's nearest_nodes: the graph node nearest to the site (osmnx graphs keep only junctions
    # too, the shape of the roads being on the edges)
    tr = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    nx_, ny_ = tr.transform(g.x, g.y)
    sx, sy = tr.transform(*DIGNE)
    centre = int(np.argmin((nx_ - sx) ** 2 + (ny_ - sy) ** 2))
    nx_t, reached = [], None
    for i in range(max(repeat, 1) + 1):
        t0 = time.perf_counter()
        sub = nx.ego_graph(G.reverse(copy=False), centre, radius=1800.0, distance="time")
        reached = np.fromiter(sub.nodes, dtype=np.int64)
        pts = shapely.MultiPoint(np.column_stack([nx_[reached], ny_[reached]]))
        convex = pts.convex_hull
        t1 = time.perf_counter()
        concave = shapely.concave_hull(pts, ratio=0.3)
        t2 = time.perf_counter()
        if i:
            nx_t.append((t1 - t0, t2 - t0))

    def compare(h):
        inter = h.intersection(ours_geom).area
        return {
            "area_km2": round(h.area / 1e6, 1),
            "intersection_km2": round(inter / 1e6, 1),
            "share_of_hull_outside_ours": round(1 - inter / h.area, 3),
            "share_of_ours_outside_hull": round(1 - inter / ours_geom.area, 3),
        }

    ours_s = statistics.median(ours_t)
    ego_convex = statistics.median(t[0] for t in nx_t)
    ego_concave = statistics.median(t[1] for t in nx_t)
    return {
        "site": "Digne-les-Bains", "minutes": 30, "reached_nodes": int(len(reached)),
        "ours_s": round(ours_s, 4), "ours_area_km2": round(ours_geom.area / 1e6, 1),
        "networkx_build_s": round(build_s, 3),
        "ego_graph_convex_s": round(ego_convex, 4), "ego_graph_concave_s": round(ego_concave, 4),
        "ratio_convex_over_ours": round(ego_convex / ours_s, 2),
        "ratio_concave_over_ours": round(ego_concave / ours_s, 2),
        "convex_hull": compare(convex), "concave_hull": compare(concave),
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="2 repeats instead of 5")
    ap.add_argument("--repeat", type=int, default=None)
    ap.add_argument("--json", action="store_true", help="print one JSON object")
    args = ap.parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 5)

    from accessibility.network.graph import load_graph

    load_graph()  # build the cache if needed, outside the timing
    t0 = time.perf_counter()
    g = load_graph()
    load_s = time.perf_counter() - t0
    result = {"machine": machine_info(), "commit": git_commit(), "repeat": repeat,
              "graph": {"nodes": g.n_nodes, "shape_points": len(g.shape_x), "load_s": round(load_s, 3)}}
    result["surface_200m"] = surface_case(g, 200.0, repeat)
    result["surface_100m"] = surface_case(g, 100.0, repeat)
    result["one_site"] = one_site_case(g, repeat)
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    m = result["machine"]
    print(f"isochrones, embedded data (graph loaded in {load_s:.2f} s) — {m['nproc']} CPUs {m['cpu']}, "
          f"load {m['loadavg_at_start']}, commit {result['commit']}")
    print(f"{'':14}{'cells':>10}{'search':>9}{'raster':>9}{'contours':>9}{'writing':>9}{'total':>9}")
    for key in ("surface_200m", "surface_100m"):
        r = result[key]
        med = r["median_s"]
        print(f"{key:14}{r['cells_in_area']:>10,}" + "".join(f"{med[k]:9.3f}" for k in ("search", "raster", "contours", "writing", "total")))
    o = result["one_site"]
    print(f"one site, 30 min: ours {o['ours_s']:.3f} s ({o['ours_area_km2']} km²); ego_graph + convex hull "
          f"{o['ego_graph_convex_s']:.3f} s (x{o['ratio_convex_over_ours']}, {o['convex_hull']['area_km2']} km², "
          f"{o['convex_hull']['share_of_hull_outside_ours']:.0%} of it not within 30 min of ours); + concave hull "
          f"{o['ego_graph_concave_s']:.3f} s ({o['concave_hull']['area_km2']} km², "
          f"{o['concave_hull']['share_of_hull_outside_ours']:.0%} outside, "
          f"{o['concave_hull']['share_of_ours_outside_hull']:.0%} of ours outside it); networkx graph build "
          f"{o['networkx_build_s']} s apart")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
