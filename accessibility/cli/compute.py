"""``access compute``: car times to the services of each gamme, zones grises, tables and maps."""

from __future__ import annotations

import time

import click

from accessibility.cli._options import (
    cache_dir_option,
    code_changes_option,
    communes_option,
    data_option,
    departements_callback,
    friendly_errors,
    input_file,
    no_maps_option,
    osm_option,
    out_option,
    profile_option,
    resolve_inputs,
    snap_distance_option,
)
from accessibility.settings import DEFAULT_DEPARTEMENTS, POLE_SHARE, TIER_THRESHOLDS_MIN, TIERS

_DEFAULT_THRESHOLDS = ",".join(f"{TIER_THRESHOLDS_MIN[t]:g}" for t in TIERS)
_input = input_file


def _parse_thresholds(ctx, param, value: str) -> tuple[float, ...]:
    parts = [p.strip() for p in str(value).split(",")]
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not {len(TIERS)} numbers of minutes P,I,S (e.g. {_DEFAULT_THRESHOLDS})"
        ) from None
    if len(vals) != len(TIERS):
        raise click.BadParameter(
            f"{value!r} has {len(vals)} value(s); give {len(TIERS)}, for {', '.join(TIERS)} (e.g. {_DEFAULT_THRESHOLDS})"
        )
    if not all(v > 0 and v != float("inf") for v in vals):
        raise click.BadParameter(f"{value!r}: thresholds must be positive numbers of minutes")
    return vals




@click.command()
@click.option(
    "--tier",
    type=click.Choice([*TIERS, "all"]),
    default="all",
    show_default=True,
    help="Gamme of services.",
)
@click.option(
    "--method",
    type=click.Choice(["mean", "pole", "both"]),
    default="mean",
    show_default=True,
    help="mean: average time to the gamme's equipments (INSEE); pole: time to the nearest pôle (SDAASP).",
)
@click.option(
    "--thresholds",
    default=_DEFAULT_THRESHOLDS,
    show_default=True,
    metavar="P,I,S",
    callback=_parse_thresholds,
    help="Zone grise thresholds (minutes) for proximité, intermédiaire, supérieure.",
)
@click.option(
    "--pole-share",
    type=click.FloatRange(0.0, 1.0, min_open=True),
    default=POLE_SHARE,
    show_default=True,
    help="A pôle has at least this share of the gamme's equipments.",
)
@click.option(
    "--departement",
    "departements",
    multiple=True,
    metavar="CODES",
    callback=departements_callback,
    help="Départements analysed, comma separated or repeated. Default: the data directory's (04,05).",
)
@data_option
@osm_option
@communes_option
@click.option("--bpe", "bpe_path", help="BPE counts per commune or geolocated BPE (csv, csv.gz). Default: the data directory's (embedded: BPE 2018).", **_input)
@click.option("--gammes", "gammes_path", help="INSEE gamme table (csv). Default: the data directory's (embedded: 2021).", **_input)
@click.option("--polygons", "polygons_path", help="Commune polygons for the GeoPackage and maps. Default: the data directory's.", **_input)
@code_changes_option
@out_option("access-output")
@snap_distance_option("Commune centres")
@click.option("--strategy", type=click.Choice(["auto", "search", "matrix"]), default="auto", show_default=True,
              help="One search per equipment, or one commune x commune matrix.")
@click.option("--equipments", type=click.Choice(["centre", "at-location"]), default="centre", show_default=True,
              help="Equipments at their commune's centre (SDAASP, Odomatrix), or each at its own coordinates "
                   "(needs the geolocated BPE: --bpe-points or the data directory's).")
@click.option("--origins", "origin_mode", type=click.Choice(["centre", "population"]), default="centre", show_default=True,
              help="Trips from the chef-lieu, or the population-weighted mean over the commune's inhabited 200 m cells "
                   "(needs --population-grid or the data directory's).")
@click.option("--bpe-points", "bpe_points_path", help="Geolocated BPE (one row per equipment). Default: the data directory's.", **_input)
@click.option("--population-grid", "grid_path", help="Population on 200 m squares (idcar_200m, lon, lat, population, code). "
              "Default: the data directory's.", **_input)
@no_maps_option
@cache_dir_option
@profile_option
@friendly_errors
def compute(
    tier, method, thresholds, pole_share, departements, data_dir, osm, communes_path, bpe_path, gammes_path,
    polygons_path, changes_path, out_dir, snap_distance, strategy, equipments, origin_mode, bpe_points_path, grid_path,
    no_maps, cache_dir, profile,
) -> None:
    """Car time from every commune to the services of each gamme; zones grises, tables and maps.

    Writes access_times.csv, equipment_times.csv, summary.csv, unplaced_communes.csv,
    poles.csv, zones_grises.gpkg, one map per tier (PNG) and run.json into --out, and
    prints the summary table.
    """
    from accessibility.analyses.zones import check_access_options, compute_access
    from accessibility.analyses.zones_report import format_summary, write_outputs
    from accessibility.inputs.communes import (
        load_code_changes,
        load_commune_polygons,
        load_communes,
        require_departements,
    )
    from accessibility.inputs.datasets.readers import load_population_grid
    from accessibility.inputs.services import load_bpe, load_bpe_points, load_gammes
    from accessibility.network.graph import load_graph
    from accessibility.outputs.manifest import Run

    t0 = time.perf_counter()
    run = Run("compute")
    files, dd = resolve_inputs(data_dir, {
        "osm": osm, "communes": communes_path, "bpe": bpe_path, "gammes": gammes_path,
        "polygons": polygons_path, "code_changes": changes_path, "bpe_points": bpe_points_path,
        "population_grid": grid_path}, command="compute")
    for mode, wanted, role, option in ((equipments, "at-location", "bpe_points", "--bpe-points"),
                                       (origin_mode, "population", "population_grid", "--population-grid")):
        if mode == wanted and files[role] is None:
            raise click.UsageError(f"this mode needs a {role.replace('_', ' ')} file: give {option} or a --data directory that has one")
    opts = check_access_options(
        departements=departements or dd.departements or DEFAULT_DEPARTEMENTS, tiers=TIERS if tier == "all" else (tier,),
        methods=("mean", "pole") if method == "both" else (method,),
        thresholds_min=dict(zip(TIERS, thresholds)), pole_share=pole_share, max_distance_m=snap_distance,
        strategy=strategy, equipments=equipments, origins=origin_mode,
    )
    with run.capture_warnings():
        with run.stage("read"):
            communes = _read(run, "communes", files["communes"], load_communes)
            require_departements(communes, opts.departements)
            changes = _read(run, "code_changes", files["code_changes"], load_code_changes)
            bpe = _read(run, "bpe", files["bpe"], lambda p: load_bpe(p, code_changes=changes))
            gammes = _read(run, "gammes", files["gammes"], load_gammes)
            polygons = _read(run, "polygons", files["polygons"], load_commune_polygons) if files["polygons"] else None
            points = (_read(run, "bpe_points", files["bpe_points"], lambda p: load_bpe_points(p, code_changes=changes))
                      if opts.equipments == "at-location" else None)
            grid = (_read(run, "population_grid", files["population_grid"], load_population_grid)
                    if opts.origins == "population" else None)
        with run.stage("graph"):
            graph = load_graph(files["osm"], cache_dir=cache_dir, profile=profile)
        result = compute_access(
            graph, communes, bpe, gammes,
            departements=opts.departements, tiers=opts.tiers, methods=opts.methods,
            thresholds_min=opts.thresholds_min, pole_share=opts.pole_share,
            max_distance_m=opts.max_distance_m, strategy=opts.strategy, equipments=opts.equipments,
            origins=opts.origins, bpe_points=points, population_grid=grid, progress=None, run=run,
        )
        files = write_outputs(result, out_dir, polygons=polygons, maps=not no_maps, run=run)
    click.echo(format_summary(result.summary))
    for n in _notes(result):
        click.echo(f"note: {n}")
    click.echo(f"{len(files)} files written to {out_dir} in {time.perf_counter() - t0:.1f} s")


def _read(run, role: str, path, loader):
    """Load an input (the loader's embedded default when ``path`` is None) and record it."""
    out = loader(path)
    if path is None:
        from accessibility.inputs.communes import default_code_changes_path

        path = {"code_changes": default_code_changes_path()}.get(role)
    run.add_input(role, path)
    return out


def _notes(result) -> list[str]:
    notes = []
    if len(result.unplaced):
        notes.append(f"{len(result.unplaced)} communes not placed on the network: see unplaced_communes.csv")
    if len(result.absent_equipments):
        notes.append(
            "equipments absent from this BPE vintage, left out: "
            + ", ".join(f"{r.equipment} ({r.label})" for r in result.absent_equipments.itertuples())
        )
    if len(result.equipments_not_in_extract):
        notes.append(
            "equipments found in no commune of the extract, left out of the mean: "
            + ", ".join(result.equipments_not_in_extract["equipment"])
        )
    if "origin" in result.communes:
        fb = int((result.communes["origin"] == "centre (no cell placed)").sum())
        if fb:
            notes.append(f"{fb} communes have no inhabited cell placed on the network: their chef-lieu's times are used")
    unknown = int(result.summary["communes_population_unknown"].sum()) // max(len(result.parameters["tiers"]) * len(result.parameters["methods"]), 1)
    if unknown:
        notes.append(f"{unknown} communes have no known population: counted as communes, not as inhabitants")
    return notes
