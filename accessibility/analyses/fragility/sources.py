"""Readers of the point sources of the index: places of digital mediation, conseillers
numériques places, France services; and of the user's census shares (``--extra``).

Each reader goes through :func:`accessibility._io.read_table` and the ``require_*`` checks, so a
bad file gives one line naming the file, line and column. They return plain tables; placing the
points on the graph is :mod:`accessibility.analyses.fragility.index`'s job.

The point files are read by the shared point loader of the siting command
(:func:`accessibility.inputs.points.load_point_table`); these readers add what the index needs (the
service kinds of a mediation place, the France services format).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import pandas as pd

from accessibility._io import check_file, read_table, require_keys, require_numbers
from accessibility.analyses.fragility.tables import EXTRA_VARIABLES, classify_services
from accessibility.errors import DataFormatError

__all__ = ["load_mediation", "load_france_services", "load_extra", "site_table"]


def load_mediation(path: str | os.PathLike, *, what: str = "places of digital mediation") -> pd.DataFrame:
    """Read a file of places of digital mediation (national standard, ``services`` column).

    Parameters
    ----------
    path : str or path-like
        csv or csv.gz, ``,`` or ``;`` separated, with ``latitude``, ``longitude`` and
        ``services`` (wordings separated by ``;``); ``id``, ``nom`` and ``source`` are used
        when present. The conseillers numériques file has the same form. Read by the shared
        point loader (:func:`accessibility.inputs.points.load_point_table`).
    what : str
        How to name the file in messages.

    Returns
    -------
    pandas.DataFrame
        ``id, name, network, lon, lat, skills, procedures`` (bool, from
        :func:`~accessibility.analyses.fragility.tables.classify_services`). Rows without coordinates
        are kept (NaN). ``attrs``: ``source`` (path), ``wordings`` (wording -> rows),
        ``unmatched`` (wordings not in the table -> rows).

    Raises
    ------
    InputFileError
        Missing or unreadable file.
    DataFormatError
        No coordinates or no ``services`` column, a coordinate that is not a number in range or
        without its pair, an empty or repeated ``id`` (file, line and column named).
    """
    from accessibility.inputs.points import load_point_table

    pts = load_point_table(path, what=what)
    cols = {str(c).lower(): c for c in pts.columns}
    if "services" not in cols:
        raise DataFormatError(f"{what} {str(path)!r} has no 'services' column; its columns are "
                              f"{', '.join(map(str, pts.columns))}")
    kinds = classify_services(pts[cols["services"]].to_numpy(object))
    network = pts[cols["source"]].fillna("").astype(str).to_numpy(object) if "source" in cols else ""
    out = pd.DataFrame({
        "id": pts["id"].to_numpy(object), "name": pts["name"].to_numpy(object), "network": network,
        "lon": pts["lon"].to_numpy(float), "lat": pts["lat"].to_numpy(float),
        "skills": kinds.skills, "procedures": kinds.procedures,
    })
    out.attrs.update(source=pts.attrs.get("source"), wordings=kinds.counts, unmatched=kinds.unmatched)
    return out


def load_france_services(path: str | os.PathLike) -> pd.DataFrame:
    """Read the ANCT list of France services through the shared point loader.

    Returns
    -------
    pandas.DataFrame
        ``id, name, format, lon, lat`` (NaN coordinates kept). ``attrs["source"]`` names the file.

    Raises
    ------
    InputFileError, DataFormatError
        As :func:`accessibility.inputs.points.load_point_table`.
    """
    from accessibility.inputs.points import load_point_table

    pts = load_point_table(path, what="France services file")
    fmt = pts["format_fs"].fillna("").astype(str).to_numpy(object) if "format_fs" in pts else ""
    out = pd.DataFrame({"id": pts["id"].to_numpy(object), "name": pts["name"].to_numpy(object), "format": fmt,
                        "lon": pts["lon"].to_numpy(float), "lat": pts["lat"].to_numpy(float)})
    out.attrs["source"] = pts.attrs.get("source")
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
    non-time variables (:data:`~accessibility.analyses.fragility.tables.EXTRA_VARIABLES`: e.g.
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
    from accessibility.inputs.communes import normalize_codes, require_commune_codes

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
