"""Where people and equipments really are: two refinements of the centre-to-centre times.

By default, and as the SDAASP diagnostics and INRAE's Odomatrix define them, times are **centre
to centre**: from a commune's chef-lieu to the chef-lieu of the nearest commune having the
equipment. Two options move one end of the trip to where things are:

- **equipments at their own location** (``--equipments at-location``, needs the geolocated BPE):
  each equipment is a place of its own, at its coordinates, and a commune's time is to the
  nearest equipment itself — right when a commune's shops or doctors are far from its chef-lieu
  (a ski resort's shops 1,000 m above the village, a pharmacy in a hamlet by the main road).
  Rows without coordinates fall back to their commune's centre and are counted;
- **origins where people live** (``--origins population``, needs INSEE's 200 m population grid):
  a commune's time is the population-weighted mean over its inhabited cells of each cell's
  time — right for communes of scattered hamlets, whose chef-lieu is not where most people live.
  A commune with no inhabited cell placed on the network keeps its chef-lieu's time, flagged.

Both only change *which places* the routing starts from or goes to; the searches, the gammes,
the means and the zones grises are those of :mod:`accessibility.analyses.zones`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from accessibility.engine.places import PlaceOptions, Places
from accessibility.errors import DataFormatError, InvalidParameterError
from accessibility.network.graph import Graph

__all__ = [
    "EQUIPMENT_MODES",
    "ORIGIN_MODES",
    "EquipmentPoints",
    "place_equipment_points",
    "PopulationCells",
    "place_population_cells",
    "weighted_by_cells",
]

log = logging.getLogger(__name__)

#: Where equipments are placed.
EQUIPMENT_MODES: tuple[str, ...] = ("centre", "at-location")
#: Where a commune's trips start.
ORIGIN_MODES: tuple[str, ...] = ("centre", "population")


@dataclass(frozen=True)
class EquipmentPoints:
    """Equipments of the geolocated BPE as places of their own.

    Attributes
    ----------
    places : Places
        One place per equipment (id ``bpe-<row>``), attribute ``code`` (its commune).
    types : np.ndarray of str
        BPE type of each place.
    fallback : int
        Equipments without coordinates, placed at their commune's centre.
    """

    places: Places
    types: np.ndarray
    fallback: int

    def presence(self, equipment_types) -> np.ndarray:
        """``(n_places, m)`` mask: place ``p`` is one of the types of equipment ``j``."""
        return np.column_stack([np.isin(self.types, list(ts)) for ts in equipment_types]) if len(equipment_types) else \
            np.zeros((len(self.types), 0), dtype=bool)


def place_equipment_points(graph: Graph, points: pd.DataFrame, communes: pd.DataFrame, *,
                           types=None, max_distance_m: float) -> EquipmentPoints:
    """Put each equipment of a geolocated BPE (:func:`accessibility.inputs.services.load_bpe_points`)
    on the graph at its coordinates; those without fall back to their commune's centre.

    Parameters
    ----------
    points : pandas.DataFrame
        ``code, typequ, lon, lat``.
    communes : pandas.DataFrame
        The commune table (centres for the fallback).
    types : collection of str, optional
        Keep only these BPE types (the gammes').
    """
    miss = [c for c in ("code", "typequ", "lon", "lat") if c not in points]
    if miss:
        raise DataFormatError(f"geolocated BPE table lacks column(s) {', '.join(miss)}")
    p = points if types is None else points[points["typequ"].isin(set(types))]
    p = p.reset_index(drop=True)
    lon, lat = p["lon"].to_numpy(float), p["lat"].to_numpy(float)
    missing = ~(np.isfinite(lon) & np.isfinite(lat))
    if missing.any():
        centre = communes.set_index("code")[["lon", "lat"]].reindex(p.loc[missing, "code"])
        lon[missing], lat[missing] = centre["lon"].to_numpy(float), centre["lat"].to_numpy(float)
        log.warning("%d equipments of the geolocated BPE have no coordinates: placed at their commune's centre",
                    int(missing.sum()))
    places = Places.from_arrays(
        graph, [f"bpe-{i}" for i in range(len(p))], lon, lat, names=p["typequ"].to_numpy(object),
        attrs={"code": p["code"].to_numpy(object), "typequ": p["typequ"].to_numpy(object)}, options=PlaceOptions(kind="equipment", max_distance_m=max_distance_m),
    )
    return EquipmentPoints(places=places, types=p["typequ"].to_numpy(object), fallback=int(missing.sum()))


@dataclass(frozen=True)
class PopulationCells:
    """Inhabited squares of the population grid, as places, with their commune.

    Attributes
    ----------
    places : Places
        One place per cell (id: the cell id), ``population`` its inhabitants, attribute ``code``.
    """

    places: Places


def place_population_cells(graph: Graph, grid: pd.DataFrame, codes, *, max_distance_m: float) -> PopulationCells:
    """Put the inhabited cells of the communes ``codes`` on the graph.

    Parameters
    ----------
    grid : pandas.DataFrame
        ``idcar_200m, lon, lat, population, code``
        (:func:`accessibility.inputs.datasets.readers.load_population_grid`).
    """
    miss = [c for c in ("idcar_200m", "lon", "lat", "population", "code") if c not in grid]
    if miss:
        raise DataFormatError(f"population grid lacks column(s) {', '.join(miss)}")
    g = grid[grid["code"].isin(set(codes)) & (grid["population"] > 0)].reset_index(drop=True)
    places = Places.from_arrays(
        graph, g["idcar_200m"].astype(str).to_numpy(object), g["lon"].to_numpy(float), g["lat"].to_numpy(float),
        population=g["population"].to_numpy(float), attrs={"code": g["code"].to_numpy(object)}, options=PlaceOptions(kind="cell", max_distance_m=max_distance_m),
    )
    return PopulationCells(places=places)


def weighted_by_cells(cells: Places, commune_ids, time_s: np.ndarray, nearest_code: np.ndarray):
    """Commune times as the population-weighted mean of their cells' times.

    Parameters
    ----------
    cells : Places
        Cells with ``population`` and attribute ``code``.
    commune_ids : array of str
        The communes (rows of the result).
    time_s : np.ndarray, shape (len(cells), m)
        Seconds per cell and column (``inf``: unreachable).
    nearest_code : np.ndarray of object, shape (len(cells), m)
        Nearest server per cell and column.

    Returns
    -------
    time_s : np.ndarray, shape (len(communes), m)
        Weighted mean over the commune's placed cells that reach the service; NaN where the
        commune has no such cell (the caller keeps its chef-lieu's time then).
    nearest : np.ndarray of object
        The nearest server of the commune's most populous cell.
    cells_used : np.ndarray of int
        Cells counted per commune.
    """
    if time_s.shape[0] != len(cells):
        raise InvalidParameterError("time_s must have one row per cell")
    rows = pd.Index(np.asarray(commune_ids, dtype=object)).get_indexer(cells.attrs["code"])
    n, m = len(commune_ids), time_s.shape[1]
    ok_cell = cells.placed & (rows >= 0)
    w = np.where(ok_cell, np.nan_to_num(cells.population, nan=0.0), 0.0)
    fin = np.isfinite(time_s) & ok_cell[:, None]
    num = np.zeros((n, m))
    den = np.zeros((n, m))
    r = np.where(rows >= 0, rows, 0)
    np.add.at(num, r, np.where(fin, time_s, 0.0) * w[:, None])
    np.add.at(den, r, np.where(fin, w[:, None], 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(den > 0, num / den, np.nan)
    nearest = np.full((n, m), None, dtype=object)
    order = np.lexsort((-w, r))  # per commune, the most populous cell first
    first = np.ones(len(order), dtype=bool)
    first[1:] = r[order][1:] != r[order][:-1]
    top = order[first & ok_cell[order]]
    nearest[r[top]] = nearest_code[top]
    used = np.bincount(r[ok_cell], minlength=n)
    return out, nearest, used
