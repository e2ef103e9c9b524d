"""Readers of the point sources of the index: places of digital mediation, conseillers
numériques places, France services; and of the user's census shares (``--extra``).

Each reader goes through :func:`accessibility._io.read_table` and the ``require_*`` checks, so a
bad file gives one line naming the file, line and column. They return plain tables; placing the
points on the graph is :mod:`accessibility.fragility.index`'s job.

The shared point-service loader of the siting command may absorb :func:`load_france_services`
and :func:`load_mediation` later; their output columns (``id, name, lon, lat``) follow
:meth:`accessibility.places.Places.from_frame`.
"""

from __future__ import annotations

import os
from typing import Sequence

import numpy as np
import pandas as pd

from .._io import check_file, line_of, read_table, require_keys, require_numbers
from ..errors import DataFormatError
from .tables import EXTRA_VARIABLES, classify_services

__all__ = ["load_mediation", "load_france_services", "load_extra", "site_table"]


def _coordinates(df: pd.DataFrame, p, what: str) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 lon/lat of the rows (NaN when both cells are empty), checked."""
    lat = require_numbers(df, "lat", p, what, allow_missing=True, decimal_comma=True, label="latitude")
    lon = require_numbers(df, "lon", p, what, allow_missing=True, decimal_comma=True, label="longitude")
    half = np.isnan(lat) != np.isnan(lon)
    if half.any():
        i = int(np.flatnonzero(half)[0])
        raise DataFormatError(f"{what} {str(p)!r}, line {line_of(i)} has only one of latitude and longitude")
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{what} {str(p)!r}, line {line_of(i)}: latitude={lat[i]!r}, longitude={lon[i]!r} are not WGS84 degrees"
        )
    return lon, lat


def _ids(df: pd.DataFrame, p, what: str) -> np.ndarray:
    if "id" in df:
        require_keys(df, ("id",), p, what)
        return df["id"].astype(str).to_numpy(object)
    return np.array([f"line-{line_of(i)}" for i in range(len(df))], dtype=object)


def load_mediation(path: str | os.PathLike, *, what: str = "places of digital mediation") -> pd.DataFrame:
    """Read a file of places of digital mediation (national standard, ``services`` column).

    Parameters
    ----------
    path : str or path-like
        csv or csv.gz, ``,`` or ``;`` separated, with ``latitude``, ``longitude`` and
        ``services`` (wordings separated by ``;``); ``id``, ``nom`` and ``source`` are used
        when present. The conseillers numériques file has the same form.
    what : str
        How to name the file in messages.

    Returns
    -------
    pandas.DataFrame
        ``id, name, network, lon, lat, skills, procedures`` (bool, from
        :func:`~accessibility.fragility.tables.classify_services`). Rows without coordinates
        are kept (NaN). ``attrs``: ``source`` (path), ``wordings`` (wording -> rows),
        ``unmatched`` (wordings not in the table -> rows).

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    DataFormatError
        No ``latitude``/``longitude``/``services`` column, a coordinate that is not a number in
        range or without its pair, an empty or repeated ``id`` (file, line and column named).
    """
    p = check_file(path, what)
    wanted = {"id": ("id",), "name": ("nom", "name"), "network": ("source",), "lat": ("latitude", "lat"),
              "lon": ("longitude", "lon"), "services": ("services",)}
    df = read_table(p, wanted, what, optional=("id", "name", "network"))
    lon, lat = _coordinates(df, p, what)
    kinds = classify_services(df["services"].to_numpy(object))
    out = pd.DataFrame({
        "id": _ids(df, p, what),
        "name": df["name"].fillna("").astype(str).to_numpy(object) if "name" in df else "",
        "network": df["network"].fillna("").astype(str).to_numpy(object) if "network" in df else "",
        "lon": lon, "lat": lat, "skills": kinds.skills, "procedures": kinds.procedures,
    })
    out.attrs.update(source={"path": str(p.resolve())}, wordings=kinds.counts, unmatched=kinds.unmatched)
    return out


def load_france_services(path: str | os.PathLike) -> pd.DataFrame:
    """Read the ANCT list of France services (``latitude``, ``longitude``; ``id_fs``, ``lib_fs``,
    ``format_fs`` when present).

    Returns
    -------
    pandas.DataFrame
        ``id, name, format, lon, lat`` (NaN coordinates kept). ``attrs["source"]`` names the file.

    Raises
    ------
    InputFileError, DataFormatError
        As :func:`load_mediation`.
    """
    what = "France services file"
    p = check_file(path, what)
    wanted = {"id": ("id_fs", "id"), "name": ("lib_fs", "nom", "name"), "format": ("format_fs",),
              "lat": ("latitude", "lat"), "lon": ("longitude", "lon")}
    df = read_table(p, wanted, what, optional=("id", "name", "format"))
    lon, lat = _coordinates(df, p, what)
    out = pd.DataFrame({
        "id": _ids(df, p, what),
        "name": df["name"].fillna("").astype(str).to_numpy(object) if "name" in df else "",
        "format": df["format"].fillna("").astype(str).to_numpy(object) if "format" in df else "",
        "lon": lon, "lat": lat,
    })
    out.attrs["source"] = {"path": str(p.resolve())}
    return out


def site_table(mediation: Sequence[pd.DataFrame] = (), france_services: pd.DataFrame | None = None,
               *, labels: Sequence[str] | None = None) -> pd.DataFrame:
    """One table of every point site, ids made unique by a prefix per source.

    Parameters
    ----------
    mediation : sequence of DataFrame
        :func:`load_mediation` tables.
    france_services : DataFrame, optional
        :func:`load_france_services` table.
    labels : sequence of str, optional
        A short name per mediation table (``mediation``, ``cnfs`` …), used as the id prefix and
        in the ``origin`` column; ``mediation1``, ``mediation2`` … when omitted.

    Returns
    -------
    pandas.DataFrame
        ``id, name, origin, network, lon, lat, skills, procedures, france_services``.
    """
    labels = list(labels) if labels is not None else [f"mediation{i + 1}" for i in range(len(mediation))]
    frames = []
    for lab, m in zip(labels, mediation):
        f = m[["id", "name", "network", "lon", "lat", "skills", "procedures"]].copy()
        f.insert(0, "origin", lab)
        f["france_services"] = False
        frames.append(f)
    if france_services is not None:
        fs = france_services
        frames.append(pd.DataFrame({
            "origin": "france_services", "id": fs["id"].to_numpy(object), "name": fs["name"].to_numpy(object),
            "network": "france-services", "lon": fs["lon"].to_numpy(float), "lat": fs["lat"].to_numpy(float),
            "skills": False, "procedures": True, "france_services": True,
        }))
    cols = ["id", "name", "origin", "network", "lon", "lat", "skills", "procedures", "france_services"]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object if c in ("id", "name", "origin", "network") else
                                          (float if c in ("lon", "lat") else bool)) for c in cols})
    out = pd.concat(frames, ignore_index=True)
    out["id"] = out["origin"] + ":" + out["id"].astype(str)
    return out[cols]


def load_extra(path: str | os.PathLike, *, communes: pd.DataFrame | None = None) -> pd.DataFrame:
    """Read the user's census shares: a commune ``code`` and one or both of the index's two
    non-time variables (:data:`~accessibility.fragility.tables.EXTRA_VARIABLES`: e.g.
    ``over75_alone`` or ``plus_75_seuls``, ``no_car`` or ``menages_sans_voiture``).

    Values are numbers >= 0 in any unit (shares or percent: the index normalises them); a
    decimal comma is accepted; an empty cell is an unknown value for that commune.

    Parameters
    ----------
    path : str or path-like
    communes : DataFrame, optional
        The commune table: codes it does not know are reported in ``attrs["unknown_codes"]``.

    Returns
    -------
    pandas.DataFrame
        ``code`` and the variables found (float, NaN for empty cells). ``attrs``: ``source``,
        ``variables`` (names found), ``unknown_codes`` (list).

    Raises
    ------
    DataFormatError
        No ``code`` column, none of the variables, an empty or repeated code, a value that is not
        a number >= 0 (file, line and column named).
    """
    from ..communes import normalize_codes, require_commune_codes

    what = "extra variables file"
    p = check_file(path, what)
    wanted = {"code": ("code", "codgeo", "depcom", "code_commune"), **EXTRA_VARIABLES}
    df = read_table(p, wanted, what, optional=tuple(EXTRA_VARIABLES))
    found = [v for v in EXTRA_VARIABLES if v in df]
    if not found:
        raise DataFormatError(
            f"{what} {str(p)!r} has none of the columns "
            + "; ".join("/".join(a) for a in EXTRA_VARIABLES.values())
            + " (besides the commune code)"
        )
    require_keys(df, ("code",), p, what)
    codes = normalize_codes(df["code"].to_numpy(object))
    require_commune_codes(codes, p, what, "code")
    df = df.assign(code=codes)
    require_keys(df, ("code",), p, what)
    out = pd.DataFrame({"code": codes})
    for v in found:
        out[v] = require_numbers(df, v, p, what, minimum=0, allow_missing=True, decimal_comma=True)
    unknown = []
    if communes is not None:
        unknown = sorted(set(codes) - set(communes["code"].astype(str)))
    out.attrs.update(source={"path": str(p.resolve())}, variables=found, unknown_codes=unknown)
    return out
