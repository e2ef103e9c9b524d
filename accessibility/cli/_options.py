"""Options and helpers shared by the ``access`` commands.

Every command keeps the same promises (``docs/promises.md``) by using these helpers:
:func:`friendly_errors` (one line and a non-zero exit for every error, never a traceback),
:func:`out_option` (the output directory checked before any work), the data options, and
:class:`accessibility._io.OutputDir` for writing.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path

import click

from accessibility.errors import AccessibilityError

#: Exit status of a run interrupted by Ctrl-C or SIGTERM (128 + SIGINT).
EXIT_INTERRUPTED = 130
#: Exit status of an unexpected internal error (a bug: please report it).
EXIT_INTERNAL = 70

osm_option = click.option(
    "--osm",
    "osm",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="OSM road extract (.osm.pbf). Default: the embedded Alpes du Sud extract.",
)
cache_dir_option = click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="ACCESSIBILITY_CACHE_DIR",
    help="Where built graphs are cached. Default: ~/.cache/accessibility.",
)
profile_option = click.option(
    "--profile",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Speed profile (TOML, a copy of accessibility/profiles/car.toml). Default: car.",
)


data_option = click.option(
    "--data",
    "data_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    envvar="ACCESSIBILITY_DATA",
    help="Data directory (made by `access data assemble`, with a datadir.json). Default: the embedded "
         "Alpes du Sud data. Options naming a file override it.",
)


def resolve_inputs(data_dir, overrides: dict, *, command: str) -> tuple[dict, object]:
    """The file of each role: the option naming it, else the data directory's (the embedded data
    when ``data_dir`` is None), else None for an optional role the directory lacks.

    Returns
    -------
    (dict role -> Path or None, DataDir)

    Raises
    ------
    InputFileError
        ``data_dir`` is not a data directory, or lacks a role ``command`` needs that no option
        gives (the message names the role, the file and the directory).
    """
    from accessibility.inputs.datasets.layout import COMMAND_ROLES, open_data_dir

    dd = open_data_dir(data_dir)
    required = COMMAND_ROLES.get(command, ((), ()))[0]
    out = {}
    for role, given in overrides.items():
        if given is not None:
            out[role] = Path(given)
        elif role in required:
            out[role] = dd.path(role)
        else:
            out[role] = dd.get(role)
    return out, dd


def _one_line(text: str) -> str:
    return " ".join(str(text).split()) or "(no message)"


def friendly_errors(func):
    """Turn every error into one line on stderr and a non-zero exit, never a traceback.

    The engine's errors (:class:`AccessibilityError`) exit 1 with their message; a full disk or
    a permission problem (``OSError``) exits 1 naming the file; Ctrl-C and SIGTERM exit 130
    once the run has removed what it was writing; anything else is a bug: one line saying so,
    exit 70, and the traceback only with ``-vv`` or ``ACCESSIBILITY_DEBUG=1``.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from accessibility._io import COMMITTED

        commits = len(COMMITTED)
        try:
            return func(*args, **kwargs)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except AccessibilityError as exc:
            raise click.ClickException(_one_line(str(exc))) from None
        except MemoryError:
            raise click.ClickException("out of memory: try a smaller extract or area") from None
        except KeyboardInterrupt:
            done = COMMITTED[commits:]
            click.echo(f"Interrupted after the outputs were written: {done[-1]} is complete." if done
                       else "Interrupted: nothing of this run was kept.", err=True)
            raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
        except OSError as exc:
            where = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
            raise click.ClickException(_one_line(f"{exc.strerror or exc}{where}")) from None
        except Exception as exc:  # noqa: BLE001 - the last barrier before a traceback
            debug = os.environ.get("ACCESSIBILITY_DEBUG") or logging.getLogger().level <= logging.DEBUG
            if debug:
                raise
            click.echo(
                f"Error: internal error ({type(exc).__name__}: {_one_line(str(exc))[:300]}); "
                "this is a bug, please report it (rerun with -vv for the traceback)",
                err=True,
            )
            raise click.exceptions.Exit(EXIT_INTERNAL) from None

    return wrapper


def _check_out(ctx, param, value):
    from accessibility._io import check_out_dir
    from accessibility.errors import InvalidParameterError

    try:
        return check_out_dir(value)
    except InvalidParameterError as exc:
        raise click.BadParameter(str(exc)) from None


def out_option(default: str):
    """``--out DIR``, checked before any work (see :func:`accessibility._io.check_out_dir`)."""
    return click.option(
        "--out",
        "out_dir",
        default=default,
        show_default=True,
        callback=_check_out,
        help="Output directory (new, empty, or an earlier run's: replaced as a whole).",
    )


#: A file option (``--bpe FILE`` …): a path, checked by the loader that reads it.
input_file = dict(type=click.Path(dir_okay=False, path_type=Path), default=None)

communes_option = click.option("--communes", "communes_path", help="Commune table (csv). Default: the data directory's.",
                               **input_file)
code_changes_option = click.option(
    "--code-changes", "changes_path", **input_file,
    help="old_code -> code table of the COG. Default: the data directory's, else the embedded national table.")
no_maps_option = click.option("--no-maps", is_flag=True, help="Skip the PNG maps.")


def snap_distance_option(what: str, *, then: str = ""):
    """``--snap-distance METRES``: ``what`` (e.g. "Commune centres") farther from any road are not
    placed; ``then`` says what follows (e.g. " (their pairs are null)")."""
    from accessibility.settings import SNAP_MAX_DISTANCE_M

    return click.option("--snap-distance", type=click.FloatRange(0.0, min_open=True), default=SNAP_MAX_DISTANCE_M,
                        show_default=True, help=f"{what} farther (metres) from any road are not placed{then}.")


def point_columns_option(func):
    """``--id-column``, ``--name-column``, ``--lon-column``, ``--lat-column`` of a file of points
    (None: the usual names, see :func:`accessibility.inputs.points.load_point_table`)."""
    for flag, what, usual in (("--lat-column", "Latitude", "lat, latitude"), ("--lon-column", "Longitude", "lon, longitude"),
                              ("--name-column", "Name", "name, nom, lib_fs"), ("--id-column", "Id", "id, id_fs")):
        func = click.option(flag, default=None, help=f"{what} column of a file of points (default: {usual}, …).")(func)
    return func


def library_callback(func):
    """A click callback calling ``func(value)``: the library's InvalidParameterError becomes a
    ``click.BadParameter`` (exit 2, the option named), raised before any work."""

    def callback(ctx, param, value):
        from accessibility.errors import InvalidParameterError

        try:
            return func(value)
        except InvalidParameterError as exc:
            raise click.BadParameter(str(exc)) from None

    return callback


def _departements(value):
    from accessibility.analyses.zones import parse_departements

    return parse_departements(value) if value else None


def _filters(values):
    from accessibility.inputs.points import parse_filter

    return tuple(parse_filter(v) for v in values)


def _service(value):
    from accessibility.inputs.points import parse_service

    return None if value is None else parse_service(value)


#: ``--departement CODES`` (repeatable, comma separated): a tuple of codes, or None when not
#: given (the command then takes the data directory's).
departements_callback = library_callback(_departements)
#: ``--filter COL=V1,V2`` (repeatable): a tuple of ``(column, values)``.
filters_callback = library_callback(_filters)
#: ``--service SOURCE``: a :class:`accessibility.inputs.points.ServiceSpec` (None when not given).
service_callback = library_callback(_service)


def parse_lonlat(value: str, param_hint: str) -> tuple[float, float]:
    """Parse ``"LON,LAT"`` into floats, or raise ``click.BadParameter`` naming the value."""
    parts = value.replace(" ", "").split(",")
    try:
        lon, lat = (float(p) for p in parts)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not LON,LAT (e.g. 6.2356,44.0925)", param_hint=param_hint) from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90):
        raise click.BadParameter(f"{value!r} is outside lon [-180, 180], lat [-90, 90]", param_hint=param_hint)
    return lon, lat
