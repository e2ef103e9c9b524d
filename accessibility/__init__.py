"""accessibility: car access times from French communes to everyday services.

The main objects::

    from accessibility import load_graph, snap_points, nearest_place, compute_access
    g = load_graph()                       # embedded Alpes du Sud, cached
    s = snap_points(g, lon, lat)           # places onto the road graph

Matrices come at two levels whose names say which: the core (numpy arrays in seconds and metres,
``travel_matrix_s``, ``node_matrix_s``, ``matrix_s``, ``nearest_s``) and the user level
(labelled DataFrames in minutes and km: ``travel_time_matrix``, ``matrix_frame``).

Names are imported on first use (PEP 562), so ``import accessibility`` and ``access --help``
load neither numba nor pandas.
"""

from __future__ import annotations

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "AccessibilityError": "errors",
    "DataFormatError": "errors",
    "InputFileError": "errors",
    "InvalidParameterError": "errors",
    "NoCommuneError": "errors",
    "NoDrivableRoadError": "errors",
    "OSMFileError": "errors",
    "SnapError": "errors",
    "Graph": "network.graph",
    "BuildReport": "network.graph",
    "build_graph": "network.graph",
    "graph_from_edges": "network.graph",
    "load_graph": "network.graph",
    "EdgeOptions": "network.graph",
    "ContractionHierarchy": "network.hierarchy",
    "shortest_times": "routing",
    "nearest_source": "routing",
    "time_matrix": "routing",
    "Snapped": "routing",
    "snap_points": "routing",
    "nearest_place": "routing",
    "place_matrix": "routing",
    # matrices, core level: numpy arrays in seconds (and metres)
    "travel_matrix_s": "routing.matrix",
    "node_matrix_s": "routing.matrix",
    "choose_strategy": "routing.matrix",
    "Route": "routing",
    "route": "routing",
    "AccessResult": "analyses.zones",
    "compute_access": "analyses.zones",
    "Places": "engine.places",
    "PlaceOptions": "engine.places",
    "nearest_s": "engine.places",
    "matrix_s": "engine.places",
    # matrices, user level: labelled DataFrames in minutes and km
    "travel_time_matrix": "engine.places",
    "Run": "outputs.manifest",
    "SitingModel": "analyses.siting",
    "write_matrix": "analyses.distancier",
    "matrix_frame": "analyses.distancier",
    "matrix_arrays": "analyses.distancier",
    "NoServiceError": "errors",
    "DownloadError": "errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'accessibility' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
