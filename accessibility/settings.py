"""Documented defaults of the engine, in one place.

Everything here can be overridden from the Python API (keyword arguments) and from the CLI
(options). Speeds per road class live in a profile file (``accessibility/profiles/car.toml``)
that users can copy and edit: see :func:`load_profile`.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Mapping

from .errors import DataFormatError, InputFileError

__all__ = [
    "Profile",
    "load_profile",
    "DEFAULT_PROFILE_PATH",
    "SNAP_MAX_DISTANCE_M",
    "CONNECTOR_SPEED_KMH",
    "TIER_THRESHOLDS_MIN",
    "TIERS",
    "POLE_SHARE",
    "DEFAULT_DEPARTEMENTS",
    "embedded_data_dir",
    "default_cache_dir",
]

#: The car profile shipped with the package.
DEFAULT_PROFILE_PATH = Path(__file__).parent / "profiles" / "car.toml"

#: Points farther than this from the road network (metres, straight line) are not snapped but
#: reported. 500 m covers a chef-lieu point set in the middle of a village square or a hamlet
#: set back from its road, without pulling a mountain point onto a road of the next valley.
SNAP_MAX_DISTANCE_M = 500.0

#: Speed (km/h) of the access leg between a point and its snapped road position: the straight
#: line is walked-or-driven on a car park, a lane or a square. 15 km/h, the `service` road speed
#: of the car profile, so the leg never beats the road it joins.
CONNECTOR_SPEED_KMH = 15.0

#: The three INSEE gammes, in order, and their zone grise thresholds (minutes) from the SDAASP
#: diagnostics (10 proximité, 20 intermédiaire, 30 supérieure).
TIERS: tuple[str, ...] = ("proximite", "intermediaire", "superieure")
TIER_THRESHOLDS_MIN: Mapping[str, float] = MappingProxyType(
    {"proximite": 10.0, "intermediaire": 20.0, "superieure": 30.0}
)

#: A commune is a *pôle* of a gamme when it has at least this share of the gamme's equipments.
POLE_SHARE = 0.5

#: Départements analysed by default: the embedded Alpes du Sud.
DEFAULT_DEPARTEMENTS: tuple[str, ...] = ("04", "05")


@dataclass(frozen=True)
class Profile:
    """A car speed profile: free-flow speed per highway class and the ``maxspeed`` rules.

    Attributes
    ----------
    name : str
        Profile name.
    speeds_kmh : Mapping[str, float]
        Speed (km/h) per ``highway`` class used when a way has no usable ``maxspeed``.
    maxspeed_factor : float
        Multiplier applied to a tagged ``maxspeed`` (OSRM ``speed_reduction``).
    implicit_kmh : Mapping[str, float]
        Implicit limits (``fr:urban`` …), lower-case keys, km/h.
    implied_oneway : frozenset[str]
        Classes that are one-way without an ``oneway`` tag.
    access_denied : frozenset[str]
        ``access``/``motor_vehicle``/``motorcar`` values that exclude a way.
    include_tracks : bool
        Whether ``highway=track`` is drivable.
    text : str
        The profile file's text (part of the graph cache key).
    """

    name: str
    speeds_kmh: Mapping[str, float]
    maxspeed_factor: float
    implicit_kmh: Mapping[str, float]
    implied_oneway: frozenset[str]
    access_denied: frozenset[str]
    include_tracks: bool
    text: str = field(repr=False)

    @property
    def drivable(self) -> frozenset[str]:
        """The ``highway`` classes that make up the car graph."""
        classes = set(self.speeds_kmh)
        if not self.include_tracks:
            classes.discard("track")
        return frozenset(classes)


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """Read a speed profile (TOML).

    Parameters
    ----------
    path : str or path-like, optional
        Profile file; the shipped ``car.toml`` when omitted.

    Returns
    -------
    Profile

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    DataFormatError
        The file is not valid TOML or lacks a required table, or a speed is not a positive number.
    """
    p = Path(path) if path is not None else DEFAULT_PROFILE_PATH
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"cannot read speed profile {str(p)!r}: {exc.strerror or exc}") from exc
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFormatError(f"speed profile {str(p)!r} is not valid TOML: {exc}") from exc
    try:
        speeds = {str(k): float(v) for k, v in doc["speeds_kmh"].items()}
        ms = doc.get("maxspeed", {})
        factor = float(ms.get("factor", 1.0))
        implicit = {str(k).lower(): float(v) for k, v in ms.get("implicit_kmh", {}).items()}
        rules = doc.get("rules", {})
    except (KeyError, TypeError, ValueError) as exc:
        raise DataFormatError(
            f"speed profile {str(p)!r} needs a [speeds_kmh] table of numbers: {exc}"
        ) from exc
    bad = {k: v for k, v in speeds.items() if not v > 0}
    if bad or not factor > 0:
        raise DataFormatError(
            f"speed profile {str(p)!r}: speeds and factor must be positive, got {bad or factor}"
        )
    return Profile(
        name=str(doc.get("name", p.stem)),
        speeds_kmh=MappingProxyType(speeds),
        maxspeed_factor=factor,
        implicit_kmh=MappingProxyType(implicit),
        implied_oneway=frozenset(rules.get("implied_oneway", ["motorway", "motorway_link"])),
        access_denied=frozenset(rules.get("access_denied", ["no", "private"])),
        include_tracks=bool(rules.get("include_tracks", False)),
        text=text,
    )


def embedded_data_dir() -> Path:
    """Directory of the embedded data (``data/`` of the repository, or the installed copy).

    ``ACCESSIBILITY_DATA_DIR`` overrides it.
    """
    env = os.environ.get("ACCESSIBILITY_DATA_DIR")
    if env:
        return Path(env)
    installed = Path(__file__).parent / "_embedded"
    if installed.is_dir():
        return installed
    return Path(__file__).resolve().parent.parent / "data"


def default_cache_dir() -> Path:
    """Where built graphs are cached: ``ACCESSIBILITY_CACHE_DIR``, else ``$XDG_CACHE_HOME/accessibility``."""
    env = os.environ.get("ACCESSIBILITY_CACHE_DIR")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".cache"
    return base / "accessibility"
