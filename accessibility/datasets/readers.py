"""Readers for the data-directory roles that have no loader elsewhere yet."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import DataFormatError, InputFileError

__all__ = ["POPULATION_GRID_COLUMNS", "load_population_grid"]

#: Columns of the ``population_grid`` role (``population/population-200m.csv.gz``).
POPULATION_GRID_COLUMNS = ("idcar_200m", "lon", "lat", "population", "code")


def load_population_grid(path: str | os.PathLike):
    """Read the population on 200 m squares of a data directory.

    Parameters
    ----------
    path : str or path-like
        CSV (or CSV.gz) with ``idcar_200m, lon, lat, population, code``: the WGS84 centre of each
        inhabited square, its inhabitants (INSEE Filosofi ``ind``) and the commune it lies in
        (empty when outside every commune polygon, e.g. at sea).

    Returns
    -------
    pandas.DataFrame
        The five columns; ``code`` as 5-character strings (NaN when empty), ``population`` float.

    Raises
    ------
    InputFileError
        The file does not exist.
    DataFormatError
        A column is missing, or coordinates or populations are not numbers / not WGS84.
    """
    import pandas as pd

    from ..communes import normalize_codes

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"population grid {str(p)!r} does not exist or is not a file")
    try:
        df = pd.read_csv(p, dtype={"code": str, "idcar_200m": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"population grid {str(p)!r} is not a readable CSV file: {exc}") from exc
    miss = [c for c in POPULATION_GRID_COLUMNS if c not in df]
    if miss:
        raise DataFormatError(
            f"population grid {str(p)!r} lacks {', '.join(miss)}; its columns are {', '.join(map(str, df.columns))}"
        )
    for c in ("lon", "lat", "population"):
        v = pd.to_numeric(df[c], errors="coerce")
        if (v.isna() & df[c].notna()).any():
            raise DataFormatError(f"population grid {str(p)!r}: column {c!r} holds values that are not numbers")
        df[c] = v
    if ((df["lon"].abs() > 180) | (df["lat"].abs() > 90)).any():
        raise DataFormatError(f"population grid {str(p)!r}: lon/lat are not WGS84 degrees")
    has = df["code"].notna()
    df.loc[has, "code"] = normalize_codes(df.loc[has, "code"])
    df["population"] = df["population"].astype(np.float64)
    return df[list(POPULATION_GRID_COLUMNS)].reset_index(drop=True)
