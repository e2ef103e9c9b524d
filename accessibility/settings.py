"""Documented defaults of the engine, in one place.

Everything here can be overridden from the Python API (keyword arguments) and from the CLI
(options). Speeds per road class live in a profile file (``accessibility/profiles/car.toml``)
that users can copy and edit: see :func:`load_profile`.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from accessibility.errors import DataFormatError, InputFileError

__all__ = [
    "Profile",
    "load_profile",
    "DEFAULT_PROFILE_PATH",
    "SNAP_MAX_DISTANCE_M",
    "CONNECTOR_SPEED_KMH",
    "TIER_THRESHOLDS_MIN",
    "TIERS",
    "TIER_LABELS",
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
#: The gammes as INSEE writes them (maps, the what-if page, assembled gamme tables).
TIER_LABELS: Mapping[str, str] = MappingProxyType(
    {"proximite": "proximité", "intermediaire": "intermédiaire", "superieure": "supérieure"}
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


#: Speeds (km/h) a profile may give: above 0 and at most this.
MAX_SPEED_KMH = 300.0

#: The keys a profile may hold, per table; anything else is refused (a typo would be ignored
#: silently otherwise).
_PROFILE_KEYS = {
    "": {"name", "source", "speeds_kmh", "maxspeed", "rules"},
    "maxspeed": {"factor", "implicit_kmh"},
    "rules": {"implied_oneway", "access_denied", "include_tracks"},
}


def _profile_error(p: Path, key: str, problem: str) -> DataFormatError:
    return DataFormatError(f"speed profile {str(p)!r}: {key} {problem}")


def _speed(p: Path, key: str, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise _profile_error(p, key, f"must be a number of km/h, got {v!r}")
    f = float(v)
    if not (0 < f <= MAX_SPEED_KMH):
        raise _profile_error(p, key, f"must be in (0, {MAX_SPEED_KMH:g}] km/h, got {v!r}")
    return f


def _table(p: Path, doc: dict, key: str, *, required: bool = False) -> dict:
    v = doc.get(key, {} if not required else None)
    if v is None:
        raise _profile_error(p, f"[{key}]", "is missing")
    if not isinstance(v, dict):
        raise _profile_error(p, key, f"must be a table, got {v!r}")
    return v


def _string_list(p: Path, key: str, v, default: list[str]) -> frozenset[str]:
    if v is None:
        return frozenset(default)
    if not isinstance(v, list) or not all(isinstance(x, str) and x.strip() for x in v):
        raise _profile_error(p, key, f"must be a list of strings, e.g. [\"no\", \"private\"], got {v!r}")
    return frozenset(x.strip() for x in v)


def load_profile(path: str | os.PathLike | None = None) -> Profile:
    """Read a speed profile (TOML), checking every key's type and range.

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
        The file is not UTF-8 or not valid TOML; a key is unknown; a speed is not a number in
        ``(0, 300]`` km/h; ``maxspeed.factor`` is not a number in ``(0, 2]``; a rule list is not
        a list of strings; ``include_tracks`` is not ``true``/``false`` (the message names the
        key).
    """
    p = Path(path) if path is not None else DEFAULT_PROFILE_PATH
    try:
        raw = p.read_bytes()
    except OSError as exc:
        raise InputFileError(f"cannot read speed profile {str(p)!r}: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DataFormatError(f"speed profile {str(p)!r} is not UTF-8 text: {exc}") from None
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise DataFormatError(f"speed profile {str(p)!r} is not valid TOML: {exc}") from None
    for table, allowed in _PROFILE_KEYS.items():
        sub = doc if not table else _table(p, doc, table)
        extra = sorted(set(sub) - allowed)
        if extra:
            where = f"[{table}] " if table else ""
            raise _profile_error(p, f"{where}key {extra[0]!r}", f"is unknown; known keys: {', '.join(sorted(allowed))}")
    speeds_doc = _table(p, doc, "speeds_kmh", required=True)
    if not speeds_doc:
        raise _profile_error(p, "[speeds_kmh]", "is empty: give a speed per highway class")
    speeds = {str(k): _speed(p, f"speeds_kmh.{k}", v) for k, v in speeds_doc.items()}
    ms = _table(p, doc, "maxspeed")
    factor = ms.get("factor", 1.0)
    if isinstance(factor, bool) or not isinstance(factor, (int, float)) or not (0 < float(factor) <= 2):
        raise _profile_error(p, "maxspeed.factor", f"must be a number in (0, 2], got {factor!r}")
    implicit = {str(k).lower(): _speed(p, f"maxspeed.implicit_kmh.{k}", v)
                for k, v in _table(p, ms, "implicit_kmh").items()}
    rules = _table(p, doc, "rules")
    tracks = rules.get("include_tracks", False)
    if not isinstance(tracks, bool):
        raise _profile_error(p, "rules.include_tracks", f"must be true or false (no quotes), got {tracks!r}")
    for key in ("name", "source"):
        if key in doc and not isinstance(doc[key], str):
            raise _profile_error(p, key, f"must be a string, got {doc[key]!r}")
    return Profile(
        name=str(doc.get("name", p.stem)),
        speeds_kmh=MappingProxyType(speeds),
        maxspeed_factor=float(factor),
        implicit_kmh=MappingProxyType(implicit),
        implied_oneway=_string_list(p, "rules.implied_oneway", rules.get("implied_oneway"), ["motorway", "motorway_link"]),
        access_denied=_string_list(p, "rules.access_denied", rules.get("access_denied"), ["no", "private"]),
        include_tracks=tracks,
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
