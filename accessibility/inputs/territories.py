"""How communes group: EPCI, INSEE density grid, INSEE zonings, cantons (``access diagnostic``).

Each reader takes a CSV or CSV.gz (``,`` or ``;``, UTF-8) in the form of the shared data's
``territories/`` tables (see ``data/README.md``) and returns one row per commune code, the codes
as 5-character strings. A file that cannot be read, a missing column, an empty or duplicate
commune code or a density level outside 1..7 is one line naming the file, the line and the
column (:func:`accessibility._io.read_table`, ``require_*``).
"""

from __future__ import annotations

import os

import numpy as np
import pandas as pd

from accessibility._io import line_of, read_table, require_keys, require_numbers
from accessibility.errors import DataFormatError
from accessibility.inputs.communes import normalize_codes, require_commune_codes

__all__ = [
    "DENSITY_LABELS",
    "DENSITY_GROUPS",
    "density_group",
    "load_epci",
    "load_density",
    "load_zonages",
    "load_cantons",
]

#: The 7 levels of INSEE's *grille communale de densité* (2022 and later).
DENSITY_LABELS: dict[int, str] = {
    1: "Grands centres urbains",
    2: "Centres urbains intermédiaires",
    3: "Ceintures urbaines",
    4: "Petites villes",
    5: "Bourgs ruraux",
    6: "Rural à habitat dispersé",
    7: "Rural à habitat très dispersé",
}
#: INSEE's grouping of the 7 levels in three: urbain (1-2), intermédiaire (3-4), rural (5-7).
DENSITY_GROUPS: dict[int, str] = {1: "urbain", 2: "urbain", 3: "intermédiaire", 4: "intermédiaire",
                                  5: "rural", 6: "rural", 7: "rural"}


def density_group(levels) -> np.ndarray:
    """The urbain / intermédiaire / rural group of density levels (None where unknown).

    Examples
    --------
    >>> density_group([1, 4, 7, None]).tolist()
    ['urbain', 'intermédiaire', 'rural', None]
    """
    return np.array([DENSITY_GROUPS.get(int(v)) if v is not None and v == v else None for v in levels], dtype=object)


def _drop_trailing_blank_rows(df: pd.DataFrame) -> pd.DataFrame:
    """Without the rows at the end of the file whose every cell is empty (some INSEE exports end with
    one); blank rows elsewhere stay, so that their line numbers are reported."""
    blank = df.isna().all(axis=1).to_numpy()
    n = len(df)
    while n and blank[n - 1]:
        n -= 1
    return df.iloc[:n].copy()


def _communes(df: pd.DataFrame, path, what: str) -> pd.DataFrame:
    df = _drop_trailing_blank_rows(df)
    require_keys(df, ("code",), path, what)
    df["code"] = normalize_codes(df["code"])
    require_commune_codes(df["code"].to_numpy(object), path, what)
    require_keys(df, ("code",), path, what)
    return df


def load_epci(path: str | os.PathLike) -> pd.DataFrame:
    """Read the commune -> EPCI table (``territories/epci-communes-2026.csv``).

    Parameters
    ----------
    path : str or path-like
        Columns ``code_commune``, ``code_epci`` (SIREN), ``nom_epci``, and optionally
        ``nature_epci`` (CC, CA, CU, METRO …).

    Returns
    -------
    pandas.DataFrame
        ``code, epci, nom_epci, nature_epci``; one row per commune.

    Raises
    ------
    InputFileError, DataFormatError
    """
    what = "EPCI table"
    df = read_table(path, {"code": ("code_commune", "codgeo", "code"), "epci": ("code_epci", "epci", "siren_epci"),
                           "nom_epci": ("nom_epci", "libepci"), "nature_epci": ("nature_epci",)},
                    what, optional=("nature_epci",))
    df = _communes(df, path, what)
    require_keys(df, ("epci", "nom_epci"), path, what, unique=False)
    if "nature_epci" not in df:
        df["nature_epci"] = None
    return df[["code", "epci", "nom_epci", "nature_epci"]].reset_index(drop=True)


def load_density(path: str | os.PathLike) -> pd.DataFrame:
    """Read INSEE's *grille communale de densité* in 7 levels (``grille-densite-7-niveaux``).

    Parameters
    ----------
    path : str or path-like
        Columns ``CODGEO`` and ``DENS`` (1 = grands centres urbains … 7 = rural à habitat très
        dispersé); ``LIBDENS`` optional.

    Returns
    -------
    pandas.DataFrame
        ``code, density`` (int 1..7), ``density_label``, ``density_group`` (urbain /
        intermédiaire / rural, :data:`DENSITY_GROUPS`).

    Raises
    ------
    InputFileError, DataFormatError
        A level is not an integer from 1 to 7 (the message names line and value).
    """
    what = "density grid"
    df = read_table(path, {"code": ("CODGEO", "code"), "density": ("DENS", "density")}, what)
    df = _communes(df, path, what)
    lvl = require_numbers(df, "density", path, what, label="DENS")
    bad = ~np.isin(lvl, list(DENSITY_LABELS))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(f"{what} {str(path)!r}, line {line_of(i)}, column 'DENS' holds {df['density'].iloc[i]!r}: "
                              "the density levels are 1 to 7")
    lvl = lvl.astype(np.int64)
    return pd.DataFrame({"code": df["code"].to_numpy(object), "density": lvl,
                         "density_label": [DENSITY_LABELS[v] for v in lvl], "density_group": density_group(lvl)})


#: Zonings read from INSEE's *table d'appartenance géographique* (canonical name -> file columns).
ZONAGE_COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("CODGEO",),
    "bv": ("BV2022",), "nom_bv": ("LIBBV2022",),
    "canton": ("CANOV",),
    "ze": ("ZE2020",), "nom_ze": ("LIBZE2020",),
    "uu": ("UU2020",), "nom_uu": ("LIBUU2020",),
    "aav": ("AAV2020",), "nom_aav": ("LIBAAV2020",),
}


def load_zonages(path: str | os.PathLike) -> pd.DataFrame:
    """Read INSEE's zonings per commune (``zonages-insee-communes-cog2024``).

    Parameters
    ----------
    path : str or path-like
        Columns ``CODGEO`` and ``BV2022`` (bassin de vie) at least; ``LIBBV2022``, ``CANOV``,
        ``ZE2020``, ``UU2020``, ``AAV2020`` and their labels when present.

    Returns
    -------
    pandas.DataFrame
        ``code, bv, nom_bv, canton, ze, nom_ze, uu, nom_uu, aav, nom_aav`` (absent columns
        empty).

    Raises
    ------
    InputFileError, DataFormatError
    """
    what = "INSEE zonings table"
    optional = [k for k in ZONAGE_COLUMNS if k not in ("code", "bv")]
    df = read_table(path, ZONAGE_COLUMNS, what, optional=optional)
    df = _communes(df, path, what)
    for c in ZONAGE_COLUMNS:
        if c not in df:
            df[c] = None
    return df[list(ZONAGE_COLUMNS)].reset_index(drop=True)


def load_cantons(path: str | os.PathLike) -> pd.DataFrame:
    """Read the canton names (``territories/cantons-2024.csv``).

    Parameters
    ----------
    path : str or path-like
        Columns ``code`` (as ``CANOV`` of the zonings) and ``nom``.

    Returns
    -------
    pandas.DataFrame
        ``canton, nom_canton``; one row per canton.

    Raises
    ------
    InputFileError, DataFormatError
    """
    what = "canton table"
    df = read_table(path, {"canton": ("code",), "nom_canton": ("nom",)}, what)
    require_keys(df, ("canton",), path, what)
    return df[["canton", "nom_canton"]].reset_index(drop=True)
