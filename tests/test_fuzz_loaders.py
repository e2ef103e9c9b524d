"""Fuzzing the commune, BPE and gamme loaders (hypothesis): random corruption of cells, rows,
bytes and encodings gives either a correct table or an AccessibilityError naming the file — never
another exception."""

from __future__ import annotations

import gzip
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accessibility.errors import AccessibilityError
from accessibility.inputs.communes import COMMUNE_CODE_PATTERN, load_communes
from accessibility.inputs.services import load_bpe, load_gammes
from accessibility.settings import TIERS

COMMUNES = [
    ["code", "nom", "departement", "population", "lon", "lat"],
    ["04070", "Digne-les-Bains", "04", "16000", "6.2356", "44.0925"],
    ["05061", "Gap", "05", "41000", "6.0790", "44.5596"],
    ["04001", "Aiglun", "04", "1399", "6.1400", "44.0600"],
    ["2A004", "Ajaccio", "2A", "71000", "8.7369", "41.9267"],
]
BPE = [
    ["DEPCOM", "TYPEQU", "NB_EQUIP"],
    ["04070", "A101", "2"],
    ["04070", "D201", "14"],
    ["05061", "D201", "30"],
    ["04001", "B201", "1"],
]
GAMMES = [
    ["code_equipement", "regroupement_1", "regroupement_2", "gamme", "libellé équipement"],
    ["A101", "A101", "", "proximité", "Police"],
    ["D201", "D201", "", "proximité", "Médecin"],
    ["AR03", "A206", "A207", "intermédiaire", "Poste"],
    ["B201", "B201", "", "supérieure", "Hypermarché"],
]

NASTY = st.sampled_from(["", " ", "nan", "NaN", "inf", "-inf", "-1", "1e400", "0", "abc", "é", '"', ";", ",",
                         "\t", "1,5", "NULL", "None", "99999", "2A", "0.0", "-0", "  04070  ", "\u00a0"])
CELL = st.one_of(NASTY, st.text(max_size=12), st.integers(-10**6, 10**6).map(str),
                 st.floats(allow_nan=True, allow_infinity=True).map(repr))


@st.composite
def corrupted(draw, rows):
    rows = [list(r) for r in rows]
    for _ in range(draw(st.integers(0, 4))):
        op = draw(st.sampled_from(["cell", "cell", "cell", "delete", "duplicate", "append", "swap-columns"]))
        if op == "cell":
            i = draw(st.integers(0, len(rows) - 1))
            j = draw(st.integers(0, len(rows[i]) - 1)) if rows[i] else 0
            if rows[i]:
                rows[i][j] = draw(CELL)
        elif op == "delete" and len(rows) > 1:
            del rows[draw(st.integers(0, len(rows) - 1))]
        elif op == "duplicate":
            rows.append(list(rows[draw(st.integers(0, len(rows) - 1))]))
        elif op == "append":
            rows.append([draw(CELL) for _ in range(draw(st.integers(0, 8)))])
        elif op == "swap-columns" and rows and len(rows[0]) > 1:
            a, b = draw(st.integers(0, len(rows[0]) - 1)), draw(st.integers(0, len(rows[0]) - 1))
            for r in rows:
                if len(r) > max(a, b):
                    r[a], r[b] = r[b], r[a]
    sep = draw(st.sampled_from([",", ";"]))
    text = "\n".join(sep.join(r) for r in rows) + draw(st.sampled_from(["\n", "", "\r\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "latin-1", "utf-16"]))
    data = text.encode(encoding, errors="replace")
    if draw(st.booleans()):
        data = data[: draw(st.integers(0, len(data)))]
    if draw(st.booleans()):
        data = gzip.compress(data, mtime=0)
        if draw(st.booleans()):
            data = data[: draw(st.integers(0, len(data)))]
    if draw(st.integers(0, 9)) == 0 and data:
        k = draw(st.integers(0, len(data) - 1))
        data = data[:k] + bytes([data[k] ^ draw(st.integers(1, 255))]) + data[k + 1:]
    return data


def _check(loader, data: bytes, invariants) -> None:
    with tempfile.TemporaryDirectory() as d:
        old = os.environ.get("ACCESSIBILITY_CACHE_DIR")
        os.environ["ACCESSIBILITY_CACHE_DIR"] = str(Path(d) / "cache")
        try:
            p = Path(d) / ("table.csv.gz" if data[:2] == b"\x1f\x8b" else "table.csv")
            p.write_bytes(data)
            try:
                df = loader(p)
            except AccessibilityError as exc:
                assert p.name in str(exc), str(exc)
                assert "\n" not in str(exc)
                return
            invariants(df)
        finally:
            if old is None:
                os.environ.pop("ACCESSIBILITY_CACHE_DIR", None)
            else:
                os.environ["ACCESSIBILITY_CACHE_DIR"] = old


def _communes_ok(df: pd.DataFrame) -> None:
    assert df["code"].is_unique and df["code"].str.fullmatch(COMMUNE_CODE_PATTERN).all()
    pop = df["population"]
    assert str(pop.dtype) == "Int64" and (pop.dropna() >= 0).all()
    lon, lat = df["lon"].to_numpy(float), df["lat"].to_numpy(float)
    assert (np.isnan(lon) == np.isnan(lat)).all()
    ok = ~np.isnan(lon)
    assert (np.abs(lon[ok]) <= 180).all() and (np.abs(lat[ok]) <= 90).all()
    assert df["departement"].map(lambda x: isinstance(x, str) and x != "").all()


def _bpe_ok(df: pd.DataFrame) -> None:
    assert np.isfinite(df["nb_equip"]).all() and (df["nb_equip"] >= 0).all()
    assert df["code"].str.fullmatch(COMMUNE_CODE_PATTERN).all()
    assert df["typequ"].map(lambda x: isinstance(x, str) and x != "" and x == x.upper()).all()
    assert not df.duplicated(["code", "typequ"]).any()


def _gammes_ok(df: pd.DataFrame) -> None:
    assert df["tier"].isin(TIERS).all() and df["equipment"].is_unique
    assert df["typequ"].map(lambda t: isinstance(t, tuple) and len(t) > 0).all()


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=corrupted(COMMUNES))
def test_commune_loader_fuzz(data):
    _check(load_communes, data, _communes_ok)


@FUZZ
@given(data=corrupted(BPE))
def test_bpe_loader_fuzz(data):
    _check(lambda p: load_bpe(p, code_changes={}), data, _bpe_ok)


@FUZZ
@given(data=corrupted(GAMMES))
def test_gamme_loader_fuzz(data):
    _check(load_gammes, data, _gammes_ok)
