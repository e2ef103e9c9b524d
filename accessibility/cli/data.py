"""``access data``: list the sources, fetch and assemble the data of a département, inspect it."""

from __future__ import annotations

import json
import time
from pathlib import Path

import click

from accessibility.cli._options import friendly_errors

_DEFAULT_BPE_YEAR = 2025  # mirrors accessibility.inputs.datasets.sources.DEFAULT_BPE_YEAR (checked in tests)


def _parse_departements(ctx, param, value: tuple[str, ...]) -> tuple[str, ...]:
    from accessibility.errors import InvalidParameterError
    from accessibility.inputs.datasets.departements import check_departements

    try:
        return check_departements(list(value))
    except InvalidParameterError as exc:
        raise click.BadParameter(str(exc)) from None


def _default_root(departements: tuple[str, ...]) -> Path:
    return Path(f"access-data-{'-'.join(departements)}")


_departement_option = click.option(
    "--departement",
    "departements",
    required=True,
    multiple=True,
    metavar="CODES",
    callback=_parse_departements,
    help="Study département(s): 62, 2A, 971 … (comma separated or repeated).",
)
_neighbours_option = click.option(
    "--neighbours/--no-neighbours",
    default=True,
    show_default=True,
    help="Include the neighbouring départements (their services and roads count).",
)
_bpe_year_option = click.option(
    "--bpe-year", type=click.IntRange(2018, 2099), default=_DEFAULT_BPE_YEAR, show_default=True,
    help="BPE and gamme vintage.",
)


@click.group()
def data() -> None:
    """Fetch, assemble and inspect the data of any département."""


@data.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print the sources as JSON.")
@_bpe_year_option
@friendly_errors
def sources(as_json: bool, bpe_year: int) -> None:
    """List every data source: name, URL pattern, path inside a mirror, licence."""
    from accessibility.inputs.datasets.sources import sources_table

    rows = sources_table(bpe_year=bpe_year)
    if as_json:
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in rows:
        flag = "" if r["default"] else "  (on request)"
        click.echo(f"{r['name']}  [{r['role']}, {r['scope']}]{flag}")
        click.echo(f"  {r['title']}")
        click.echo(f"  url:        {r['url']}")
        click.echo(f"  mirror:     <MIRROR>/{r['mirror_path']}")
        click.echo(f"  saved as:   {r['local']}")
        click.echo(f"  licence:    {r['licence']}")
        click.echo(f"  cite:       {r['attribution']}")
        click.echo(f"  vintage:    {r['vintage']}")
        if r["checksum"]:
            click.echo(f"  checksum:   {r['checksum']}")
        click.echo(f"  checked:    {r['verified']}")
        click.echo("")


@data.command("fetch")
@_departement_option
@_neighbours_option
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Download directory. Default: access-data-<codes>/downloads.")
@click.option("--mirror", metavar="URL", default=None,
              help="Base URL replacing every host (an offline mirror laid out as `access data sources` says).")
@click.option("--population-grid", is_flag=True, help="Also fetch INSEE's 200 m population grid (Filosofi, ~200 MB).")
@click.option("--osm-provider", type=click.Choice(["osmfr", "geofabrik"]), default="osmfr", show_default=True,
              help="osmfr: one extract per département (download.openstreetmap.fr); geofabrik: per pre-2016 region, md5 checked.")
@_bpe_year_option
@click.option("--only", multiple=True, metavar="SOURCE", help="Fetch only this source (repeatable; names from `access data sources`).")
@click.option("--timeout", type=click.FloatRange(1.0), default=60.0, show_default=True,
              help="Seconds without data before a connection is given up.")
@click.option("--retries", type=click.IntRange(0), default=2, show_default=True,
              help="Extra attempts per file after a network failure.")
@friendly_errors
def fetch(departements, neighbours, dest, mirror, population_grid, osm_provider, bpe_year, only, timeout, retries) -> None:
    """Download what a département needs: OSM, communes, polygons, BPE, gammes, France services.

    Files already in the directory are kept: run the command again to get what is missing.
    sources.json records the URL, date, size and sha256 of every file.
    """
    from accessibility.inputs.datasets.fetch import fetch_departement

    root = dest if dest is not None else _default_root(departements) / "downloads"
    click.echo(f"Fetching the data of {', '.join(departements)} into {root}", err=True)

    def show(rec):
        if rec["status"] == "failed":
            click.echo(f"  FAILED      {rec['local']}: {rec['error']}", err=True)
        else:
            size = f"{rec.get('bytes') or 0:>14,} B"
            click.echo(f"  {rec['status']:<11} {rec['local']}  {size}", err=True)

    t0 = time.perf_counter()
    try:
        rep = fetch_departement(
            departements, dest=root, neighbours=neighbours, population_grid=population_grid, mirror=mirror,
            osm_provider=osm_provider, bpe_year=bpe_year, only=list(only) or None, timeout=timeout,
            retries=retries, progress=None, on_file=show,
        )
    except KeyboardInterrupt:
        raise click.ClickException(
            "interrupted: no partial file was kept; run the same command again to fetch what is missing"
        ) from None
    n_failed = len(rep.failed)
    total = sum(f.get("bytes") or 0 for f in rep.files if f["status"] != "failed")
    click.echo(
        f"{len(rep.files) - n_failed} of {len(rep.files)} files in {root} ({total:,} bytes) in "
        f"{time.perf_counter() - t0:.1f} s; record: {rep.manifest}",
        err=True,
    )
    if n_failed:
        first = rep.failed[0]
        raise click.ClickException(
            f"{n_failed} file(s) failed, first {first['local']}: {first['error']} (run again to retry)"
        )
    click.echo(f"next: access data assemble --departement {','.join(departements)} --from {root}", err=True)


@data.command("assemble")
@_departement_option
@click.option("--from", "from_dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Download directory (or files placed by hand). Default: access-data-<codes>/downloads.")
@click.option("--dest", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Data directory to write. Default: access-data-<codes>.")
@click.option("--buffer-km", type=click.FloatRange(0.0), default=20.0, show_default=True,
              help="Margin around the study départements kept in the road extract.")
@_neighbours_option
@_bpe_year_option
@friendly_errors
def assemble(departements, from_dir, dest, buffer_km, neighbours, bpe_year) -> None:
    """Build a data directory: OSM clipped to the départements + buffer, communes, BPE, gammes …"""
    from accessibility.inputs.datasets.assemble import assemble_departement
    from accessibility.inputs.datasets.info import describe_data_dir, format_description

    src = from_dir if from_dir is not None else _default_root(departements) / "downloads"
    out = dest if dest is not None else _default_root(departements)
    click.echo(f"Assembling {', '.join(departements)} from {src} into {out}", err=True)
    t0 = time.perf_counter()
    dd = assemble_departement(
        departements, from_dir=src, dest=out, buffer_km=buffer_km, neighbours=neighbours, bpe_year=bpe_year
    )
    click.echo(format_description(describe_data_dir(dd)))
    click.echo(f"\nassembled in {time.perf_counter() - t0:.1f} s", err=True)


@data.command("info")
@click.argument("directory", required=False, type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the description as JSON.")
@friendly_errors
def info(directory, as_json: bool) -> None:
    """What a data directory holds, its dates, licences, coverage, and what each command lacks.

    DIRECTORY defaults to the embedded Alpes du Sud data.
    """
    from accessibility.inputs.datasets.info import describe_data_dir, format_description

    desc = describe_data_dir(directory)
    if as_json:
        click.echo(json.dumps(desc, indent=2, ensure_ascii=False))
    else:
        click.echo(format_description(desc))
