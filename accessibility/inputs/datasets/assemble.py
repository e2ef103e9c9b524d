"""``access data assemble``: turn downloaded (or hand-placed) files into a data directory.

Each role is built by one named step that reads the file ``access data fetch`` wrote (the
source's format: geo.api.gouv.fr JSON, INSEE zips, the gamme xlsx …) or, when that is absent, a
file placed by hand under the data directory's own name (:data:`~.layout.STANDARD_NAMES`) in the
loaders' format, keeps the study area and its neighbours, and writes the loaders' format:

- ``polygons`` (first: the study area is made from them), ``communes``, ``code_changes``;
- ``osm``: the drivable ways of every extract found, kept whole when any of their nodes lies in
  the study départements plus ``buffer_km`` (the approach of ``scripts/make_embedded_data.py``),
  several extracts merged without duplicates;
- ``bpe_points`` (INSEE detail file), ``bpe`` (INSEE counts per commune, or the detail file
  counted when the counts file is absent or unreadable), ``gammes``, ``france_services``,
  ``population_grid`` (optional);
- ``bpe_2019``, ``mediation``, ``cnfs`` (``access fragility``): copied when placed by hand,
  since they have no download source.

Every file is written to a temporary name and renamed when complete; ``datadir.json`` is written
last, so an interrupted run leaves no data directory that looks complete.
"""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import logging
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import time
import unicodedata
import zipfile
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from accessibility.errors import DataFormatError, InputFileError, InvalidParameterError, OSMFileError
from accessibility.inputs.datasets.departements import DEPARTEMENTS, check_departements, with_neighbours
from accessibility.inputs.datasets.layout import (
    STANDARD_NAMES,
    DataDir,
    open_data_dir,
    pbf_timestamp,
    write_manifest,
)
from accessibility.inputs.datasets.sources import (
    DEFAULT_BPE_YEAR,
    FILOSOFI_YEAR,
    SOURCES,
    Source,
    sources_table,
)
from accessibility.settings import TIER_LABELS, TIERS

__all__ = [
    "DEFAULT_BUFFER_KM",
    "DRIVABLE_HIGHWAYS",
    "assemble_departement",
    "study_area",
    "clip_osm",
    "ClipReport",
    "read_geo_api_communes",
    "read_code_changes_npm",
    "read_gammes_xlsx",
    "read_bpe_counts_melodi",
]

log = logging.getLogger(__name__)

#: Margin (km) around the study départements kept in the road extract: roads just across the
#: border are often the fastest way between two communes of the département.
DEFAULT_BUFFER_KM = 20.0
LAMBERT93 = "EPSG:2154"
WGS84 = "EPSG:4326"
#: ``highway`` classes kept in the clipped extract: those of the shipped car profile that are
#: drivable by default (``track`` excluded), as in ``scripts/make_embedded_data.py``.
DRIVABLE_HIGHWAYS: tuple[str, ...] = (
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link",
    "secondary", "secondary_link", "tertiary", "tertiary_link",
    "unclassified", "residential", "living_street", "service", "road",
)
#: BPE detail columns kept (those present; names matched case-insensitively). Names and
#: addresses of establishments are dropped.
BPE_POINT_COLUMNS = (
    "AN", "DEPCOM", "DEP", "DOM", "SDOM", "TYPEQU", "LAMBERT_X", "LAMBERT_Y", "LONGITUDE", "LATITUDE",
    "QUALITE_XY", "EPSG", "QUALITE_GEOLOC", "TR_DIST_PRECISION", "DCIRIS",
)
#: Rows read at a time from INSEE's national CSV files (bounded memory).
CSV_CHUNK_ROWS = 500_000
_TYPEQU_RE = re.compile(r"^[A-G][0-9]{3}$")


# ---------------------------------------------------------------------------------------------
# small helpers


def _ascii_lower(text: str) -> str:
    return unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower().strip()


def _tier(text: str) -> str | None:
    t = _ascii_lower(text)
    for tier in TIER_LABELS:
        if tier in t:
            return tier
    return None


def _atomic_path(out: Path) -> Path:
    """A fresh temporary name next to ``out``, with the same suffix (for format detection)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    from accessibility.inputs.datasets.fetch import _umask

    fd, name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=f".tmp{out.suffix}", dir=out.parent)
    os.fchmod(fd, 0o666 & ~_umask())
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def _staged(out: Path) -> Iterator[Path]:
    """A temporary name next to ``out`` (:func:`_atomic_path`): renamed to ``out`` when the block
    ends normally, removed when it fails."""
    tmp = _atomic_path(out)
    try:
        yield tmp
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _write_csv_gz(df, out: Path) -> Path:
    """Write a CSV (gzip, mtime 0 so that reruns give the same bytes) atomically."""
    with _staged(out) as tmp, open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        with io.TextIOWrapper(gz, encoding="utf-8", newline="") as text:
            df.to_csv(text, index=False)
    return out


def _write_csv(df, out: Path) -> Path:
    with _staged(out) as tmp:
        df.to_csv(tmp, index=False)
    return out


def _copy(src: Path, out: Path) -> Path:
    with _staged(out) as tmp:
        shutil.copyfile(src, tmp)
    return out


def _copy_gz(src: Path, out: Path) -> Path:
    """Copy ``src`` to ``out`` gzipped (as it is when it already is)."""
    with open(src, "rb") as fh:
        gz_in = fh.read(2) == b"\x1f\x8b"
    with _staged(out) as tmp:
        if gz_in:
            shutil.copyfile(src, tmp)
        else:
            with open(src, "rb") as s, open(tmp, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
                shutil.copyfileobj(s, gz)
    return out


def _ready(from_dir: Path, role: str) -> Path | None:
    """A file placed by hand under the data directory's name of ``role`` (``.gz`` or not)."""
    name = STANDARD_NAMES[role]
    cands = [name]
    cands.append(name[:-3] if name.endswith(".gz") else name + ".gz")
    for c in cands:
        p = from_dir / c
        if p.is_file():
            return p
    return None


def _dep_of_codes(codes):
    from accessibility.inputs.communes import departement_of

    return departement_of(codes)


@dataclass
class _Build:
    """State shared by the steps of one assembly."""

    from_dir: Path
    dest: Path
    study: tuple[str, ...]
    deps: tuple[str, ...]
    year: int
    files: dict = field(default_factory=dict)
    coverage: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    inputs: dict = field(default_factory=dict)  # role -> list of input paths (relative to from_dir)
    derived: dict = field(default_factory=dict)  # role -> how

    def note(self, msg: str) -> None:
        log.warning("%s", msg)
        self.notes.append(msg)

    def raw(self, source_name: str, dep: str | None = None, catalogue: Sequence[Source] = SOURCES) -> Path:
        from accessibility.inputs.datasets.sources import format_fields, source

        s = source(source_name, catalogue)
        return self.from_dir / s.local.format(**format_fields(dep, self.year))

    def used(self, role: str, path: Path) -> None:
        """Record an input file (relative to the download directory) of ``role``."""
        rel = path.relative_to(self.from_dir) if path.is_relative_to(self.from_dir) else path
        self.inputs.setdefault(role, []).append(rel.as_posix())

    def out(self, role: str) -> Path:
        return self.dest / STANDARD_NAMES[role]


# ---------------------------------------------------------------------------------------------
# readers of the sources' formats


def read_geo_api_communes(path: str | os.PathLike):
    """Read a geo.api.gouv.fr ``/departements/{code}/communes`` JSON answer.

    Returns
    -------
    pandas.DataFrame
        ``code, nom, departement, region, population, lon, lat, centre``: the ``mairie`` point
        (IGN chef-lieu) with ``centre="mairie"``; when the API has no chef-lieu it gives a point
        inside the polygon for both ``mairie`` and ``centre``, marked ``centre="polygon"``.

    Raises
    ------
    DataFormatError
        Not the API's JSON (a list of communes with ``code`` and ``nom``).
    """
    import pandas as pd

    p = Path(path)
    try:
        rows = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DataFormatError(f"{str(p)!r} is not a geo.api.gouv.fr JSON answer: {exc}") from exc
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "code" in r and "nom" in r for r in rows):
        raise DataFormatError(f"{str(p)!r} is not a geo.api.gouv.fr list of communes (objects with code and nom)")

    def pt(r, key):
        g = r.get(key)
        if isinstance(g, dict) and isinstance(g.get("coordinates"), list) and len(g["coordinates"]) == 2:
            return float(g["coordinates"][0]), float(g["coordinates"][1])
        return None

    out = []
    for r in rows:
        m, c = pt(r, "mairie"), pt(r, "centre")
        if m is not None and m != c:
            lon, lat, kind = m[0], m[1], "mairie"
        elif m is not None or c is not None:
            lon, lat, kind = (m or c)[0], (m or c)[1], "polygon"
        else:
            lon = lat = float("nan")
            kind = ""
        out.append(
            {
                "code": str(r["code"]),
                "nom": r["nom"],
                "departement": r.get("codeDepartement") or "",
                "region": r.get("codeRegion") or "",
                "population": r.get("population"),
                "lon": lon,
                "lat": lat,
                "centre": kind,
            }
        )
    return pd.DataFrame(out, columns=["code", "nom", "departement", "region", "population", "lon", "lat", "centre"])


def read_code_changes_npm(path: str | os.PathLike):
    """``old_code -> code`` pairs from the ``@etalab/decoupage-administratif`` npm tarball.

    A current commune's ``anciensCodes`` go to it; a commune déléguée or associée goes to its
    ``chefLieu``. (On package 6.0.0 this gives exactly the 4,242 pairs of the shared
    ``commune-code-changes.csv``.)

    Raises
    ------
    DataFormatError
        Not the package tarball.
    """
    import pandas as pd

    p = Path(path)
    try:
        with tarfile.open(p) as tf:
            member = tf.extractfile("package/data/communes.json")
            communes = json.load(io.TextIOWrapper(member, encoding="utf-8"))
    except (tarfile.TarError, KeyError, OSError, json.JSONDecodeError, AttributeError) as exc:
        raise DataFormatError(
            f"{str(p)!r} is not the @etalab/decoupage-administratif npm tarball "
            f"(package/data/communes.json): {exc}"
        ) from exc
    pairs = set()
    for c in communes:
        t = c.get("type")
        if t == "commune-actuelle":
            for old in c.get("anciensCodes") or ():
                pairs.add((str(old), str(c["code"])))
        elif t in ("commune-deleguee", "commune-associee") and c.get("chefLieu") and c["chefLieu"] != c["code"]:
            pairs.add((str(c["code"]), str(c["chefLieu"])))
    return pd.DataFrame(sorted(pairs), columns=["old_code", "code"])


def read_gammes_xlsx(path: str | os.PathLike):
    """INSEE's gamme workbook (``BPE_gammes_equipements_<year>.xlsx``) in the loader's layout.

    The header row is the one holding a ``TYPEQU`` cell (titles above it are skipped); its
    columns ``TYPEQU``, ``GAMME`` and optionally ``LIBELLE_TYPEQU``, ``TYPEQU_REGROUPEMENT``,
    ``LIBELLE_TYPEQU_REGROUPEMENT``. Types sharing a regroupement form one equipment of the
    gamme (school: C107 + C108 + C109).

    Returns
    -------
    pandas.DataFrame
        ``code_equipement, regroupement_1 … regroupement_k, libellé équipement, gamme``.

    Raises
    ------
    DataFormatError
        No ``TYPEQU``/``GAMME`` header, no row of the three gammes, or a regroupement whose
        types are in two gammes.
    """
    import pandas as pd

    from accessibility.inputs.datasets._xlsx import read_xlsx_rows

    p = Path(path)
    rows = read_xlsx_rows(p)
    head = next((i for i, r in enumerate(rows) if any(str(c).strip().upper() == "TYPEQU" for c in r)), None)
    if head is None:
        raise DataFormatError(f"gamme workbook {str(p)!r} has no header row with a TYPEQU column")
    cols = {str(c).strip().upper(): j for j, c in enumerate(rows[head]) if str(c).strip()}
    if "GAMME" not in cols:
        raise DataFormatError(
            f"gamme workbook {str(p)!r} has no GAMME column; its columns are {', '.join(cols)}"
        )

    def cell(r, name):
        j = cols.get(name)
        return str(r[j]).strip() if j is not None and j < len(r) else ""

    groups: dict[str, dict] = {}
    for r in rows[head + 1 :]:
        t = cell(r, "TYPEQU").upper()
        tier = _tier(cell(r, "GAMME"))
        if not t or tier is None:
            continue
        key = (cell(r, "TYPEQU_REGROUPEMENT") or t).upper()
        label = cell(r, "LIBELLE_TYPEQU_REGROUPEMENT") or cell(r, "LIBELLE_TYPEQU")
        g = groups.setdefault(key, {"types": [], "tier": tier, "label": label})
        if g["tier"] != tier:
            raise DataFormatError(
                f"gamme workbook {str(p)!r}: regroupement {key} has types in two gammes ({g['tier']}, {tier})"
            )
        if t not in g["types"]:
            g["types"].append(t)
    if not groups:
        raise DataFormatError(f"gamme workbook {str(p)!r} has no row of the proximité, intermédiaire or supérieure gamme")
    width = max(len(g["types"]) for g in groups.values())
    recs = []
    for key, g in groups.items():
        rec = {"code_equipement": key}
        for k in range(width):
            rec[f"regroupement_{k + 1}"] = g["types"][k] if k < len(g["types"]) else ""
        rec["libellé équipement"] = g["label"]
        rec["gamme"] = TIER_LABELS[g["tier"]]
        recs.append(rec)
    return pd.DataFrame(recs)


def _open_zip_member(path: Path, pattern: str, what: str):
    """The CSV member of a zip matching ``pattern`` (regex, case-insensitive), else the only CSV."""
    try:
        z = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFormatError(f"{what} {str(path)!r} is not a zip file: {exc}") from exc
    names = [n for n in z.namelist() if n.lower().endswith(".csv")]
    match = [n for n in names if re.search(pattern, n, re.IGNORECASE)]
    pick = match or (names if len(names) == 1 else [])
    if not pick:
        z.close()
        raise DataFormatError(f"{what} {str(path)!r} holds no CSV matching {pattern!r}; members: {', '.join(z.namelist())}")
    return z, pick[0]


def _sniff_sep(header: bytes) -> str:
    line = header.split(b"\n", 1)[0]
    return ";" if line.count(b";") > line.count(b",") else ","


def _sniff_file_sep(path: Path) -> str:
    """``;`` or ``,`` from the first line of a CSV or CSV.gz."""
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if head[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as fh:
            head = fh.read(4096)
    return _sniff_sep(head)


def read_bpe_counts_melodi(path: str | os.PathLike, departements: Sequence[str]):
    """Counts per commune and type from INSEE's ``DS_BPE_CSV_FR.zip`` (Melodi dénombrement).

    Keeps the rows of communes (``GEO_OBJECT == "COM"``) of ``departements``, equipment types
    (``FACILITY_TYPE`` like ``B207``; totals such as ``_T`` dropped) and the latest
    ``TIME_PERIOD``.

    Returns
    -------
    pandas.DataFrame
        ``DEPCOM, TYPEQU, NB_EQUIP`` and the vintage (int or None).

    Raises
    ------
    DataFormatError
        Missing columns, or several rows for one commune and type (a layout this reader does not
        know: the caller then counts the detail file instead).
    """
    import pandas as pd

    p = Path(path)
    z, member = _open_zip_member(p, r"_data\.csv$", "BPE counts archive")
    with z:
        with z.open(member) as fh:
            sep = _sniff_sep(fh.read(4096))
        with z.open(member) as fh:
            header = [str(c).strip().lstrip("\ufeff") for c in pd.read_csv(fh, sep=sep, nrows=0).columns]
        up = {h.upper(): h for h in header}
        need = ("GEO", "GEO_OBJECT", "FACILITY_TYPE", "OBS_VALUE")
        miss = [c for c in need if c not in up]
        if miss:
            raise DataFormatError(
                f"BPE counts {str(p)!r}:{member} lacks {', '.join(miss)}; its columns are {', '.join(header)}"
            )
        deps = set(departements)
        parts = []
        with z.open(member) as fh:
            reader = pd.read_csv(fh, sep=sep, dtype=str, chunksize=CSV_CHUNK_ROWS, keep_default_na=False)
            for chunk in reader:
                chunk.columns = [str(c).strip().lstrip("\ufeff").upper() for c in chunk.columns]
                c = chunk[chunk["GEO_OBJECT"].str.strip() == "COM"]
                c = c[c["FACILITY_TYPE"].str.strip().str.match(_TYPEQU_RE)]
                c = c[np.isin(_dep_of_codes(c["GEO"].str.strip()), list(deps))]
                parts.append(c)
    df = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=[c.upper() for c in header])
    vintage = None
    if "TIME_PERIOD" in df and len(df):
        years = pd.to_numeric(df["TIME_PERIOD"].str[:4], errors="coerce")
        vintage = int(years.max()) if years.notna().any() else None
        if vintage is not None:
            df = df[years == vintage]
    key = df["GEO"].str.strip() + "|" + df["FACILITY_TYPE"].str.strip()
    if key.duplicated().any():
        other = [c for c in df.columns if c not in ("GEO", "GEO_OBJECT", "FACILITY_TYPE", "OBS_VALUE", "TIME_PERIOD")]
        raise DataFormatError(
            f"BPE counts {str(p)!r} has several rows per commune and type (other columns: {', '.join(other)}): "
            "layout not understood"
        )
    nb = pd.to_numeric(df["OBS_VALUE"].str.replace(",", ".", regex=False), errors="coerce")
    out = pd.DataFrame({"DEPCOM": df["GEO"].str.strip(), "TYPEQU": df["FACILITY_TYPE"].str.strip(), "NB_EQUIP": nb})
    out = out[out["NB_EQUIP"] > 0].sort_values(["DEPCOM", "TYPEQU"]).reset_index(drop=True)
    return out, vintage


def _read_bpe_detail(path: Path, departements: Sequence[str]):
    """The rows of ``departements`` from INSEE's BPE detail zip (or a CSV), useful columns only."""
    import pandas as pd

    if zipfile.is_zipfile(path):
        z, member = _open_zip_member(path, r"bpe.*\.csv$", "BPE detail archive")
        opener = lambda: z.open(member)  # noqa: E731
    else:
        z, member = None, path.name
        opener = lambda: open(path, "rb")  # noqa: E731
    try:
        with opener() as fh:
            head = fh.read(65536)
        if head[:2] == b"\x1f\x8b":
            opener = lambda: gzip.open(path, "rb")  # noqa: E731
            with opener() as fh:
                head = fh.read(65536)
        sep = _sniff_sep(head)
        with opener() as fh:
            header = [str(c).strip().lstrip("\ufeff") for c in pd.read_csv(fh, sep=sep, nrows=0).columns]
        up = {h.upper(): h for h in header}
        if "DEPCOM" not in up or "TYPEQU" not in up:
            raise DataFormatError(
                f"BPE detail {str(path)!r}:{member} lacks DEPCOM or TYPEQU; its columns are {', '.join(header)}"
            )
        keep = [up[c] for c in BPE_POINT_COLUMNS if c in up]
        deps = list(departements)
        parts = []
        with opener() as fh:
            for chunk in pd.read_csv(fh, sep=sep, dtype=str, usecols=keep, chunksize=CSV_CHUNK_ROWS, keep_default_na=False):
                chunk.columns = [c.strip().lstrip("\ufeff").upper() for c in chunk.columns]
                parts.append(chunk[np.isin(_dep_of_codes(chunk["DEPCOM"].str.strip()), deps)])
    finally:
        if z is not None:
            z.close()
    df = pd.concat(parts, ignore_index=True)
    return df[[c for c in BPE_POINT_COLUMNS if c in df.columns]]


# ---------------------------------------------------------------------------------------------
# study area and OSM clipping


def study_area(polygons, departements: Sequence[str], *, buffer_km: float = DEFAULT_BUFFER_KM):
    """The union of the commune polygons of ``departements``, widened by ``buffer_km``.

    Buffered in Lambert-93 (metropolitan France) or in the local UTM zone (overseas).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        Commune polygons with ``code`` (and ``departement`` or codes to derive it).
    departements : sequence of str
    buffer_km : float

    Returns
    -------
    shapely.Geometry
        WGS84 (lon/lat).

    Raises
    ------
    InvalidParameterError
        Negative buffer.
    InputFileError
        No polygon of ``departements``.
    """
    import geopandas as gpd
    import shapely

    if not (buffer_km >= 0):
        raise InvalidParameterError(f"buffer must be >= 0 km, got {buffer_km!r}")
    deps = list(departements)
    dep_col = polygons["departement"] if "departement" in polygons else _dep_of_codes(polygons["code"])
    sel = polygons[np.isin(np.asarray(dep_col, dtype=object), deps)]
    if sel.empty:
        raise InputFileError(f"no commune polygon of département(s) {', '.join(deps)}: cannot make the study area")
    sel = sel.to_crs(WGS84)
    crs = LAMBERT93 if not any(d.startswith("97") for d in deps) else sel.estimate_utm_crs()
    proj = sel.to_crs(crs)
    area = shapely.union_all(shapely.make_valid(proj.geometry.values)).buffer(buffer_km * 1000.0)
    return gpd.GeoSeries([area], crs=crs).to_crs(WGS84).iloc[0]


@dataclass(frozen=True)
class ClipReport:
    """What :func:`clip_osm` kept.

    Attributes
    ----------
    sources : list of dict
        Per input: ``path``, ``bytes``, ``drivable_ways``, ``kept_ways``, ``timestamp`` (OSM data
        date from the file header, when given).
    ways, nodes : int
        In the output (nodes: those the kept ways reference).
    bbox : tuple of float
        West, south, east, north of the clipping area (kept ways may reach a little beyond).
    seconds : float
    """

    sources: list
    ways: int
    nodes: int
    bbox: tuple
    seconds: float


def _clip_one(src: Path, area, highways: Sequence[str], out: Path) -> dict:
    """Write the drivable ways of ``src`` with a node in ``area``, and all their nodes, to ``out``.

    Three streaming passes; Python only sees the drivable ways and their nodes (the tag and id
    filters run in pyosmium's C++): (1) ways -> the ids of their nodes, (2) those nodes -> which
    lie in ``area`` (numpy/shapely, vectorised), (3) ways again -> keep those with an inside node
    (``IdTracker.contains_any_references``); then the kept ways and their nodes are copied.
    """
    import osmium
    import shapely

    from accessibility.inputs.osm import check_pbf

    check_pbf(src)
    t0 = time.perf_counter()
    tag_filter = lambda: osmium.filter.TagFilter(*(("highway", h) for h in highways))  # noqa: E731
    refs = osmium.IdTracker()
    n_ways = 0
    ids, lons, lats = array("q"), array("d"), array("d")
    inside = osmium.IdTracker()
    keep = osmium.IdTracker()
    try:
        for w in osmium.FileProcessor(str(src), osmium.osm.WAY).with_filter(tag_filter()):
            refs.add_references(w)
            n_ways += 1
        for n in osmium.FileProcessor(str(src), osmium.osm.NODE).with_filter(refs.id_filter()):
            loc = n.location
            if loc.valid():
                ids.append(n.id)
                lons.append(loc.lon)
                lats.append(loc.lat)
        shapely.prepare(area)
        ids_a = np.frombuffer(ids, dtype=np.int64)
        inside_mask = shapely.contains_xy(
            area, np.frombuffer(lons, dtype=np.float64), np.frombuffer(lats, dtype=np.float64)
        )
        for nid in ids_a[inside_mask].tolist():
            inside.add_node(nid)
        for w in osmium.FileProcessor(str(src), osmium.osm.WAY).with_filter(tag_filter()):
            if inside.contains_any_references(w):
                keep.add_way(w.id)
                keep.add_references(w)
    except RuntimeError as exc:
        raise OSMFileError(f"cannot read OSM file {str(src)!r} (truncated or corrupt PBF?): {exc}") from exc
    out.unlink(missing_ok=True)
    header = osmium.io.Header()
    header.set("generator", "accessibility data assemble (pyosmium)")
    header.set("sorting", "Type_then_ID")
    ts = pbf_timestamp(src)
    if ts:
        header.set("osmosis_replication_timestamp", ts)
    writer = osmium.SimpleWriter(str(out), header=header)
    try:
        osmium.apply(str(src), keep.id_filter(), writer)
    finally:
        writer.close()
    return {
        "path": str(src),
        "bytes": src.stat().st_size,
        "drivable_ways": n_ways,
        "kept_ways": len(keep.way_ids()),
        "kept_nodes": len(keep.node_ids()),
        "nodes_inside": int(inside_mask.sum()),
        "missing_nodes": len(refs.node_ids()) - len(ids),
        "timestamp": ts,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _count_pbf(path: Path) -> tuple[int, int]:
    import osmium

    nodes = ways = 0
    for o in osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY):
        if o.is_node():
            nodes += 1
        else:
            ways += 1
    return ways, nodes


def clip_osm(
    sources: Sequence[str | os.PathLike],
    area,
    out: str | os.PathLike,
    *,
    highways: Sequence[str] = DRIVABLE_HIGHWAYS,
) -> ClipReport:
    """Cut the drivable roads of one or several extracts to ``area`` and merge them into ``out``.

    A way is kept whole (never cut) when its ``highway`` is in ``highways`` and **any** of its
    nodes lies inside ``area``; the output holds those ways and exactly the nodes they
    reference, tags unchanged, sorted by type then id. Objects present in several extracts
    (neighbouring départements overlap at their borders) are written once.

    Parameters
    ----------
    sources : sequence of path
        ``.osm.pbf`` extracts.
    area : shapely.Geometry
        WGS84 polygon (:func:`study_area`).
    out : path
        Output ``.osm.pbf`` (written to a temporary file, then renamed).
    highways : sequence of str
        ``highway`` classes kept.

    Returns
    -------
    ClipReport

    Raises
    ------
    InputFileError, OSMFileError
        A source is missing or not a readable PBF.
    NoDrivableRoadError
        No drivable way of the sources touches ``area``.
    """
    import osmium

    from accessibility.errors import NoDrivableRoadError

    t0 = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    srcs = [Path(s) for s in sources]
    if not srcs:
        raise InputFileError("no OSM extract to clip")
    with tempfile.TemporaryDirectory(prefix=".clip-", dir=out.parent) as td:
        parts, stats = [], []
        for k, s in enumerate(srcs):
            part = Path(td) / f"part{k}.osm.pbf"
            st = _clip_one(s, area, highways, part)
            log.info("%s: %d of %d drivable ways kept (%.1f s)", s.name, st["kept_ways"], st["drivable_ways"], st["seconds"])
            stats.append(st)
            if st["kept_ways"]:
                parts.append(part)
        if not parts:
            raise NoDrivableRoadError(
                f"no drivable way of {', '.join(str(s) for s in srcs)} touches the study area: "
                "are these the extracts of the study départements?"
            )
        tmp = Path(td) / "merged.osm.pbf"
        if len(parts) == 1:
            shutil.move(str(parts[0]), tmp)
        else:
            header = osmium.io.Header()
            header.set("generator", "accessibility data assemble (pyosmium)")
            header.set("sorting", "Type_then_ID")
            stamps = sorted(st["timestamp"] for st in stats if st["timestamp"])
            if stamps:
                header.set("osmosis_replication_timestamp", stamps[0])
            merger = osmium.MergeInputReader()
            for p in parts:
                merger.add_file(str(p))
            writer = osmium.SimpleWriter(str(tmp), header=header)
            try:
                merger.apply(writer, simplify=True)
            finally:
                writer.close()
        merged = len(parts) > 1
        os.replace(tmp, out)
    if merged:
        ways, nodes = _count_pbf(out)
    else:
        st = next(st for st in stats if st["kept_ways"])
        ways, nodes = st["kept_ways"], st["kept_nodes"]
    return ClipReport(
        sources=stats, ways=ways, nodes=nodes, bbox=tuple(float(v) for v in area.bounds),
        seconds=round(time.perf_counter() - t0, 2),
    )


# ---------------------------------------------------------------------------------------------
# the steps


def _step_polygons(b: _Build):
    import geopandas as gpd
    import pandas as pd

    from accessibility.inputs.communes import load_commune_polygons

    frames = []
    for dep in b.deps:
        p = b.raw("polygons", dep)
        if p.is_file():
            try:
                g = gpd.read_file(p)
            except Exception as exc:  # pyogrio raises several error types
                raise DataFormatError(f"cannot read commune polygons {str(p)!r}: {exc}") from exc
            if "code" not in g:
                raise DataFormatError(f"commune polygons {str(p)!r} have no 'code' property")
            if g.crs is None:
                g = g.set_crs(WGS84)
            frames.append(g[["code", "geometry"]].assign(nom=g.get("nom", ""), departement=dep))
            b.used("polygons", p)
    ready = _ready(b.from_dir, "polygons")
    if not frames and ready is not None:
        g = load_commune_polygons(ready)
        g["departement"] = _dep_of_codes(g["code"])
        g["nom"] = ""
        frames.append(g[np.isin(g["departement"].to_numpy(object), list(b.deps))])
        b.used("polygons", ready)
    if not frames:
        raise InputFileError(
            f"no commune polygons in {str(b.from_dir)!r}: need {b.raw('polygons', b.study[0]).relative_to(b.from_dir)} "
            f"(access data fetch) or {STANDARD_NAMES['polygons']} placed by hand: they define the study area"
        )
    g = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs=WGS84)
    g["code"] = g["code"].astype(str).str.zfill(5)
    g = g.drop_duplicates("code").sort_values("code").reset_index(drop=True)
    have = set(g["departement"])
    miss = [d for d in b.study if d not in have]
    if miss:
        raise InputFileError(f"no commune polygon of the study département(s) {', '.join(miss)} in {str(b.from_dir)!r}")
    lack = [d for d in b.deps if d not in have]
    if lack:
        b.note(f"no commune polygons of neighbouring département(s) {', '.join(lack)} (maps only)")
    with _staged(b.out("polygons")) as tmp:
        tmp.unlink()  # the GeoPackage driver makes the file
        g[["code", "nom", "departement", "geometry"]].to_file(tmp, layer="communes", driver="GPKG", engine="pyogrio")
    b.files["polygons"] = STANDARD_NAMES["polygons"]
    b.coverage["polygons"] = {"communes": int(len(g)), "per_departement": {d: int((g["departement"] == d).sum()) for d in b.deps if d in have}}
    return g


def _step_communes(b: _Build):
    import pandas as pd

    from accessibility.inputs.communes import load_communes

    frames = []
    for dep in b.deps:
        p = b.raw("communes", dep)
        if p.is_file():
            frames.append(read_geo_api_communes(p))
            b.used("communes", p)
    ready = _ready(b.from_dir, "communes")
    if not frames and ready is not None:
        df = load_communes(ready)
        frames.append(df[df["departement"].isin(b.deps)])
        b.used("communes", ready)
    if not frames:
        raise InputFileError(
            f"no commune table in {str(b.from_dir)!r}: need communes/geo-api-communes-<dep>.json "
            f"(access data fetch) or {STANDARD_NAMES['communes']} placed by hand"
        )
    df = pd.concat(frames, ignore_index=True).drop_duplicates("code")
    cols = [c for c in ("code", "nom", "departement", "region", "population", "lon", "lat", "centre") if c in df]
    df = df[cols].sort_values("code").reset_index(drop=True)
    miss = [d for d in b.study if not (df["departement"] == d).any()]
    if miss:
        raise InputFileError(f"no commune of the study département(s) {', '.join(miss)} in the commune files of {str(b.from_dir)!r}")
    lack = [d for d in b.deps if not (df["departement"] == d).any()]
    if lack:
        b.note(
            f"no communes of neighbouring département(s) {', '.join(lack)}: their services will not count "
            "(fetch them, or place their rows in the commune table)"
        )
    out = _write_csv_gz(df, b.out("communes"))
    checked = load_communes(out)  # the loader reads what we wrote
    b.files["communes"] = STANDARD_NAMES["communes"]
    per = {}
    for d in b.deps:
        sel = checked[checked["departement"] == d]
        if len(sel):
            per[d] = {
                "communes": int(len(sel)),
                "population": int(sel["population"].sum()),
                "without_centre": int(sel["lon"].isna().sum()),
                "centre": {str(k): int(v) for k, v in sel["centre"].fillna("").value_counts().items()},
            }
    b.coverage["communes"] = per
    return checked


def _step_code_changes(b: _Build):
    import pandas as pd

    from accessibility.inputs.communes import default_code_changes_path, load_code_changes

    p = b.raw("code_changes")
    ready = _ready(b.from_dir, "code_changes")
    if p.is_file():
        df = read_code_changes_npm(p)
        b.used("code_changes", p)
        how = "npm @etalab/decoupage-administratif"
    elif ready is not None:
        df = pd.read_csv(ready, dtype=str)
        b.used("code_changes", ready)
        how = "placed by hand"
    else:
        df = pd.read_csv(default_code_changes_path(), dtype=str)
        how = "embedded copy (COG 2026)"
        b.note("no code change table fetched: the embedded one (COG 2026) is used")
    out = _write_csv(df, b.out("code_changes"))
    changes = load_code_changes(out)
    b.files["code_changes"] = STANDARD_NAMES["code_changes"]
    b.derived["code_changes"] = how
    b.coverage["code_changes"] = {"pairs": int(len(df)), "from": how}
    return changes


def _step_osm(b: _Build, polygons, buffer_km: float):
    from accessibility.inputs.datasets.sources import format_fields

    area = study_area(polygons, b.study, buffer_km=buffer_km)
    expected = []
    for s in ("osm", "osm_geofabrik"):
        for dep in b.deps:
            p = b.raw(s, dep)
            if p.is_file() and p not in expected:
                expected.append(p)
    if expected:
        srcs = expected
        found = {d for d in b.deps for s in ("osm", "osm_geofabrik") if b.raw(s, d) in expected}
        lack = [d for d in b.deps if d not in found]
        if lack:
            b.note(f"no OSM extract of département(s) {', '.join(lack)}: roads there (inside the buffer) are missing")
    else:
        osm_dir = b.from_dir / "osm"
        srcs = sorted(osm_dir.glob("*.osm.pbf")) if osm_dir.is_dir() else []
        if not srcs:
            names = ", ".join(str(Path(SOURCES[0].local.format(**format_fields(d, b.year)))) for d in b.study)
            raise InputFileError(
                f"no OSM extract in {str(b.from_dir)!r}: need {names} (access data fetch) or any .osm.pbf in osm/"
            )
        b.note(f"OSM extracts taken from osm/: {', '.join(p.name for p in srcs)}")
    for p in srcs:
        b.used("osm", p)
    rep = clip_osm(srcs, area, b.out("osm"))
    import geopandas as gpd

    area_km2 = float(gpd.GeoSeries([area], crs=WGS84).to_crs(
        LAMBERT93 if not any(d.startswith("97") for d in b.study) else gpd.GeoSeries([area], crs=WGS84).estimate_utm_crs()
    ).area.iloc[0] / 1e6)
    b.files["osm"] = STANDARD_NAMES["osm"]
    b.coverage["osm"] = {
        "buffer_km": buffer_km,
        "area_km2": round(area_km2, 1),
        "ways": rep.ways,
        "nodes": rep.nodes,
        "area_bbox": [round(v, 5) for v in rep.bbox],
        "bytes": b.out("osm").stat().st_size,
        "extracts": [
            {k: (Path(v).name if k == "path" else v) for k, v in st.items()} for st in rep.sources
        ],
        "seconds": rep.seconds,
    }
    return area


def _step_bpe_points(b: _Build):
    p = b.raw("bpe_points")
    ready = _ready(b.from_dir, "bpe_points")
    src = p if p.is_file() else ready
    if src is None:
        b.note(
            f"no geolocated BPE ({p.relative_to(b.from_dir)} or {STANDARD_NAMES['bpe_points']}): "
            "equipments can only be placed at their commune's centre"
        )
        return None
    df = _read_bpe_detail(src, b.deps)
    b.used("bpe_points", src)
    _write_csv_gz(df, b.out("bpe_points"))
    b.files["bpe_points"] = STANDARD_NAMES["bpe_points"]
    dep = _dep_of_codes(df["DEPCOM"])
    cov = {"equipments": int(len(df)), "per_departement": {d: int((dep == d).sum()) for d in b.deps}}
    for q in ("QUALITE_XY", "QUALITE_GEOLOC"):
        if q in df:
            cov[q.lower()] = {str(k): int(v) for k, v in df[q].value_counts().items()}
    if "LAMBERT_X" in df or "LONGITUDE" in df:
        xs = df["LONGITUDE"] if "LONGITUDE" in df else df["LAMBERT_X"]
        cov["without_coordinates"] = int((xs.str.strip() == "").sum())
    if "AN" in df and len(df):
        cov["vintage"] = str(df["AN"].iloc[0])
    b.coverage["bpe_points"] = cov
    return df


def _step_bpe(b: _Build, points):
    import pandas as pd

    p = b.raw("bpe_counts")
    ready = _ready(b.from_dir, "bpe")
    df, how = None, None
    if p.is_file():
        try:
            df, vintage = read_bpe_counts_melodi(p, b.deps)
            how = f"INSEE counts per commune ({p.name}, {vintage or 'vintage ?'})"
            b.used("bpe", p)
        except DataFormatError as exc:
            b.note(f"{p.name} not used ({exc}); counts made from the geolocated BPE instead")
            df = None
    if df is None and ready is not None:
        df = pd.read_csv(ready, dtype=str, sep=_sniff_file_sep(ready))
        df.columns = [c.strip().upper() for c in df.columns]
        df = df[np.isin(_dep_of_codes(df["DEPCOM"].str.strip()), list(b.deps))][["DEPCOM", "TYPEQU", "NB_EQUIP"]]
        how = "placed by hand"
        b.used("bpe", ready)
    if df is None and points is not None:
        df = points.groupby(["DEPCOM", "TYPEQU"], as_index=False).size().rename(columns={"size": "NB_EQUIP"})
        how = "counted from the geolocated BPE (one row per equipment)"
    if df is None:
        raise InputFileError(
            f"no BPE in {str(b.from_dir)!r}: need {b.raw('bpe_points').relative_to(b.from_dir)} or "
            f"{b.raw('bpe_counts').relative_to(b.from_dir)} (access data fetch), or {STANDARD_NAMES['bpe']} placed by hand"
        )
    _write_csv_gz(df.reset_index(drop=True), b.out("bpe"))
    b.files["bpe"] = STANDARD_NAMES["bpe"]
    b.derived["bpe"] = how
    nb = pd.to_numeric(df["NB_EQUIP"], errors="coerce")
    dep = _dep_of_codes(df["DEPCOM"])
    cov = {"from": how, "rows": int(len(df)), "equipments": {d: int(nb[dep == d].sum()) for d in b.deps}}
    if points is not None and "geolocated" not in how:
        pdep = _dep_of_codes(points["DEPCOM"])
        cov["equipments_in_geolocated_file"] = {d: int((pdep == d).sum()) for d in b.deps}
    b.coverage["bpe"] = cov


def _step_gammes(b: _Build):
    from accessibility.inputs.services import default_gammes_path, load_gammes

    p = b.raw("gammes")
    ready = _ready(b.from_dir, "gammes")
    out = b.out("gammes")
    if p.is_file():
        df = read_gammes_xlsx(p)
        b.used("gammes", p)
        how = f"INSEE {p.name}"
        extra = [c for c in df.columns if c.startswith("regroupement_") and int(c.rsplit("_", 1)[1]) > 3]
        if extra:
            b.note(
                f"{p.name}: some equipments group more than 3 BPE types; the gamme loader reads "
                "regroupement_1..3 only"
            )
        _write_csv(df, out)
    elif ready is not None:
        _copy(ready, out)
        b.used("gammes", ready)
        how = "placed by hand"
    else:
        _copy(default_gammes_path(), out)
        how = "embedded INSEE gammes 2021"
        b.note(f"no gamme table fetched: the embedded 2021 gammes are used with BPE {b.year}")
    g = load_gammes(out)
    b.files["gammes"] = STANDARD_NAMES["gammes"]
    b.derived["gammes"] = how
    b.coverage["gammes"] = {"from": how, **{t: int((g["tier"] == t).sum()) for t in TIERS}}


def _step_france_services(b: _Build):
    p = b.raw("france_services")
    ready = _ready(b.from_dir, "france_services")
    src = p if p.is_file() else ready
    if src is None:
        b.note("no France services list: `access site` cannot start from the existing sites")
        return
    _copy_gz(src, b.out("france_services"))
    b.used("france_services", src)
    b.files["france_services"] = STANDARD_NAMES["france_services"]
    import pandas as pd

    try:
        df = pd.read_csv(b.out("france_services"), sep=_sniff_file_sep(b.out("france_services")), dtype=str)
        cols = {c.lower(): c for c in df.columns}
        cov = {"sites": int(len(df))}
        if "insee_com" in cols:
            dep = _dep_of_codes(df[cols["insee_com"]].fillna("").str.strip())
            cov["per_departement"] = {d: int((dep == d).sum()) for d in b.deps}
        b.coverage["france_services"] = cov
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        b.note(f"France services file not readable as CSV ({exc})")


#: Inputs of ``access fragility`` with no download source: taken when placed by hand.
_FRAGILITY_ROLES = {"bpe_2019": "BPE 2019 counts (else it reads the directory's BPE)",
                    "mediation": "places of digital mediation", "cnfs": "conseillers numériques places"}


def _step_fragility_sources(b: _Build):
    """The BPE 2019 and the places of digital help, copied when placed by hand (no source to fetch:
    the national lists have no stable URL); their absence leaves fragility's variables empty."""
    import pandas as pd

    absent = []
    for role, what in _FRAGILITY_ROLES.items():
        src = _ready(b.from_dir, role)
        if src is None:
            absent.append(f"{what}: {STANDARD_NAMES[role]}")
            continue
        _copy_gz(src, b.out(role))
        b.used(role, src)
        b.files[role] = STANDARD_NAMES[role]
        try:
            rows = len(pd.read_csv(b.out(role), sep=_sniff_file_sep(b.out(role)), dtype=str, usecols=[0]))
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
            raise DataFormatError(f"{str(src)!r} (placed by hand as {role}) is not a readable CSV: {exc}") from None
        b.coverage[role] = {"rows": rows}
    if absent:
        b.note(f"`access fragility` inputs not placed by hand ({'; '.join(absent)}): their variables are left "
               "empty unless given with --bpe/--mediation")


def _extract_7z(archive: Path, member_suffix: str, into: Path) -> Path:
    """Extract the member ending with ``member_suffix`` of a .7z (py7zr, else the 7z program)."""
    try:
        import py7zr  # optional
    except ImportError:
        py7zr = None
    if py7zr is not None:
        with py7zr.SevenZipFile(archive) as z:
            names = [n for n in z.getnames() if n.lower().endswith(member_suffix)]
            if not names:
                raise DataFormatError(f"{str(archive)!r} holds no *{member_suffix}")
            z.extract(path=into, targets=[names[0]])
            return into / names[0]
    exe = shutil.which("7z") or shutil.which("7za") or shutil.which("7zr")
    if exe is None:
        raise InputFileError(
            f"{archive.name} is a 7-Zip archive: install py7zr (pip install py7zr) or 7-Zip, or extract the "
            f"population GeoPackage by hand into population/ and run again"
        )
    subprocess.run([exe, "e", str(archive), f"-o{into}", f"*{member_suffix}", "-r", "-y"], check=True, capture_output=True)
    found = sorted(into.glob(f"*{member_suffix}"))
    if not found:
        raise DataFormatError(f"{str(archive)!r} holds no *{member_suffix}")
    return found[0]


#: Which GeoPackage of the Filosofi archive covers a study area: metropolitan France, Martinique,
#: La Réunion (INSEE publishes no 200 m grid for Guadeloupe, Guyane and Mayotte).
_FILOSOFI_PART = {"972": "mart", "974": "reun"}


def _filosofi_part(departements: Sequence[str]) -> str:
    parts = {_FILOSOFI_PART.get(d, "none" if d.startswith("97") else "met") for d in departements}
    if "none" in parts or len(parts) != 1:
        raise InputFileError(
            f"INSEE's 200 m population grid covers metropolitan France, Martinique and La Réunion only, "
            f"not {', '.join(departements)}"
        )
    return parts.pop()


def _population_gpkg(src: Path, work: Path, part: str) -> Path:
    """The GeoPackage of ``part`` ("met", "mart", "reun") from a Filosofi file or zip (a .7z inside)."""
    if src.suffix.lower() == ".gpkg":
        return src
    if not zipfile.is_zipfile(src):
        raise DataFormatError(f"population grid {str(src)!r} is neither a GeoPackage nor a zip")
    with zipfile.ZipFile(src) as z:
        names = z.namelist()
        gpkgs = [n for n in names if n.lower().endswith(".gpkg")]
        if gpkgs:
            pick = next((n for n in gpkgs if f"_{part}" in Path(n).stem.lower()), gpkgs[0] if len(gpkgs) == 1 else None)
            if pick is None:
                raise DataFormatError(f"population grid {str(src)!r} has no *_{part}.gpkg; members: {', '.join(names)}")
            z.extract(pick, work)
            return work / pick
        sevens = [n for n in names if n.lower().endswith(".7z")]
        if sevens:
            z.extract(sevens[0], work)
            return _extract_7z(work / sevens[0], f"_{part}.gpkg", work)
    raise DataFormatError(f"population grid {str(src)!r} holds no GeoPackage; members: {', '.join(names)}")


def _read_population_cells(src: Path, area, part: str, work: Path):
    """The 200 m squares of ``src`` meeting ``area``: ``(cells, area in the grid's CRS)``."""
    import geopandas as gpd
    import pyogrio

    gpkg = _population_gpkg(src, work, part)
    layers = [row[0] for row in pyogrio.list_layers(gpkg)]
    layer = next((name for name in layers if "200" in name), layers[0])
    crs = pyogrio.read_info(gpkg, layer=layer)["crs"]
    area_l = gpd.GeoSeries([area], crs=WGS84).to_crs(crs).iloc[0]
    cells = gpd.read_file(gpkg, layer=layer, bbox=tuple(area_l.bounds))
    return cells[cells.intersects(area_l)], area_l


def _cells_table(cells, polygons, name: str):
    """Cell centres (WGS84) with their population and commune: the ``population_grid`` table."""
    import geopandas as gpd
    import pandas as pd

    cols = {c.lower(): c for c in cells.columns}
    if "ind" not in cols:
        raise DataFormatError(
            f"population grid {name}: no 'ind' (inhabitants) column; columns are {', '.join(map(str, cells.columns))}"
        )
    ids = cells[cols["idcar_200m"]].astype(str).to_numpy() if "idcar_200m" in cols else np.arange(len(cells)).astype(str)
    pts = gpd.GeoDataFrame(
        {"idcar_200m": ids, "population": pd.to_numeric(cells[cols["ind"]], errors="coerce").to_numpy()},
        geometry=cells.geometry.centroid.to_crs(WGS84).to_numpy(),
        crs=WGS84,
    )
    joined = gpd.sjoin(pts, polygons[["code", "geometry"]], how="left", predicate="within")
    joined = joined[~joined.index.duplicated(keep="first")]
    return pd.DataFrame(
        {
            "idcar_200m": joined["idcar_200m"].to_numpy(),
            "lon": joined.geometry.x.round(6).to_numpy(),
            "lat": joined.geometry.y.round(6).to_numpy(),
            "population": joined["population"].to_numpy(),
            "code": joined["code"].to_numpy(),
        }
    )


def _step_population(b: _Build, area, polygons):
    import pandas as pd

    p = b.raw("population_grid")
    ready = _ready(b.from_dir, "population_grid")
    pop_dir = b.from_dir / "population"
    gpkgs = sorted(pop_dir.glob("*.gpkg")) if pop_dir.is_dir() else []
    if not p.is_file() and not gpkgs:
        if ready is None:
            return
        df = pd.read_csv(ready, dtype={"code": str})
        df = df[np.isin(_dep_of_codes(df["code"].fillna("00000")), list(b.deps))]
        b.used("population_grid", ready)
        how = "placed by hand"
    else:
        src = p if p.is_file() else gpkgs[0]
        part = _filosofi_part(b.study)
        with tempfile.TemporaryDirectory(prefix=".population-", dir=b.dest) as td:
            cells, _ = _read_population_cells(src, area, part, Path(td))
        b.used("population_grid", src)
        how = f"INSEE Filosofi {FILOSOFI_YEAR} 200 m ({src.name})"
        df = _cells_table(cells, polygons, src.name)
    _write_csv_gz(df.reset_index(drop=True), b.out("population_grid"))
    b.files["population_grid"] = STANDARD_NAMES["population_grid"]
    dep = _dep_of_codes(df["code"].fillna("00000").astype(str))
    b.coverage["population_grid"] = {
        "from": how,
        "cells": int(len(df)),
        "population": {d: round(float(df["population"][dep == d].sum()), 1) for d in b.deps},
        "cells_outside_communes": int(df["code"].isna().sum()),
    }


def _manifest_sources(b: _Build, catalogue: Sequence[Source]) -> list[dict]:
    """One entry per input file: its source, licence, attribution and download record."""
    from accessibility.inputs.datasets.fetch import read_sources_manifest
    from accessibility.inputs.datasets.sources import format_fields

    records = read_sources_manifest(b.from_dir).get("files", {})
    table = {s["name"]: s for s in sources_table(catalogue, bpe_year=b.year)}
    source_of_local = {}
    for s in catalogue:
        for dep in b.deps if s.scope == "departement" else (None,):
            source_of_local[s.local.format(**format_fields(dep, b.year))] = s.name
    out = []
    for role, paths in b.inputs.items():
        for rel in paths:
            rec = records.get(rel, {})
            name = rec.get("source") or source_of_local.get(rel)
            s = table.get(name, {}) if name else {}
            entry = {
                "role": role,
                "file": rel,
                "name": name or "",
                "title": s.get("title", "placed by hand"),
                "licence": s.get("licence", "as given by the file's provider"),
                "attribution": s.get("attribution", ""),
                "vintage": s.get("vintage", ""),
                "url": rec.get("url", ""),
                "downloaded_at": rec.get("downloaded_at"),
                "bytes": rec.get("bytes", (b.from_dir / rel).stat().st_size if (b.from_dir / rel).is_file() else None),
                "sha256": rec.get("sha256"),
            }
            if rec.get("checksum"):
                entry["checksum"] = rec["checksum"]
            if not rec:
                entry["note"] = "not in sources.json: placed by hand"
            out.append(entry)
    return out


def assemble_departement(
    departements: str | Sequence[str],
    *,
    from_dir: str | os.PathLike,
    dest: str | os.PathLike,
    buffer_km: float = DEFAULT_BUFFER_KM,
    neighbours: bool | Sequence[str] = True,
    bpe_year: int = DEFAULT_BPE_YEAR,
    catalogue: Sequence[Source] = SOURCES,
) -> DataDir:
    """Build the data directory of a study area from downloaded or hand-placed files.

    Parameters
    ----------
    departements : str or sequence of str
        Study area (``"62"``).
    from_dir : path
        Where ``access data fetch`` downloaded (or where files were placed by hand, under the
        names of :mod:`.sources` or :data:`~.layout.STANDARD_NAMES`).
    dest : path
        The data directory to write (created; files of an earlier assembly are replaced).
    buffer_km : float, default :data:`DEFAULT_BUFFER_KM`
        Margin around the study départements kept in the road extract.
    neighbours : bool or sequence of str, default True
        Keep the communes, services and roads of the neighbouring départements (all, none, or
        the listed ones).
    bpe_year : int
        Vintage of the BPE and gamme files to look for.
    catalogue : sequence of Source

    Returns
    -------
    DataDir
        The new directory, opened; its manifest has ``coverage`` and ``notes``.

    Raises
    ------
    InvalidParameterError
        Bad département code or buffer, or ``dest`` is ``from_dir``.
    InputFileError
        A required input (polygons, communes, OSM, BPE of the study area) is missing.
    DataFormatError, OSMFileError
        An input cannot be read.
    """
    t0 = time.perf_counter()
    study = check_departements(departements)
    deps = with_neighbours(study, neighbours)
    if not (float(buffer_km) >= 0):
        raise InvalidParameterError(f"buffer must be >= 0 km, got {buffer_km!r}")
    src = Path(from_dir)
    out = Path(dest)
    if not src.is_dir():
        raise InputFileError(f"{str(src)!r} does not exist or is not a directory (run `access data fetch` first)")
    if out.resolve() == src.resolve():
        raise InvalidParameterError("the data directory (dest) must differ from the download directory (from_dir)")
    out.mkdir(parents=True, exist_ok=True)
    b = _Build(from_dir=src, dest=out, study=study, deps=deps, year=int(bpe_year))
    timings = {}

    def timed(name, fn, *a):
        t = time.perf_counter()
        r = fn(*a)
        timings[name] = round(time.perf_counter() - t, 2)
        return r

    polygons = timed("polygons", _step_polygons, b)
    timed("communes", _step_communes, b)
    timed("code_changes", _step_code_changes, b)
    area = timed("osm", _step_osm, b, polygons, float(buffer_km))
    points = timed("bpe_points", _step_bpe_points, b)
    timed("bpe", _step_bpe, b, points)
    timed("gammes", _step_gammes, b)
    timed("france_services", _step_france_services, b)
    timed("population_grid", _step_population, b, area, polygons)
    timed("fragility_sources", _step_fragility_sources, b)
    names = " + ".join(f"{DEPARTEMENTS[d].name} ({d})" for d in study)
    write_manifest(
        out,
        files=b.files,
        departements=study,
        neighbours=[d for d in deps if d not in study],
        name=names,
        sources=_manifest_sources(b, catalogue),
        buffer_km=float(buffer_km),
        bpe_year=b.year,
        derived=b.derived,
        coverage=b.coverage,
        notes=b.notes,
        timings_s={**timings, "total": round(time.perf_counter() - t0, 2)},
    )
    log.info("data directory %s assembled in %.1f s", out, time.perf_counter() - t0)
    return open_data_dir(out)
