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
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility._io import check_file, line_of, read_table, require_keys, require_numbers
from accessibility.errors import DataFormatError, InputFileError
from accessibility.settings import embedded_data_dir

__all__ = [
    "COMMUNE_COLUMNS",
    "default_communes_path",
    "default_code_changes_path",
    "default_polygons_path",
    "load_communes",
    "load_code_changes",
    "map_commune_codes",
    "normalize_codes",
    "read_table",
    "departement_of",
    "require_departements",
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


def normalize_codes(codes) -> np.ndarray:
    """Commune codes as 5-character strings (``"1001"`` or ``1001`` from a spreadsheet -> ``"01001"``).

    Work is done once per distinct code (a BPE file repeats each code a hundred times).
    """
    arr = np.asarray(codes, dtype=object).ravel()
    inv, uniq = pd.factorize(arr, use_na_sentinel=False)
    out = np.empty(len(uniq), dtype=object)
    for k, c in enumerate(uniq):
        t = str(c).strip()
        if t.endswith(".0"):
            t = t[:-2]
        out[k] = t.zfill(5)
    return out[inv]


#: What a commune code looks like once normalised: 5 characters, digits, 2A/2B for Corsica.
COMMUNE_CODE_PATTERN = r"^(?:[0-9]{2}|2[AB])[0-9]{3}$"


def bad_commune_codes(codes) -> np.ndarray:
    """Mask of the normalised codes that are not commune codes (see :data:`COMMUNE_CODE_PATTERN`)."""
    s = pd.Series(np.asarray(codes, dtype=object), dtype=object)
    inv, uniq = pd.factorize(s, use_na_sentinel=False)
    ok = pd.Series(np.asarray(uniq, dtype=object), dtype=object).astype(str).str.fullmatch(COMMUNE_CODE_PATTERN).to_numpy(bool)
    return ~ok[inv]


def require_commune_codes(codes, path, what: str, column: str = "code") -> None:
    """Refuse a code that is not a commune code, naming the file, line and column."""
    bad = bad_commune_codes(codes)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{what} {str(path)!r}, line {line_of(i)}, column {column!r}: {codes[i]!r} is not a commune code "
            "(5 characters: 04070, 2A004)"
        )


def require_departements(communes: pd.DataFrame, departements) -> None:
    """Every département asked for has communes in the table.

    Raises
    ------
    NoCommuneError
        Naming the départements without a commune (a typo, or the table of another area).
    """
    from accessibility.errors import NoCommuneError

    present = set(communes["departement"].astype(str))
    unknown = [d for d in departements if d not in present]
    if unknown:
        raise NoCommuneError(
            f"no commune of département(s) {', '.join(unknown)} in the commune table "
            f"({len(communes):,} communes): check --departement or --communes"
        )


def departement_of(codes) -> np.ndarray:
    """Département of each commune code: 3 characters overseas (``97x``, ``98x``), else 2."""
    c = pd.Series(normalize_codes(codes), dtype="object")
    return np.where(c.str[:2].isin(["97", "98"]), c.str[:3], c.str[:2]).astype(object)


def load_communes(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read a commune table.

    Parameters
    ----------
    path : str or path-like, optional
        CSV or CSV.gz (``,`` or ``;`` separated, UTF-8) with columns ``code``, ``nom``,
        ``departement``, ``population``, ``lon``, ``lat`` (WGS84 centre; both empty when unknown)
        and optionally ``centre`` (where the centre comes from). The embedded table (all of
        France) when omitted.

    Returns
    -------
    pandas.DataFrame
        Columns ``code`` (str, 5 characters), ``nom``, ``departement`` (str), ``population``
        (nullable ``Int64``, empty when unknown — never 0 for unknown), ``lon``, ``lat`` (float,
        NaN when the commune has no centre), ``centre``; one row per code. ``attrs["source"]``
        names the file.

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    DataFormatError
        A required column is missing, a code is empty or appears twice, a population is not a
        number >= 0, a coordinate is not a number in range or comes without its pair; the
        message names the file, line and column.
    """
    from accessibility._io import cached_frame, sha256_file

    p = check_file(path if path is not None else default_communes_path(), "commune table")
    out = cached_frame("communes", [sha256_file(p), "v2"], lambda: _read_communes(p))
    out.attrs["source"] = {"path": str(p.resolve())}
    return out


def _read_communes(p: Path) -> pd.DataFrame:
    what = "commune table"
    wanted = {c: (c,) for c in COMMUNE_COLUMNS}
    wanted["centre"] = ("centre",)
    df = read_table(p, wanted, what, optional=("centre",))
    require_keys(df, ("code",), p, what, unique=False)
    df["code"] = normalize_codes(df["code"])
    require_commune_codes(df["code"].to_numpy(object), p, what)
    dup = df["code"].duplicated().to_numpy()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise DataFormatError(f"{what} {str(p)!r}, line {line_of(i)}: code {df['code'].iloc[i]} appears more than once")
    pop = require_numbers(df, "population", p, what, minimum=0, allow_missing=True)
    lon = require_numbers(df, "lon", p, what, allow_missing=True)
    lat = require_numbers(df, "lat", p, what, allow_missing=True)
    half = np.isnan(lon) != np.isnan(lat)
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
    if half.any() or bad.any():
        i = int(np.flatnonzero(half | bad)[0])
        problem = "has only one of lon and lat" if half[i] else f"has lon={lon[i]}, lat={lat[i]}: are the centres WGS84 degrees?"
        raise DataFormatError(f"{what} {str(p)!r}, line {line_of(i)}: commune {df['code'].iloc[i]} {problem}")
    if "centre" not in df:
        df["centre"] = np.where(np.isnan(lon), None, "given")
    dep = df["departement"].astype(object)
    dep = dep.where(dep.isna() | (dep.astype(str).str.len() != 1), dep.astype(str).str.zfill(2))
    df["departement"] = dep.fillna(pd.Series(departement_of(df["code"]), index=df.index)).astype(object)
    popi = pd.array(np.where(np.isnan(pop), 0, np.round(pop)).astype(np.int64), dtype="Int64")
    popi[np.isnan(pop)] = pd.NA
    df["population"] = popi
    df["lon"] = lon
    df["lat"] = lat
    df["nom"] = df["nom"].fillna("").astype(object)
    return df.reset_index(drop=True).astype({"code": object, "departement": object, "centre": object})


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
    p = check_file(path if path is not None else default_code_changes_path(), "code change table")
    df = read_table(p, {"old_code": ("old_code",), "code": ("code",)}, "code change table", allow_empty=True)
    require_keys(df, ("old_code", "code"), p, "code change table", unique=False)
    old = normalize_codes(df["old_code"])
    new = normalize_codes(df["code"])
    require_commune_codes(old, p, "code change table", "old_code")
    require_commune_codes(new, p, "code change table", "code")
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
    inv, uniq = pd.factorize(codes, use_na_sentinel=False)
    out = np.empty(len(uniq), dtype=object)
    for k, c in enumerate(uniq):
        seen = {c}
        while c in changes:
            c = changes[c]
            if c in seen:
                raise DataFormatError(f"commune code changes loop through {c}: fix the code change table")
            seen.add(c)
        for prefix, lo, hi, plm in _PLM:
            rest = c[len(prefix):]
            if c.startswith(prefix) and rest.isdigit() and lo <= int(rest) <= hi:
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
        The file does not exist or cannot be read as a vector file.
    DataFormatError
        No geometry or no (multi)polygon, no ``code`` column (``code``, ``insee``, ``insee_com``
        or ``code_insee``, any case), or no CRS.
    """
    import geopandas as gpd

    what = "commune polygon file"
    p = check_file(path if path is not None else default_polygons_path(), what)
    try:
        gdf = gpd.read_file(p, layer=layer)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several DataSource errors
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputFileError(f"cannot read {what} {str(p)!r} as a vector file (GeoPackage, shapefile, GeoJSON): {first}") from None
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf or gdf.geometry.isna().all():
        raise DataFormatError(f"{what} {str(p)!r} has no geometry: give polygons (GeoPackage, shapefile, GeoJSON)")
    cols = {c.lower(): c for c in gdf.columns}
    key = next((cols[c] for c in ("code", "insee", "insee_com", "code_insee") if c in cols), None)
    if key is None:
        raise DataFormatError(
            f"{what} {str(p)!r} has no commune code column (code, insee, insee_com); "
            f"its columns are {', '.join(map(str, gdf.columns))}"
        )
    if gdf.crs is None:
        raise DataFormatError(f"{what} {str(p)!r} has no CRS: cannot place its polygons")
    kinds = set(gdf.geometry.dropna().geom_type.unique())
    if not kinds <= {"Polygon", "MultiPolygon"}:
        raise DataFormatError(f"{what} {str(p)!r} holds {', '.join(sorted(kinds))} geometries, not commune polygons")
    gdf = gdf[[key, gdf.geometry.name]].rename(columns={key: "code"})
    gdf = gdf[gdf["code"].notna()]
    gdf["code"] = normalize_codes(gdf["code"])
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty].drop_duplicates("code")
    try:
        return gdf.to_crs("EPSG:4326").reset_index(drop=True)
    except Exception as exc:  # noqa: BLE001 - pyproj errors on a broken CRS
        raise DataFormatError(f"{what} {str(p)!r}: cannot convert its CRS to WGS84: {exc}") from None
