"""``access isochrones``: travel-time raster and isochrone polygons around sites."""

from __future__ import annotations

import time

import click

from accessibility.cli._options import (
    cache_dir_option,
    code_changes_option,
    communes_option,
    data_option,
    departements_callback,
    filters_callback,
    friendly_errors,
    input_file,
    library_callback,
    osm_option,
    out_option,
    point_columns_option,
    profile_option,
    resolve_inputs,
    snap_distance_option,
)
from accessibility.settings import TIERS

_input = input_file
_TIER_FR = {"proximite": "de proximité", "intermediaire": "intermédiaire", "superieure": "supérieure"}


_bad = library_callback


def _points(value):
    from accessibility.isochrones.sources import parse_point

    return tuple(parse_point(v) for v in value)


def _minutes(value):
    from accessibility.isochrones.polygons import check_minutes

    return check_minutes(value)


def _resolution(value):
    from accessibility.isochrones.grid import check_resolution

    return check_resolution(value)


def _crs(value):
    from accessibility.isochrones.grid import check_crs

    check_crs(value)
    return value


def _service(value):
    from accessibility.isochrones.sources import parse_bpe_source

    if value is not None:
        parse_bpe_source(value)  # a malformed bpe: value fails here, before any work
    return value


@click.command()
@click.option("--from", "points", multiple=True, metavar="LON,LAT[,LABEL]", callback=_bad(_points),
              help="A site (repeatable): times to the nearest of them.")
@click.option("--service", "service", default=None, metavar="SOURCE", callback=_bad(_service),
              help="Sites of a service source: france-services, bpe:TYPEQU[+TYPEQU], or a CSV of points.")
@click.option("--tier", type=click.Choice(TIERS), default=None,
              help="Mean time to the equipments of a gamme (as access compute's mean).")
@click.option("--minutes", default="10,20,30", show_default=True, callback=_bad(_minutes), metavar="M1,M2,…",
              help="Isochrone thresholds (minutes), increasing.")
@click.option("--resolution", default="200", show_default=True, callback=_bad(_resolution), metavar="METRES",
              help="Side of a raster cell (metres).")
@click.option("--crs", default="EPSG:2154", show_default=True, callback=_bad(_crs),
              help="Projected CRS in metres of the raster.")
@click.option("--departement", "departements", multiple=True, metavar="CODES", callback=departements_callback,
              help="Study area: the raster covers these départements (comma separated or repeated). Default: the "
                   "data directory's (04,05) for --service and --tier, the area reached within --max-minutes for --from.")
@click.option("--max-offroad", type=click.FloatRange(0.0, min_open=True), default=None, metavar="METRES",
              help="Longest straight leg from a cell to the road (default 500 m); farther cells are nodata.")
@click.option("--max-minutes", type=click.FloatRange(0.0, min_open=True), default=None,
              help="Times above it are nodata. Default: the largest --minutes for --from without --departement, "
                   "else no limit.")
@click.option("--filter", "filters", multiple=True, callback=filters_callback, metavar="COL=V1,V2",
              help="With --service: keep the sites whose COL is one of the values (repeatable), e.g. format_fs=Fixe.")
@point_columns_option
@data_option
@osm_option
@communes_option
@click.option("--bpe", "bpe_path", help="BPE counts (bpe: sources, --tier). Default: the data directory's.", **_input)
@click.option("--gammes", "gammes_path", help="INSEE gamme table (--tier). Default: the data directory's.", **_input)
@click.option("--polygons", "polygons_path", help="Commune polygons (area, populations, map). Default: the data directory's.", **_input)
@code_changes_option
@click.option("--population-grid", "grid_path", help="Population points (CSV lon, lat, population) for exact "
              "populations. Default: the data directory's population grid when it has one.", **_input)
@out_option("isochrones-output")
@snap_distance_option("Sites")
@click.option("--no-maps", is_flag=True, help="Skip the PNG map.")
@cache_dir_option
@profile_option
@friendly_errors
def isochrones(
    points, service, tier, minutes, resolution, crs, departements, max_offroad, max_minutes, filters, id_column, name_column,
    lon_column, lat_column, data_dir, osm, communes_path, bpe_path, gammes_path, polygons_path, changes_path,
    grid_path, out_dir, snap_distance, no_maps, cache_dir, profile,
) -> None:
    """Travel-time raster (Cloud-Optimised GeoTIFF) and isochrones around sites.

    Give the sites one way: --from LON,LAT[,LABEL] (repeatable), --service SOURCE, or --tier
    TIER. Times run from each cell to the nearest site, as access compute measures from the
    communes to the services. Writes travel_time.tif, isochrones.gpkg, isochrones.csv,
    sites.csv, map.png and run.json into --out.
    """
    from accessibility.isochrones.pipeline import compute_isochrones, study_area, write_outputs
    from accessibility.isochrones.surface import OFFROAD_MAX_DISTANCE_M
    from accessibility.network.graph import load_graph
    from accessibility.outputs.manifest import Run

    t0 = time.perf_counter()
    modes = [m for m, given in (("--from", bool(points)), ("--service", service is not None), ("--tier", tier is not None)) if given]
    if len(modes) != 1:
        raise click.UsageError("give the sites one way: --from LON,LAT[,LABEL], --service SOURCE or --tier TIER"
                               + (f" (got {', '.join(modes)})" if modes else ""))
    mode = modes[0]
    run = Run("isochrones")
    files, dd = resolve_inputs(data_dir, {
        "osm": osm, "communes": communes_path, "bpe": bpe_path, "gammes": gammes_path, "polygons": polygons_path,
        "code_changes": changes_path, "population_grid": grid_path}, command="isochrones")
    deps = departements or (tuple(dd.departements) if mode != "--from" and dd.departements else ())
    if mode != "--from" and not deps:
        from accessibility.settings import DEFAULT_DEPARTEMENTS

        deps = DEFAULT_DEPARTEMENTS
    if max_minutes is None and mode == "--from" and not deps:
        max_minutes = minutes[-1]
    offroad = OFFROAD_MAX_DISTANCE_M if max_offroad is None else max_offroad
    columns = dict(id_column=id_column, name_column=name_column, lon_column=lon_column, lat_column=lat_column,
                   filters=filters)
    run.parameters.update({"mode": mode.lstrip("-"), "points": [list(p) for p in points], "service": service,
                           "tier": tier, "snap_distance_m": snap_distance})
    with run.capture_warnings():
        with run.stage("read"):
            inputs = _read_inputs(run, files, mode=mode, service=service, deps=deps, data_dir=dd, columns=columns)
        with run.stage("graph"):
            graph = load_graph(files["osm"], cache_dir=cache_dir, profile=profile)
            run.use_graph(graph)
        with run.stage("place"):
            sites, groups, title, label, notes = _sites(
                graph, mode, points=points, service=service, tier=tier, inputs=inputs, deps=deps, data_dir=dd,
                snap_distance=snap_distance, minutes=minutes, run=run,
            )
            area = study_area(deps, communes=inputs.get("communes"), polygons=inputs.get("polygons"), crs=crs) if deps else None
        communes = inputs.get("communes")
        result = compute_isochrones(
            graph, sites, minutes=minutes, resolution_m=resolution, crs=crs, area=area, departements=deps,
            groups=groups, max_offroad_m=offroad, max_minutes=max_minutes, population_points=inputs.get("population_grid"),
            polygons=inputs.get("polygons"),
            populations=communes.set_index("code")["population"] if communes is not None else None,
            title=title, site_label=label, run=run,
        )
        written = write_outputs(result, out_dir, polygons=inputs.get("polygons"), maps=not no_maps, run=run)
    click.echo(_summary(result))
    for n in notes:
        click.echo(f"note: {n}")
    click.echo(f"{len(written)} files written to {out_dir} in {time.perf_counter() - t0:.1f} s")


def _read_inputs(run, files: dict, *, mode: str, service, deps, data_dir, columns) -> dict:
    """The tables the mode needs, read and recorded in the manifest. The commune table is read
    whenever there is one (the study area, ``bpe:`` sources, gammes, and the populations of the
    area-weighted estimate)."""
    from accessibility.inputs.communes import (
        load_code_changes,
        load_commune_polygons,
        load_communes,
        require_departements,
    )
    from accessibility.inputs.services import load_bpe, load_gammes
    from accessibility.isochrones.polygons import load_population_points
    from accessibility.isochrones.sources import load_service_table, parse_bpe_source

    out: dict = {}
    bpe_needed = mode == "--tier" or (mode == "--service" and parse_bpe_source(service) is not None)
    needed = (["communes", "bpe"] if bpe_needed else []) + (["gammes"] if mode == "--tier" else []) \
        + (["communes"] if deps else [])
    for role in needed:  # a data directory lacking a table the mode needs: say which, before any work
        if files.get(role) is None:
            files[role] = data_dir.path(role)
    out["filters"] = columns.get("filters", ())
    if mode == "--service" and not bpe_needed:
        out["service_table"] = load_service_table(service, data_dir=data_dir, **columns)
        run.add_input("service", out["service_table"][1])
    if files.get("communes") is not None:
        out["communes"] = load_communes(files["communes"])
        run.add_input("communes", files["communes"])
        require_departements(out["communes"], deps or ())
    if bpe_needed:
        changes = load_code_changes(files["code_changes"])  # the embedded national table when None
        run.add_input("code_changes", files["code_changes"])
        out["bpe"] = load_bpe(files["bpe"], code_changes=changes)
        run.add_input("bpe", files["bpe"])
        if mode == "--tier":
            out["gammes"] = load_gammes(files["gammes"])
            run.add_input("gammes", files["gammes"])
    if files.get("polygons") is not None:
        out["polygons"] = load_commune_polygons(files["polygons"])
        run.add_input("polygons", files["polygons"])
    if files.get("population_grid") is not None:
        out["population_grid"] = load_population_points(files["population_grid"])
        run.add_input("population_grid", files["population_grid"])
    return out


def _sites(graph, mode, *, points, service, tier, inputs, deps, data_dir, snap_distance, minutes, run):
    """The sites, their groups (a gamme's equipments), the map's title and legend, and notes."""
    from accessibility.isochrones.sources import gamme_servers, outside_count, points_places, service_places
    from accessibility.outputs.maps import fr_number

    mins = ", ".join(fr_number(m, 0 if m == int(m) else 1) for m in minutes)
    notes: list[str] = []
    if mode == "--from":
        sites = points_places(graph, points, max_distance_m=snap_distance)
        names = ", ".join(sites.names[:4]) + (" …" if len(sites) > 4 else "")
        return sites, None, f"Isochrones {mins} min en voiture : {names}", "départ" if len(sites) == 1 else "départs", notes
    if mode == "--service":
        sites, _, label = service_places(graph, service, communes=inputs.get("communes"), bpe=inputs.get("bpe"),
                                         data_dir=data_dir, table=inputs.get("service_table"),
                                         filters=inputs.get("filters", ()), max_distance_m=snap_distance)
        out = outside_count(sites)
        if out:
            notes.append(f"{out:,} sites of {service} are outside the road extract (left out)")
        other = int((~sites.placed).sum()) - out
        if other:
            notes.append(f"{other} sites could not be placed on the network: see sites.csv")
        return sites, None, f"Temps en voiture jusqu'au plus proche : {label}", label, notes
    servers, present, equipment, not_in_extract = gamme_servers(
        graph, inputs["communes"], inputs["bpe"], inputs["gammes"], tier, departements=deps, max_distance_m=snap_distance,
    )
    run.counts["equipments"] = len(equipment)
    run.parameters["equipments"] = list(map(str, equipment))
    if len(not_in_extract):
        notes.append("equipments found in no commune of the extract, left out of the mean: "
                     + ", ".join(not_in_extract["equipment"]))
    return (servers, present, f"Temps d'accès moyen aux {len(equipment)} équipements de la gamme {_TIER_FR[tier]}",
            None, notes)


def _summary(result) -> str:
    c = result.contours
    s = result.surface
    lines = [f"Travel times {s.grid.resolution_m:g} m cells, {s.crs}, from each cell to the nearest site"
             + (f" (mean over {s.n_groups} equipments)" if s.n_groups > 1 else ""),
             f"{'minutes':>8} {'area km2':>10} {'population':>11}"]
    for r in c.itertuples():
        pop = "" if r.population is None or str(r.population) == "<NA>" else f"{int(r.population):,}"
        lines.append(f"{r.minutes:8g} {r.area_km2:10,.1f} {pop:>11}")
    k = s.counts
    if result.population is not None:
        m = result.manifest.counts if result.manifest is not None else {}
        lines.append(f"population: {result.population.method}"
                     + (f"; {m['population_in_area']:,} inhabitants in the area" if m.get("population_in_area") is not None else ""))
    limit = "beyond --max-minutes" if s.max_minutes is not None else "unreachable"
    lines.append(f"cells in the area: {k['cells_in_area']:,}; with a time {k['cells_with_time']:,}, no road within "
                 f"{s.max_offroad_m:g} m {k['cells_nodata_no_road']:,}, {limit} {k['cells_nodata_beyond_limit']:,}; "
                 f"sites placed: {s.sites.n_placed:,}")
    return "\n".join(lines)
