"""BPE equipments, INSEE gammes and pôles.

Three inputs, any vintage:

- **BPE counts per commune** (``DEPCOM``, ``TYPEQU``, ``NB_EQUIP``), the INSEE "ensemble"
  files, csv or csv.gz, ``,`` or ``;`` separated, column names in any case;
- **geolocated BPE** (one row per equipment: ``DEPCOM``, ``TYPEQU`` and ``LAMBERT_X``/``LAMBERT_Y``
  in Lambert-93, EPSG:2154, or ``LONGITUDE``/``LATITUDE`` in WGS84). Times stay **centre to
  centre**, as INSEE's Metric and INRAE's Odomatrix measure them: each equipment counts for its
  commune (``DEPCOM``) and is placed at the commune's centre; its own coordinates are read and
  kept (:func:`load_bpe_points`) but not used for the times;
- **the gamme table** (``code_equipement``, ``regroupement_1..3``, ``gamme`` …): an equipment of
  a gamme groups one or more BPE types (AR03, post offices = A206 + A207 + A208).

Commune codes of older vintages go through :func:`accessibility.inputs.communes.map_commune_codes`.
Changes of the BPE nomenclature between vintages are handled in one place,
:data:`NOMENCLATURE_CHANGES`. Equipments of a gamme that a vintage does not have at all are
reported (a warning, and :attr:`EquipmentPresence.absent`) and left out of that gamme.
"""

from __future__ import annotations

import hashlib
import logging
import os
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility._io import check_file, line_of, read_table, require_keys, require_numbers
from accessibility.errors import DataFormatError, InvalidParameterError
from accessibility.inputs.communes import map_commune_codes, normalize_codes, require_commune_codes
from accessibility.settings import POLE_SHARE, TIERS, embedded_data_dir

__all__ = [
    "NOMENCLATURE_CHANGES",
    "default_bpe_path",
    "default_gammes_path",
    "load_gammes",
    "load_bpe",
    "load_bpe_counts",
    "load_bpe_points",
    "harmonize_nomenclature",
    "EquipmentPresence",
    "equipment_presence",
    "pole_mask",
]

log = logging.getLogger(__name__)

#: Known changes of BPE type codes between vintages: ``(old, new, note)``. The gammes are
#: written in the newer nomenclature; a BPE file that has ``old`` and not ``new`` is read as if
#: its ``old`` rows were ``new``. This is the one place to add a change.
#:
#: F307, F311, F312 and F315 (2021 gammes) have no 2018 equivalent: they are reported as
#: absent from a 2018 file, not mapped.
NOMENCLATURE_CHANGES: tuple[tuple[str, str, str], ...] = (
    ("D301", "D307", "pharmacie: D301 up to BPE 2020, D307 from BPE 2021"),
)

#: Column names (lower case) accepted for each field of the BPE files.
_BPE_COUNT_COLUMNS = {"code": ("DEPCOM",), "typequ": ("TYPEQU",), "nb_equip": ("NB_EQUIP",)}
_LAMBERT = ("LAMBERT_X", "LAMBERT_Y")
_LONLAT = (("LONGITUDE", "LON"), ("LATITUDE", "LAT"))


def default_bpe_path() -> Path:
    """The embedded BPE 2018 counts per commune (all of France, COG 2018 codes)."""
    return embedded_data_dir() / "bpe" / "bpe-2018-communes.csv.gz"


def default_gammes_path() -> Path:
    """The embedded INSEE 2021 gamme table."""
    return embedded_data_dir() / "bpe" / "bpe-gammes-2021.csv"


def _tier_name(text: str) -> str:
    """``'proximité'`` / ``'Gamme de proximité'`` -> ``'proximite'``."""
    t = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode().lower().strip()
    for tier in TIERS:
        if tier in t:
            return tier
    return t


def load_gammes(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Read the INSEE gamme table.

    Parameters
    ----------
    path : str or path-like, optional
        CSV with ``code_equipement``, ``regroupement_1`` (and optionally ``regroupement_2``,
        ``regroupement_3``), ``gamme`` (proximité / intermédiaire / supérieure, accents and case
        free) and optionally a label column (``libellé équipement``). The embedded 2021 table
        when omitted.

    Returns
    -------
    pandas.DataFrame
        One row per equipment: ``equipment`` (str), ``tier`` (one of
        :data:`~accessibility.settings.TIERS`), ``label`` (str), ``typequ`` (tuple of BPE types).

    Raises
    ------
    InputFileError
        The file does not exist.
    DataFormatError
        The file is not a readable CSV or has no row, a required column is missing, an
        equipment code is empty or appears twice, or a gamme is not one of the three (the
        message names the file and line).
    """
    what = "gamme table"
    p = check_file(path if path is not None else default_gammes_path(), what)
    wanted = {
        "equipment": ("code_equipement",),
        "r1": ("regroupement_1",),
        "r2": ("regroupement_2",),
        "r3": ("regroupement_3",),
        "tier": ("gamme",),
        "label": ("libellé équipement", "libelle equipement", "libelle_equipement", "libellé"),
    }
    df = read_table(p, wanted, what, optional=("r2", "r3", "label"))
    require_keys(df, ("equipment", "tier"), p, what, unique=False)
    df["equipment"] = df["equipment"].astype(str).str.upper()
    raw_tier = df["tier"].copy()
    df["tier"] = df["tier"].map(_tier_name)
    bad = ~df["tier"].isin(TIERS).to_numpy()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"{what} {str(p)!r}, line {line_of(i)}: equipment {df['equipment'].iloc[i]} has gamme "
            f"{raw_tier.iloc[i]!r}; expected one of proximité, intermédiaire, supérieure"
        )
    require_keys(df, ("equipment",), p, what)
    regs = [c for c in ("r1", "r2", "r3") if c in df]
    typequ = [
        tuple(dict.fromkeys(str(v).strip().upper() for v in row if isinstance(v, str) and v.strip()))
        for row in df[regs].itertuples(index=False)
    ]
    df["typequ"] = [t if t else (e,) for t, e in zip(typequ, df["equipment"])]
    if "label" not in df:
        df["label"] = ""
    df["label"] = df["label"].fillna("").astype(object)
    order = {t: i for i, t in enumerate(TIERS)}
    df = df.sort_values("tier", key=lambda s: s.map(order), kind="stable")
    out = df[["equipment", "tier", "label", "typequ"]].reset_index(drop=True)
    out.attrs["source"] = {"path": str(p.resolve())}
    return out


def harmonize_nomenclature(bpe: pd.DataFrame) -> pd.DataFrame:
    """Apply :data:`NOMENCLATURE_CHANGES` to a BPE table (columns ``typequ`` …).

    A type ``old`` is renamed ``new`` only when the table has no ``new`` row (it is then an
    older vintage). Returns a new table; logs each change applied.
    """
    types = set(bpe["typequ"].unique())
    out = bpe
    for old, new, note in NOMENCLATURE_CHANGES:
        if old in types and new not in types:
            out = out.assign(typequ=out["typequ"].where(out["typequ"] != old, new))
            log.info("BPE nomenclature: %s read as %s (%s)", old, new, note)
    return out


def _upper(s: pd.Series) -> np.ndarray:
    """Upper-case text, once per distinct value."""
    inv, uniq = pd.factorize(s.to_numpy(dtype=object), use_na_sentinel=False)
    return np.array([str(u).upper() for u in uniq], dtype=object)[inv]


def _finish_counts(df: pd.DataFrame, changes: Mapping[str, str] | None) -> pd.DataFrame:
    """Current codes, harmonised types, counts summed per (code, type), sorted by code and type."""
    df = pd.DataFrame({"code": map_commune_codes(df["code"].to_numpy(object), changes),
                       "typequ": _upper(df["typequ"]), "nb_equip": df["nb_equip"].to_numpy(np.float64)})
    df = harmonize_nomenclature(df)
    ci, cu = pd.factorize(df["code"].to_numpy(object), sort=True)
    ti, tu = pd.factorize(df["typequ"].to_numpy(object), sort=True)
    key = ci.astype(np.int64) * len(tu) + ti
    ukey, inv = np.unique(key, return_inverse=True)
    nb = np.bincount(inv, weights=df["nb_equip"].to_numpy(np.float64), minlength=len(ukey))
    out = pd.DataFrame({
        "code": np.asarray(cu, dtype=object)[ukey // len(tu)],
        "typequ": np.asarray(tu, dtype=object)[ukey % len(tu)],
        "nb_equip": nb,
    })
    return out.astype({"code": object, "typequ": object})


def load_bpe_counts(
    path: str | os.PathLike | None = None, *, code_changes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Read a BPE file of counts per commune and type (``DEPCOM``, ``TYPEQU``, ``NB_EQUIP``).

    Parameters
    ----------
    path : str or path-like, optional
        csv or csv.gz, ``,`` or ``;`` separated (a decimal comma in ``NB_EQUIP`` is accepted);
        the embedded BPE 2018 when omitted.
    code_changes : Mapping[str, str], optional
        ``old_code -> code`` to bring older commune codes to the current COG; the embedded table
        when omitted.

    Returns
    -------
    pandas.DataFrame
        ``code`` (current COG), ``typequ`` (after :data:`NOMENCLATURE_CHANGES`), ``nb_equip``
        (float), summed over rows that map to the same commune and type.

    Raises
    ------
    InputFileError
        The file does not exist.
    DataFormatError
        Not a readable CSV or no data row, ``DEPCOM``, ``TYPEQU`` or ``NB_EQUIP`` is missing, a
        code or type is empty, ``NB_EQUIP`` is not a finite number >= 0, or a commune and type
        appear twice (the message names the file, line and column).
    """
    from accessibility._io import cached_frame, sha256_file

    what = "BPE file"
    p = check_file(path if path is not None else default_bpe_path(), what)
    if code_changes is None:
        from accessibility.inputs.communes import default_code_changes_path, load_code_changes

        code_changes = load_code_changes(default_code_changes_path())

    def build() -> pd.DataFrame:
        df = read_table(p, _BPE_COUNT_COLUMNS, what)
        require_keys(df, ("code", "typequ"), p, what)
        require_commune_codes(normalize_codes(df["code"].to_numpy(object)), p, what, "DEPCOM")
        df["nb_equip"] = require_numbers(df, "nb_equip", p, what, minimum=0, decimal_comma=True, label="NB_EQUIP")
        return _finish_counts(df, code_changes)

    changes_key = hashlib.sha256(repr(sorted(code_changes.items())).encode()).hexdigest()
    nomenclature = repr(NOMENCLATURE_CHANGES)
    out = cached_frame("bpe-counts", [sha256_file(p), changes_key, nomenclature, "v2"], build)
    out.attrs["source"] = {"path": str(p.resolve())}
    return out


def load_bpe_points(
    path: str | os.PathLike, *, code_changes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Read a geolocated BPE file (one row per equipment).

    Parameters
    ----------
    path : str or path-like
        csv or csv.gz with ``DEPCOM``, ``TYPEQU`` and either ``LAMBERT_X``, ``LAMBERT_Y``
        (Lambert-93, EPSG:2154, metropolitan France) or ``LONGITUDE``/``LATITUDE`` (WGS84).
    code_changes : Mapping[str, str], optional
        As for :func:`load_bpe_counts`.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``typequ``, ``lon``, ``lat`` (WGS84; NaN when the row has no coordinates or
        when Lambert coordinates are given for an overseas commune, whose BPE coordinates are in
        a local projection). For the times an equipment counts for its commune ``code`` and sits
        at the commune's centre (see the module docstring).

    Raises
    ------
    InputFileError
        The file does not exist.
    DataFormatError
        ``DEPCOM`` or ``TYPEQU`` is missing, or no coordinate pair is present.
    """
    what = "BPE file"
    p = check_file(path, what)
    lam = {"code": ("DEPCOM",), "typequ": ("TYPEQU",), "x": ("LAMBERT_X",), "y": ("LAMBERT_Y",)}
    wgs = {"code": ("DEPCOM",), "typequ": ("TYPEQU",), "x": _LONLAT[0], "y": _LONLAT[1]}
    try:
        df, crs = read_table(p, lam, what), "EPSG:2154"
    except DataFormatError as exc:
        if "lacks the column" not in str(exc):
            raise
        try:
            df, crs = read_table(p, wgs, what), "EPSG:4326"
        except DataFormatError as exc2:
            if "lacks the column" not in str(exc2):
                raise
            raise DataFormatError(
                f"{what} {str(p)!r} has neither NB_EQUIP (counts per commune) nor coordinates "
                f"(LAMBERT_X/LAMBERT_Y or LONGITUDE/LATITUDE) with DEPCOM and TYPEQU"
            ) from None
    require_keys(df, ("code", "typequ"), p, what, unique=False)
    require_commune_codes(normalize_codes(df["code"].to_numpy(object)), p, what, "DEPCOM")
    x = require_numbers(df, "x", p, what, allow_missing=True, decimal_comma=True)
    y = require_numbers(df, "y", p, what, allow_missing=True, decimal_comma=True)
    codes = map_commune_codes(df["code"].to_numpy(object), code_changes)
    if crs == "EPSG:2154":
        from pyproj import Transformer

        overseas = pd.Series(codes).str[:2].isin(["97", "98"]).to_numpy()
        x = np.where(overseas, np.nan, x)
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    else:
        lon, lat = x, y
        bad = (np.abs(lon) > 180) | (np.abs(lat) > 90)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DataFormatError(f"{what} {str(p)!r}, line {line_of(i)}: lon={lon[i]}, lat={lat[i]} are not WGS84 degrees")
    out = pd.DataFrame({"code": codes, "typequ": _upper(df["typequ"]), "lon": lon, "lat": lat})
    out = harmonize_nomenclature(out).reset_index(drop=True)
    out.attrs["source"] = {"path": str(p.resolve())}
    return out


def load_bpe(
    path: str | os.PathLike | None = None, *, code_changes: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """Counts per commune and type from either BPE format (detected from the columns).

    A file with ``NB_EQUIP`` is read with :func:`load_bpe_counts`; a geolocated file with
    :func:`load_bpe_points` and counted per commune and type.

    Returns
    -------
    pandas.DataFrame
        ``code``, ``typequ``, ``nb_equip``.

    Raises
    ------
    InputFileError, DataFormatError
        As the two readers; a file with neither ``NB_EQUIP`` nor coordinates lists what it needs.
    """
    from accessibility._io import header_line, sniff_separator

    p = check_file(path if path is not None else default_bpe_path(), "BPE file")
    first = header_line(p, "BPE file")
    header = {h.strip().strip('"').lower() for h in first.split(sniff_separator(first))}
    if "nb_equip" in header or not ({"lambert_x", "longitude", "lon"} & header):
        return load_bpe_counts(p, code_changes=code_changes)
    pts = load_bpe_points(p, code_changes=code_changes)
    log.info("geolocated BPE %s: %d equipments, counted per commune (centre-to-centre times)", p, len(pts))
    counts = pts.groupby(["code", "typequ"], as_index=False, sort=True).size()
    out = counts.rename(columns={"size": "nb_equip"}).astype({"nb_equip": float})
    out.attrs["source"] = {"path": str(p.resolve())}
    return out


@dataclass(frozen=True)
class EquipmentPresence:
    """Which commune has which equipment of the gammes.

    Attributes
    ----------
    codes : np.ndarray of str, shape (n,)
        Commune codes (rows of ``present``).
    equipment, tier, label : np.ndarray of str, shape (m,)
        The gamme equipments found in the BPE vintage (columns of ``present``), by tier.
    present : np.ndarray of bool, shape (n, m)
        Commune ``i`` has equipment ``j``: ``NB_EQUIP > 0`` for one of its BPE types.
    absent : pandas.DataFrame
        Equipments of the gammes that the BPE vintage does not have at all (``equipment``,
        ``tier``, ``label``, ``typequ``): left out of their gamme, never counted as missing
        everywhere.
    """

    codes: np.ndarray
    equipment: np.ndarray
    tier: np.ndarray
    label: np.ndarray
    present: np.ndarray
    absent: pd.DataFrame = field(repr=False)
    typequ: np.ndarray | None = field(default=None, repr=False)

    def of_tier(self, tier: str) -> np.ndarray:
        """Column positions of the equipments of ``tier``."""
        return np.flatnonzero(self.tier == tier)

    def types_of(self, j: int) -> tuple[str, ...]:
        """The BPE types grouped into equipment column ``j``."""
        return tuple(self.typequ[j]) if self.typequ is not None else (str(self.equipment[j]),)


def equipment_presence(
    bpe: pd.DataFrame, gammes: pd.DataFrame, codes: Sequence[str], *, tiers: Sequence[str] = TIERS
) -> EquipmentPresence:
    """Presence matrix of the gamme equipments in the communes ``codes``.

    Parameters
    ----------
    bpe : pandas.DataFrame
        ``code``, ``typequ``, ``nb_equip`` (:func:`load_bpe`), the whole file: an equipment is
        *absent from the vintage* when none of its types appears in it anywhere.
    gammes : pandas.DataFrame
        :func:`load_gammes`.
    codes : sequence of str
        Communes (rows of the result).
    tiers : sequence of str, default all three
        Gammes to keep.

    Returns
    -------
    EquipmentPresence

    Raises
    ------
    InvalidParameterError
        An unknown tier.
    DataFormatError
        ``bpe`` or ``gammes`` lacks a column.
    """
    bad = [t for t in tiers if t not in TIERS]
    if bad:
        raise InvalidParameterError(f"unknown tier {bad[0]!r}; valid tiers are {', '.join(TIERS)}")
    for name, df, cols in (("bpe", bpe, ("code", "typequ", "nb_equip")), ("gammes", gammes, ("equipment", "tier", "typequ"))):
        miss = [c for c in cols if c not in df]
        if miss:
            raise DataFormatError(f"{name} table lacks column(s) {', '.join(miss)}")
    g = gammes[gammes["tier"].isin(list(tiers))]
    types_in_vintage = set(bpe["typequ"].unique())
    has = g["typequ"].map(lambda ts: any(t in types_in_vintage for t in ts)).to_numpy(bool)
    absent = g[~has].reset_index(drop=True)
    for row in absent.itertuples():
        log.warning(
            "equipment %s (%s, %s) is absent from this BPE vintage (types %s): left out of the gamme",
            row.equipment, row.label or "?", row.tier, "+".join(row.typequ),
        )
    g = g[has].reset_index(drop=True)
    codes = np.asarray(normalize_codes(np.asarray(codes, dtype=object)), dtype=object)
    row_of = pd.Index(codes)
    if row_of.has_duplicates:
        raise InvalidParameterError("commune codes must be unique")
    # type -> equipment columns
    t_rows, t_cols = [], []
    for j, ts in enumerate(g["typequ"]):
        for t in ts:
            t_rows.append(t)
            t_cols.append(j)
    tmap = pd.DataFrame({"typequ": np.asarray(t_rows, dtype=object), "col": np.asarray(t_cols, dtype=np.int64)})
    b = bpe[(bpe["nb_equip"] > 0)]
    b = b[b["code"].isin(row_of)].merge(tmap, on="typequ")
    present = np.zeros((len(codes), len(g)), dtype=bool)
    present[row_of.get_indexer(b["code"]), b["col"].to_numpy()] = True
    return EquipmentPresence(
        codes=codes,
        equipment=g["equipment"].to_numpy(dtype=object),
        tier=g["tier"].to_numpy(dtype=object),
        label=g["label"].to_numpy(dtype=object),
        present=present,
        absent=absent,
        typequ=g["typequ"].to_numpy(dtype=object),
    )


def pole_mask(present: np.ndarray, *, share: float = POLE_SHARE) -> np.ndarray:
    """Pôles of a gamme: communes having at least ``share`` of its equipments.

    Parameters
    ----------
    present : np.ndarray of bool, shape (n, m)
        Presence of the ``m`` equipments of one gamme in ``n`` communes.
    share : float, default :data:`~accessibility.settings.POLE_SHARE`
        In ``(0, 1]``.

    Returns
    -------
    np.ndarray of bool, shape (n,)

    Raises
    ------
    InvalidParameterError
        ``share`` outside ``(0, 1]``.

    Examples
    --------
    >>> pole_mask(np.array([[1, 1, 0, 0], [1, 0, 0, 0]], bool), share=0.5).tolist()
    [True, False]
    """
    if not (0.0 < share <= 1.0):
        raise InvalidParameterError(f"pole share must be in (0, 1], got {share!r}")
    present = np.asarray(present, dtype=bool)
    m = present.shape[1]
    if m == 0:
        return np.zeros(present.shape[0], dtype=bool)
    need = share * m - 1e-9
    return present.sum(axis=1) >= need
