"""Routing on the car graph: numba kernels, node-level searches, snapping, place-level searches."""

from .dijkstra import nearest_source, shortest_times, time_matrix
from .points import Route, nearest_place, place_matrix, route
from .snap import Snapped, snap_points

__all__ = [
    "shortest_times",
    "nearest_source",
    "time_matrix",
    "Snapped",
    "snap_points",
    "nearest_place",
    "place_matrix",
    "Route",
    "route",
]
