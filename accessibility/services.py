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

Commune codes of older vintages go through :func:`accessibility.communes.map_commune_codes`.
Changes of the BPE nomenclature between vintages are handled in one place,
:data:`NOMENCLATURE_CHANGES`. Equipments of a gamme that a vintage does not have at all are
reported (a warning, and :attr:`EquipmentPresence.absent`) and left out of that gamme.
"""

from __future__ import annotations

import logging
import os
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import pandas as pd

from .communes import _check_file, map_commune_codes, normalize_codes, read_table, sniff_separator
from .errors import DataFormatError, InvalidParameterError
from .settings import POLE_SHARE, TIERS, embedded_data_dir

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
        A required column is missing, a gamme is not one of the three, or an equipment appears
        twice.
    """
    p = _check_file(path if path is not None else default_gammes_path(), "gamme table")
    wanted = {
        "equipment": ("code_equipement",),
        "r1": ("regroupement_1",),
        "r2": ("regroupement_2",),
        "r3": ("regroupement_3",),
        "tier": ("gamme",),
        "label": ("libellé équipement", "libelle equipement", "libelle_equipement", "libellé"),
    }
    df = read_table(p, wanted, "gamme table", str_cols=tuple(wanted), optional=("r2", "r3", "label"))
    df = df.dropna(subset=["equipment"])
    df["equipment"] = df["equipment"].str.strip().str.upper()
    df["tier"] = df["tier"].map(_tier_name)
    bad = ~df["tier"].isin(TIERS)
    if bad.any():
        raise DataFormatError(
            f"gamme table {str(p)!r}: equipment {df['equipment'][bad].iloc[0]} has gamme "
            f"{df['tier'][bad].iloc[0]!r}; expected one of proximité, intermédiaire, supérieure"
        )
    if df["equipment"].duplicated().any():
        raise DataFormatError(
            f"gamme table {str(p)!r}: equipment {df['equipment'][df['equipment'].duplicated()].iloc[0]} "
            "appears more than once"
        )
    regs = [c for c in ("r1", "r2", "r3") if c in df]
    df["typequ"] = [
        tuple(dict.fromkeys(str(v).strip().upper() for v in row if isinstance(v, str) and v.strip()))
        for row in df[regs].itertuples(index=False)
    ]
    empty = df["typequ"].map(len) == 0
    df.loc[empty, "typequ"] = df.loc[empty, "equipment"].map(lambda e: (e,))
    if "label" not in df:
        df["label"] = ""
    df["label"] = df["label"].fillna("")
    order = {t: i for i, t in enumerate(TIERS)}
    df = df.sort_values("tier", key=lambda s: s.map(order), kind="stable")
    return df[["equipment", "tier", "label", "typequ"]].reset_index(drop=True)


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


def _finish_counts(df: pd.DataFrame, changes: Mapping[str, str] | None) -> pd.DataFrame:
    df = df.dropna(subset=["code", "typequ"])
    df = df.assign(
        code=map_commune_codes(df["code"], changes),
        typequ=df["typequ"].astype(str).str.strip().str.upper(),
    )
    df = harmonize_nomenclature(df)
    return df.groupby(["code", "typequ"], as_index=False, sort=True)["nb_equip"].sum()


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
        ``DEPCOM``, ``TYPEQU`` or ``NB_EQUIP`` is missing, or ``NB_EQUIP`` is not a number.
    """
    p = _check_file(path if path is not None else default_bpe_path(), "BPE file")
    df = read_table(p, _BPE_COUNT_COLUMNS, "BPE file", str_cols=("code", "typequ", "nb_equip"))
    nb = pd.to_numeric(df["nb_equip"].str.replace(",", ".", regex=False).str.strip(), errors="coerce")
    bad = nb.isna() & df["nb_equip"].notna()
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataFormatError(
            f"BPE file {str(p)!r}: NB_EQUIP {df['nb_equip'].iloc[i]!r} (row {i + 2}) is not a number"
        )
    df["nb_equip"] = nb.fillna(0.0)
    return _finish_counts(df, code_changes)


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
    p = _check_file(path, "BPE file")
    sep = sniff_separator(p)
    header = list(pd.read_csv(p, sep=sep, nrows=0).columns)
    lower = {str(h).lower() for h in header}
    if all(c.lower() in lower for c in _LAMBERT):
        wanted = {**{k: v for k, v in _BPE_COUNT_COLUMNS.items() if k != "nb_equip"}, "x": ("LAMBERT_X",), "y": ("LAMBERT_Y",)}
        crs = "EPSG:2154"
    else:
        wanted = {**{k: v for k, v in _BPE_COUNT_COLUMNS.items() if k != "nb_equip"}, "x": _LONLAT[0], "y": _LONLAT[1]}
        crs = "EPSG:4326"
        if not any(a.lower() in lower for a in _LONLAT[0]):
            raise DataFormatError(
                f"BPE file {str(p)!r} has neither NB_EQUIP (counts per commune) nor coordinates "
                f"(LAMBERT_X/LAMBERT_Y or LONGITUDE/LATITUDE); its columns are {', '.join(map(str, header))}"
            )
    df = read_table(p, wanted, "BPE file", str_cols=("code", "typequ", "x", "y"))
    x = pd.to_numeric(df["x"].str.replace(",", ".", regex=False), errors="coerce").to_numpy(float)
    y = pd.to_numeric(df["y"].str.replace(",", ".", regex=False), errors="coerce").to_numpy(float)
    codes = map_commune_codes(df["code"].fillna("").to_numpy(), code_changes)
    if crs == "EPSG:2154":
        from pyproj import Transformer

        overseas = pd.Series(codes).str[:2].isin(["97", "98"]).to_numpy()
        x = np.where(overseas, np.nan, x)
        lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(x, y)
    else:
        lon, lat = x, y
    out = pd.DataFrame(
        {"code": codes, "typequ": df["typequ"].astype(str).str.strip().str.upper(), "lon": lon, "lat": lat}
    )
    out = out[df["code"].notna().to_numpy() & df["typequ"].notna().to_numpy()]
    return harmonize_nomenclature(out).reset_index(drop=True)


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
    p = _check_file(path if path is not None else default_bpe_path(), "BPE file")
    sep = sniff_separator(p)
    try:
        header = [str(h).lower() for h in pd.read_csv(p, sep=sep, nrows=0).columns]
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"BPE file {str(p)!r} is not a readable CSV file: {exc}") from exc
    if "nb_equip" in header or not ({"lambert_x", "longitude", "lon"} & set(header)):
        return load_bpe_counts(p, code_changes=code_changes)
    pts = load_bpe_points(p, code_changes=code_changes)
    log.info("geolocated BPE %s: %d equipments, counted per commune (centre-to-centre times)", p, len(pts))
    counts = pts.groupby(["code", "typequ"], as_index=False, sort=True).size()
    return counts.rename(columns={"size": "nb_equip"}).astype({"nb_equip": float})


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

    def of_tier(self, tier: str) -> np.ndarray:
        """Column positions of the equipments of ``tier``."""
        return np.flatnonzero(self.tier == tier)


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
    codes = np.asarray(normalize_codes(list(codes)), dtype=object)
    row_of = pd.Index(codes)
    if row_of.has_duplicates:
        raise InvalidParameterError("commune codes must be unique")
    # type -> equipment columns
    t_rows, t_cols = [], []
    for j, ts in enumerate(g["typequ"]):
        for t in ts:
            t_rows.append(t)
            t_cols.append(j)
    tmap = pd.DataFrame({"typequ": t_rows, "col": t_cols})
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
