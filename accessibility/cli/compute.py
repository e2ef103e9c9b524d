"""``access compute``: car times to the services of each gamme, zones grises, tables and maps."""

from __future__ import annotations

import time
from pathlib import Path

import click

from ..settings import DEFAULT_DEPARTEMENTS, POLE_SHARE, SNAP_MAX_DISTANCE_M, TIER_THRESHOLDS_MIN, TIERS
from ._options import cache_dir_option, friendly_errors, osm_option, profile_option


_DEFAULT_THRESHOLDS = ",".join(f"{TIER_THRESHOLDS_MIN[t]:g}" for t in TIERS)
_input = dict(type=click.Path(dir_okay=False, path_type=Path), default=None)


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


def _parse_departements(ctx, param, value: tuple[str, ...]) -> tuple[str, ...]:
    from ..errors import InvalidParameterError
    from ..zones import parse_departements

    if not value:
        return DEFAULT_DEPARTEMENTS
    try:
        return parse_departements(value)
    except InvalidParameterError as exc:
        raise click.BadParameter(str(exc)) from None


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
    callback=_parse_departements,
    help="Départements analysed, comma separated or repeated. Default: 04,05.",
)
@osm_option
@click.option("--communes", "communes_path", help="Commune table (csv). Default: embedded, all of France.", **_input)
@click.option("--bpe", "bpe_path", help="BPE counts per commune or geolocated BPE (csv, csv.gz). Default: embedded BPE 2018.", **_input)
@click.option("--gammes", "gammes_path", help="INSEE gamme table (csv). Default: embedded 2021.", **_input)
@click.option("--polygons", "polygons_path", help="Commune polygons for the GeoPackage and maps. Default: embedded.", **_input)
@click.option("--code-changes", "changes_path", help="old_code -> code table of the COG. Default: embedded.", **_input)
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("access-output"),
    show_default=True,
    help="Output directory.",
)
@click.option(
    "--snap-distance",
    type=click.FloatRange(0.0, min_open=True),
    default=SNAP_MAX_DISTANCE_M,
    show_default=True,
    help="Commune centres farther (metres) from any road are not placed.",
)
@click.option("--strategy", type=click.Choice(["auto", "search", "matrix"]), default="auto", show_default=True,
              help="One search per equipment, or one commune x commune matrix.")
@click.option("--no-maps", is_flag=True, help="Skip the PNG maps.")
@cache_dir_option
@profile_option
@friendly_errors
def compute(
    tier, method, thresholds, pole_share, departements, osm, communes_path, bpe_path, gammes_path,
    polygons_path, changes_path, out_dir, snap_distance, strategy, no_maps, cache_dir, profile,
) -> None:
    """Car time from every commune to the services of each gamme; zones grises, tables and maps.

    Writes access_times.csv, equipment_times.csv, summary.csv, unplaced_communes.csv,
    poles.csv, zones_grises.gpkg, one map per tier (PNG) and run.json into --out, and
    prints the summary table.
    """
    from ..communes import load_code_changes, load_commune_polygons, load_communes
    from ..graph import load_graph
    from ..report import format_summary, write_outputs
    from ..services import load_bpe, load_gammes
    from ..zones import compute_access

    t0 = time.perf_counter()
    tiers = TIERS if tier == "all" else (tier,)
    methods = ("mean", "pole") if method == "both" else (method,)
    changes = load_code_changes(changes_path)
    communes = load_communes(communes_path)
    bpe = load_bpe(bpe_path, code_changes=changes)
    gammes = load_gammes(gammes_path)
    polygons = load_commune_polygons(polygons_path)
    graph = load_graph(osm, cache_dir=cache_dir, profile=profile)
    result = compute_access(
        graph, communes, bpe, gammes,
        departements=departements, tiers=tiers, methods=methods,
        thresholds_min=dict(zip(TIERS, thresholds)), pole_share=pole_share,
        max_distance_m=snap_distance, strategy=strategy, progress=None,
    )
    files = write_outputs(
        result, out_dir, polygons=polygons, maps=not no_maps,
        inputs={"osm": osm, "communes": communes_path, "bpe": bpe_path, "gammes": gammes_path,
                "polygons": polygons_path, "code_changes": changes_path},
    )
    click.echo(format_summary(result.summary))
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
    for n in notes:
        click.echo(f"note: {n}")
    click.echo(f"{len(files)} files written to {out_dir} in {time.perf_counter() - t0:.1f} s")
