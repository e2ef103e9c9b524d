"""Readers for the data-directory roles that have no loader elsewhere yet."""

from __future__ import annotations

import os

from accessibility.errors import DataFormatError

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

    from accessibility._io import read_table, require_keys, require_numbers
    from accessibility.inputs.communes import normalize_codes

    what = "population grid"
    df = read_table(path, {c: (c,) for c in POPULATION_GRID_COLUMNS}, what)
    require_keys(df, ("idcar_200m",), path, what)
    for c in ("lon", "lat"):
        df[c] = require_numbers(df, c, path, what)
    df["population"] = require_numbers(df, "population", path, what, minimum=0)
    if ((df["lon"].abs() > 180) | (df["lat"].abs() > 90)).any():
        raise DataFormatError(f"population grid {str(path)!r}: lon/lat are not WGS84 degrees")
    has = df["code"].notna()
    df["code"] = df["code"].astype(object)
    df.loc[has, "code"] = normalize_codes(df.loc[has, "code"].to_numpy(object))
    return df[list(POPULATION_GRID_COLUMNS)].reset_index(drop=True)
