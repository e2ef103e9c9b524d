"""Every data source of ``access data fetch``: where it is, under which licence, how to cite it.

This module is the one place for URLs. Each :class:`Source` gives a URL pattern, the path of the
same file inside a mirror (``--mirror URL`` replaces every host by one base URL and this path),
the name the file gets in the download directory (the name ``access data assemble`` looks for,
so a file placed there by hand works too), its licence and attribution, and how it was checked.

How the URLs were chosen, and what could not be checked from the development machine (it has
no internet access; see ``docs/data.md``):

- **OSM**: download.openstreetmap.fr publishes one extract per département, updated daily; the
  paths come from the polygon list of its build repository (github.com/osm-fr/osm-extract-
  replication, ``init_extracts_link.sh`` makes ``<path>-latest.osm.pbf``). It publishes no
  checksum for département extracts (``.md5`` links are made for top-level extracts only), so
  only the size is checked. Geofabrik (``--osm-provider geofabrik``) publishes one file per
  pre-2016 region with an ``.md5`` file next to it, which is checked.
- **Communes and polygons**: the API Découpage administratif (geo.api.gouv.fr, Etalab), one
  request per département: INSEE code, name, population, the ``mairie`` point (the IGN ADMIN
  EXPRESS chef-lieu; the API falls back to a point inside the polygon when there is none) and the
  polygon. Documented at https://geo.api.gouv.fr/decoupage-administratif and in the API's
  source (github.com/datagouv/api-geo). Responses are computed, so there is no checksum.
- **Code changes**: the npm package ``@etalab/decoupage-administratif`` 6.0.0 (``anciensCodes``
  and communes déléguées/associées). Its tarball and sha1 were obtained here with ``npm pack``:
  the only source whose bytes were checked from this machine.
- **BPE**: INSEE's detail file (one row per equipment, coordinates and geolocation quality),
  ``BPE<yy>.zip`` under page 8217525, and the counts per commune and type (``DS_BPE_CSV_FR.zip``,
  page 8217527, the Melodi "dénombrement"); the gamme table
  ``BPE_gammes_equipements_<year>.xlsx`` (page 8217535). These addresses are the ones many
  public projects use (found with code search); INSEE publishes no checksum.
- **France services**: the data.gouv.fr dataset "Liste des structures labellisées France
  services", resolved through the data.gouv.fr API (``/api/1/datasets/<slug>/``), which gives the
  current CSV resource with its sha1 and size (both checked).
- **Population grid** (optional): INSEE Filosofi 2019, 200 m squares (``carreaux_200m``), page
  7655475. Large (about 200 MB zipped, a .7z inside).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from accessibility.errors import InvalidParameterError
from accessibility.inputs.datasets.departements import DEPARTEMENTS, with_neighbours

__all__ = [
    "Source",
    "SOURCES",
    "OSM_PROVIDERS",
    "DEFAULT_BPE_YEAR",
    "FILOSOFI_YEAR",
    "PlannedFile",
    "plan_downloads",
    "source",
    "sources_table",
    "format_fields",
]

#: BPE vintage fetched by default (INSEE publishes year N in the summer of N+1).
DEFAULT_BPE_YEAR = 2025
#: Filosofi vintage of the 200 m population grid.
FILOSOFI_YEAR = 2019
#: Where OSM extracts come from: one file per département, or one per pre-2016 region.
OSM_PROVIDERS = ("osmfr", "geofabrik")

ODBL = "ODbL 1.0 (https://opendatacommons.org/licenses/odbl/1-0/)"
LO2 = "Licence Ouverte 2.0 (https://www.etalab.gouv.fr/licence-ouverte-open-licence/)"


@dataclass(frozen=True)
class Source:
    """One downloadable source.

    Attributes
    ----------
    name : str
        Key (``"osm"``, ``"bpe_points"`` …).
    role : str
        Data-directory role it feeds (see :mod:`accessibility.inputs.datasets.layout`).
    title : str
        What it is, in one line.
    scope : {"departement", "national"}
        One file per département (fetched for the study area and its neighbours) or one file.
    url : str
        URL pattern. Placeholders: ``{dep}``, ``{osm_extract}``, ``{osm_name}``,
        ``{geofabrik_region}``, ``{geofabrik_name}``, ``{year}``, ``{yy}``.
    mirror_path : str
        Path of the file inside a mirror (same placeholders).
    local : str
        Path of the file in the download directory (same placeholders).
    licence, attribution : str
        Licence and the attribution to keep when the data or results are published.
    vintage : str
        Which version of the data the pattern gives.
    documentation : str
        Page describing the data.
    checksum : str or None
        ``"sha1:<hex>"`` (published, pinned here), ``"md5-file"`` (an ``.md5`` file next to the
        data), ``"datagouv"`` (sha1 and size given by the data.gouv.fr API) or None.
    resolver : str or None
        ``"datagouv"``: ``url`` is a data.gouv.fr dataset API URL; the file is its current CSV
        resource (skipped behind a mirror, which serves ``mirror_path`` directly).
    resource_hint : str
        With the data.gouv.fr resolver: a word the resource title contains.
    default : bool
        Fetched without being asked.
    verified : str
        How the URL was checked.
    """

    name: str
    role: str
    title: str
    scope: str
    url: str
    mirror_path: str
    local: str
    licence: str
    attribution: str
    vintage: str
    documentation: str
    checksum: str | None = None
    resolver: str | None = None
    resource_hint: str = ""
    default: bool = True
    verified: str = ""


SOURCES: tuple[Source, ...] = (
    Source(
        name="osm",
        role="osm",
        title="OpenStreetMap extract of one département (OpenStreetMap France)",
        scope="departement",
        url="https://download.openstreetmap.fr/extracts/{osm_extract}-latest.osm.pbf",
        mirror_path="download.openstreetmap.fr/extracts/{osm_extract}-latest.osm.pbf",
        local="osm/{osm_name}-latest.osm.pbf",
        licence=ODBL,
        attribution="© OpenStreetMap contributors",
        vintage="latest (updated daily)",
        documentation="https://download.openstreetmap.fr/",
        verified="paths from osm-fr/osm-extract-replication (polygons, init_extracts_link.sh); not downloaded from here",
    ),
    Source(
        name="osm_geofabrik",
        role="osm",
        title="OpenStreetMap extract of one pre-2016 region (Geofabrik), with its .md5",
        scope="departement",
        url="https://download.geofabrik.de/{geofabrik_region}-latest.osm.pbf",
        mirror_path="download.geofabrik.de/{geofabrik_region}-latest.osm.pbf",
        local="osm/{geofabrik_name}-latest.osm.pbf",
        licence=ODBL,
        attribution="© OpenStreetMap contributors",
        vintage="latest (updated daily)",
        documentation="https://download.geofabrik.de/europe/france.html",
        checksum="md5-file",
        default=False,
        verified="Geofabrik's documented layout (<region>-latest.osm.pbf and .md5); not downloaded from here",
    ),
    Source(
        name="communes",
        role="communes",
        title="Communes of one département: INSEE code, name, population, mairie (chef-lieu) point",
        scope="departement",
        url=(
            "https://geo.api.gouv.fr/departements/{dep}/communes"
            "?fields=code,nom,codeDepartement,codeRegion,population,centre,mairie&format=json"
        ),
        mirror_path="geo.api.gouv.fr/departements/{dep}/communes.json",
        local="communes/geo-api-communes-{dep}.json",
        licence=LO2,
        attribution="API Découpage administratif (geo.api.gouv.fr), Etalab; INSEE populations légales; IGN ADMIN EXPRESS",
        vintage="current COG, latest legal populations",
        documentation="https://geo.api.gouv.fr/decoupage-administratif/communes",
        verified="API definition and build code in github.com/datagouv/api-geo; not queried from here",
    ),
    Source(
        name="polygons",
        role="polygons",
        title="Commune polygons of one département (GeoJSON)",
        scope="departement",
        url=(
            "https://geo.api.gouv.fr/departements/{dep}/communes"
            "?fields=code,nom,codeDepartement,population&format=geojson&geometry=contour"
        ),
        mirror_path="geo.api.gouv.fr/departements/{dep}/communes-contour.geojson",
        local="communes/geo-api-contours-{dep}.geojson",
        licence=LO2,
        attribution="API Découpage administratif (geo.api.gouv.fr), Etalab; IGN ADMIN EXPRESS",
        vintage="current COG",
        documentation="https://geo.api.gouv.fr/decoupage-administratif/communes",
        verified="API definition in github.com/datagouv/api-geo; not queried from here",
    ),
    Source(
        name="code_changes",
        role="code_changes",
        title="COG of all communes with their former codes (npm @etalab/decoupage-administratif)",
        scope="national",
        url="https://registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz",
        mirror_path="registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz",
        local="communes/decoupage-administratif-6.0.0.tgz",
        licence=LO2 + " (data); MIT (package)",
        attribution="Etalab, @etalab/decoupage-administratif 6.0.0, from the INSEE COG",
        vintage="COG 2026 (package 6.0.0)",
        documentation="https://github.com/datagouv/decoupage-administratif",
        checksum="sha1:0330556cf07e21fff21111e5775a316ec18b9636",
        verified="downloaded here with `npm pack`; sha1 as published by the npm registry",
    ),
    Source(
        name="bpe_points",
        role="bpe_points",
        title="INSEE BPE detail file: one row per equipment, Lambert-93 and WGS84 coordinates, geolocation quality",
        scope="national",
        url="https://www.insee.fr/fr/statistiques/fichier/8217525/BPE{yy}.zip",
        mirror_path="www.insee.fr/fr/statistiques/fichier/8217525/BPE{yy}.zip",
        local="bpe/BPE{yy}.zip",
        licence=LO2,
        attribution="INSEE, Base permanente des équipements {year}",
        vintage="BPE {year} (equipments at 1 January {year})",
        documentation="https://www.insee.fr/fr/statistiques/8217525",
        verified="address used by public projects for BPE23, BPE24, BPE25 (code search); not downloaded from here",
    ),
    Source(
        name="bpe_counts",
        role="bpe",
        title="INSEE BPE counts per commune and equipment type (Melodi dénombrement, CSV)",
        scope="national",
        url="https://www.insee.fr/fr/statistiques/fichier/8217527/DS_BPE_CSV_FR.zip",
        mirror_path="www.insee.fr/fr/statistiques/fichier/8217527/DS_BPE_CSV_FR.zip",
        local="bpe/DS_BPE_CSV_FR.zip",
        licence=LO2,
        attribution="INSEE, Base permanente des équipements, dénombrements",
        vintage="latest published vintage",
        documentation="https://www.insee.fr/fr/statistiques/8217527",
        verified="address and columns (GEO, GEO_OBJECT, FACILITY_TYPE, OBS_VALUE, TIME_PERIOD) from public code; not downloaded from here",
    ),
    Source(
        name="gammes",
        role="gammes",
        title="INSEE gammes of equipments (proximité, intermédiaire, supérieure), xlsx",
        scope="national",
        url="https://www.insee.fr/fr/statistiques/fichier/8217535/BPE_gammes_equipements_{year}.xlsx",
        mirror_path="www.insee.fr/fr/statistiques/fichier/8217535/BPE_gammes_equipements_{year}.xlsx",
        local="bpe/BPE_gammes_equipements_{year}.xlsx",
        licence=LO2,
        attribution="INSEE, gammes d'équipements {year}",
        vintage="gammes {year}",
        documentation="https://www.insee.fr/fr/statistiques/8217535",
        verified="address and columns (TYPEQU, GAMME, TYPEQU_REGROUPEMENT) from public code; not downloaded from here",
    ),
    Source(
        name="france_services",
        role="france_services",
        title="France services labelled sites (ANCT), current CSV resource of the data.gouv.fr dataset",
        scope="national",
        url="https://www.data.gouv.fr/api/1/datasets/liste-des-structures-labellisees-france-services/",
        mirror_path="www.data.gouv.fr/datasets/liste-des-structures-labellisees-france-services/france-services.csv",
        local="services/france-services.csv",
        licence=LO2,
        attribution="ANCT, liste des structures labellisées France services (data.gouv.fr)",
        vintage="current resource (updated by ANCT)",
        documentation="https://www.data.gouv.fr/datasets/liste-des-structures-labellisees-france-services/",
        checksum="datagouv",
        resolver="datagouv",
        resource_hint="structures",
        verified="dataset slug from public code; data.gouv.fr API v1 documented; not queried from here",
    ),
    Source(
        name="population_grid",
        role="population_grid",
        title="INSEE Filosofi 2019 population on 200 m squares (GeoPackage in a zip)",
        scope="national",
        url="https://www.insee.fr/fr/statistiques/fichier/7655475/Filosofi2019_carreaux_200m_gpkg.zip",
        mirror_path="www.insee.fr/fr/statistiques/fichier/7655475/Filosofi2019_carreaux_200m_gpkg.zip",
        local="population/Filosofi2019_carreaux_200m_gpkg.zip",
        licence=LO2,
        attribution="INSEE, Filosofi 2019, données carroyées à 200 m",
        vintage="2019 (revenus 2019, population at 1 January 2020)",
        documentation="https://www.insee.fr/fr/statistiques/7655475",
        default=False,
        verified="address used by public projects (code search); not downloaded from here",
    ),
)


def source(name: str, catalogue: Sequence[Source] = SOURCES) -> Source:
    """The source called ``name``.

    Raises
    ------
    InvalidParameterError
        No such source (the message lists them).
    """
    for s in catalogue:
        if s.name == name:
            return s
    raise InvalidParameterError(
        f"unknown data source {name!r}; sources are {', '.join(s.name for s in catalogue)}"
    )


@dataclass(frozen=True)
class PlannedFile:
    """One file to download.

    Attributes
    ----------
    source : Source
    departement : str or None
        The département it is for (None for national files).
    url : str
        Where to get it (the mirror's URL when a mirror is given).
    local : str
        Path relative to the download directory.
    mirrored : bool
        Whether ``url`` points into a mirror (resolvers are then skipped).
    """

    source: Source
    departement: str | None
    url: str
    local: str
    mirrored: bool = False

    @property
    def name(self) -> str:
        return self.source.name


def format_fields(dep: str | None, year: int) -> dict[str, str]:
    """Values of the URL-pattern placeholders for département ``dep`` (None: national) and ``year``."""
    f = {"year": str(year), "yy": f"{year % 100:02d}"}
    if dep is not None:
        d = DEPARTEMENTS[dep]
        f.update(
            dep=dep,
            osm_extract=d.osm_extract,
            osm_name=d.osm_extract.rsplit("/", 1)[-1],
            geofabrik_region=d.geofabrik_region,
            geofabrik_name=d.geofabrik_region.rsplit("/", 1)[-1],
        )
    return f


def _check_year(bpe_year: int) -> int:
    try:
        y = int(bpe_year)
    except (TypeError, ValueError):
        raise InvalidParameterError(f"BPE year must be a year such as {DEFAULT_BPE_YEAR}, got {bpe_year!r}") from None
    if not 2018 <= y <= 2099:
        raise InvalidParameterError(
            f"BPE year {y} is outside what INSEE publishes under these addresses (2018 and later, "
            f"e.g. {DEFAULT_BPE_YEAR})"
        )
    return y


def plan_downloads(
    departements: str | Sequence[str],
    *,
    neighbours: bool | Sequence[str] = True,
    population_grid: bool = False,
    osm_provider: str = "osmfr",
    bpe_year: int = DEFAULT_BPE_YEAR,
    mirror: str | None = None,
    only: Iterable[str] | None = None,
    catalogue: Sequence[Source] = SOURCES,
) -> list[PlannedFile]:
    """The files ``access data fetch`` downloads for a study area.

    Parameters
    ----------
    departements : str or sequence of str
        Study area (``"62"``).
    neighbours : bool or sequence of str, default True
        Also fetch the per-département files (OSM, communes, polygons) of the neighbouring
        départements (True), of none (False), or of the listed ones.
    population_grid : bool, default False
        Add the Filosofi 200 m population grid.
    osm_provider : {"osmfr", "geofabrik"}
        One extract per département (download.openstreetmap.fr) or per pre-2016 region.
    bpe_year : int, default :data:`DEFAULT_BPE_YEAR`
        BPE and gamme vintage.
    mirror : str, optional
        Base URL replacing every host; files are at ``mirror + "/" + mirror_path``.
    only : iterable of str, optional
        Restrict to these source names.
    catalogue : sequence of Source
        The sources (tests pass their own).

    Returns
    -------
    list of PlannedFile
        In catalogue order, deduplicated by local name (two départements of one Geofabrik
        region share its file).

    Raises
    ------
    InvalidParameterError
        Bad département code, provider, year, source name or mirror URL.
    """
    deps = with_neighbours(departements, neighbours)
    year = _check_year(bpe_year)
    if osm_provider not in OSM_PROVIDERS:
        raise InvalidParameterError(f"unknown OSM provider {osm_provider!r}; choose {' or '.join(OSM_PROVIDERS)}")
    if mirror is not None and not str(mirror).startswith(("http://", "https://", "file://")):
        raise InvalidParameterError(f"mirror must be an http(s):// or file:// URL, got {mirror!r}")
    names = {s.name for s in catalogue}
    wanted = set(only) if only is not None else None
    if wanted is not None and wanted - names:
        raise InvalidParameterError(
            f"unknown data source(s) {', '.join(sorted(wanted - names))}; sources are {', '.join(sorted(names))}"
        )
    osm_skip = "osm_geofabrik" if osm_provider == "osmfr" else "osm"
    out: list[PlannedFile] = []
    seen: set[str] = set()
    for s in catalogue:
        if wanted is not None:
            if s.name not in wanted:
                continue
        else:
            if s.name == osm_skip:
                continue
            if not s.default and not (s.name == "population_grid" and population_grid) and not (
                s.name == "osm_geofabrik" and osm_provider == "geofabrik"
            ):
                continue
        for dep in deps if s.scope == "departement" else (None,):
            f = format_fields(dep, year)
            local = s.local.format(**f)
            if local in seen:
                continue
            seen.add(local)
            if mirror is not None:
                url, mirrored = str(mirror).rstrip("/") + "/" + s.mirror_path.format(**f), True
            else:
                url, mirrored = s.url.format(**f), False
            out.append(PlannedFile(source=s, departement=dep, url=url, local=local, mirrored=mirrored))
    return out


def sources_table(catalogue: Sequence[Source] = SOURCES, *, bpe_year: int = DEFAULT_BPE_YEAR) -> list[dict]:
    """The catalogue as plain dicts (for ``access data sources`` and the manifests)."""
    year = _check_year(bpe_year)
    rows = []
    for s in catalogue:
        d = dataclasses.asdict(s)
        f = {"year": str(year), "yy": f"{year % 100:02d}"}
        for key in ("attribution", "vintage"):
            d[key] = d[key].format(**f)
        rows.append(d)
    return rows
