"""The data directory: what every command reads with ``--data DIR``.

A data directory is a folder with a ``datadir.json`` at its root. The manifest names the file of
each *role* (paths relative to the directory), the study area, the sources and their licences::

    {
      "format": "accessibility-datadir", "version": 1,
      "name": "Pas-de-Calais (62)",
      "departements": ["62"], "neighbours": ["59", "80"],
      "files": {"osm": "osm/roads.osm.pbf", "communes": "communes/communes.csv.gz", ...},
      "sources": [{"name": "osm", "licence": "ODbL 1.0 ...", "attribution": "...", ...}],
      "coverage": {...}, "notes": [...], "created": "2026-11-24T12:00:00+00:00"
    }

Roles (:data:`ROLES`) and the loader that reads each one:

==================  =====================================================  =======================================================
role                content                                                read by
==================  =====================================================  =======================================================
``osm``             road extract, ``.osm.pbf``                             :func:`accessibility.network.graph.load_graph`
``communes``        commune table (code, nom, departement, population,    :func:`accessibility.inputs.communes.load_communes`
                    lon, lat, centre)
``code_changes``    ``old_code -> code`` of merged/renamed communes        :func:`accessibility.inputs.communes.load_code_changes`
``polygons``        commune polygons (maps only)                           :func:`accessibility.inputs.communes.load_commune_polygons`
``bpe``             BPE counts per commune and type (DEPCOM, TYPEQU,       :func:`accessibility.inputs.services.load_bpe`
                    NB_EQUIP)
``bpe_points``      geolocated BPE, one row per equipment (LAMBERT_X/Y,    :func:`accessibility.inputs.services.load_bpe_points`
                    LONGITUDE/LATITUDE, QUALITE_XY, QUALITE_GEOLOC)
``gammes``          INSEE gamme table                                      :func:`accessibility.inputs.services.load_gammes`
``france_services`` France services sites (latitude, longitude, insee_com) CSV (no loader yet)
``population_grid`` population on 200 m squares (lon, lat, population,    CSV (no loader yet; ``--origins population``)
                    code)
``bpe_2019``        BPE 2019 counts (the fragility index's vintage)        :func:`accessibility.inputs.services.load_bpe`
``mediation``       places of digital mediation (latitude, longitude,      :func:`accessibility.analyses.fragility.sources.load_mediation`
                    services)
``cnfs``            conseillers numériques places (same form)              :func:`accessibility.analyses.fragility.sources.load_mediation`
``territory_epci``  commune -> EPCI (code_commune, code_epci, nom_epci)     :func:`accessibility.inputs.territories.load_epci`
``territory_density`` INSEE grille communale de densité, 7 levels (CODGEO, :func:`accessibility.inputs.territories.load_density`
                    DENS, LIBDENS)
``territory_zonages`` INSEE zonings per commune (CODGEO, BV2022, CANOV …)  :func:`accessibility.inputs.territories.load_zonages`
``territory_cantons`` canton names (code, nom)                             :func:`accessibility.inputs.territories.load_cantons`
``socio_filosofi``  Filosofi per commune (CODGEO, MED16, TP6016)           :func:`accessibility.inputs.socio.load_filosofi`
``socio_census``    census per commune (insee_com, population, active,    :func:`accessibility.inputs.socio.load_census`
                    unemployed 15-64)
``grid_ages_1km``   census grid at 1 km with the population aged 65+      :func:`accessibility.inputs.socio.load_age_grid`
                    (T, Y_GE65, commune_centre_cell)
``grid_filosofi_200m`` Filosofi population on 200 m squares (the           :func:`accessibility.inputs.datasets.readers.load_population_grid`
                    ``population_grid`` form)
==================  =====================================================  =======================================================

Other roles may be listed too: every command ignores the roles it does not use.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import Any

from accessibility.errors import DataFormatError, InputFileError
from accessibility.settings import embedded_data_dir

__all__ = [
    "MANIFEST_NAME",
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "ROLES",
    "STANDARD_NAMES",
    "COMMAND_ROLES",
    "DataDir",
    "open_data_dir",
    "write_manifest",
    "missing_for",
    "pbf_timestamp",
]

MANIFEST_NAME = "datadir.json"
FORMAT_NAME = "accessibility-datadir"
FORMAT_VERSION = 1

#: The roles every command knows, and what each holds.
ROLES: Mapping[str, str] = MappingProxyType(
    {
        "osm": "OSM road extract (.osm.pbf)",
        "communes": "commune table: code, nom, departement, population, lon, lat, centre",
        "code_changes": "old_code -> code table of merged and renamed communes (COG)",
        "polygons": "commune polygons (GeoPackage; maps only)",
        "bpe": "BPE counts per commune and equipment type (DEPCOM, TYPEQU, NB_EQUIP)",
        "bpe_points": "geolocated BPE: one row per equipment with coordinates and geolocation quality",
        "gammes": "INSEE gamme table (code_equipement, regroupement_1..3, gamme)",
        "france_services": "France services sites (latitude, longitude, insee_com)",
        "population_grid": "population on 200 m squares: lon, lat, population, code (commune)",
        "bpe_2019": "BPE 2019 counts per commune and type (the digital-fragility index's vintage)",
        "mediation": "places of digital mediation (national standard: latitude, longitude, services)",
        "cnfs": "places of the conseillers numériques France Services (same form as mediation)",
        "territory_epci": "commune -> EPCI à fiscalité propre: code_commune, code_epci, nom_epci, nature_epci",
        "territory_density": "INSEE grille communale de densité in 7 levels: CODGEO, DENS, LIBDENS",
        "territory_zonages": "INSEE zonings per commune: CODGEO, BV2022, LIBBV2022, CANOV, ZE2020, UU2020, AAV2020",
        "territory_cantons": "cantons: code (as CANOV), nom, departement",
        "socio_filosofi": "Filosofi per commune: CODGEO, MED16 (median income), TP6016 (poverty rate)",
        "socio_census": "census per commune: insee_com, population, active and unemployed aged 15-64",
        "grid_ages_1km": "census grid at 1 km: T (population), Y_GE65 (aged 65 and over), commune_centre_cell",
        "grid_filosofi_200m": "Filosofi population on 200 m squares (the population_grid form: lon, lat, population, code)",
    }
)

#: Where each role lives in an assembled data directory. ``access data assemble`` also takes a
#: file placed by hand under this name (with or without ``.gz``) in the loaders' format.
STANDARD_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "osm": "osm/roads.osm.pbf",
        "communes": "communes/communes.csv.gz",
        "code_changes": "communes/commune-code-changes.csv",
        "polygons": "communes/communes-polygons.gpkg",
        "bpe": "bpe/bpe-communes.csv.gz",
        "bpe_points": "bpe/bpe-points.csv.gz",
        "gammes": "bpe/bpe-gammes.csv",
        "france_services": "services/france-services.csv.gz",
        "population_grid": "population/population-200m.csv.gz",
        "bpe_2019": "bpe/bpe-2019-communes.csv.gz",
        "mediation": "services/lieux-mediation-numerique.csv.gz",
        "cnfs": "services/cnfs-lieux-mediation-numerique.csv.gz",
        "territory_epci": "territories/epci-communes.csv.gz",
        "territory_density": "territories/grille-densite-7-niveaux.csv.gz",
        "territory_zonages": "territories/zonages-insee-communes.csv.gz",
        "territory_cantons": "territories/cantons.csv.gz",
        "socio_filosofi": "socio/filosofi-communes.csv.gz",
        "socio_census": "socio/census-communes.csv.gz",
        "grid_ages_1km": "population/census-grid-1km.csv.gz",
        "grid_filosofi_200m": "population/filosofi-200m.csv.gz",
    }
)

#: What each command needs: ``(required roles, optional roles)``. Optional roles add to the
#: results (maps, at-location equipments, population-weighted origins) and are reported when
#: absent. ``fragility`` (access axis of the digital-fragility index) reads the BPE 2019 when the
#: directory has it, else its BPE; a missing source leaves its variables empty (reported).
COMMAND_ROLES: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType(
    {
        "compute": (("osm", "communes", "bpe", "gammes"), ("code_changes", "polygons", "bpe_points", "population_grid")),
        "site": (("osm", "communes", "bpe", "gammes"), ("code_changes", "france_services", "polygons", "population_grid")),
        "isochrones": (("osm",), ("communes", "polygons", "population_grid", "france_services", "bpe_points")),
        "matrix": (("osm", "communes"), ("code_changes",)),
        "fragility": (("osm", "communes"), ("bpe_2019", "bpe", "code_changes", "france_services", "mediation", "cnfs",
                                            "polygons")),
        "diagnostic": (("osm", "communes", "bpe", "gammes"), ("code_changes", "polygons", "territory_epci",
                                                             "territory_density", "territory_zonages",
                                                             "territory_cantons", "socio_filosofi", "socio_census",
                                                             "grid_ages_1km")),
    }
)


def pbf_timestamp(path: str | os.PathLike) -> str | None:
    """The date of the OSM data in a ``.osm.pbf`` header (replication timestamp, else the
    file's timestamp), or None when the header has none or the file cannot be read."""
    import osmium

    try:
        r = osmium.io.Reader(str(path), osmium.osm.osm_entity_bits.NOTHING)
        try:
            h = r.header()
            return h.get("osmosis_replication_timestamp") or h.get("timestamp") or None
        finally:
            r.close()
    except RuntimeError:
        return None


@dataclass(frozen=True)
class DataDir:
    """An opened data directory.

    Attributes
    ----------
    root : Path
        The directory.
    files : Mapping[str, str]
        Role -> path relative to ``root`` (as the manifest lists it; the file may be missing).
    departements : tuple of str
        The study area.
    neighbours : tuple of str
        Neighbouring départements whose communes, services and roads are included.
    name : str
        Human name (``"Pas-de-Calais (62)"``).
    sources : tuple of dict
        Sources with their licences, attributions, vintages and download records.
    manifest : Mapping[str, Any]
        The whole ``datadir.json``.
    """

    root: Path
    files: Mapping[str, str]
    departements: tuple[str, ...] = ()
    neighbours: tuple[str, ...] = ()
    name: str = ""
    sources: tuple[Mapping[str, Any], ...] = ()
    manifest: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def has(self, role: str) -> bool:
        """Whether ``role`` is listed and its file exists."""
        rel = self.files.get(role)
        return rel is not None and (self.root / rel).is_file()

    def path(self, role: str) -> Path:
        """Absolute path of the file of ``role``.

        Raises
        ------
        InputFileError
            The role is not listed in the manifest, or its file is missing; the message names
            the role, the file and the directory.
        """
        rel = self.files.get(role)
        if rel is None:
            listed = ", ".join(sorted(self.files)) or "none"
            what = ROLES.get(role, "an extra role")
            raise InputFileError(
                f"data directory {str(self.root)!r} has no {role!r} file ({what}); its "
                f"{MANIFEST_NAME} lists: {listed}. Add it with `access data assemble` or place the "
                f"file there and list it under \"files\""
            )
        p = self.root / rel
        if not p.is_file():
            raise InputFileError(
                f"data directory {str(self.root)!r}: the {role!r} file {rel!r} listed in "
                f"{MANIFEST_NAME} does not exist"
            )
        return p

    def get(self, role: str) -> Path | None:
        """The path of ``role`` when its file exists, else None."""
        return self.path(role) if self.has(role) else None

    def missing(self, command: str) -> tuple[list[str], list[str]]:
        """``(required, optional)`` roles ``command`` would use that this directory lacks."""
        return missing_for(self, command)


def missing_for(data: DataDir, command: str) -> tuple[list[str], list[str]]:
    """Roles of :data:`COMMAND_ROLES` ``[command]`` that ``data`` lacks: ``(required, optional)``.

    Raises
    ------
    InvalidParameterError
        Unknown command.
    """
    from accessibility.errors import InvalidParameterError

    if command not in COMMAND_ROLES:
        raise InvalidParameterError(f"unknown command {command!r}; known: {', '.join(COMMAND_ROLES)}")
    req, opt = COMMAND_ROLES[command]
    return [r for r in req if not data.has(r)], [r for r in opt if not data.has(r)]


def _as_tuple_of_str(value, key: str, path: Path) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise DataFormatError(f"{str(path)!r}: {key!r} must be a list of strings, got {value!r}")
    return tuple(value)


def open_data_dir(path: str | os.PathLike | None = None) -> DataDir:
    """Open a data directory (read its ``datadir.json``).

    Parameters
    ----------
    path : str or path-like, optional
        The directory (or its ``datadir.json``). The embedded Alpes du Sud data when omitted
        (:func:`accessibility.settings.embedded_data_dir`).

    Returns
    -------
    DataDir

    Raises
    ------
    InputFileError
        The directory or its ``datadir.json`` does not exist or cannot be read.
    DataFormatError
        ``datadir.json`` is not valid JSON or not a data-directory manifest.
    """
    root = Path(path) if path is not None else embedded_data_dir()
    if root.name == MANIFEST_NAME and root.is_file():
        root = root.parent
    if not root.is_dir():
        raise InputFileError(f"data directory {str(root)!r} does not exist or is not a directory")
    mpath = root / MANIFEST_NAME
    if not mpath.is_file():
        raise InputFileError(
            f"{str(root)!r} is not a data directory: it has no {MANIFEST_NAME}. Make one with "
            "`access data fetch` then `access data assemble` (see docs/data.md)"
        )
    try:
        doc = json.loads(mpath.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InputFileError(f"cannot read {str(mpath)!r}: {exc.strerror or exc}") from exc
    except json.JSONDecodeError as exc:
        raise DataFormatError(f"{str(mpath)!r} is not valid JSON: {exc}") from exc
    if not isinstance(doc, dict) or doc.get("format") != FORMAT_NAME:
        raise DataFormatError(f"{str(mpath)!r} is not a data-directory manifest (\"format\": {FORMAT_NAME!r} expected)")
    version = doc.get("version")
    if not isinstance(version, int) or version > FORMAT_VERSION:
        raise DataFormatError(
            f"{str(mpath)!r} has manifest version {version!r}; this engine reads version {FORMAT_VERSION} "
            "and older: upgrade accessibility"
        )
    files = doc.get("files")
    if not isinstance(files, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in files.items()):
        raise DataFormatError(f"{str(mpath)!r}: \"files\" must map roles to relative paths")
    for role, rel in files.items():
        if Path(rel).is_absolute() or ".." in Path(rel).parts:
            raise DataFormatError(f"{str(mpath)!r}: the {role!r} path {rel!r} must be relative and inside the directory")
    sources = doc.get("sources") or []
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise DataFormatError(f"{str(mpath)!r}: \"sources\" must be a list of objects")
    return DataDir(
        root=root.resolve(),
        files=MappingProxyType(dict(files)),
        departements=_as_tuple_of_str(doc.get("departements"), "departements", mpath),
        neighbours=_as_tuple_of_str(doc.get("neighbours"), "neighbours", mpath),
        name=str(doc.get("name", "")),
        sources=tuple(MappingProxyType(s) for s in sources),
        manifest=MappingProxyType(doc),
    )


def write_manifest(
    root: str | os.PathLike,
    *,
    files: Mapping[str, str],
    departements: Sequence[str],
    neighbours: Sequence[str] = (),
    name: str = "",
    sources: Sequence[Mapping[str, Any]] = (),
    **extra: Any,
) -> Path:
    """Write ``datadir.json`` atomically (temporary file, then rename) and return its path.

    ``extra`` keys (``coverage``, ``notes``, ``buffer_km`` …) are stored as given.
    """
    from accessibility import __version__

    root = Path(root)
    doc = {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "name": name,
        "departements": list(departements),
        "neighbours": list(neighbours),
        "files": dict(files),
        "sources": [dict(s) for s in sources],
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "created_by": f"accessibility {__version__}",
        **extra,
    }
    out = root / MANIFEST_NAME
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return out
