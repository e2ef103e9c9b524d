"""The one place where the diagnostic calls the access engine (:func:`_run_access`).

Everything else in :mod:`accessibility.analyses.diagnostic` reads the tables of the
:class:`~accessibility.analyses.zones.AccessResult` this returns and the commune
:class:`~accessibility.engine.places.Places` it placed; switching the diagnostic to another
engine API (a ``Study`` object) means editing this module only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from accessibility.analyses.zones import AccessResult, compute_access
from accessibility.engine.places import Places
from accessibility.network.graph import Graph
from accessibility.outputs.manifest import Run
from accessibility.settings import TIERS

__all__ = ["EngineRun"]


@dataclass(frozen=True)
class EngineRun:
    """What the engine gives the diagnostic.

    Attributes
    ----------
    result : AccessResult
        Times per commune and tier (one method), per equipment, the pôles of the extract, the
        summary per département (the very tables of ``access compute``).
    places : Places
        Every commune of the table put on the graph (the same snapping as ``result``), for the
        place-to-place matrices of the bassins (:func:`accessibility.engine.places.matrix`).
    graph : Graph
    """

    result: AccessResult
    places: Places
    graph: Graph


def _run_access(
    graph: Graph,
    communes: pd.DataFrame,
    bpe: pd.DataFrame,
    gammes: pd.DataFrame,
    *,
    departements: Sequence[str],
    method: str,
    thresholds_min: Mapping[str, float],
    pole_share: float,
    max_distance_m: float,
    run: Run | None = None,
) -> EngineRun:
    """Run the access engine for the diagnostic: all tiers, one method (``mean`` or ``pole``).

    Raises
    ------
    AccessibilityError
        Whatever :func:`accessibility.analyses.zones.compute_access` raises (one line each).
    """
    result = compute_access(
        graph, communes, bpe, gammes, departements=departements, tiers=TIERS, methods=(method,),
        thresholds_min=dict(thresholds_min), pole_share=pole_share, max_distance_m=max_distance_m,
        run=run,
    )
    places = Places.from_communes(graph, communes.reset_index(drop=True), max_distance_m=max_distance_m)
    return EngineRun(result=result, places=places, graph=graph)
