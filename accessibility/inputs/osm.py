"""Read an ``.osm.pbf`` road extract into a directed edge table.

One streaming pass with pyosmium (node locations kept in its C++ index): for every drivable way,
its node references and coordinates are appended to flat arrays, and its speed and direction are
resolved once per way. No Python object is kept per node; segments, lengths and times are then
computed with numpy.
"""

from __future__ import annotations

import logging
import os
import re
from array import array
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from accessibility._geo import EARTH_RADIUS_M, haversine_m  # noqa: F401 - re-exported
from accessibility.errors import InputFileError, NoDrivableRoadError, OSMFileError
from accessibility.settings import Profile, load_profile

__all__ = ["EdgeTable", "read_osm_edges", "parse_maxspeed", "check_pbf", "haversine_m"]

log = logging.getLogger(__name__)

_MPH = 1.609344


@dataclass(frozen=True)
class EdgeTable:
    """Directed road segments of an OSM extract.

    Attributes
    ----------
    u, v : np.ndarray of int64
        Tail and head node index (into ``x``/``y``) of every directed segment.
    length_m : np.ndarray of float64
        Great-circle length of the segment (metres).
    time_s : np.ndarray of float64
        Travel time (seconds) at the way's speed.
    x, y : np.ndarray of float64
        Longitude and latitude (WGS84) of every node.
    n_ways : int
        Drivable ways read.
    n_ways_excluded : int
        Ways with a drivable class excluded by an access restriction.
    """

    u: np.ndarray
    v: np.ndarray
    length_m: np.ndarray
    time_s: np.ndarray
    x: np.ndarray
    y: np.ndarray
    n_ways: int
    n_ways_excluded: int


_NUM = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*(km/h|kmh|kph|mph|knots)?\s*$", re.IGNORECASE)


def parse_maxspeed(value: str | None, profile: Profile) -> float | None:
    """Parse an OSM ``maxspeed`` value to km/h.

    Handles the forms found in real data: ``50``, ``50 km/h``, ``50 mph``, implicit limits
    (``FR:urban``, ``FR:rural``, ``FR:motorway``, ``none``, ``walk``; see the profile), and
    several values (``50;70``, ``50|70``), of which the lowest is kept.

    Parameters
    ----------
    value : str or None
        The tag value.
    profile : Profile
        Gives the implicit limits.

    Returns
    -------
    float or None
        The limit in km/h, or None when the value is missing or not understood (``signals``,
        ``variable``…), in which case the class speed applies.

    Examples
    --------
    >>> from accessibility.settings import load_profile
    >>> p = load_profile()
    >>> parse_maxspeed("50 mph", p)
    80.4672
    >>> parse_maxspeed("FR:rural", p)
    80.0
    >>> parse_maxspeed("50;70", p)
    50.0
    """
    if value is None:
        return None
    return _parse_maxspeed_cached(value, tuple(sorted(profile.implicit_kmh.items())))


@lru_cache(maxsize=4096)
def _parse_maxspeed_cached(value: str, implicit: tuple[tuple[str, float], ...]) -> float | None:
    table = dict(implicit)
    best: float | None = None
    for part in re.split(r"[;|]", value):
        part = part.strip()
        if not part:
            continue
        kmh: float | None
        key = part.lower()
        if key in table:
            kmh = table[key]
        else:
            m = _NUM.match(part)
            if not m:
                kmh = None
            else:
                kmh = float(m.group(1).replace(",", "."))
                unit = (m.group(2) or "").lower()
                if unit == "mph":
                    kmh *= _MPH
                elif unit == "knots":
                    kmh *= 1.852
        if kmh is not None and kmh > 0 and (best is None or kmh < best):
            best = kmh
    return best


def check_pbf(path: str | os.PathLike) -> Path:
    """Check that ``path`` exists and starts like an OSM PBF file.

    Raises
    ------
    InputFileError
        The file does not exist or is not readable.
    OSMFileError
        The file does not start with an ``OSMHeader`` blob (not a PBF).
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"OSM file not found: {str(p)!r}")
    if not p.is_file():
        raise InputFileError(f"OSM path is not a file: {str(p)!r}")
    try:
        with p.open("rb") as fh:
            head = fh.read(64)
    except OSError as exc:
        raise InputFileError(f"cannot read OSM file {str(p)!r}: {exc.strerror or exc}") from exc
    if len(head) < 8 or b"OSMHeader" not in head[4:32]:
        raise OSMFileError(
            f"{str(p)!r} is not an OSM PBF file (no OSMHeader block at its start); "
            "give an .osm.pbf extract, e.g. from download.geofabrik.de"
        )
    return p


def _way_direction(tags, highway: str, profile: Profile) -> int:
    """1 one-way along the drawing, -1 against it, 0 both ways."""
    oneway = tags.get("oneway")
    if oneway is not None:
        o = oneway.strip().lower()
        if o in ("yes", "1", "true", "reversible"):
            return 1
        if o in ("-1", "reverse"):
            return -1
        if o in ("no", "0", "false"):
            return 0
    if tags.get("junction") in ("roundabout", "circular"):
        return 1
    if highway in profile.implied_oneway:
        return 1
    return 0


def _denied(tags, profile: Profile) -> bool:
    # The most specific tag present decides (OSRM's access tag hierarchy).
    for key in ("motorcar", "motor_vehicle", "vehicle", "access"):
        val = tags.get(key)
        if val is not None:
            return val.strip().lower() in profile.access_denied
    return False


def read_osm_edges(path: str | os.PathLike, *, profile: Profile | None = None) -> EdgeTable:
    """Read the drivable road segments of an ``.osm.pbf`` file.

    Parameters
    ----------
    path : str or path-like
        The OSM PBF extract.
    profile : Profile, optional
        Speed profile; the shipped car profile when omitted.

    Returns
    -------
    EdgeTable
        Directed segments (one per direction for two-way ways), node coordinates.

    Raises
    ------
    InputFileError
        The file is missing.
    OSMFileError
        The file is not a PBF or is truncated/corrupt.
    NoDrivableRoadError
        No drivable way with located nodes is in the file.
    """
    p = check_pbf(path)
    prof = profile if profile is not None else load_profile()
    ways = _read_ways(p, prof)
    if len(ways.counts) == 0:
        raise NoDrivableRoadError(
            f"no drivable road in {str(p)!r}: it holds no way tagged highway="
            f"{'/'.join(sorted(prof.drivable))} with located nodes"
        )
    return _segments(ways)


@dataclass(frozen=True)
class _Ways:
    """The drivable ways of a file, flat: node refs and locations, node count, speed and
    direction per way."""

    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    counts: np.ndarray
    speed_kmh: np.ndarray
    direction: np.ndarray
    n_excluded: int


def _read_ways(p: Path, prof: Profile) -> _Ways:
    """One streaming pyosmium pass: the drivable ways, their nodes, speed and direction."""
    import osmium  # local: keeps `import accessibility` light

    drivable, speeds, factor = prof.drivable, prof.speeds_kmh, prof.maxspeed_factor
    refs, lon, lat = array("q"), array("d"), array("d")
    counts, way_speed, way_dir = array("l"), array("d"), array("b")
    n_excluded = 0

    class _Handler(osmium.SimpleHandler):
        def way(self, w):  # noqa: D401 - pyosmium callback
            nonlocal n_excluded
            tags = w.tags
            hw = tags.get("highway")
            if hw not in drivable:
                return
            if _denied(tags, prof):
                n_excluded += 1
                return
            k = 0
            for nd in w.nodes:
                loc = nd.location
                if not loc.valid():
                    continue
                refs.append(nd.ref)
                lon.append(loc.lon)
                lat.append(loc.lat)
                k += 1
            if k < 2:
                del refs[len(refs) - k :]
                del lon[len(lon) - k :]
                del lat[len(lat) - k :]
                return
            counts.append(k)
            ms = parse_maxspeed(tags.get("maxspeed"), prof)
            way_speed.append(ms * factor if ms is not None else speeds[hw])
            way_dir.append(_way_direction(tags, hw, prof))

    try:
        _Handler().apply_file(str(p), locations=True, idx="flex_mem")
    except RuntimeError as exc:
        raise OSMFileError(f"cannot read OSM file {str(p)!r} (truncated or corrupt PBF?): {exc}") from exc
    return _Ways(
        refs=np.frombuffer(refs, dtype=np.int64), lon=np.frombuffer(lon, dtype=np.float64),
        lat=np.frombuffer(lat, dtype=np.float64), counts=np.asarray(counts, dtype=np.int64),
        speed_kmh=np.frombuffer(way_speed, dtype=np.float64), direction=np.frombuffer(way_dir, dtype=np.int8),
        n_excluded=n_excluded,
    )


def _segments(w: _Ways) -> EdgeTable:
    """Directed segments (one per direction of two-way ways) with great-circle lengths and times."""
    uniq, first, inv = np.unique(w.refs, return_index=True, return_inverse=True)
    # segment i joins flat positions i and i+1 when both belong to the same way
    way_of = np.repeat(np.arange(len(w.counts)), w.counts)
    same = way_of[:-1] == way_of[1:]
    a, b, w_idx = inv[:-1][same], inv[1:][same], way_of[:-1][same]
    length = haversine_m(w.lon[:-1][same], w.lat[:-1][same], w.lon[1:][same], w.lat[1:][same])
    keep = a != b
    a, b, w_idx, length = a[keep], b[keep], w_idx[keep], length[keep]
    time = length / (w.speed_kmh[w_idx] / 3.6)
    direction = w.direction[w_idx]
    fwd, bwd = direction >= 0, direction <= 0
    u = np.concatenate([a[fwd], b[bwd]]).astype(np.int64)
    v = np.concatenate([b[fwd], a[bwd]]).astype(np.int64)
    log.info("read %d drivable ways, %d nodes, %d directed segments", len(w.counts), len(uniq), len(u))
    return EdgeTable(
        u=u, v=v, length_m=np.concatenate([length[fwd], length[bwd]]),
        time_s=np.concatenate([time[fwd], time[bwd]]), x=w.lon[first].copy(), y=w.lat[first].copy(),
        n_ways=len(w.counts), n_ways_excluded=w.n_excluded,
    )
