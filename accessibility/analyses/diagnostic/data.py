"""The territorial and socio-economic tables of a diagnostic, each optional.

:func:`read_territorial_data` reads what a data directory (or the options) gives; a table that
is absent is recorded in :attr:`TerritorialData.missing` with what it would have given, and the
report says so. A table that is given but cannot be read is an error (one line), never skipped.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import pandas as pd

from accessibility.inputs import socio, territories

__all__ = ["ROLES", "TerritorialData", "read_territorial_data"]

#: Role -> (reader, what the diagnostic loses without it), in the order of the report.
ROLES: Mapping[str, tuple[Callable[..., pd.DataFrame], str]] = {
    "territory_epci": (territories.load_epci, "les tableaux par EPCI et les EPCI des secteurs"),
    "territory_density": (territories.load_density, "la qualification par classe de densité et le tableau par densité"),
    "territory_zonages": (territories.load_zonages, "le tableau par bassin de vie et les cantons"),
    "territory_cantons": (territories.load_cantons, "les noms des cantons"),
    "socio_filosofi": (socio.load_filosofi, "le revenu médian et le taux de pauvreté des zones grises"),
    "socio_census": (socio.load_census, "le taux de chômage des zones grises"),
    "grid_ages_1km": (socio.load_age_grid, "la part des 65 ans ou plus des zones grises"),
}


@dataclass(frozen=True)
class TerritorialData:
    """The optional tables (None when absent) and what is missing.

    Attributes
    ----------
    tables : Mapping[str, pandas.DataFrame]
        Role -> table, for the roles given.
    paths : Mapping[str, str]
        Role -> file read.
    missing : Mapping[str, str]
        Role -> what the report cannot show without it (French).
    """

    tables: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    paths: Mapping[str, str] = field(default_factory=dict)
    missing: Mapping[str, str] = field(default_factory=dict)

    def get(self, role: str) -> pd.DataFrame | None:
        """The table of ``role``, or None when it was not given."""
        return self.tables.get(role)


def read_territorial_data(files: Mapping[str, str | os.PathLike | None], *,
                          code_changes: Mapping[str, str] | None = None) -> TerritorialData:
    """Read the tables of :data:`ROLES` that ``files`` gives (a None path: missing).

    Raises
    ------
    InputFileError, DataFormatError
        A table given cannot be read (the message names the file, line and column).
    """
    tables, paths, missing = {}, {}, {}
    for role, (reader, loss) in ROLES.items():
        path = files.get(role)
        if path is None:
            missing[role] = loss
            continue
        tables[role] = reader(path, code_changes=code_changes) if role == "socio_filosofi" else reader(path)
        paths[role] = str(path)
    return TerritorialData(tables=tables, paths=paths, missing=missing)
