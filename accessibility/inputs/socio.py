"""Who lives there: Filosofi income, census population and unemployment, the population aged 65
and over on a census grid (``access diagnostic``).

Readers of the shared data's ``socio/`` and ``population/`` tables (see ``data/README.md``).
Values INSEE does not publish (statistical secrecy) stay NaN, never 0. Errors are one line
naming the file, the line and the column.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from accessibility._io import read_table, require_keys, require_numbers
from accessibility.inputs.communes import map_commune_codes, normalize_codes, require_commune_codes

__all__ = ["load_filosofi", "load_census", "load_age_grid"]


def load_filosofi(path: str | os.PathLike, *, code_changes: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Read Filosofi per commune (``socio/filosofi-2016-communes``).

    Parameters
    ----------
    path : str or path-like
        Columns ``CODGEO``, ``MED16`` (median disposable income per consumption unit, euros),
        optionally ``TP6016`` (poverty rate at 60 %, percent) and ``NBPERSMENFISC16`` (persons
        in fiscal households). Empty cells (secrecy) are NaN.
    code_changes : mapping, optional
        ``old_code -> code`` (:func:`accessibility.inputs.communes.load_code_changes`): the file's
        codes (COG 2019) are brought to the current COG; communes merged since then keep the
        first value met (the rows are not averaged: the figure is then the old commune's).

    Returns
    -------
    pandas.DataFrame
        ``code, median_income_eur, poverty_rate_pct, persons_fiscal``.

    Raises
    ------
    InputFileError, DataFormatError
    """
    what = "Filosofi table"
    df = read_table(path, {"code": ("CODGEO",), "median": ("MED16", "MED19", "MED21", "median_income"),
                           "poverty": ("TP6016", "TP6019", "TP6021"), "persons": ("NBPERSMENFISC16", "NBPERSMENFISC19")},
                    what, optional=("poverty", "persons"))
    require_keys(df, ("code",), path, what)
    df["code"] = normalize_codes(df["code"])
    require_commune_codes(df["code"].to_numpy(object), path, what)
    out = pd.DataFrame({"code": map_commune_codes(df["code"].to_numpy(object), code_changes)})
    out["median_income_eur"] = require_numbers(df, "median", path, what, minimum=0, allow_missing=True)
    for c, name in (("poverty", "poverty_rate_pct"), ("persons", "persons_fiscal")):
        out[name] = (require_numbers(df, c, path, what, minimum=0, allow_missing=True) if c in df
                     else np.full(len(df), np.nan))
    return out.drop_duplicates("code", keep="first").reset_index(drop=True)


def load_census(path: str | os.PathLike) -> pd.DataFrame:
    """Read the census figures per commune (``socio/insee-rp2021-communes-population-chomage``).

    Parameters
    ----------
    path : str or path-like
        Columns ``insee_com``, ``population_2021``, ``pop_15_64_active_2021``,
        ``pop_15_64_chomage_2021`` (active and unemployed aged 15-64); ``menages_2021`` optional.

    Returns
    -------
    pandas.DataFrame
        ``code, population_census, active_1564, unemployed_1564, households``;
        ``unemployment_pct`` = 100 × unemployed / active (NaN when no active person).

    Raises
    ------
    InputFileError, DataFormatError
    """
    what = "census table"
    df = read_table(path, {"code": ("insee_com", "CODGEO"), "pop": ("population_2021", "P21_POP"),
                           "active": ("pop_15_64_active_2021", "P21_ACT1564"),
                           "unemployed": ("pop_15_64_chomage_2021", "P21_CHOM1564"),
                           "households": ("menages_2021", "P21_MEN")}, what, optional=("households",))
    require_keys(df, ("code",), path, what)
    df["code"] = normalize_codes(df["code"])
    require_commune_codes(df["code"].to_numpy(object), path, what)
    out = pd.DataFrame({"code": df["code"].to_numpy(object)})
    for c, name in (("pop", "population_census"), ("active", "active_1564"), ("unemployed", "unemployed_1564"),
                    ("households", "households")):
        out[name] = (require_numbers(df, c, path, what, minimum=0, allow_missing=True) if c in df
                     else np.full(len(df), np.nan))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["unemployment_pct"] = np.where(out["active_1564"] > 0, 100.0 * out["unemployed_1564"] / out["active_1564"],
                                           np.nan)
    return out


def load_age_grid(path: str | os.PathLike) -> pd.DataFrame:
    """Read a census grid with the population aged 65 and over (Eurostat's 2021 1 km grid).

    Parameters
    ----------
    path : str or path-like
        Columns ``GRD_ID``, ``T`` (population), ``Y_GE65`` (aged 65 and over) and
        ``commune_centre_cell`` (the commune of the cell's centre).

    Returns
    -------
    pandas.DataFrame
        ``cell, code, population, aged_65`` (cells without a commune dropped).

    Raises
    ------
    InputFileError, DataFormatError
    """
    what = "census grid"
    df = read_table(path, {"cell": ("GRD_ID",), "pop": ("T",), "old": ("Y_GE65",), "code": ("commune_centre_cell",)}, what)
    require_keys(df, ("cell",), path, what)
    df = df[df["code"].notna()].reset_index(drop=True)
    out = pd.DataFrame({"cell": df["cell"].to_numpy(object), "code": normalize_codes(df["code"])})
    out["population"] = require_numbers(df, "pop", path, what, minimum=0, label="T")
    out["aged_65"] = require_numbers(df, "old", path, what, minimum=0, label="Y_GE65")
    return out
