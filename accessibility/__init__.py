"""accessibility: car access times from French communes to everyday services.

The main objects::

    from accessibility import load_graph, snap_points, nearest_place
    g = load_graph()                       # embedded Alpes du Sud, cached
    s = snap_points(g, lon, lat)           # places onto the road graph
"""

from .errors import (
    AccessibilityError,
    DataFormatError,
    InputFileError,
    InvalidParameterError,
    NoCommuneError,
    NoDrivableRoadError,
    OSMFileError,
    SnapError,
)
from .graph import BuildReport, Graph, build_graph, graph_from_edges, load_graph
from .routing import (
    Route,
    Snapped,
    nearest_place,
    nearest_source,
    place_matrix,
    route,
    shortest_times,
    snap_points,
    time_matrix,
)

__version__ = "0.1.0"

__all__ = [
    "__version__",
    "AccessibilityError",
    "DataFormatError",
    "InputFileError",
    "InvalidParameterError",
    "NoCommuneError",
    "NoDrivableRoadError",
    "OSMFileError",
    "SnapError",
    "Graph",
    "BuildReport",
    "build_graph",
    "graph_from_edges",
    "load_graph",
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
