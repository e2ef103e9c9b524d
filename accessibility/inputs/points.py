"""Point services from real files: France services, places of digital mediation, any CSV or
GeoPackage of points, and the communes having a BPE equipment.

A *service source* is written the way the CLI takes it (``--service SOURCE``):

- a known name: ``france-services`` (ANCT list, ``latitude``/``longitude``, ``format_fs`` = Fixe,
  Fixe_antenne(s), Multisites, Bus_équivalent, Itinérante), ``mediation`` (places of digital
  mediation), ``cnfs`` (places of the conseillers numériques) — the files of the data directory
  (the embedded one by default);
- ``bpe:TYPEQU`` (``bpe:D201`` for GPs; ``bpe:D201+D113`` for several types): the communes
  having at least one such equipment, placed at their centre (centre to centre, as ``access
  compute``);
- a path to a CSV (``,`` or ``;``, csv.gz too) or a vector file (GeoPackage, GeoJSON,
  shapefile) of points with an id and a name. Column names are found among common aliases
  (:data:`ID_COLUMNS`, :data:`NAME_COLUMNS`, :data:`LON_COLUMNS`, :data:`LAT_COLUMNS`) or given
  by option when they differ.

``--filter COL=V1,V2`` keeps the rows whose ``COL`` is one of the values (repeatable; filters on
different columns all apply). A filter on a missing column, or matching nothing, is an error
that lists what there is. Rows without coordinates are kept and reported (``no centre``), never
moved; the sites are then put on the graph with the same honest rules as communes
(:class:`accessibility.engine.places.Places`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility._io import check_file, line_of, read_table, require_numbers
from accessibility.errors import DataFormatError, InvalidParameterError, NoServiceError

__all__ = [
    "KNOWN_SOURCES",
    "ServiceSpec",
    "parse_service",
    "parse_filter",
    "load_point_table",
    "apply_filters",
    "sites_from_bpe",
    "load_sites",
    "ID_COLUMNS",
    "NAME_COLUMNS",
    "LON_COLUMNS",
    "LAT_COLUMNS",
]

#: Known service names -> (data directory role, what they are, their French name for maps).
KNOWN_SOURCES: dict[str, tuple[str, str, str]] = {
    "france-services": ("france_services", "France services sites (ANCT)", "France services"),
    "mediation": ("mediation", "places of digital mediation", "lieux de médiation numérique"),
    "cnfs": ("cnfs", "places of the conseillers numériques France Services", "permanences des conseillers numériques"),
}

#: Column names accepted for each field, in order of preference (case-insensitive).
ID_COLUMNS = ("id", "id_fs", "identifiant", "code", "insee", "code_insee")
NAME_COLUMNS = ("name", "nom", "lib_fs", "libelle", "libellé", "label")
LON_COLUMNS = ("lon", "lng", "longitude", "x", "long")
LAT_COLUMNS = ("lat", "latitude", "y")


@dataclass(frozen=True)
class ServiceSpec:
    """A parsed ``--service`` value: ``kind`` is ``known``, ``bpe`` or ``file``."""

    kind: str
    text: str
    name: str = ""
    types: tuple[str, ...] = ()
    path: Path | None = None

    @property
    def label(self) -> str:
        """How to name the source in tables and printed summaries."""
        if self.kind == "known":
            return KNOWN_SOURCES[self.name][1]
        if self.kind == "bpe":
            return f"communes having BPE {'+'.join(self.types)}"
        return self.path.name if self.path else self.text

    @property
    def label_fr(self) -> str:
        """How to name the source on maps (French)."""
        if self.kind == "known":
            return KNOWN_SOURCES[self.name][2]
        if self.kind == "bpe":
            return f"communes ayant l'équipement BPE {'+'.join(self.types)}"
        return self.label


def parse_service(text: str) -> ServiceSpec:
    """Parse ``--service``: a known name, ``bpe:TYPEQU[+TYPEQU…]`` or a file path.

    Raises
    ------
    InvalidParameterError
        Empty, a malformed ``bpe:`` value, or neither a known name nor an existing file (the
        message lists the known names).
    """
    if not isinstance(text, str) or not text.strip():
        raise InvalidParameterError("the service source is empty: give france-services, bpe:D201 or a file of points")
    t = text.strip()
    if t.lower() in KNOWN_SOURCES:
        return ServiceSpec("known", t, name=t.lower())
    if t.lower().startswith("bpe:"):
        types = tuple(x.strip().upper() for x in t[4:].split("+") if x.strip())
        if not types or not all(x.isalnum() and len(x) <= 6 for x in types):
            raise InvalidParameterError(f"{t!r} is not bpe:TYPEQU (e.g. bpe:D201, bpe:D201+D113)")
        return ServiceSpec("bpe", t, types=types)
    p = Path(t).expanduser()
    if p.is_file():
        return ServiceSpec("file", t, path=p)
    raise InvalidParameterError(
        f"service source {t!r} is neither a known name ({', '.join(KNOWN_SOURCES)}), nor bpe:TYPEQU, nor an existing file"
    )


def parse_filter(text: str) -> tuple[str, tuple[str, ...]]:
    """``"format_fs=Fixe,Fixe_antenne(s)"`` -> ``("format_fs", ("Fixe", "Fixe_antenne(s)"))``.

    Raises
    ------
    InvalidParameterError
        No ``=``, an empty column or no value.
    """
    if not isinstance(text, str) or "=" not in text:
        raise InvalidParameterError(f"filter {text!r} is not COLUMN=VALUE[,VALUE…] (e.g. format_fs=Fixe)")
    col, vals = text.split("=", 1)
    values = tuple(v.strip() for v in vals.split(",") if v.strip())
    if not col.strip() or not values:
        raise InvalidParameterError(f"filter {text!r} is not COLUMN=VALUE[,VALUE…] (e.g. format_fs=Fixe)")
    return col.strip(), values


def _pick(columns: Sequence[str], given: str | None, aliases: Sequence[str], what: str, path, label: str) -> str | None:
    lower = {str(c).lower(): c for c in columns}
    if given is not None:
        if given in columns:
            return given
        if given.lower() in lower:
            return lower[given.lower()]
        raise DataFormatError(f"{what} {str(path)!r} has no column {given!r} ({label}); its columns are {', '.join(map(str, columns))}")
    for a in aliases:
        if a in lower:
            return lower[a]
    return None


def _vector_table(p: Path, what: str) -> pd.DataFrame:
    import geopandas as gpd

    try:
        g = gpd.read_file(p)
    except Exception as exc:  # noqa: BLE001 - pyogrio raises several kinds
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise DataFormatError(f"cannot read {what} {str(p)!r} as a vector file: {first}") from None
    if g.geometry.name not in g or g.geometry.isna().all():
        raise DataFormatError(f"{what} {str(p)!r} has no geometry: give points with coordinates")
    if g.crs is None:
        raise DataFormatError(f"{what} {str(p)!r} has no CRS: cannot place its points")
    kinds = set(g.geometry.dropna().geom_type.unique())
    if not kinds <= {"Point"}:
        raise DataFormatError(f"{what} {str(p)!r} holds {', '.join(sorted(kinds))} geometries, not points")
    g = g.to_crs("EPSG:4326")
    df = pd.DataFrame(g.drop(columns=g.geometry.name)).astype(object)
    df["__lon"] = g.geometry.x.to_numpy(float)
    df["__lat"] = g.geometry.y.to_numpy(float)
    return df


def load_point_table(
    path: str | os.PathLike,
    *,
    id_column: str | None = None,
    name_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
    what: str = "point file",
) -> pd.DataFrame:
    """Read a CSV or vector file of points.

    Parameters
    ----------
    path : str or path-like
        CSV / csv.gz (``,`` or ``;``) with longitude and latitude columns (WGS84 degrees), or a
        GeoPackage / GeoJSON / shapefile of points (any CRS).
    id_column, name_column, lon_column, lat_column : str, optional
        Column names when they are not among the usual aliases. Without an id column, ids are
        the line numbers (``line-2`` …); without a name column, names are the ids.

    Returns
    -------
    pandas.DataFrame
        ``id``, ``name``, ``lon``, ``lat`` (NaN when a row has no coordinates) and every other
        column of the file (text).

    Raises
    ------
    InputFileError, DataFormatError
        Unreadable file, no coordinates, a coordinate that is not a number in range, an empty or
        repeated id (file, line and column named).
    """
    p = check_file(path, what)
    vector = p.suffix.lower() in (".gpkg", ".geojson", ".json", ".shp", ".fgb", ".gml", ".kml")
    if vector:
        raw = _vector_table(p, what)
        lon_c, lat_c = "__lon", "__lat"
    else:
        raw = _all_columns(p, what)
        lon_c = _pick(raw.columns, lon_column, LON_COLUMNS, what, p, "longitude")
        lat_c = _pick(raw.columns, lat_column, LAT_COLUMNS, what, p, "latitude")
        if lon_c is None or lat_c is None:
            raise DataFormatError(
                f"{what} {str(p)!r} has no coordinates: no longitude/latitude column ({', '.join(LON_COLUMNS)} / "
                f"{', '.join(LAT_COLUMNS)}); its columns are {', '.join(map(str, raw.columns))}. Give them with "
                "--lon-column/--lat-column"
            )
    id_c = _pick(raw.columns, id_column, ID_COLUMNS, what, p, "id")
    name_c = _pick(raw.columns, name_column, NAME_COLUMNS, what, p, "name")
    lon = raw[lon_c].to_numpy(float) if vector else require_numbers(raw, lon_c, p, what, allow_missing=True, decimal_comma=True)
    lat = raw[lat_c].to_numpy(float) if vector else require_numbers(raw, lat_c, p, what, allow_missing=True, decimal_comma=True)
    bad = (np.abs(lon) > 180) | (np.abs(lat) > 90) | (np.isnan(lon) != np.isnan(lat))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{what} {str(p)!r}, line {line_of(i)}: lon={lon[i]}, lat={lat[i]} are not WGS84 degrees (or one is missing)"
        )
    if id_c is not None:
        ids = raw[id_c].astype(object)
        empty = ids.isna() | (ids.astype(str).str.strip() == "")
        if empty.any():
            i = int(np.flatnonzero(empty.to_numpy())[0])
            raise DataFormatError(f"{what} {str(p)!r}, line {line_of(i)}, column {id_c!r} is empty: every point needs an id")
        ids = ids.astype(str).str.strip()
        dup = ids.duplicated().to_numpy()
        if dup.any():
            i = int(np.flatnonzero(dup)[0])
            raise DataFormatError(f"{what} {str(p)!r}, line {line_of(i)}: id {ids.iloc[i]!r} ({id_c}) appears more than once")
    else:
        ids = pd.Series([f"line-{line_of(i)}" for i in range(len(raw))], dtype=object)
    names = raw[name_c].astype(object).fillna("").astype(str) if name_c is not None else ids
    out = pd.DataFrame({"id": ids.to_numpy(object), "name": names.to_numpy(object), "lon": lon, "lat": lat})
    for c in raw.columns:
        if c not in (lon_c, lat_c) and c not in out:
            out[c] = raw[c].to_numpy(object)
    out.attrs["source"] = {"path": str(p.resolve())}
    return out


def _all_columns(p: Path, what: str) -> pd.DataFrame:
    """Every column of a CSV as text (read_table's checks: encoding, gzip, ragged rows)."""
    from accessibility._io import header_line, sniff_separator

    first = header_line(p, what)
    cols = [c.strip().strip('"') for c in first.rstrip("\r\n").split(sniff_separator(first))]
    if not any(cols):
        raise DataFormatError(f"{what} {str(p)!r} has no header line")
    return read_table(p, {c: (c,) for c in cols if c}, what)


def apply_filters(df: pd.DataFrame, filters: Sequence[tuple[str, Sequence[str]]], what: str = "sites") -> pd.DataFrame:
    """Rows of ``df`` whose columns take the listed values (every filter applies).

    Raises
    ------
    InvalidParameterError
        A filter names a column the table does not have (its columns are listed).
    NoServiceError
        No row is left (the values seen in the column are listed).
    """
    keep = np.ones(len(df), dtype=bool)
    merged: dict[str, set[str]] = {}
    for col, values in filters:
        merged.setdefault(col, set()).update(values)
    for col, values in merged.items():
        if col not in df.columns:
            cols = [c for c in df.columns if c not in ("lon", "lat")]
            raise InvalidParameterError(f"filter on {col!r}: the {what} have no such column; columns: {', '.join(map(str, cols))}")
        cell = df[col].astype(object).where(df[col].notna(), "").astype(str).str.strip()
        mask = cell.isin(values).to_numpy()
        if not (keep & mask).any():
            seen = ", ".join(sorted(map(str, pd.unique(cell)))[:20])
            raise NoServiceError(f"filter {col}={','.join(sorted(values))} keeps no {what[:-1] if what.endswith('s') else what}; "
                                 f"values of {col}: {seen}")
        keep &= mask
    return df[keep].reset_index(drop=True)


def sites_from_bpe(types: Sequence[str], bpe: pd.DataFrame, communes: pd.DataFrame) -> pd.DataFrame:
    """The communes having at least one equipment of ``types`` (``NB_EQUIP > 0``), as sites at
    their centre: ``id`` (commune code), ``name``, ``lon``, ``lat``, ``departement``, ``equipments``.

    Raises
    ------
    NoServiceError
        No commune has any of the types (the types absent from the BPE file are named).
    """
    types = tuple(t.upper() for t in types)
    b = bpe[bpe["typequ"].isin(types) & (bpe["nb_equip"] > 0)]
    if b.empty:
        absent = [t for t in types if t not in set(bpe["typequ"])]
        raise NoServiceError(
            f"no commune has BPE equipment {'+'.join(types)}"
            + (f" ({', '.join(absent)} not in this BPE file)" if absent else " with a count above 0")
        )
    n = b.groupby("code")["nb_equip"].sum()
    c = communes.set_index("code").reindex(n.index)
    known = c["nom"].notna().to_numpy()
    out = pd.DataFrame({
        "id": n.index.to_numpy(object)[known], "name": c["nom"].to_numpy(object)[known],
        "lon": c["lon"].to_numpy(float)[known], "lat": c["lat"].to_numpy(float)[known],
        "departement": c["departement"].to_numpy(object)[known], "equipments": n.to_numpy(float)[known],
    })
    return out.reset_index(drop=True)


def load_sites(
    spec: ServiceSpec | str,
    *,
    data_dir=None,
    bpe: pd.DataFrame | None = None,
    communes: pd.DataFrame | None = None,
    filters: Sequence[tuple[str, Sequence[str]]] = (),
    id_column: str | None = None,
    name_column: str | None = None,
    lon_column: str | None = None,
    lat_column: str | None = None,
) -> tuple[pd.DataFrame, Path | None]:
    """The sites of a service source, filtered: a table ``id, name, lon, lat, …`` and its file.

    Parameters
    ----------
    spec : ServiceSpec or str
        See :func:`parse_service`.
    data_dir : path or DataDir, optional
        Where known sources are found (the embedded data when omitted).
    bpe, communes : pandas.DataFrame
        Needed for ``bpe:`` sources (:func:`accessibility.inputs.services.load_bpe`,
        :func:`accessibility.inputs.communes.load_communes`).
    filters : sequence of (column, values)
        See :func:`apply_filters`.

    Raises
    ------
    InvalidParameterError, InputFileError, DataFormatError, NoServiceError
    """
    from accessibility.inputs.datasets.layout import DataDir, open_data_dir

    spec = parse_service(spec) if isinstance(spec, str) else spec
    path: Path | None = None
    if spec.kind == "bpe":
        if bpe is None or communes is None:
            raise InvalidParameterError("a bpe: service source needs the BPE and commune tables")
        df = sites_from_bpe(spec.types, bpe, communes)
    else:
        if spec.kind == "known":
            dd = data_dir if isinstance(data_dir, DataDir) else open_data_dir(data_dir)
            path = dd.path(KNOWN_SOURCES[spec.name][0])
        else:
            path = spec.path
        df = load_point_table(path, id_column=id_column, name_column=name_column, lon_column=lon_column,
                              lat_column=lat_column, what=f"{spec.label} file")
    if filters:
        df = apply_filters(df, filters)
    if df.empty:
        raise NoServiceError(f"{spec.label}: no site")
    return df, path
