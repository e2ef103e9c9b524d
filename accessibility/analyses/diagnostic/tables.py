"""Steps 4 and 5 of the diagnostic: the qualification of the zones grises and the tables by
territory (EPCI, bassin de vie, density class), from the commune table of the diagnostic.

The commune table (:func:`commune_table`) has one row per analysed commune with every indicator;
each table here is a group-by of it, so its totals add up to the zone grise totals (a commune
whose class is unknown is counted in an ``inconnu`` row, never dropped).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from accessibility.analyses.diagnostic.data import TerritorialData
from accessibility.analyses.zones import AccessResult
from accessibility.inputs.territories import DENSITY_LABELS
from accessibility.settings import TIERS

__all__ = ["commune_table", "by_territory", "by_density", "deficient_services", "population_profile", "UNKNOWN"]

#: The class of a commune a territorial table does not list.
UNKNOWN = "inconnu"


def _join(base: pd.DataFrame, table: pd.DataFrame | None, cols: list[str]) -> pd.DataFrame:
    if table is None:
        return base.assign(**{c: None for c in cols})
    return base.merge(table[["code", *cols]], on="code", how="left")


def _ages(codes: pd.Series, grid: pd.DataFrame | None) -> pd.DataFrame:
    out = pd.DataFrame({"code": codes})
    if grid is None:
        return out.assign(grid_population=np.nan, aged_65=np.nan)
    s = grid.groupby("code")[["population", "aged_65"]].sum()
    s = s.reindex(codes)
    return out.assign(grid_population=s["population"].to_numpy(float), aged_65=s["aged_65"].to_numpy(float))


def commune_table(arm: pd.DataFrame, flags: pd.DataFrame, bassins: pd.DataFrame, result: AccessResult,
                  data: TerritorialData) -> pd.DataFrame:
    """One row per analysed commune: armature, zones grises, bassins, territories, population.

    Returns
    -------
    pandas.DataFrame
        ``code, nom, departement, population, lon, lat, placed, level …, minutes_<tier>,
        zone_grise_<tier>, zone_grise_tiers, zone_grise_list, bassin_<tier>, bassin_<tier>_nom,
        bassin_minutes_<tier>, epci, nom_epci, density, density_label, density_group, bv, nom_bv,
        canton, nom_canton, median_income_eur, poverty_rate_pct, active_1564, unemployed_1564,
        unemployment_pct, grid_population, aged_65, share_65_pct``. Territorial and population
        columns are empty when their table is missing.
    """
    c = result.communes[["code", "lon", "lat", "placed"]].merge(arm, on="code", how="left")
    c = c.merge(flags, on="code", how="left").merge(bassins, on="code", how="left")
    names = dict(zip(result.poles["code"], result.poles["nom"]))
    for t in TIERS:
        c[f"bassin_{t}_nom"] = c[f"bassin_{t}"].map(names).astype(object)
    c = _join(c, data.get("territory_epci"), ["epci", "nom_epci"])
    c = _join(c, data.get("territory_density"), ["density", "density_label", "density_group"])
    c = _join(c, data.get("territory_zonages"), ["bv", "nom_bv", "canton"])
    cant = data.get("territory_cantons")
    c["nom_canton"] = c["canton"].map(dict(zip(cant["canton"], cant["nom_canton"]))) if cant is not None else None
    c = _join(c, data.get("socio_filosofi"), ["median_income_eur", "poverty_rate_pct"])
    c = _join(c, data.get("socio_census"), ["active_1564", "unemployed_1564", "unemployment_pct"])
    c = c.merge(_ages(c["code"], data.get("grid_ages_1km")), on="code", how="left")
    with np.errstate(invalid="ignore", divide="ignore"):
        gp = c["grid_population"].astype(float)
        c["share_65_pct"] = np.where(gp > 0, np.round(100.0 * c["aged_65"].astype(float) / gp, 2), np.nan)
    first = ["code", "nom", "departement", "population", "placed", "lon", "lat"]
    return c[first + [k for k in c.columns if k not in first]]


def _pop(c: pd.DataFrame) -> np.ndarray:
    return c["population"].astype("Float64").fillna(0).to_numpy(float)


def _zg(c: pd.DataFrame, tier: str) -> np.ndarray:
    return c[f"zone_grise_{tier}"].fillna(False).to_numpy(bool)


def by_territory(c: pd.DataFrame, key: str, label: str | None = None) -> pd.DataFrame:
    """Per class of ``key`` (``epci``, ``bv``, ``density`` …): communes, inhabitants, and per tier
    the communes and inhabitants in zone grise, the mean and population-weighted mean time.

    Placed communes only (the unplaced have no time); a commune with no class is ``inconnu``.
    """
    p = c[c["placed"].astype(bool)].copy()
    p["_key"] = p[key].astype(object).where(p[key].notna(), UNKNOWN).astype(str)
    p["_label"] = p[label].astype(object).where(p[label].notna(), UNKNOWN).astype(str) if label else p["_key"]
    p["_pop"] = _pop(p)
    agg: dict = {"label": ("_label", "first"), "communes": ("code", "size"), "population": ("_pop", "sum")}
    for t in TIERS:
        p[f"_zg_{t}"] = _zg(p, t)
        p[f"_zgp_{t}"] = np.where(p[f"_zg_{t}"], p["_pop"], 0.0)
        p[f"_wt_{t}"] = p[f"minutes_{t}"] * p["_pop"]
        agg |= {f"communes_zone_grise_{t}": (f"_zg_{t}", "sum"), f"population_zone_grise_{t}": (f"_zgp_{t}", "sum"),
                f"mean_minutes_{t}": (f"minutes_{t}", "mean"), f"_wsum_{t}": (f"_wt_{t}", "sum")}
    g = p.groupby("_key", sort=True).agg(**agg).reset_index().rename(columns={"_key": key})
    for t in TIERS:
        with np.errstate(invalid="ignore", divide="ignore"):
            g[f"weighted_minutes_{t}"] = np.where(g["population"] > 0, g.pop(f"_wsum_{t}") / g["population"], np.nan)
        g[f"share_population_zone_grise_{t}"] = np.where(
            g["population"] > 0, 100.0 * g[f"population_zone_grise_{t}"] / g["population"].where(g["population"] > 0), np.nan)
        for col in (f"mean_minutes_{t}", f"weighted_minutes_{t}", f"share_population_zone_grise_{t}"):
            g[col] = g[col].astype(float).round(2)
    for col in [x for x in g.columns if x.startswith(("communes", "population"))]:
        g[col] = g[col].astype(np.int64)
    return g


def by_density(c: pd.DataFrame) -> pd.DataFrame:
    """Per tier, the zones grises by density level (7) and by group (urbain / intermédiaire / rural).

    Returns
    -------
    pandas.DataFrame
        ``tier, grouping`` (``niveau`` or ``groupe``), ``class, label, communes, population,
        communes_zone_grise, population_zone_grise, share_of_zone_grise_population`` (percent of
        the tier's zone grise inhabitants), ``share_population_zone_grise`` (percent of the
        class's inhabitants).
    """
    p = c[c["placed"].astype(bool)].copy()
    p["_pop"] = _pop(p)
    lvl = p["density"].astype(object)
    p["_niveau"] = [str(int(v)) if v is not None and v == v else UNKNOWN for v in lvl]
    p["_groupe"] = p["density_group"].astype(object).where(p["density_group"].notna(), UNKNOWN).astype(str)
    labels = {str(k): v for k, v in DENSITY_LABELS.items()}
    frames = []
    for t in TIERS:
        zg = _zg(p, t)
        tot = float(p.loc[zg, "_pop"].sum())
        for grouping, col in (("niveau", "_niveau"), ("groupe", "_groupe")):
            g = p.assign(_z=zg, _zp=np.where(zg, p["_pop"], 0.0)).groupby(col, sort=True).agg(
                communes=("code", "size"), population=("_pop", "sum"), communes_zone_grise=("_z", "sum"),
                population_zone_grise=("_zp", "sum")).reset_index().rename(columns={col: "class"})
            g.insert(0, "grouping", grouping)
            g.insert(0, "tier", t)
            g.insert(3, "label", g["class"].map(labels).fillna(g["class"]) if grouping == "niveau" else g["class"])
            with np.errstate(invalid="ignore", divide="ignore"):
                g["share_of_zone_grise_population"] = (100.0 * g["population_zone_grise"] / tot).round(2) if tot else np.nan
                g["share_population_zone_grise"] = (100.0 * g["population_zone_grise"]
                                                    / g["population"].where(g["population"] > 0)).round(2)
            frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    for col in ("communes", "population", "communes_zone_grise", "population_zone_grise"):
        out[col] = out[col].astype(np.int64)
    return out


def deficient_services(c: pd.DataFrame, result: AccessResult, thresholds_min: dict) -> pd.DataFrame:
    """The *services déficitaires*: per tier and equipment of its gamme, the communes (and
    inhabitants) beyond the tier's threshold from it, all and in the tier's zone grise.

    Returns
    -------
    pandas.DataFrame
        ``tier, equipment, label, threshold_min, measured`` (False: no commune of the extract has
        it, counts empty), ``communes_beyond, population_beyond, communes_zone_grise_beyond,
        population_zone_grise_beyond, share_zone_grise_population_beyond`` (percent of the
        tier's zone grise inhabitants), sorted by tier then inhabitants of the zone grise beyond.
    """
    p = c[c["placed"].astype(bool)][["code", "population", *[f"zone_grise_{t}" for t in TIERS]]].copy()
    p["_pop"] = _pop(p)
    et = result.equipment_times.merge(p, on="code", how="inner")
    frames = []
    for t in TIERS:
        thr = float(thresholds_min[t])
        e = et[et["tier"] == t].copy()
        e["_beyond"] = e["minutes"].astype(float) > thr
        e["_zg"] = e[f"zone_grise_{t}"].fillna(False).astype(bool)
        e["_bz"] = e["_beyond"] & e["_zg"]
        e["_pb"], e["_pbz"] = np.where(e["_beyond"], e["_pop"], 0.0), np.where(e["_bz"], e["_pop"], 0.0)
        e["_measured"] = e["minutes"].notna()
        g = e.groupby(["equipment", "label"], sort=True).agg(
            measured=("_measured", "any"), communes_beyond=("_beyond", "sum"), population_beyond=("_pb", "sum"),
            communes_zone_grise_beyond=("_bz", "sum"), population_zone_grise_beyond=("_pbz", "sum")).reset_index()
        zg_pop = float(p.loc[p[f"zone_grise_{t}"].fillna(False).astype(bool), "_pop"].sum())
        g["share_zone_grise_population_beyond"] = (100.0 * g["population_zone_grise_beyond"] / zg_pop).round(2) if zg_pop else np.nan
        g.insert(0, "threshold_min", thr)
        g.insert(0, "tier", t)
        frames.append(g.sort_values(["population_zone_grise_beyond", "equipment"], ascending=[False, True]))
    out = pd.concat(frames, ignore_index=True)
    cnt = ["communes_beyond", "population_beyond", "communes_zone_grise_beyond", "population_zone_grise_beyond"]
    for col in cnt:
        out[col] = out[col].astype("Int64")
        out.loc[~out["measured"], col] = pd.NA
    out.loc[~out["measured"], "share_zone_grise_population_beyond"] = np.nan
    return out[["tier", "equipment", "label", "threshold_min", "measured", *cnt, "share_zone_grise_population_beyond"]]


def _profile(g: pd.DataFrame) -> dict:
    pop = _pop(g)
    inc = g["median_income_eur"].astype(float).to_numpy()
    pov = g["poverty_rate_pct"].astype(float).to_numpy()
    okm, okp = np.isfinite(inc) & (pop > 0), np.isfinite(pov) & (pop > 0)
    act, une = g["active_1564"].astype(float).to_numpy(), g["unemployed_1564"].astype(float).to_numpy()
    oku = np.isfinite(act) & np.isfinite(une)
    gp, old = g["grid_population"].astype(float).to_numpy(), g["aged_65"].astype(float).to_numpy()
    okg = np.isfinite(gp) & np.isfinite(old)
    return {
        "communes": len(g), "population": int(pop.sum()),
        "share_65_pct": round(100 * old[okg].sum() / gp[okg].sum(), 2) if gp[okg].sum() > 0 else np.nan,
        "median_income_eur": round(float(np.average(inc[okm], weights=pop[okm])), 0) if okm.any() else np.nan,
        "communes_income_known": int(okm.sum()),
        "poverty_rate_pct": round(float(np.average(pov[okp], weights=pop[okp])), 2) if okp.any() else np.nan,
        "communes_poverty_known": int(okp.sum()),
        "unemployment_pct": round(100 * une[oku].sum() / act[oku].sum(), 2) if act[oku].sum() > 0 else np.nan,
    }


def population_profile(c: pd.DataFrame) -> pd.DataFrame:
    """Who lives in the zones grises of each tier, beside each département and the whole area.

    ``share_65_pct``: inhabitants aged 65 or more / inhabitants of the grid cells whose centre
    is in the communes; ``median_income_eur``: the communes' Filosofi medians weighted by their
    population (not the median of the pooled incomes); ``poverty_rate_pct`` likewise over the
    communes where INSEE publishes it; ``unemployment_pct``: unemployed / active aged 15-64
    (census). Empty (NaN) when the table is missing or no commune has the figure.

    Returns
    -------
    pandas.DataFrame
        ``tier, area`` (``zone grise``, ``département XX``, ``ensemble``) and the figures above.
    """
    p = c[c["placed"].astype(bool)]
    rows = []
    for t in TIERS:
        rows.append({"tier": t, "area": "zone grise", **_profile(p[_zg(p, t)])})
        for d, g in p.groupby("departement", sort=True):
            rows.append({"tier": t, "area": f"département {d}", **_profile(g)})
        rows.append({"tier": t, "area": "ensemble", **_profile(p)})
    return pd.DataFrame(rows)
