"""``access graph build``: build (or load from cache) the car graph of an extract and summarise it."""

from __future__ import annotations

import json
import time

import click

from accessibility.cli._options import cache_dir_option, friendly_errors, osm_option, profile_option


@click.group()
def graph() -> None:
    """Build and inspect the car graph."""


@graph.command("build")
@osm_option
@cache_dir_option
@profile_option
@click.option("--rebuild", is_flag=True, help="Build even if a cached graph exists.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly_errors
def build(osm, cache_dir, profile, rebuild: bool, as_json: bool) -> None:
    """Build the car graph of an OSM extract and cache it."""
    from accessibility.network.graph import default_osm_path, load_graph

    src = osm if osm is not None else default_osm_path()
    if not as_json:
        click.echo(f"Building the car graph of {src} ...", err=True)
    t0 = time.perf_counter()
    g = load_graph(src, cache_dir=cache_dir, profile=profile, rebuild=rebuild)
    elapsed = time.perf_counter() - t0
    r = g.report
    summary = {
        "osm": str(src),
        "from_cache": r.from_cache,
        "ways": r.n_ways,
        "ways_excluded_by_access": r.n_ways_excluded,
        "nodes_raw": r.nodes_raw,
        "edges_raw": r.edges_raw,
        "km_road": round(r.km_raw, 1),
        "largest_component_share_nodes": round(r.share_nodes_kept, 4),
        "largest_component_share_km": round(r.share_km_kept, 4),
        "nodes_dropped": r.nodes_raw - r.nodes_scc,
        "nodes": g.n_nodes,
        "edges": g.n_edges,
        "contraction_ratio": round(r.contraction_ratio, 4),
        "seconds": round(elapsed, 2),
    }
    if as_json:
        click.echo(json.dumps(summary))
        return
    how = "loaded from cache" if r.from_cache else "built"
    click.echo(
        f"Car graph {how} in {elapsed:.1f} s\n"
        f"  drivable ways        {r.n_ways:>12,}   ({r.n_ways_excluded:,} excluded by access tags)\n"
        f"  road                 {r.km_raw:>12,.0f} km\n"
        f"  raw graph            {r.nodes_raw:>12,} nodes {r.edges_raw:>12,} edges\n"
        f"  largest component    {r.share_nodes_kept:>12.1%} of nodes, {r.share_km_kept:.1%} of km "
        f"({r.nodes_raw - r.nodes_scc:,} nodes dropped)\n"
        f"  contracted graph     {g.n_nodes:>12,} nodes {g.n_edges:>12,} edges "
        f"(ratio {r.contraction_ratio:.3f})"
    )
