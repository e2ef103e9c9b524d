"""The access axis of the digital-fragility index (``access fragility``).

- :mod:`.tables`: the mapping tables (BPE types, service wordings) with their sources;
- :mod:`.sources`: readers of the places of digital mediation, France services and the user's
  census shares;
- :mod:`.index`: normalisation, routing (one grouped search per variable), sub-indices and the
  dimension (:func:`compute_fragility`);
- :mod:`.report`: the per-commune table, GeoPackage, maps, ``run.json`` and printed summary.
"""

from __future__ import annotations

from accessibility.analyses.fragility.index import (
    NORMALISATIONS,
    FragilityResult,
    combine,
    compute_fragility,
    normalise,
)
from accessibility.analyses.fragility.sources import (
    load_extra,
    load_france_services,
    load_mediation,
    site_table,
)
from accessibility.analyses.fragility.tables import SUB_INDICES, VARIABLES, WORDINGS, classify_services

__all__ = [
    "NORMALISATIONS",
    "FragilityResult",
    "combine",
    "compute_fragility",
    "normalise",
    "load_extra",
    "load_france_services",
    "load_mediation",
    "site_table",
    "SUB_INDICES",
    "VARIABLES",
    "WORDINGS",
    "classify_services",
]
