"""Step 2 of the diagnostic: the bassins de services (each commune to its nearest pôle).

For each level (proximité, intermédiaire, supérieur), every placed commune analysed is assigned
to the nearest pôle *of that level or above* by car time (centre to centre, the engine's
place-to-place matrix :func:`accessibility.engine.places.matrix`); ties go to the pôle of the
smallest commune code. A commune that reaches no pôle has none (empty), and is counted apart.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from accessibility.engine.places import Places
from accessibility.engine.places import matrix as place_matrix
from accessibility.network.graph import Graph
from accessibility.settings import TIERS

__all__ = ["nearest_target", "assign_bassins", "bassin_table"]


def nearest_target(time_s: np.ndarray, target_codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row, the column of the smallest time, ties broken by the smallest target code.

    Parameters
    ----------
    time_s : np.ndarray of float, shape (n, k)
        Seconds; ``inf`` when unreachable.
    target_codes : np.ndarray of str, shape (k,)

    Returns
    -------
    col : np.ndarray of int64, shape (n,)
        Column of the nearest target, -1 when every time is ``inf`` (or ``k == 0``).
    time_s : np.ndarray of float64, shape (n,)
        Its time (``inf`` where ``col`` is -1).

    Examples
    --------
    >>> nearest_target(np.array([[5.0, 5.0], [np.inf, np.inf]]), np.array(["b", "a"]))
    (array([ 1, -1]), array([ 5., inf]))
    """
    t = np.asarray(time_s, dtype=np.float64)
    n, k = t.shape
    if k == 0:
        return np.full(n, -1, dtype=np.int64), np.full(n, np.inf)
    order = np.argsort(np.asarray(target_codes, dtype=str), kind="stable")
    sub = t[:, order]
    j = np.argmin(sub, axis=1)  # the first minimum: the smallest code among equal times
    best = sub[np.arange(n), j]
    col = np.where(np.isfinite(best), order[j], -1).astype(np.int64)
    return col, best


def assign_bassins(graph: Graph, places: Places, origin_codes, pole_levels: pd.DataFrame) -> pd.DataFrame:
    """Assign every origin to its nearest pôle of each level or above.

    Parameters
    ----------
    graph : Graph
    places : Places
        Every commune placed on ``graph`` (origins and pôles are looked up in it by code).
    origin_codes : sequence of str
        The communes analysed (those not placed get no pôle).
    pole_levels : pandas.DataFrame
        :func:`accessibility.analyses.diagnostic.armature.pole_levels`.

    Returns
    -------
    pandas.DataFrame
        ``code`` and, per tier, ``bassin_<tier>`` (code of the pôle, NA when none) and
        ``bassin_minutes_<tier>`` (NaN when none).
    """
    codes = np.asarray(origin_codes, dtype=object)
    orig = places.take(places.row_of(codes))
    out = pd.DataFrame({"code": codes})
    pole_rows = places.row_of(pole_levels["code"].to_numpy(object), missing="ignore")
    ok = pole_rows >= 0
    pl = pole_levels[ok].reset_index(drop=True)
    targets = places.take(pole_rows[ok])
    t_all = place_matrix(graph, orig, targets) if len(pl) else np.full((len(codes), 0), np.inf)
    for i, tier in enumerate(TIERS):
        cand = np.flatnonzero(pl["level"].to_numpy() >= i + 1)
        col, best = nearest_target(t_all[:, cand], pl["code"].to_numpy(object)[cand])
        code = np.full(len(codes), None, dtype=object)
        code[col >= 0] = pl["code"].to_numpy(object)[cand[col[col >= 0]]]
        out[f"bassin_{tier}"] = pd.array(code, dtype="string")
        out[f"bassin_minutes_{tier}"] = np.where(np.isfinite(best), np.round(best / 60.0, 2), np.nan)
    return out


def bassin_table(assign: pd.DataFrame, communes: pd.DataFrame, zone_grise: pd.DataFrame,
                 pole_levels: pd.DataFrame) -> pd.DataFrame:
    """Per level and pôle, its bassin: communes, inhabitants, median and maximum time, zone grise.

    Parameters
    ----------
    assign : pandas.DataFrame
        :func:`assign_bassins`.
    communes : pandas.DataFrame
        ``code, population`` of the communes analysed.
    zone_grise : pandas.DataFrame
        ``code`` and ``zone_grise_<tier>`` (bool) per tier.
    pole_levels : pandas.DataFrame

    Returns
    -------
    pandas.DataFrame
        ``tier, pole, nom, departement, level, communes, population, median_minutes,
        max_minutes, communes_zone_grise, population_zone_grise, zone_grise_communes`` (the
        codes, ``;``-separated), sorted by tier then pôle code.
    """
    base = assign.merge(communes[["code", "population"]], on="code", how="left").merge(zone_grise, on="code", how="left")
    base["pop"] = base["population"].astype("Float64").fillna(0).astype(float)
    frames = []
    for tier in TIERS:
        b = base[base[f"bassin_{tier}"].notna()]
        zg = b[f"zone_grise_{tier}"].fillna(False).astype(bool)
        g = b.assign(zg=zg, zg_pop=np.where(zg, b["pop"], 0.0),
                     zg_code=np.where(zg, b["code"], None)).groupby(f"bassin_{tier}", sort=True)
        t = g.agg(communes=("code", "size"), population=("pop", "sum"),
                  median_minutes=(f"bassin_minutes_{tier}", "median"), max_minutes=(f"bassin_minutes_{tier}", "max"),
                  communes_zone_grise=("zg", "sum"), population_zone_grise=("zg_pop", "sum"),
                  zone_grise_communes=("zg_code", lambda s: ";".join(sorted(x for x in s if isinstance(x, str)))))
        t = t.reset_index().rename(columns={f"bassin_{tier}": "pole"})
        t.insert(0, "tier", tier)
        frames.append(t)
    out = pd.concat(frames, ignore_index=True)
    out = out.merge(pole_levels[["code", "nom", "departement", "level"]].rename(columns={"code": "pole"}), on="pole", how="left")
    for c in ("communes", "population", "communes_zone_grise", "population_zone_grise"):
        out[c] = out[c].astype(np.int64)
    out["median_minutes"] = out["median_minutes"].round(2)
    cols = ["tier", "pole", "nom", "departement", "level", "communes", "population", "median_minutes", "max_minutes",
            "communes_zone_grise", "population_zone_grise", "zone_grise_communes"]
    return out[cols]
