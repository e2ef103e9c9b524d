"""Fetch and assemble the data of any département: sources, downloads, data directories.

- :mod:`.sources`: every source (URL pattern, mirror path, licence, attribution, vintage);
- :mod:`.departements`: département codes, names, neighbours, OSM extract paths;
- :mod:`.fetch`: robust downloads and ``sources.json``;
- :mod:`.assemble`: downloaded or hand-placed files -> a data directory;
- :mod:`.layout`: the data directory (``datadir.json``) every command reads with ``--data``;
- :mod:`.info`: what a data directory holds and what each command lacks.

Names are imported on first use, so ``import accessibility.inputs.datasets`` loads neither pandas nor
pyosmium.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "DataDir": "layout",
    "open_data_dir": "layout",
    "ROLES": "layout",
    "STANDARD_NAMES": "layout",
    "COMMAND_ROLES": "layout",
    "Source": "sources",
    "SOURCES": "sources",
    "plan_downloads": "sources",
    "DEPARTEMENTS": "departements",
    "check_departements": "departements",
    "neighbours_of": "departements",
    "download": "fetch",
    "fetch_departement": "fetch",
    "assemble_departement": "assemble",
    "clip_osm": "assemble",
    "study_area": "assemble",
    "describe_data_dir": "info",
    "load_population_grid": "readers",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'accessibility.inputs.datasets' has no attribute {name!r}")


def __dir__():
    return sorted(__all__)
