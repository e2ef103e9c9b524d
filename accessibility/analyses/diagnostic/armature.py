"""Step 1 of the diagnostic: the armature of services (each commune's level and diversity)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from accessibility.analyses.zones import AccessResult
from accessibility.settings import TIERS

__all__ = ["LEVEL_LABELS", "armature", "pole_levels"]

#: Level of a commune in the armature: 0 none, then the highest gamme of which it is a pôle.
LEVEL_LABELS: dict[int, str] = {0: "non pôle", 1: "pôle de proximité", 2: "pôle intermédiaire", 3: "pôle supérieur"}


def pole_levels(poles: pd.DataFrame) -> pd.DataFrame:
    """The pôles of the whole extract with their level (highest gamme of which each is a pôle).

    Parameters
    ----------
    poles : pandas.DataFrame
        :attr:`AccessResult.poles` (``code, nom, departement, tier, lon, lat, equipments, share``).

    Returns
    -------
    pandas.DataFrame
        One row per pôle: ``code, nom, departement, lon, lat, level`` (1..3), ``level_label``,
        sorted by code.
    """
    rank = {t: i + 1 for i, t in enumerate(TIERS)}
    p = poles.assign(level=poles["tier"].map(rank).astype(np.int64))
    p = p.sort_values(["code", "level"]).groupby("code", sort=True).last().reset_index()
    p["level_label"] = p["level"].map(LEVEL_LABELS)
    return p[["code", "nom", "departement", "lon", "lat", "level", "level_label"]]


def armature(result: AccessResult) -> pd.DataFrame:
    """Each analysed commune's level in the armature, and the diversity behind it.

    A commune has an equipment when the engine's nearest place having it is the commune itself
    (:attr:`AccessResult.equipment_times`, centre to centre); it is a pôle of a gamme as in
    ``access compute`` (at least the pôle share of the gamme's equipments of the BPE vintage).

    Parameters
    ----------
    result : AccessResult

    Returns
    -------
    pandas.DataFrame
        ``code, nom, departement, population, level, level_label``, and per tier
        ``equipments_<tier>`` (equipments of the gamme present), ``share_<tier>`` (of the
        gamme's equipments in the BPE vintage) and ``pole_<tier>`` (bool).
    """
    c = result.communes[["code", "nom", "departement", "population"]].copy()
    et = result.equipment_times
    has = et["nearest"].astype("string").fillna("").to_numpy(dtype=object) == et["code"].astype(str).to_numpy(dtype=object)
    counts = et.assign(has=has).groupby(["code", "tier"])["has"].sum().unstack("tier")
    n_eq = et.groupby("tier")["equipment"].nunique()
    level = np.zeros(len(c), dtype=np.int64)
    poles = result.poles
    for i, t in enumerate(TIERS):
        n = counts.reindex(c["code"])[t].fillna(0).to_numpy(np.int64) if t in counts else np.zeros(len(c), np.int64)
        c[f"equipments_{t}"] = n
        c[f"share_{t}"] = np.round(n / n_eq.get(t, np.nan), 3) if n_eq.get(t, 0) else np.nan
        is_pole = c["code"].isin(set(poles.loc[poles["tier"] == t, "code"])).to_numpy()
        c[f"pole_{t}"] = is_pole
        level = np.where(is_pole, i + 1, level)
    c.insert(4, "level", level)
    c.insert(5, "level_label", [LEVEL_LABELS[int(v)] for v in level])
    return c.reset_index(drop=True)
