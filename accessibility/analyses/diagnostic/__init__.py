"""The SDAASP diagnostic (``access diagnostic``): armature of services, bassins de services,
zones grises superposed into named sectors, their qualification, tables by territory and the
report (HTML, PDF, CSV, GeoPackage, maps). See ``docs/diagnostic.md``.

The steps are in :mod:`.pipeline` (:func:`run_diagnostic`), the outputs in :mod:`.report`
(:func:`write_diagnostic`); the one call to the access engine is in :mod:`._engine`.
"""

from __future__ import annotations

__all__ = ["run_diagnostic", "check_diagnostic_options", "read_territorial_data", "write_diagnostic"]


def __getattr__(name: str):
    if name in ("run_diagnostic", "check_diagnostic_options"):
        from accessibility.analyses.diagnostic import pipeline

        return getattr(pipeline, name)
    if name == "read_territorial_data":
        from accessibility.analyses.diagnostic.data import read_territorial_data

        return read_territorial_data
    if name == "write_diagnostic":
        from accessibility.analyses.diagnostic.report import write_diagnostic

        return write_diagnostic
    raise AttributeError(name)
