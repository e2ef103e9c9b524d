"""``access diagnostic``: the SDAASP diagnostic of a département (armature, bassins, zones grises
superposed into sectors, their qualification, tables by territory), as a French HTML/PDF report
with its CSV tables, GeoPackage and maps."""

from __future__ import annotations

import time
from typing import Any

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
from accessibility.cli.compute import _DEFAULT_THRESHOLDS, _parse_thresholds, _read
from accessibility.settings import DEFAULT_DEPARTEMENTS, POLE_SHARE, TIERS

_input: dict[str, Any] = dict(input_file)
#: Territorial table options: option -> data-directory role.
_TABLE_OPTIONS = {
    "epci_path": "territory_epci", "density_path": "territory_density", "zonages_path": "territory_zonages",
    "cantons_path": "territory_cantons", "filosofi_path": "socio_filosofi", "census_path": "socio_census",
    "ages_path": "grid_ages_1km",
}


def _by(ctx, param, value: str) -> tuple[str, ...]:
    from accessibility.analyses.diagnostic.pipeline import BY_CHOICES

    items = tuple(dict.fromkeys(v.strip() for v in str(value).split(",") if v.strip()))
    bad = [v for v in items if v not in BY_CHOICES]
    if bad:
        raise click.BadParameter(f"{bad[0]!r} is not a territory table; choose among {', '.join(BY_CHOICES)} (comma separated)")
    return items


@click.command()
@click.option("--method", type=click.Choice(["mean", "pole"]), default="mean", show_default=True,
              help="mean: average time to the gamme's equipments (INSEE); pole: time to the nearest pôle (SDAASP).")
@click.option("--thresholds", default=_DEFAULT_THRESHOLDS, show_default=True, metavar="P,I,S", callback=_parse_thresholds,
              help="Zone grise thresholds (minutes) for proximité, intermédiaire, supérieure.")
@click.option("--pole-share", type=click.FloatRange(0.0, 1.0, min_open=True), default=POLE_SHARE, show_default=True,
              help="A pôle has at least this share of the gamme's equipments.")
@click.option("--departement", "departements", multiple=True, metavar="CODES", callback=departements_callback,
              help="Départements analysed, comma separated or repeated. Default: the data directory's (04,05).")
@click.option("--by", default="epci,bv,density", show_default=True, callback=_by, metavar="TABLES",
              help="Territory tables: epci, bv (bassins de vie), density, canton (comma separated).")
@click.option("--min-sector-size", type=click.IntRange(1), default=2, show_default=True,
              help="Sectors (touching zone-grise communes) of fewer communes are not retained as espaces à enjeux.")
@data_option
@osm_option
@communes_option
@click.option("--bpe", "bpe_path", help="BPE counts per commune (csv, csv.gz). Default: the data directory's.", **_input)
@click.option("--gammes", "gammes_path", help="INSEE gamme table (csv). Default: the data directory's.", **_input)
@click.option("--polygons", "polygons_path", help="Commune polygons (sectors, GeoPackage, maps). Default: the data directory's.",
              **_input)
@code_changes_option
@click.option("--epci", "epci_path", help="Commune -> EPCI table. Default: the data directory's.", **_input)
@click.option("--density", "density_path", help="INSEE grille communale de densité (7 levels).", **_input)
@click.option("--zonages", "zonages_path", help="INSEE zonings per commune (bassins de vie, cantons …).", **_input)
@click.option("--cantons", "cantons_path", help="Canton names.", **_input)
@click.option("--filosofi", "filosofi_path", help="Filosofi per commune (median income).", **_input)
@click.option("--census", "census_path", help="Census per commune (active, unemployed 15-64).", **_input)
@click.option("--age-grid", "ages_path", help="Census grid with the population aged 65+ (T, Y_GE65, commune_centre_cell).",
              **_input)
@out_option("diagnostic-output")
@snap_distance_option("Commune centres")
@no_maps_option
@click.option("--no-pdf", is_flag=True, help="Skip the PDF of the report.")
@cache_dir_option
@profile_option
@friendly_errors
def diagnostic(method, thresholds, pole_share, departements, by, min_sector_size, data_dir, osm, communes_path,
               bpe_path, gammes_path, polygons_path, changes_path, epci_path, density_path, zonages_path, cantons_path,
               filosofi_path, census_path, ages_path, out_dir, snap_distance, no_maps, no_pdf, cache_dir, profile) -> None:
    """The SDAASP diagnostic: armature of services, bassins de services, zones grises superposed
    into named sectors, their qualification, tables by EPCI / bassin de vie / density.

    Writes rapport.html and rapport.pdf (French), the CSV tables behind every figure,
    diagnostic.gpkg (styled for QGIS), the maps and run.json into --out, and prints the
    headline table. Territorial tables are optional: without one, the report says what is missing.
    """
    from accessibility.analyses.diagnostic.data import read_territorial_data
    from accessibility.analyses.diagnostic.pipeline import check_diagnostic_options, run_diagnostic
    from accessibility.analyses.diagnostic.report import write_diagnostic
    from accessibility.inputs.communes import load_code_changes, load_commune_polygons, load_communes, require_departements
    from accessibility.inputs.services import load_bpe, load_gammes
    from accessibility.network.graph import load_graph
    from accessibility.outputs.manifest import Run

    t0 = time.perf_counter()
    run = Run("diagnostic")
    given = dict(zip(_TABLE_OPTIONS.values(), (epci_path, density_path, zonages_path, cantons_path, filosofi_path,
                                               census_path, ages_path)))
    files, dd_obj = resolve_inputs(data_dir, {"osm": osm, "communes": communes_path, "bpe": bpe_path, "gammes": gammes_path,
                                          "polygons": polygons_path, "code_changes": changes_path, **given},
                               command="diagnostic")
    dd: Any = dd_obj
    opts = check_diagnostic_options(departements=departements or dd.departements or DEFAULT_DEPARTEMENTS, method=method,
                                    thresholds_min=dict(zip(TIERS, thresholds)), pole_share=pole_share,
                                    max_distance_m=snap_distance, by=by, min_sector_size=min_sector_size)
    with run.capture_warnings():
        with run.stage("read"):
            communes = _read(run, "communes", files["communes"], load_communes)
            require_departements(communes, opts.departements)
            changes = _read(run, "code_changes", files["code_changes"], load_code_changes)
            bpe = _read(run, "bpe", files["bpe"], lambda p: load_bpe(p, code_changes=changes))
            gammes = _read(run, "gammes", files["gammes"], load_gammes)
            polygons = _read(run, "polygons", files["polygons"], load_commune_polygons) if files["polygons"] else None
            data = read_territorial_data({r: files[r] for r in _TABLE_OPTIONS.values()}, code_changes=changes)
            for role, path in data.paths.items():
                run.add_input(role, path)
        with run.stage("graph"):
            graph = load_graph(files["osm"], cache_dir=cache_dir, profile=profile)
        diag = run_diagnostic(graph, communes, bpe, gammes, options=opts, data=data, polygons=polygons, run=run)
        written = write_diagnostic(diag, out_dir, polygons=polygons, maps=not no_maps, pdf=not no_pdf,
                                   sources=_sources(dd, files), run=run)
    click.echo(_format_headline(diag.headline))
    for n in diag.notes:
        click.echo(f"note: {n}")
    click.echo(f"{len(written)} files written to {out_dir} in {time.perf_counter() - t0:.1f} s")


def _sources(dd: Any, files: dict) -> list[dict]:
    """The data directory's sources of the roles used (role, title, vintage, licence, attribution)."""
    used = {r for r, p in files.items() if p is not None}
    out = []
    for s in dd.sources:
        if s.get("role") in used:
            out.append({k: str(s.get(k, "")) for k in ("role", "title", "vintage", "licence", "attribution")})
    return out


def _format_headline(h) -> str:
    heads = ["tier", "area", "communes", "zone grise", "population", "pop zone grise", "% pop", "% région", "% France"]
    rows = []
    for r in h.itertuples():
        rows.append([r.tier, r.area, f"{r.communes:,}", f"{r.communes_zone_grise:,}", f"{r.population:,}",
                     f"{r.population_zone_grise:,}", f"{r.share_population_zone_grise:.1f}",
                     "n.c." if r.share_region != r.share_region else f"{r.share_region:.1f}",
                     "n.c." if r.share_france != r.share_france else f"{r.share_france:.1f}"])
    widths = [max(len(x), *(len(row[i]) for row in rows)) for i, x in enumerate(heads)]
    line = lambda cells: "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    notes = sorted({f"région: {r}" for r in h["region_status"]} | {f"France: {r}" for r in h["france_status"]})
    return "\n".join([line(heads), line(["-" * w for w in widths]), *[line(r) for r in rows], *notes])
