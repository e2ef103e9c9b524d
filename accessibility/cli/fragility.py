"""``access fragility``: the access axis of the digital-fragility index, tables and maps."""

from __future__ import annotations

import time
from pathlib import Path

import click

from accessibility.cli._options import (
    cache_dir_option,
    code_changes_option,
    communes_option,
    data_option,
    departements_callback,
    friendly_errors,
    no_maps_option,
    osm_option,
    out_option,
    profile_option,
    resolve_inputs,
    snap_distance_option,
)

_input = dict(type=click.Path(dir_okay=False, path_type=Path), default=None)




@click.command()
@click.option("--departement", "departements", multiple=True, metavar="CODES", callback=departements_callback,
              help="Départements analysed (the study region), comma separated or repeated. Default: the data "
                   "directory's (04,05).")
@data_option
@osm_option
@communes_option
@click.option("--bpe", "bpe_path", help="BPE counts per commune (csv, csv.gz). Default: the data directory's BPE 2019 "
                                         "(embedded), else its BPE.", **_input)
@click.option("--mediation", "mediation_paths", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Places of digital mediation (national standard, 'services' column); repeat for several files. "
                   "Default: the data directory's (embedded: PACA places of May 2023 and the conseillers "
                   "numériques places of January 2023).")
@click.option("--france-services", "fs_path", help="ANCT France services list. Default: the data directory's.", **_input)
@click.option("--extra", "extra_path",
              help="Census shares per commune: code and over75_alone (plus_75_seuls) and/or no_car "
                   "(menages_sans_voiture). Without it the dimension has no isolation sub-index.", **_input)
@click.option("--normalise", "normalisation", type=click.Choice(["minmax", "rank"]), default="minmax",
              show_default=True, help="How each variable is brought to 0-1 against the study region.")
@click.option("--polygons", "polygons_path", help="Commune polygons for the GeoPackage and maps. Default: the data "
                                                  "directory's.", **_input)
@code_changes_option
@out_option("fragility-output")
@snap_distance_option("Commune centres and sites")
@click.option("--top", type=click.IntRange(1, 1000), default=15, show_default=True,
              help="How many of the most fragile communes to print.")
@no_maps_option
@cache_dir_option
@profile_option
@friendly_errors
def fragility(departements, data_dir, osm, communes_path, bpe_path, mediation_paths, fs_path, extra_path,
              normalisation, polygons_path, changes_path, out_dir, snap_distance, top, no_maps, cache_dir,
              profile) -> None:
    """The access axis of the digital-fragility index: car times to health care, to the main
    public services and to places of digital help, normalised against the study region.

    Writes fragility.csv, variables.csv, sites.csv, unplaced_communes.csv, fragility.gpkg, one
    map per sub-index and one for the dimension (PNG) and run.json into --out, and prints the
    most fragile communes.
    """
    from accessibility.analyses.fragility.index import check_fragility_options, compute_fragility
    from accessibility.analyses.fragility.report import format_summary, write_outputs
    from accessibility.analyses.fragility.sources import load_extra, load_france_services, load_mediation
    from accessibility.inputs.communes import (
        default_code_changes_path,
        load_code_changes,
        load_commune_polygons,
        load_communes,
        require_departements,
    )
    from accessibility.inputs.services import load_bpe
    from accessibility.network.graph import load_graph
    from accessibility.outputs.manifest import Run
    from accessibility.settings import DEFAULT_DEPARTEMENTS

    t0 = time.perf_counter()
    run = Run("fragility")
    files, dd = resolve_inputs(data_dir, {
        "osm": osm, "communes": communes_path, "polygons": polygons_path, "code_changes": changes_path,
        "france_services": fs_path, "mediation": None, "cnfs": None, "bpe_2019": None, "bpe": None,
    }, command="fragility")
    bpe_file = bpe_path or files["bpe_2019"] or files["bpe"]
    if mediation_paths:
        mediation = [(f"mediation{i + 1}" if len(mediation_paths) > 1 else "mediation", Path(p))
                     for i, p in enumerate(mediation_paths)]
    else:
        mediation = [(role, files[role]) for role in ("mediation", "cnfs") if files[role] is not None]
    opts = check_fragility_options(departements=departements or dd.departements or DEFAULT_DEPARTEMENTS,
                                   normalisation=normalisation, max_distance_m=snap_distance)
    with run.capture_warnings():
        with run.stage("read"):  # the user's small files first: their errors come at once
            communes = load_communes(files["communes"])
            run.add_input("communes", files["communes"])
            require_departements(communes, opts.departements)
            med = []
            for label, path in mediation:
                med.append(load_mediation(path))
                run.add_input(label, path)
            fs = None
            if files["france_services"] is not None:
                fs = load_france_services(files["france_services"])
                run.add_input("france_services", files["france_services"])
            extra = None
            if extra_path is not None:
                extra = load_extra(extra_path, communes=communes)
                run.add_input("extra", extra_path)
            changes = load_code_changes(files["code_changes"])
            run.add_input("code_changes", files["code_changes"] or default_code_changes_path())
            bpe = None
            if bpe_file is not None:
                bpe = load_bpe(bpe_file, code_changes=changes)
                run.add_input("bpe", bpe_file)
            polygons = None
            if files["polygons"] is not None:
                polygons = load_commune_polygons(files["polygons"])
                run.add_input("polygons", files["polygons"])
        with run.stage("graph"):
            graph = load_graph(files["osm"], cache_dir=cache_dir, profile=profile)
        result = compute_fragility(
            graph, communes, bpe, mediation=med, mediation_labels=[m[0] for m in mediation], france_services=fs,
            extra=extra, departements=opts.departements, normalisation=opts.normalisation,
            max_distance_m=opts.max_distance_m, run=run,
        )
        written = write_outputs(result, out_dir, polygons=polygons, maps=not no_maps, run=run)
    click.echo(format_summary(result, top=top))
    click.echo(f"{len(written)} files written to {out_dir} in {time.perf_counter() - t0:.1f} s")
