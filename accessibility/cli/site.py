"""``access site``: the situation today, what-ifs and optimisation of point services (France services…)."""

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
    no_maps_option,
    osm_option,
    out_option,
    parse_lonlat,
    point_columns_option,
    profile_option,
    resolve_inputs,
    service_callback,
    snap_distance_option,
)

_input = input_file


def _parse_adds(ctx, param, values):
    out = []
    for v in values:
        parts = [p.strip() for p in v.split(",", 2)]
        if len(parts) < 2:
            raise click.BadParameter(f"{v!r} is not LON,LAT[,LABEL] (e.g. 6.63,44.38,Barcelonnette)")
        lon, lat = parse_lonlat(",".join(parts[:2]), "--add")
        out.append((lon, lat, parts[2] if len(parts) == 3 and parts[2] else None))
    return tuple(out)








@click.command()
@click.option("--service", "service", default="france-services", show_default=True, callback=service_callback,
              metavar="SOURCE", help="france-services, mediation, cnfs, bpe:TYPEQU (e.g. bpe:D201), or a CSV/GeoPackage of points.")
@click.option("--filter", "filters", multiple=True, callback=filters_callback, metavar="COL=V1,V2",
              help="Keep the sites whose COL is one of the values (repeatable), e.g. format_fs=Fixe.")
@point_columns_option
@click.option("--departement", "departements", multiple=True, metavar="CODES", callback=departements_callback,
              help="Départements analysed. Default: the data directory's (04,05).")
@click.option("--threshold", type=click.FloatRange(0.0, min_open=True), default=30.0, show_default=True,
              help="Minutes: a commune beyond it is counted (the France services commitment is 30).")
@click.option("--add", "adds", multiple=True, callback=_parse_adds, metavar="LON,LAT[,LABEL]",
              help="What-if: a new site (repeatable).")
@click.option("--add-commune", "add_communes", multiple=True, metavar="CODE",
              help="What-if: a new site at a commune's centre (repeatable).")
@click.option("--remove", "removes", multiple=True, metavar="ID", help="What-if: close the site of this id (repeatable).")
@click.option("--optimize", "k", type=click.IntRange(1, 50), default=None, metavar="K",
              help="Choose K new sites among the candidates (existing sites kept).")
@click.option("--objective", type=click.Choice(["coverage", "mean-time"]), default="coverage", show_default=True,
              help="coverage: most inhabitants within the threshold; mean-time: least population-weighted time.")
@click.option("--cover-all", is_flag=True, help="The fewest new sites so that every commune is within the threshold.")
@click.option("--candidates", default="communes", show_default=True, metavar="communes|FILE",
              help="Candidate sites: the communes' centres, or a point file.")
@click.option("--greedy-only", is_flag=True, help="Skip the exact solution (integer program).")
@click.option("--time-limit", type=click.FloatRange(1.0), default=120.0, show_default=True,
              help="Seconds allowed to the exact solver.")
@data_option
@osm_option
@communes_option
@click.option("--bpe", "bpe_path", help="BPE counts (for bpe: sources). Default: the data directory's.", **_input)
@click.option("--polygons", "polygons_path", help="Commune polygons for maps. Default: the data directory's.", **_input)
@code_changes_option
@out_option("site-output")
@snap_distance_option("Places")
@no_maps_option
@cache_dir_option
@profile_option
@friendly_errors
def site(service, filters, id_column, name_column, lon_column, lat_column, departements, threshold, adds,
         add_communes, removes, k, objective, cover_all, candidates, greedy_only, time_limit, data_dir, osm,
         communes_path, bpe_path, polygons_path, changes_path, out_dir, snap_distance, no_maps, cache_dir, profile):
    """Time from every commune to the nearest site, what-ifs (add, remove) and the best new sites.

    Writes communes.csv, sites.csv, totals.csv, crossings.csv, optimisation.csv (with --optimize
    or --cover-all), siting.gpkg, maps and run.json into --out, and prints a summary.
    """
    from accessibility.analyses.siting.report import format_site_summary, write_site_outputs
    from accessibility.outputs.manifest import Run

    t0 = time.perf_counter()
    if (adds or add_communes or removes) and (k or cover_all):
        raise click.UsageError("give either what-ifs (--add, --add-commune, --remove) or --optimize/--cover-all, not both")
    if k and cover_all:
        raise click.UsageError("give either --optimize K or --cover-all")
    run = Run("site")
    run.parameters.update({
        "service": service.text, "filters": {c: list(v) for c, v in filters}, "threshold_min": threshold,
        "add": [list(a) for a in adds], "add_commune": list(add_communes), "remove": list(removes),
        "optimize": k, "objective": objective if k else None, "cover_all": cover_all,
        "candidates": candidates if (k or cover_all) else None, "exact": not greedy_only,
        "max_distance_m": snap_distance,
    })
    files, dd = resolve_inputs(data_dir, {"osm": osm, "communes": communes_path, "bpe": bpe_path,
                                          "polygons": polygons_path, "code_changes": changes_path}, command="site")
    with run.capture_warnings():
        ctx = _load(run, files, dd, service, filters, (id_column, name_column, lon_column, lat_column), departements,
                    snap_distance, cache_dir, profile)
        scenario, opt = _answer(run, ctx, threshold, adds, add_communes, removes, k, objective, cover_all,
                                candidates, greedy_only, time_limit, snap_distance)
        shown = "; ".join(c + "=" + ",".join(v) for c, v in filters)
        label = service.label + (f" ({shown})" if filters else "")
        label += f", départements {', '.join(ctx['departements'])}"
        written = write_site_outputs(
            scenario, out_dir, communes_lonlat=ctx["communes_lonlat"], optimisation=opt,
            unplaced_sites=ctx["unplaced_sites"], polygons=ctx["polygons"], maps=not no_maps,
            title=f"Temps d'accès en voiture au site le plus proche — {service.label_fr}", run=run,
        )
    click.echo(format_site_summary(scenario, label=label, optimisation=opt))
    if len(ctx["unplaced_sites"]):
        click.echo(f"note: {len(ctx['unplaced_sites'])} sites inside the road extract's extent could not be placed "
                   "(no coordinates, or farther than --snap-distance from its roads): see unplaced_sites.csv")
    click.echo(f"{len(written)} files written to {out_dir} in {time.perf_counter() - t0:.1f} s")


def _load(run, files, dd, service, filters, columns, departements, snap_distance, cache_dir, profile) -> dict:
    """Read the inputs, load the graph, place communes and sites."""
    from accessibility.engine.places import OUTSIDE, PlaceOptions, Places
    from accessibility.errors import NoCommuneError
    from accessibility.inputs.communes import (
        load_code_changes,
        load_commune_polygons,
        load_communes,
        require_departements,
    )
    from accessibility.inputs.points import load_sites
    from accessibility.inputs.services import load_bpe
    from accessibility.network.graph import load_graph
    from accessibility.settings import DEFAULT_DEPARTEMENTS

    deps = departements or dd.departements or DEFAULT_DEPARTEMENTS
    with run.stage("read"):
        communes = load_communes(files["communes"])
        run.add_input("communes", files["communes"])
        require_departements(communes, deps)
        bpe = None
        if service.kind == "bpe":
            changes = load_code_changes(files["code_changes"])
            bpe = load_bpe(files["bpe"], code_changes=changes)
            run.add_input("bpe", files["bpe"])
        id_c, name_c, lon_c, lat_c = columns
        sites_df, sites_path = load_sites(service, data_dir=dd, bpe=bpe, communes=communes, filters=filters,
                                          id_column=id_c, name_column=name_c, lon_column=lon_c, lat_column=lat_c)
        run.add_input("sites", sites_path)
        polygons = load_commune_polygons(files["polygons"]) if files["polygons"] else None
        run.add_input("polygons", files["polygons"])
    with run.stage("graph"):
        graph = load_graph(files["osm"], cache_dir=cache_dir, profile=profile)
        run.use_graph(graph)
    with run.stage("place"):
        mine = communes[communes["departement"].isin(deps)].reset_index(drop=True)
        origins = Places.from_communes(graph, mine, max_distance_m=snap_distance)
        if origins.n_placed == 0:
            raise NoCommuneError(f"none of the {len(origins)} communes of {', '.join(deps)} can be placed on the road extract")
        attrs = [c for c in sites_df.columns if c not in ("id", "name", "lon", "lat")]
        sites = Places.from_frame(graph, sites_df, attrs=attrs, options=PlaceOptions(kind="site", max_distance_m=snap_distance))
        sites = sites.take(sites.reason != OUTSIDE)  # sites far outside the extract play no part
        unplaced = sites.unplaced()
        run.counts.update({"sites_in_source": len(sites_df), "sites_in_extract": len(sites),
                           "sites_placed": sites.n_placed, "communes_analysed": len(origins),
                           "communes_placed": origins.n_placed})
    lonlat = mine[["code", "departement", "lon", "lat"]]
    return {"graph": graph, "origins": origins, "sites": sites, "unplaced_sites": unplaced, "polygons": polygons,
            "communes_lonlat": lonlat, "departements": tuple(deps), "communes": communes}


def _answer(run, ctx, threshold, adds, add_communes, removes, k, objective, cover_all, candidates, greedy_only,
            time_limit, snap_distance):
    """The scenario (today, or a what-if) and the optimisation asked for."""
    from accessibility.analyses.siting import SitingModel
    from accessibility.engine.places import Places
    from accessibility.inputs.points import load_point_table

    with run.stage("route"):
        model = SitingModel(ctx["graph"], ctx["origins"], ctx["sites"], threshold_min=threshold)
        added = None
        if adds:
            lon, lat, labels = zip(*adds)
            added = model.place_points(lon, lat, [lb or f"nouveau site {i + 1}" for i, lb in enumerate(labels)],
                                       max_distance_m=snap_distance)
        if add_communes:
            pc = model.place_communes(add_communes)
            added = pc if added is None else added.union(pc)
        if k or cover_all:
            cand = None
            if candidates != "communes":
                table = load_point_table(candidates, what="candidate file")
                run.add_input("candidates", candidates)
                from accessibility.engine.places import PlaceOptions

                cand = Places.from_frame(ctx["graph"], table, options=PlaceOptions(kind="candidate", max_distance_m=snap_distance))
            opt = model.cover_all(candidates=cand, exact=not greedy_only, time_limit=time_limit) if cover_all else \
                model.optimize(k, objective=objective, candidates=cand, exact=not greedy_only, time_limit=time_limit)
            return opt.scenario, opt
        return model.evaluate(add=added, remove=removes), None
