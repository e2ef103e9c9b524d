"""``access matrix``: minutes and kilometres for every pair of two sets of places, streamed to Parquet."""

from __future__ import annotations

import time

import click

from accessibility.cli._options import (
    cache_dir_option,
    communes_option,
    data_option,
    departements_callback,
    friendly_errors,
    input_file,
    library_callback,
    osm_option,
    out_option,
    profile_option,
    resolve_inputs,
    snap_distance_option,
)

_input = input_file


def _side(value):
    from accessibility.inputs.points import parse_service

    return value if value == "communes" else parse_service(value)


_parse_side = library_callback(_side)




@click.command()
@click.option("--from", "origins", default="communes", show_default=True, callback=_parse_side, metavar="communes|SOURCE",
              help="Origins: the communes of --departement, or a point source (france-services, bpe:TYPEQU, a CSV/GeoPackage).")
@click.option("--to", "destinations", default="communes", show_default=True, callback=_parse_side, metavar="communes|SOURCE",
              help="Destinations, as --from.")
@click.option("--departement", "departements", multiple=True, metavar="CODES", callback=departements_callback,
              help="Départements of the communes. Default: the data directory's (04,05).")
@click.option("--max-minutes", type=click.FloatRange(0.0, min_open=True), default=None,
              help="Pairs farther than this are null (and computed faster).")
@click.option("--strategy", type=click.Choice(["auto", "dijkstra", "ch", "phast"]), default="auto", show_default=True,
              help="auto: contraction hierarchies (prepared once, cached beside the graph).")
@click.option("--wide", is_flag=True, help="Square float32 arrays (minutes.npy, km.npy) instead of long Parquet rows.")
@click.option("--chunk-pairs", type=click.IntRange(1000), default=2_000_000, show_default=True,
              help="Pairs per part of the dataset (memory stays flat whatever the size).")
@click.option("--workers", type=click.IntRange(1, 512), default=None, help="Run the parts on a local Dask cluster of N workers.")
@click.option("--scheduler", default=None, metavar="ADDRESS", help="Run the parts on an existing Dask cluster (tcp://host:8786).")
@click.option("--fresh", is_flag=True, help="Start over instead of going on from an interrupted run of the same matrix.")
@data_option
@osm_option
@communes_option
@click.option("--bpe", "bpe_path", help="BPE counts (bpe: sources). Default: the data directory's.", **_input)
@out_option("matrix.parquet")
@snap_distance_option("Places", then=" (their pairs are null)")
@cache_dir_option
@profile_option
@friendly_errors
def matrix(origins, destinations, departements, max_minutes, strategy, wide, chunk_pairs, workers, scheduler, fresh,
           data_dir, osm, communes_path, bpe_path, out_dir, snap_distance, cache_dir, profile):
    """Minutes and kilometres for every pair (long format: origin, destination, minutes, km).

    Writes a Parquet dataset into --out (a directory that pandas.read_parquet reads as one
    table: part-*.parquet, with _origins.csv, _destinations.csv and the manifest _run.json);
    unreachable pairs are null and counted.
    """
    from accessibility.analyses.distancier import write_matrix
    from accessibility.network.graph import load_graph
    from accessibility.outputs.manifest import Run

    t0 = time.perf_counter()
    if workers is not None and scheduler is not None:
        raise click.UsageError("give either --workers or --scheduler")
    if wide and (workers or scheduler):
        raise click.UsageError("--wide runs in one process: leave out --workers/--scheduler")
    run = Run("matrix")
    run.parameters.update({"from": getattr(origins, "text", origins), "to": getattr(destinations, "text", destinations),
                           "max_distance_m": snap_distance, "workers": workers, "scheduler": scheduler})
    files, dd = resolve_inputs(data_dir, {"osm": osm, "communes": communes_path, "bpe": bpe_path}, command="matrix")
    with run.capture_warnings():
        client = _client(workers, scheduler)  # a scheduler that does not answer fails here, before any work
        try:
            with run.stage("read"):
                tables = _read(run, files, dd, origins, destinations, departements)
            with run.stage("graph"):
                graph = load_graph(files["osm"], cache_dir=cache_dir, profile=profile)
                run.use_graph(graph)
                if strategy in ("auto", "ch", "phast"):
                    from accessibility.routing.ch import hierarchy

                    hierarchy(graph)  # prepared once, cached beside the graph
            with run.stage("place"):
                o = _places(graph, tables["origins"], snap_distance)
                d = _places(graph, tables["destinations"], snap_distance)
            executor = None
            if client is not None:
                from accessibility.analyses.distributed import dask_executor

                executor = dask_executor(client, osm=files["osm"], cache_dir=cache_dir, profile=profile,
                                         max_distance_m=snap_distance)
            written = write_matrix(graph, o, d, out_dir, strategy=strategy, max_minutes=max_minutes,
                                   chunk_pairs=chunk_pairs, wide=wide, fresh=fresh, progress=None, run=run,
                                   executor=executor)
        finally:
            if client is not None:
                cluster = getattr(client, "_accessibility_cluster", None)
                client.close()
                if cluster is not None:
                    cluster.close()
    c = run.counts
    secs = time.perf_counter() - t0
    click.echo(f"{c['pairs']:,} pairs ({c['origins']:,} x {c['destinations']:,}), {c['pairs_unreachable']:,} null "
               f"(unreachable, beyond the limit or a place not placed: {c['origins_unplaced']} origins, "
               f"{c['destinations_unplaced']} destinations), strategy {run.parameters['strategy']}")
    if c["parts_resumed"]:
        click.echo(f"went on from an interrupted run: {c['parts_resumed']} of {c['parts']} parts were already written")
    rate = c["pairs_computed_now"] / run.seconds.get("route", secs) if run.seconds.get("route") else 0
    click.echo(f"{len(written)} files written to {out_dir} in {secs:.1f} s ({rate:,.0f} pairs/s)")


def _client(workers, scheduler):
    if workers is None and scheduler is None:
        return None
    from accessibility.analyses.distributed import connect

    return connect(scheduler=scheduler, workers=workers)


def _read(run, files, dd, origins, destinations, departements) -> dict:
    """The origin and destination tables (``id, name, lon, lat``)."""
    from accessibility.inputs.communes import load_code_changes, load_communes, require_departements
    from accessibility.inputs.points import load_sites
    from accessibility.inputs.services import load_bpe
    from accessibility.settings import DEFAULT_DEPARTEMENTS

    deps = departements or dd.departements or DEFAULT_DEPARTEMENTS
    communes = load_communes(files["communes"])
    run.add_input("communes", files["communes"])
    bpe = None
    if any(getattr(s, "kind", None) == "bpe" for s in (origins, destinations)):
        bpe = load_bpe(files["bpe"], code_changes=load_code_changes(None))
        run.add_input("bpe", files["bpe"])
    out = {}
    for side, spec in (("origins", origins), ("destinations", destinations)):
        if spec == "communes":
            require_departements(communes, deps)
            c = communes[communes["departement"].isin(deps)]
            out[side] = c.rename(columns={"code": "id", "nom": "name"})[["id", "name", "lon", "lat"]].reset_index(drop=True)
        else:
            df, path = load_sites(spec, data_dir=dd, bpe=bpe, communes=communes)
            run.add_input(side, path)
            out[side] = df[["id", "name", "lon", "lat"]]
    run.parameters["departements"] = list(deps)
    return out


def _places(graph, table, snap_distance):
    from accessibility.engine.places import PlaceOptions, Places

    return Places.from_arrays(graph, table["id"].to_numpy(object), table["lon"].to_numpy(float),
                              table["lat"].to_numpy(float), names=table["name"].to_numpy(object),
                              options=PlaceOptions(max_distance_m=snap_distance))
