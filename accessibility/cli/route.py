"""``access route``: the fastest car route between two places."""

from __future__ import annotations

import json

import click

from accessibility.cli._options import (
    cache_dir_option,
    friendly_errors,
    osm_option,
    parse_lonlat,
    profile_option,
)


@click.command()
@click.option("--from", "origin", required=True, metavar="LON,LAT", help="Start (WGS84).")
@click.option("--to", "destination", required=True, metavar="LON,LAT", help="End (WGS84).")
@osm_option
@cache_dir_option
@profile_option
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (minutes, km, ...).")
@friendly_errors
def route(origin: str, destination: str, osm, cache_dir, profile, as_json: bool) -> None:
    """Fastest car time and distance between two places."""
    from accessibility.network.graph import load_graph
    from accessibility.routing import route as _route

    o = parse_lonlat(origin, "--from")
    d = parse_lonlat(destination, "--to")
    g = load_graph(osm, cache_dir=cache_dir, profile=profile)
    r = _route(g, o, d)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "minutes": round(r.minutes, 3),
                    "km": round(r.km, 3),
                    "from": list(o),
                    "to": list(d),
                    "from_snap_m": round(r.origin_snap_m, 1),
                    "to_snap_m": round(r.destination_snap_m, 1),
                }
            )
        )
    else:
        click.echo(f"{r.minutes:.1f} min, {r.km:.1f} km")
