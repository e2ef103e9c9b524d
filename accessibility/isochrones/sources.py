"""The sites of an isochrone run, as :class:`~accessibility.engine.places.Places`.

Three ways to give them, the three modes of ``access isochrones``:

- points: ``--from LON,LAT[,LABEL]`` (:func:`points_places`): each point must be placed on the
  network (a point off the network is an error naming it, not a silent move);
- a service source (:func:`service_places`), read by the shared point loader of ``access site``
  (:func:`accessibility.inputs.points.load_sites`): ``france-services``, ``mediation``, ``cnfs``,
  ``bpe:TYPEQU[+TYPEQU]`` (the communes having the equipment, at their centre, as ``access
  compute`` places them), or a CSV / GeoPackage of points, with ``--filter``;
- a gamme (:func:`gamme_servers`): every commune of the extract, and which equipment of the gamme
  each one has (the servers of ``access compute``).

"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from accessibility.engine.places import OUTSIDE, PlaceOptions, Places
from accessibility.errors import InvalidParameterError, SnapError
from accessibility.network.graph import Graph
from accessibility.settings import CONNECTOR_SPEED_KMH, SNAP_MAX_DISTANCE_M

__all__ = [
    "parse_point",
    "points_places",
    "load_service_table",
    "service_places",
    "gamme_servers",
    "parse_bpe_source",
    "outside_count",
]

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
    places = Places.from_arrays(graph, [str(i + 1) for i in range(len(pts))], lon, lat, names=names, options=PlaceOptions(
        kind="site", max_distance_m=max_distance_m, connector_speed_kmh=connector_speed_kmh))
    if not places.placed.all():
        i = int(np.flatnonzero(~places.placed)[0])
        d = places.distance_m[i]
        far = f" ({d:,.0f} m from the nearest road, more than the {max_distance_m:,.0f} m allowed)" if np.isfinite(d) else ""
        raise SnapError(
            f"point {names[i]!r} ({lon[i]:.6f}, {lat[i]:.6f}) is off the road network: {places.reason[i]}{far}"
        )
    return places


def load_service_table(
    source: str,
    *,
    data_dir=None,
    id_column: str | None = None,
    name_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
    filters=(),
):
    """The ``id, name, lon, lat`` table of a point source and its file, through the shared
    loader (:func:`accessibility.inputs.points.load_sites`: known names, CSV or vector files, filters).

    Raises
    ------
    InvalidParameterError, InputFileError, DataFormatError, NoServiceError
        As :func:`accessibility.inputs.points.load_sites`.
    """
    from accessibility.inputs.points import load_sites

    return load_sites(source, data_dir=data_dir, filters=filters, id_column=id_column, name_column=name_column,
                      lon_column=lon_column, lat_column=lat_column)


def parse_bpe_source(source: str) -> tuple[str, ...] | None:
    """The BPE types of ``bpe:TYPEQU[+TYPEQU]`` (None for another source).

    Raises
    ------
    InvalidParameterError
        A malformed ``bpe:`` value.
    """
    from accessibility.inputs.points import parse_service

    t = str(source).strip()
    return parse_service(t).types if t.lower().startswith("bpe:") else None


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
    filters=(),
    max_distance_m: float = SNAP_MAX_DISTANCE_M,
) -> tuple[Places, Path | None, str]:
    """The sites of a service source, put on ``graph``.

    Parameters
    ----------
    graph : Graph
    source : str
        See :func:`accessibility.inputs.points.parse_service`.
    communes, bpe : pandas.DataFrame
        Needed for ``bpe:`` sources.
    data_dir : path or DataDir, optional
        Where known sources are found (the embedded data when omitted).
    id_column, name_column, lon_column, lat_column : str, optional
        Column names of a point file when they are not the usual ones.
    table : tuple (pandas.DataFrame, Path), optional
        What :func:`load_service_table` returned (read before the graph is loaded, so that a bad
        file fails fast); read here when omitted.
    filters : sequence of (column, values)

    Returns
    -------
    (Places, Path or None, str)
        The sites (placed or not, with reasons), the file read (None for ``bpe:``) and a French
        label for titles.

    Raises
    ------
    InvalidParameterError, InputFileError, DataFormatError, NoServiceError
    """
    from accessibility.inputs.points import load_sites, parse_service

    spec = parse_service(source)
    if spec.kind == "bpe":
        if communes is None or bpe is None:
            raise InvalidParameterError("a bpe: service source needs the commune and BPE tables")
        df, path = load_sites(spec, bpe=bpe, communes=communes, filters=filters)
    else:
        df, path = table if table is not None else load_service_table(
            source, data_dir=data_dir, id_column=id_column, name_column=name_column, lon_column=lon_column,
            lat_column=lat_column, filters=filters)
    places = Places.from_frame(graph, df, options=PlaceOptions(kind="site", max_distance_m=max_distance_m))
    return places, path, spec.label_fr


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
    from accessibility.analyses.zones import check_access_options, gamme_presence, place_communes

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
