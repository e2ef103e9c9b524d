"""The sites of an isochrone run, as :class:`~accessibility.places.Places`.

Three ways to give them, the three modes of ``access isochrones``:

- points: ``--from LON,LAT[,LABEL]`` (:func:`points_places`): each point must be placed on the
  network (a point off the network is an error naming it, not a silent move);
- a service source (:func:`service_places`), written as ``access site`` takes it:
  ``france-services`` (the data directory's ``france_services`` file), ``bpe:TYPEQU[+TYPEQU]``
  (the communes having the equipment, at their centre, as ``access compute`` places them), or a
  CSV of points;
- a gamme (:func:`gamme_servers`): every commune of the extract, and which equipment of the gamme
  each one has (the servers of ``access compute``).

The CSV reading here is deliberately minimal (:func:`read_points_csv`); the shared point loader
of the siting command (``accessibility.sites.load_sites``: vector files, filters, more aliases)
returns the same ``id, name, lon, lat`` table and takes its place in :func:`load_service_table`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

import numpy as np

from ..errors import InvalidParameterError, NoServiceError, SnapError
from ..graph import Graph
from ..places import OUTSIDE, Places
from ..settings import CONNECTOR_SPEED_KMH, SNAP_MAX_DISTANCE_M

__all__ = [
    "KNOWN_SOURCES",
    "parse_point",
    "points_places",
    "read_points_csv",
    "load_service_table",
    "service_places",
    "gamme_servers",
    "parse_bpe_source",
    "outside_count",
]

#: Service names -> (data directory role, what they are, their French name for maps).
KNOWN_SOURCES = {"france-services": ("france_services", "France services sites (ANCT)", "France services")}

#: Column names accepted for each field of a CSV of points, in order of preference (any case).
_ALIASES = {
    "id": ("id", "id_fs", "identifiant", "code"),
    "name": ("name", "nom", "lib_fs", "libelle", "label"),
    "lon": ("lon", "lng", "longitude", "x"),
    "lat": ("lat", "latitude", "y"),
}


def parse_point(text: str) -> tuple[float, float, str | None]:
    """``"LON,LAT"`` or ``"LON,LAT,LABEL"`` -> ``(lon, lat, label or None)``.

    Raises
    ------
    InvalidParameterError
        Not two numbers (and an optional label), or outside WGS84 ranges.
    """
    parts = [p.strip() for p in str(text).split(",", 2)]
    try:
        lon, lat = float(parts[0]), float(parts[1])
    except (ValueError, IndexError):
        raise InvalidParameterError(f"{text!r} is not LON,LAT[,LABEL] (e.g. 6.2356,44.0925,Digne)") from None
    if not (np.isfinite(lon) and np.isfinite(lat) and abs(lon) <= 180 and abs(lat) <= 90):
        raise InvalidParameterError(f"{text!r} is outside lon [-180, 180], lat [-90, 90]")
    label = parts[2] if len(parts) > 2 and parts[2] else None
    return lon, lat, label


def points_places(
    graph: Graph,
    points: Sequence[tuple],
    *,
    max_distance_m: float = SNAP_MAX_DISTANCE_M,
    connector_speed_kmh: float = CONNECTOR_SPEED_KMH,
) -> Places:
    """Sites from ``(lon, lat[, label])`` points, every one placed on the network.

    Ids are ``"1"``, ``"2"`` … in order; names the labels (or ``"lon,lat"``).

    Raises
    ------
    InvalidParameterError
        No point, or a malformed one.
    SnapError
        A point is outside the road extract or farther than ``max_distance_m`` from any road
        (the message names it and its distance).
    """
    pts = [parse_point(p) if isinstance(p, str) else (tuple(p) + (None,))[:3] for p in points]
    if not pts:
        raise InvalidParameterError("no point given: --from LON,LAT[,LABEL] (repeatable)")
    lon = [p[0] for p in pts]
    lat = [p[1] for p in pts]
    names = [p[2] or f"{p[0]:.5f},{p[1]:.5f}" for p in pts]
    places = Places.from_arrays(graph, [str(i + 1) for i in range(len(pts))], lon, lat, names=names, kind="site",
                                max_distance_m=max_distance_m, connector_speed_kmh=connector_speed_kmh)
    if not places.placed.all():
        i = int(np.flatnonzero(~places.placed)[0])
        d = places.distance_m[i]
        far = f" ({d:,.0f} m from the nearest road, more than the {max_distance_m:,.0f} m allowed)" if np.isfinite(d) else ""
        raise SnapError(
            f"point {names[i]!r} ({lon[i]:.6f}, {lat[i]:.6f}) is off the road network: {places.reason[i]}{far}"
        )
    return places


def read_points_csv(
    path: str | os.PathLike,
    *,
    id_column: str | None = None,
    name_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
    what: str = "point file",
):
    """Read a CSV (or csv.gz, ``,`` or ``;``) of points: ``id, name, lon, lat`` (WGS84 degrees).

    Columns are found among common names (``id``/``id_fs``, ``name``/``nom``/``lib_fs``,
    ``lon``/``longitude``, ``lat``/``latitude``, any case) or given. Without an id column, ids
    are the line numbers (``line-2`` …); without a name column, names are the ids. Rows with
    both coordinates empty are kept (placed nowhere, reported); one coordinate alone is an error.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``name``, ``lon``, ``lat``.

    Raises
    ------
    InputFileError, DataFormatError
        Naming the file (and the line and column of a bad value).
    """
    import pandas as pd

    from .._io import line_of, read_table, require_keys, require_numbers
    from ..errors import DataFormatError

    given = {"id": id_column, "name": name_column, "lon": lon_column, "lat": lat_column}
    wanted = {k: ((v,) if v else _ALIASES[k]) for k, v in given.items()}
    optional = [k for k in ("id", "name") if not given[k]]
    df = read_table(path, wanted, what, optional=optional)
    lon = require_numbers(df, "lon", path, what, allow_missing=True, label=lon_column or None)
    lat = require_numbers(df, "lat", path, what, allow_missing=True, label=lat_column or None)
    half = np.isnan(lon) != np.isnan(lat)
    if half.any():
        i = int(np.flatnonzero(half)[0])
        raise DataFormatError(f"{what} {str(path)!r}, line {line_of(i)} has only one of longitude and latitude")
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{what} {str(path)!r}, line {line_of(i)}: lon={lon[i]:g}, lat={lat[i]:g} are not WGS84 degrees")
    if "id" in df:
        require_keys(df, ("id",), path, what)
        ids = df["id"].astype(str).to_numpy(object)
    else:
        ids = np.array([f"line-{line_of(i)}" for i in range(len(df))], dtype=object)
    names = df["name"].fillna("").astype(str).to_numpy(object) if "name" in df else ids.copy()
    return pd.DataFrame({"id": ids, "name": names, "lon": lon, "lat": lat})


def load_service_table(
    source: str,
    *,
    data_dir=None,
    id_column: str | None = None,
    name_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
):
    """The ``id, name, lon, lat`` table of a point source (``france-services`` or a CSV path) and
    its file.

    Raises
    ------
    InvalidParameterError
        Neither a known name nor an existing file.
    InputFileError, DataFormatError
        As :func:`read_points_csv`; the data directory lacks the source's file.
    NoServiceError
        The file has no row.
    """
    from ..datasets.layout import DataDir, open_data_dir

    key = str(source).strip()
    if key.lower() in KNOWN_SOURCES:
        dd = data_dir if isinstance(data_dir, DataDir) else open_data_dir(data_dir)
        role, label, _ = KNOWN_SOURCES[key.lower()]
        path = dd.path(role)
    else:
        path = Path(key).expanduser()
        if not path.is_file():
            raise InvalidParameterError(
                f"service source {key!r} is neither a known name ({', '.join(KNOWN_SOURCES)}), nor bpe:TYPEQU, "
                "nor an existing file of points"
            )
        label = path.name
    df = read_points_csv(path, id_column=id_column, name_column=name_column, lon_column=lon_column,
                         lat_column=lat_column, what=f"{label} file")
    if df.empty:
        raise NoServiceError(f"{label}: no site in {str(path)!r}")
    return df, path


def parse_bpe_source(source: str) -> tuple[str, ...] | None:
    """The BPE types of ``bpe:TYPEQU[+TYPEQU]`` (None for another source).

    Raises
    ------
    InvalidParameterError
        A malformed ``bpe:`` value.
    """
    t = str(source).strip()
    if not t.lower().startswith("bpe:"):
        return None
    types = tuple(x.strip().upper() for x in t[4:].split("+") if x.strip())
    if not types or not all(x.isalnum() and len(x) <= 6 for x in types):
        raise InvalidParameterError(f"{t!r} is not bpe:TYPEQU (e.g. bpe:D201, bpe:D201+D113)")
    return types


def service_places(
    graph: Graph,
    source: str,
    *,
    communes=None,
    bpe=None,
    data_dir=None,
    id_column: str | None = None,
    name_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
    table=None,
    max_distance_m: float = SNAP_MAX_DISTANCE_M,
) -> tuple[Places, Path | None, str]:
    """The sites of a service source, put on ``graph``.

    Parameters
    ----------
    graph : Graph
    source : str
        ``france-services``, ``bpe:TYPEQU[+TYPEQU]`` or the path of a CSV of points.
    communes, bpe : pandas.DataFrame
        Needed for ``bpe:`` sources (:func:`accessibility.communes.load_communes`,
        :func:`accessibility.services.load_bpe`).
    data_dir : path or DataDir, optional
        Where ``france-services`` is found (the embedded data when omitted).
    id_column, name_column, lon_column, lat_column : str, optional
        Column names of a CSV when they are not the usual ones.
    table : tuple (pandas.DataFrame, Path), optional
        What :func:`load_service_table` returned for ``source`` (read before the graph is
        loaded, so that a bad file fails fast); read here when omitted.

    Returns
    -------
    (Places, Path or None, str)
        The sites (placed or not, with reasons), the file read (None for ``bpe:``) and a label
        for titles.

    Raises
    ------
    InvalidParameterError, InputFileError, DataFormatError
    NoServiceError
        No site at all, or no commune has the BPE types.
    """
    types = parse_bpe_source(source)
    if types is not None:
        if communes is None or bpe is None:
            raise InvalidParameterError("a bpe: service source needs the commune and BPE tables")
        has = bpe[bpe["typequ"].isin(types) & (bpe["nb_equip"] > 0)]["code"].unique()
        rows = np.flatnonzero(communes["code"].isin(set(has)).to_numpy())
        if not len(rows):
            absent = [t for t in types if t not in set(bpe["typequ"])]
            raise NoServiceError(
                f"no commune has BPE equipment {'+'.join(types)}"
                + (f" ({', '.join(absent)} not in this BPE file)" if absent else " with a count above 0")
            )
        places = Places.from_communes(graph, communes.iloc[rows].reset_index(drop=True), max_distance_m=max_distance_m)
        return places, None, f"communes ayant l'équipement BPE {'+'.join(types)}"
    df, path = table if table is not None else load_service_table(
        source, data_dir=data_dir, id_column=id_column, name_column=name_column, lon_column=lon_column,
        lat_column=lat_column)
    places = Places.from_frame(graph, df, id="id", name="name", lon="lon", lat="lat", kind="site",
                               max_distance_m=max_distance_m)
    label = KNOWN_SOURCES.get(str(source).strip().lower(), (None, None, Path(str(source)).name))[2]
    return places, path, label


def gamme_servers(graph: Graph, communes, bpe, gammes, tier: str, *, departements: Sequence[str],
                  max_distance_m: float = SNAP_MAX_DISTANCE_M):
    """The servers of a gamme, as ``access compute`` finds them.

    Every commune of the table placed on the graph can serve; equipment ``k`` of the gamme is at
    the centre of every commune having it (BPE count > 0). Equipments absent from the BPE vintage
    or from every commune of the extract are left out (logged), as in ``access compute``.

    Returns
    -------
    servers : Places
    present : np.ndarray of bool, shape (len(servers), m)
        The gamme's equipments found in the extract.
    equipment : np.ndarray of str, shape (m,)
        Their codes.
    not_in_extract : pandas.DataFrame
        Equipments of the gamme no commune of the extract has.

    Raises
    ------
    NoServiceError
        The gamme has no equipment in the BPE file or in the extract.
    NoCommuneError
        No commune of ``departements`` can be placed.
    """
    from ..zones import check_access_options, gamme_presence, place_communes

    opts = check_access_options(departements=departements, tiers=(tier,), methods=("mean",),
                                max_distance_m=max_distance_m)
    placement = place_communes(graph, communes, opts)
    gp = gamme_presence(bpe, gammes, placement.servers, opts)
    cols = gp.presence.of_tier(tier)
    cols = cols[gp.found[cols]]
    return placement.servers, gp.presence.present[:, cols], gp.presence.equipment[cols], gp.not_in_extract


def outside_count(places: Places) -> int:
    """Sites outside the road extract (a national list over a regional extract)."""
    return int((places.reason == OUTSIDE).sum())
