"""Options and helpers shared by the ``access`` commands."""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..errors import AccessibilityError

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


def friendly_errors(func):
    """Turn the engine's errors into a one-line message and exit status 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except AccessibilityError as exc:
            raise click.ClickException(str(exc)) from None
        except MemoryError:
            raise click.ClickException("out of memory: try a smaller extract or area") from None

    return wrapper


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
