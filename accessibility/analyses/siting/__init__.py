"""Siting what-ifs and optimisation: where should the next France services (or any site) open.

- :mod:`accessibility.analyses.siting.model`: :class:`SitingModel` (load once, ask many scenarios);
- :mod:`accessibility.analyses.siting.optimize`: maximal covering, p-median, set covering (greedy and
  exact, numpy core on a cost matrix);
- :mod:`accessibility.analyses.siting.report`: tables, GeoPackage, before/after maps, printed summary.
"""

from accessibility.analyses.siting.model import Optimisation, Scenario, SitingModel, totals
from accessibility.analyses.siting.optimize import (
           InfeasibleCover,
           Solution,
           max_coverage,
           p_median,
           set_cover,
)

__all__ = ["SitingModel", "Scenario", "Optimisation", "totals", "Solution", "InfeasibleCover", "max_coverage",
           "p_median", "set_cover"]
