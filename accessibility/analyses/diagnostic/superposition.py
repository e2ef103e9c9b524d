"""Step 3 of the diagnostic: zones grises of the three tiers superposed, and the sectors.

A commune is *in zone grise* for 0 to 3 tiers. The *espaces à enjeux* are the sectors: the
connected groups of communes in zone grise for at least one tier whose polygons touch (share a
border or a point, :func:`touching_pairs`). A commune without a polygon is a sector of its own.
Each sector is named by its most populated commune (ties: the smallest code); sectors of fewer
than ``min_size`` communes are listed but not *retained* (they are the isolated communes of the
report, not an espace à enjeux).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from accessibility.analyses.zones import AccessResult
from accessibility.errors import InvalidParameterError
from accessibility.settings import TIER_LABELS, TIERS

__all__ = ["zone_grise_flags", "touching_pairs", "components", "sectors"]


def zone_grise_flags(result: AccessResult, method: str) -> pd.DataFrame:
    """Per analysed commune: ``zone_grise_<tier>`` (bool, NA when not placed), ``minutes_<tier>``,
    ``zone_grise_tiers`` (0-3, NA when not placed) and ``zone_grise_list`` (``;``-separated tiers).
    """
    c = result.communes[["code", "placed"]].copy()
    a = result.access[result.access["method"] == method]
    for t in TIERS:
        g = a[a["tier"] == t].set_index("code").reindex(c["code"])
        c[f"minutes_{t}"] = g["minutes"].to_numpy(float)
        c[f"zone_grise_{t}"] = pd.array(g["zone_grise"].to_numpy(object), dtype="boolean")
    flags = np.column_stack([c[f"zone_grise_{t}"].fillna(False).to_numpy(bool) for t in TIERS])
    n = pd.array(flags.sum(axis=1), dtype="Int64")
    n[~c["placed"].to_numpy(bool)] = pd.NA
    c["zone_grise_tiers"] = n
    c["zone_grise_list"] = [";".join(t for t, f in zip(TIERS, row) if f) for row in flags]
    return c.drop(columns="placed")


def touching_pairs(polygons, codes) -> np.ndarray:
    """Pairs of ``codes`` whose polygons touch or overlap (rows ``(i, j)``, ``i < j``).

    Parameters
    ----------
    polygons : geopandas.GeoDataFrame
        ``code`` and polygons (any CRS); codes without a polygon have no neighbour.
    codes : sequence of str

    Returns
    -------
    np.ndarray of int64, shape (p, 2)
        Positions in ``codes``.
    """
    import shapely

    codes = np.asarray(codes, dtype=object)
    if polygons is None or len(polygons) == 0 or len(codes) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    geom = polygons.drop_duplicates("code").set_index("code").geometry.reindex(codes)
    has = np.flatnonzero(geom.notna().to_numpy())
    g = shapely.make_valid(np.asarray(geom.iloc[has].to_numpy(), dtype=object))
    tree = shapely.STRtree(g)
    a, b = tree.query(g, predicate="intersects")
    keep = a < b
    pairs = np.column_stack([has[a[keep]], has[b[keep]]]).astype(np.int64)
    return np.unique(pairs, axis=0) if len(pairs) else pairs.reshape(0, 2)


def components(n: int, pairs: np.ndarray) -> np.ndarray:
    """Connected component label (0..k-1) of each of ``n`` nodes linked by ``pairs``."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    if n == 0:
        return np.zeros(0, dtype=np.int64)
    m = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(n, n)) if len(pairs) else coo_matrix((n, n))
    _, lab = connected_components(m, directed=False)
    return lab.astype(np.int64)


def _label(values) -> str:
    return "; ".join(sorted({str(v) for v in values if v is not None and v == v and str(v)}))


def sectors(communes: pd.DataFrame, polygons, *, min_size: int = 2) -> tuple[pd.DataFrame, pd.Series]:
    """The sectors of touching zone-grise communes.

    Parameters
    ----------
    communes : pandas.DataFrame
        One row per analysed commune: ``code, nom, population, zone_grise_tiers,
        zone_grise_list``, and optionally ``nom_epci`` and ``bassin_<tier>_nom``.
    polygons : geopandas.GeoDataFrame or None
        Commune polygons (``code``); without them every commune is a sector of its own.
    min_size : int, default 2
        Sectors of fewer communes are not retained.

    Returns
    -------
    sectors : pandas.DataFrame
        ``sector`` (S01 … by population, descending), ``name``, ``retained``, ``communes``,
        ``population``, ``tiers`` (``;``-separated), ``max_tiers``, ``departements``, ``epci``,
        ``bassins_<tier>``, ``codes``, ``noms``.
    sector_of : pandas.Series
        Sector of each commune in zone grise (index ``code``).

    Raises
    ------
    InvalidParameterError
        ``min_size`` is not an integer >= 1.
    """
    if isinstance(min_size, bool) or not isinstance(min_size, (int, np.integer)) or min_size < 1:
        raise InvalidParameterError(f"minimum sector size must be an integer >= 1 (communes), got {min_size!r}")
    zg = communes[communes["zone_grise_tiers"].fillna(0).astype(int) > 0].reset_index(drop=True)
    lab = components(len(zg), touching_pairs(polygons, zg["code"].to_numpy(object)))
    zg = zg.assign(_c=lab, _pop=zg["population"].astype("Float64").fillna(0).astype(float))
    rows = []
    for _, g in zg.groupby("_c", sort=False):
        g = g.sort_values(["_pop", "code"], ascending=[False, True])
        tiers = {t for s in g["zone_grise_list"] for t in str(s).split(";") if t}
        row = {"name": f"secteur de {g['nom'].iloc[0]}", "largest": g["code"].iloc[0], "communes": len(g),
               "population": int(g["_pop"].sum()), "tiers": ";".join(t for t in TIERS if t in tiers),
               "tiers_labels": ", ".join(TIER_LABELS[t] for t in TIERS if t in tiers),
               "max_tiers": int(g["zone_grise_tiers"].max()), "departements": _label(g["departement"]),
               "epci": _label(g["nom_epci"]) if "nom_epci" in g else "",
               "codes": ";".join(sorted(g["code"])), "noms": ", ".join(sorted(g["nom"])), "_members": list(g["code"])}
        for t in TIERS:
            col = f"bassin_{t}_nom"
            row[f"bassins_{t}"] = _label(g[col]) if col in g else ""
        rows.append(row)
    cols = ["sector", "name", "retained", "largest", "communes", "population", "tiers", "tiers_labels", "max_tiers",
            "departements", "epci", *[f"bassins_{t}" for t in TIERS], "codes", "noms"]
    if not rows:
        return pd.DataFrame(columns=cols), pd.Series(dtype=object, name="sector")
    s = pd.DataFrame(rows).sort_values(["population", "largest"], ascending=[False, True]).reset_index(drop=True)
    s["sector"] = [f"S{i + 1:02d}" for i in range(len(s))]
    s["retained"] = s["communes"] >= min_size
    sector_of = pd.Series({c: sid for sid, members in zip(s["sector"], s["_members"]) for c in members}, name="sector")
    return s[cols], sector_of
