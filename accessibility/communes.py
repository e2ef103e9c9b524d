"""The commune table, commune centres, and the COG code changes.

The commune table has one row per commune of the official geographic code (COG): ``code``
(INSEE code, 5 characters), ``nom``, ``departement``, ``population`` and the WGS84 ``lon``/``lat``
of its centre (chef-lieu). Data keyed by the codes of an older COG vintage (BPE 2018 …) go
through :func:`map_commune_codes`, which follows ``commune-code-changes.csv`` (merged or renamed
communes) and sends the municipal arrondissements of Paris, Lyon and Marseille to their commune.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Mapping

import numpy as np
import pandas as pd

from .errors import DataFormatError, InputFileError
from .settings import embedded_data_dir

__all__ = [
    "COMMUNE_COLUMNS",
    "default_communes_path",
    "default_code_changes_path",
    "default_polygons_path",
    "load_communes",
    "load_code_changes",
    "map_commune_codes",
    "normalize_codes",
    "departement_of",
    "load_commune_polygons",
]

log = logging.getLogger(__name__)

#: Columns a commune table must have (names are matched case-insensitively).
COMMUNE_COLUMNS: tuple[str, ...] = ("code", "nom", "departement", "population", "lon", "lat")

#: Municipal arrondissements (codes in BPE and other INSEE files) -> their commune.
_PLM = (("751", 1, 20, "75056"), ("6938", 1, 9, "69123"), ("132", 1, 16, "13055"))


def default_communes_path() -> Path:
    """The embedded commune table (all of France, COG 2026, 2023 populations)."""
    return embedded_data_dir() / "communes" / "communes-2023.csv.gz"


def default_code_changes_path() -> Path:
    """The embedded ``old_code -> code`` table of merged and renamed communes."""
    return embedded_data_dir() / "communes" / "commune-code-changes.csv"


def default_polygons_path() -> Path:
    """The embedded commune polygons (566 communes around 04 and 05), for maps only."""
    return embedded_data_dir() / "communes" / "communes-alpes-du-sud-2023-polygons.gpkg"


def _check_file(path: str | os.PathLike, what: str) -> Path:
    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"{what} {str(p)!r} does not exist or is not a file")
    return p


def sniff_separator(path: Path) -> str:
    """``';'`` or ``','``: whichever is more frequent in the header line (gzip handled)."""
    import gzip

    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
        opener = gzip.open if magic == b"\x1f\x8b" else open
        with opener(path, "rt", encoding="utf-8", errors="replace") as fh:
            header = fh.readline()
    except OSError as exc:
        raise InputFileError(f"cannot read {str(path)!r}: {exc}") from exc
    return ";" if header.count(";") > header.count(",") else ","


def _find_columns(
    header: list[str], wanted: Mapping[str, tuple[str, ...]], path: Path, what: str, optional=()
) -> dict[str, str]:
    """Map canonical names to the file's column names (case-insensitive, aliases allowed)."""
    lower = {str(h).strip().lower(): h for h in header}
    found, missing = {}, []
    for canon, aliases in wanted.items():
        for a in aliases:
            if a.lower() in lower:
                found[canon] = lower[a.lower()]
                break
        else:
            if canon not in optional:
                missing.append("/".join(aliases))
    if missing:
        raise DataFormatError(
            f"{what} {str(path)!r} lacks the column(s) {', '.join(missing)}; "
            f"its columns are {', '.join(map(str, header)) or '(none)'}"
        )
    return found


def read_table(
    path: Path, wanted: Mapping[str, tuple[str, ...]], what: str, *, str_cols=(), optional=()
) -> pd.DataFrame:
    """Read the ``wanted`` columns of a csv/csv.gz (',' or ';'), renamed to their canonical names.

    Columns listed in ``optional`` may be absent (and are then absent from the result).
    """
    sep = sniff_separator(path)
    try:
        header = list(pd.read_csv(path, sep=sep, nrows=0).columns)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{what} {str(path)!r} is not a readable CSV file: {exc}") from exc
    cols = _find_columns(header, wanted, path, what, optional)
    dtypes = {cols[c]: str for c in str_cols if c in cols}
    try:
        df = pd.read_csv(path, sep=sep, usecols=list(cols.values()), dtype=dtypes, keep_default_na=True)
    except (pd.errors.ParserError, ValueError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{what} {str(path)!r} cannot be parsed: {exc}") from exc
    return df.rename(columns={v: k for k, v in cols.items()})[list(cols)]


def normalize_codes(codes) -> np.ndarray:
    """Commune codes as 5-character strings (``"1001"`` or ``1001`` from a spreadsheet -> ``"01001"``)."""
    s = pd.Series(codes, dtype="object").astype(str).str.strip()
    s = s.str.replace(r"\.0$", "", regex=True)
    return s.str.zfill(5).to_numpy(dtype=object)


def departement_of(codes) -> np.ndarray:
    """Département of each commune code: 3 characters overseas (``97x``, ``98x``), else 2."""
    c = pd.Series(normalize_codes(codes), dtype="object")
    return np.where(c.str[:2].isin(["97", "98"]), c.str[:3], c.str[:2]).astype(object)


def load_communes(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read a commune table.

    Parameters
    ----------
    path : str or path-like, optional
        CSV or CSV.gz (``,`` or ``;`` separated) with columns ``code``, ``nom``, ``departement``,
        ``population``, ``lon``, ``lat`` (WGS84 centre; empty when unknown) and optionally
        ``centre`` (where the centre comes from). The embedded table (all of France) when
        omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (str, 5 characters), ``nom``, ``departement`` (str), ``population``
        (int, 0 when unknown), ``lon``, ``lat`` (float, NaN when the commune has no centre),
        ``centre``; one row per code.

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    DataFormatError
        A required column is missing, a code appears twice, or populations/coordinates are not
        numbers.
    """
    p = _check_file(path if path is not None else default_communes_path(), "commune table")
    wanted = {c: (c,) for c in COMMUNE_COLUMNS}
    wanted["centre"] = ("centre",)
    df = read_table(
        p, wanted, "commune table", str_cols=("code", "departement", "nom", "centre"), optional=("centre",)
    )
    if "centre" not in df:
        df["centre"] = np.where(df["lon"].notna(), "given", None)
    df["code"] = normalize_codes(df["code"])
    dep = df["departement"].astype("string").str.strip()
    dep = dep.where(dep.str.len() != 1, dep.str.zfill(2))
    df["departement"] = dep.fillna(pd.Series(departement_of(df["code"]), index=df.index)).astype(object)
    for col in ("population", "lon", "lat"):
        vals = pd.to_numeric(df[col], errors="coerce")
        bad = vals.isna() & df[col].notna()
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                f"commune table {str(p)!r}: column {col!r} holds {df[col].iloc[i]!r} "
                f"(commune {df['code'].iloc[i]}), not a number"
            )
        df[col] = vals
    df["population"] = df["population"].fillna(0).round().astype(np.int64)
    bad = (df["lon"].abs() > 180) | (df["lat"].abs() > 90)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"commune table {str(p)!r}: commune {df['code'].iloc[i]} has lon={df['lon'].iloc[i]}, "
            f"lat={df['lat'].iloc[i]}: are the centres WGS84 degrees?"
        )
    dup = df["code"].duplicated()
    if dup.any():
        raise DataFormatError(f"commune table {str(p)!r}: code {df['code'][dup].iloc[0]} appears more than once")
    df["nom"] = df["nom"].fillna("")
    return df.reset_index(drop=True)


def load_code_changes(path: str | os.PathLike | None = None) -> dict[str, str]:
    """Read the ``old_code -> code`` table of merged and renamed communes.

    Parameters
    ----------
    path : str or path-like, optional
        CSV with columns ``old_code`` and ``code``; the embedded table when omitted.

    Returns
    -------
    dict[str, str]
        Old code to current code. An old commune split between several communes (2 cases in
        the COG) goes to the first one listed, and a debug message says so.

    Raises
    ------
    InputFileError, DataFormatError
    """
    p = _check_file(path if path is not None else default_code_changes_path(), "code change table")
    df = read_table(p, {"old_code": ("old_code",), "code": ("code",)}, "code change table", str_cols=("old_code", "code"))
    df = df.dropna()
    old = normalize_codes(df["old_code"])
    new = normalize_codes(df["code"])
    out: dict[str, str] = {}
    for o, n in zip(old, new):
        if o in out:
            log.debug("old commune %s was split (-> %s and %s); its data go to %s", o, out[o], n, out[o])
            continue
        if o != n:
            out[o] = n
    return out


def map_commune_codes(codes, changes: Mapping[str, str] | None = None) -> np.ndarray:
    """Translate commune codes of any older COG vintage into current codes.

    Chains of changes are followed (``a -> b -> c`` gives ``c``), and municipal arrondissements
    of Paris (751xx), Lyon (6938x) and Marseille (132xx) become their commune.

    Parameters
    ----------
    codes : array-like of str
        Commune codes (normalised to 5 characters first).
    changes : Mapping[str, str], optional
        ``old_code -> code``; the embedded table (:func:`load_code_changes`) when omitted.

    Returns
    -------
    np.ndarray of object (str)
        Current codes, same length; codes without a change are returned unchanged.

    Raises
    ------
    DataFormatError
        The change table has a cycle.

    Examples
    --------
    >>> map_commune_codes(["04033", "13201"], {"04033": "04070"}).tolist()
    ['04070', '13055']
    """
    if changes is None:
        changes = load_code_changes()
    codes = normalize_codes(codes)
    uniq, inv = np.unique(codes.astype(str), return_inverse=True)
    out = np.empty(len(uniq), dtype=object)
    for k, c in enumerate(uniq):
        seen = {c}
        while c in changes:
            c = changes[c]
            if c in seen:
                raise DataFormatError(f"commune code changes loop through {c}: fix the code change table")
            seen.add(c)
        for prefix, lo, hi, plm in _PLM:
            if c.startswith(prefix) and lo <= int(c[len(prefix):]) <= hi:
                c = plm
                break
        out[k] = str(c)
    return out[inv.ravel()]


def load_commune_polygons(path: str | os.PathLike | None = None, *, layer: str | None = None):
    """Read commune polygons (any vector format GDAL reads: GeoPackage, shapefile, GeoJSON …).

    Parameters
    ----------
    path : str or path-like, optional
        The embedded polygons (566 communes around 04 and 05) when omitted.
    layer : str, optional
        Layer name; the first layer when omitted.

    Returns
    -------
    geopandas.GeoDataFrame
        ``code`` (str, 5 characters) and ``geometry``, WGS84 (EPSG:4326); one row per code.
        For maps only, never for measurement.

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    DataFormatError
        No ``code`` column (``code``, ``insee``, ``insee_com`` or ``code_insee``, any case), or
        no CRS.
    """
    import geopandas as gpd

    p = _check_file(path if path is not None else default_polygons_path(), "commune polygon file")
    try:
        gdf = gpd.read_file(p, layer=layer)
    except Exception as exc:  # pyogrio raises several DataSource errors
        raise InputFileError(f"cannot read commune polygon file {str(p)!r}: {exc}") from exc
    cols = {c.lower(): c for c in gdf.columns}
    key = next((cols[c] for c in ("code", "insee", "insee_com", "code_insee") if c in cols), None)
    if key is None:
        raise DataFormatError(
            f"commune polygon file {str(p)!r} has no commune code column (code, insee, insee_com); "
            f"its columns are {', '.join(map(str, gdf.columns))}"
        )
    if gdf.crs is None:
        raise DataFormatError(f"commune polygon file {str(p)!r} has no CRS: cannot place its polygons")
    gdf = gdf[[key, gdf.geometry.name]].rename(columns={key: "code"})
    gdf["code"] = normalize_codes(gdf["code"])
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].drop_duplicates("code")
    return gdf.to_crs("EPSG:4326").reset_index(drop=True)
