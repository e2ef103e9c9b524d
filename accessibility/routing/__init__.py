"""Routing on the car graph: numba kernels, node-level searches, snapping, place-level searches."""

from accessibility.routing.dijkstra import nearest_source, shortest_times, time_matrix
from accessibility.routing.matrix import node_matrix_s, travel_matrix_s
from accessibility.routing.points import Route, nearest_place, place_matrix, route
from accessibility.routing.snap import Snapped, snap_points

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
    "travel_matrix_s",
    "node_matrix_s",
]
