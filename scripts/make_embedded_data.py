#!/usr/bin/env python3
"""Build the small dataset embedded in the repository under ``data/``.

The full open data (road networks of two French regions, the national commune, BPE and
France services tables) lives outside the project in a shared directory
(``../shared/data`` by default, see its README.md). A fresh clone has no access to it, so
this script copies into ``data/`` what the examples, tests and benchmarks need to run
anywhere:

* ``osm/alpes-du-sud-roads-2021.osm.pbf``: the drivable roads of départements 04
  (Alpes-de-Haute-Provence) and 05 (Hautes-Alpes) plus a 20 km margin, cut from the PACA
  roads file. The area is the union of the 04 and 05 commune polygons, buffered by
  20,000 m in Lambert-93 (EPSG:2154). A way is kept when its ``highway`` tag is drivable
  (motorway … service, see ``DRIVABLE_HIGHWAYS``) and at least one of its nodes lies in the
  area; kept ways are never cut, so the file holds every node they reference (and no
  other node), nodes then ways, sorted by id, tags and metadata unchanged.
* ``communes/communes-2023.csv.gz`` (all of France), ``communes/commune-code-changes.csv``
  and ``communes/communes-alpes-du-sud-2023-polygons.gpkg`` (polygons of the PACA communes
  that meet the buffered area, for maps).
* ``bpe/bpe-2018-communes.csv.gz`` (all of France) and ``bpe/bpe-gammes-2021.csv``.
* ``services/france-services-2024-08-01.csv.gz`` (all of France).
* for ``access fragility``: ``bpe/bpe-2019-communes.csv.gz`` (all of France, the index's
  vintage), ``services/lieux-mediation-numerique-paca-2023-05-16.csv.gz`` (the 792 places of
  digital mediation of PACA) and ``services/cnfs-lieux-mediation-numerique-france-2023-01-17.csv.gz``
  (the 4,930 conseillers numériques places of France), copied whole (gzipped when the source is
  not).
* for ``access diagnostic``: the rows of the communes of 04 and 05 of the territorial tables
  (``territories/``: commune -> EPCI, density grid, INSEE zonings; the cantons of 04 and 05),
  of the socio-economic tables (``socio/``: Filosofi 2016, census 2021) and of the population
  grids (``population/``: Filosofi 200 m, Eurostat 1 km census 2021), see
  :data:`DIAGNOSTIC_SUBSETS`; rows kept in source order, every column kept, gzipped.

Outputs are deterministic: running the script twice gives byte-identical files (gzip
members are written with mtime=0, the GeoPackage with a fixed timestamp).

Usage::

    python scripts/make_embedded_data.py [--shared ../shared/data] [--out data]
"""

from __future__ import annotations

import argparse
import gzip
import logging
import shutil
import sys
import time
from array import array
from collections import Counter
from pathlib import Path

import geopandas as gpd
import numpy as np
import osmium
import pyogrio
import shapely

LOG = logging.getLogger("make_embedded_data")

#: Départements whose communes define the extract.
CORE_DEPARTEMENTS = ("04", "05")
#: Départements of the source OSM file (PACA); their communes may appear in the margin.
PACA_DEPARTEMENTS = ("04", "05", "06", "13", "83", "84")
#: Margin around the core départements, in metres (Lambert-93).
BUFFER_M = 20_000.0
LAMBERT93 = "EPSG:2154"
WGS84 = "EPSG:4326"

DRIVABLE_HIGHWAYS = (
    "motorway", "motorway_link",
    "trunk", "trunk_link",
    "primary", "primary_link",
    "secondary", "secondary_link",
    "tertiary", "tertiary_link",
    "unclassified", "residential", "living_street", "service", "road",
)

OSM_SOURCE = "osm/paca-roads-2021.osm.pbf"
OSM_OUTPUT = "osm/alpes-du-sud-roads-2021.osm.pbf"
POLYGONS_SOURCE = "communes/communes-2023-polygons.gpkg"
POLYGONS_OUTPUT = "communes/communes-alpes-du-sud-2023-polygons.gpkg"
POLYGONS_LAYER = "communes"
#: Above this size the commune polygons are simplified further.
POLYGONS_MAX_BYTES = 3_000_000
POLYGONS_SIMPLIFY_DEG = 0.0005
#: Fixed GeoPackage timestamp (gpkg_contents.last_change) for reproducible output.
GPKG_DATE = "2023-01-01T00:00:00.000Z"

#: (source, destination, gzip the copy?)
COPIES = (
    ("communes/communes-2023.csv", "communes/communes-2023.csv.gz", True),
    ("communes/commune-code-changes.csv", "communes/commune-code-changes.csv", False),
    ("bpe/bpe-2018-communes.csv.gz", "bpe/bpe-2018-communes.csv.gz", False),
    ("bpe/bpe-gammes-2021.csv", "bpe/bpe-gammes-2021.csv", False),
    ("services/france-services-2024-08-01.csv", "services/france-services-2024-08-01.csv.gz", True),
    # the access axis of the digital-fragility index (access fragility)
    ("bpe/bpe-2019-communes.csv.gz", "bpe/bpe-2019-communes.csv.gz", False),
    ("services/lieux-mediation-numerique-paca-2023-05-16.csv",
     "services/lieux-mediation-numerique-paca-2023-05-16.csv.gz", True),
    ("services/cnfs-lieux-mediation-numerique-france-2023-01-17.csv.gz",
     "services/cnfs-lieux-mediation-numerique-france-2023-01-17.csv.gz", False),
)


#: (source, destination, column holding the commune or département code, what it holds):
#: the rows of 04 and 05 (see :func:`make_subsets`).
DIAGNOSTIC_SUBSETS = (
    ("territories/epci-communes-2026.csv", "territories/epci-communes-2026-04-05.csv.gz", "departement", "dep"),
    ("territories/grille-densite-7-niveaux-2024.csv.gz", "territories/grille-densite-7-niveaux-2024-04-05.csv.gz",
     "CODGEO", "commune"),
    ("territories/zonages-insee-communes-cog2024.csv.gz", "territories/zonages-insee-communes-cog2024-04-05.csv.gz",
     "DEP", "dep"),
    ("territories/cantons-2024.csv", "territories/cantons-2024-04-05.csv.gz", "departement", "dep"),
    ("socio/filosofi-2016-communes.csv.gz", "socio/filosofi-2016-communes-04-05.csv.gz", "CODGEO", "commune"),
    ("socio/insee-rp2021-communes-population-chomage.csv.gz",
     "socio/insee-rp2021-communes-population-chomage-04-05.csv.gz", "insee_dep", "dep"),
    ("population/filosofi-200m-2019-04-05.csv.gz", "population/filosofi-200m-2019-04-05.csv.gz", "code", "commune"),
    ("population/eurostat-census2021-grid1km-paca.csv.gz", "population/eurostat-census2021-grid1km-04-05.csv.gz",
     "departement", "dep"),
)


def make_subsets(shared: Path, out: Path, departements=CORE_DEPARTEMENTS) -> None:
    """Write the rows of ``departements`` of each :data:`DIAGNOSTIC_SUBSETS` table, gzipped
    reproducibly (mtime=0), the header and every column unchanged, rows in source order."""
    import csv
    import io

    for source, dest, column, kind in DIAGNOSTIC_SUBSETS:
        src = shared / source
        opener = gzip.open if src.suffix == ".gz" else open
        with opener(src, "rt", encoding="utf-8", newline="") as fh:
            lines = fh.read().splitlines(keepends=True)
        header = next(csv.reader(io.StringIO(lines[0])))
        col = header.index(column)
        keep = [lines[0]]
        for line in lines[1:]:
            value = next(csv.reader(io.StringIO(line)))[col]
            code = value[:2] if kind == "commune" else value
            if code in departements:
                keep.append(line)
        output = out / dest
        output.parent.mkdir(parents=True, exist_ok=True)
        with open(output, "wb") as raw:
            with gzip.GzipFile(filename=Path(dest).name[:-3], mode="wb", fileobj=raw, compresslevel=9, mtime=0) as dst:
                dst.write("".join(keep).encode("utf-8"))
        LOG.info("wrote %s: %d of %d rows (%d bytes)", output, len(keep) - 1, len(lines) - 1, output.stat().st_size)


def extract_area(polygons_path: Path) -> tuple[shapely.Geometry, gpd.GeoDataFrame]:
    """Return the buffered 04+05 area (WGS84) and all commune polygons."""
    communes = gpd.read_file(polygons_path, layer=POLYGONS_LAYER)
    core = communes[communes["departement"].isin(CORE_DEPARTEMENTS)]
    LOG.info("%d commune polygons in départements %s", len(core), "+".join(CORE_DEPARTEMENTS))
    core_l93 = core.to_crs(LAMBERT93)
    area_l93 = shapely.union_all(shapely.make_valid(core_l93.geometry.values)).buffer(BUFFER_M)
    area = gpd.GeoSeries([area_l93], crs=LAMBERT93).to_crs(WGS84).iloc[0]
    LOG.info(
        "area: %.0f km² (Lambert-93), bbox %s",
        area_l93.area / 1e6,
        ", ".join(f"{v:.4f}" for v in area.bounds),
    )
    return area, communes


def read_node_locations(pbf: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pass 1: ids, longitudes and latitudes of all nodes of ``pbf``."""
    ids, lons, lats = array("q"), array("d"), array("d")
    for node in osmium.FileProcessor(str(pbf), osmium.osm.NODE):
        loc = node.location
        ids.append(node.id)
        lons.append(loc.lon)
        lats.append(loc.lat)
    return (
        np.frombuffer(ids, dtype=np.int64),
        np.frombuffer(lons, dtype=np.float64),
        np.frombuffer(lats, dtype=np.float64),
    )


def make_osm_extract(source: Path, output: Path, area: shapely.Geometry) -> None:
    """Write the drivable ways of ``source`` touching ``area`` with all their nodes."""
    start = time.perf_counter()
    ids, lons, lats = read_node_locations(source)
    if np.any(np.diff(ids) <= 0):
        raise RuntimeError(f"{source}: nodes are not sorted by id")
    shapely.prepare(area)
    inside = shapely.contains_xy(area, lons, lats)
    LOG.info(
        "pass 1: %d nodes read, %d inside the area (%.1f s)",
        len(ids), int(inside.sum()), time.perf_counter() - start,
    )
    inside_nodes = osmium.IdTracker()
    for node_id in ids[inside].tolist():
        inside_nodes.add_node(node_id)

    # Pass 2: drivable ways with at least one node inside the area.
    start = time.perf_counter()
    keep = osmium.IdTracker()
    refs = array("q")
    classes: Counter[str] = Counter()
    n_drivable = 0
    processor = osmium.FileProcessor(str(source), osmium.osm.WAY).with_filter(
        osmium.filter.TagFilter(*(("highway", value) for value in DRIVABLE_HIGHWAYS))
    )
    for way in processor:
        n_drivable += 1
        if not inside_nodes.contains_any_references(way):
            continue
        keep.add_way(way.id)
        keep.add_references(way)
        refs.extend(node.ref for node in way.nodes)
        classes[way.tags["highway"]] += 1
    n_ways = sum(classes.values())
    node_ids = np.unique(np.frombuffer(refs, dtype=np.int64))
    LOG.info(
        "pass 2: %d drivable ways in the source, %d kept referencing %d nodes (%.1f s)",
        n_drivable, n_ways, len(node_ids), time.perf_counter() - start,
    )
    LOG.info("kept ways per highway class: %s", dict(sorted(classes.items(), key=lambda kv: -kv[1])))

    # Bounding box of the written nodes, for the file header.
    pos = np.searchsorted(ids, node_ids)
    if np.any(pos >= len(ids)) or np.any(ids[np.minimum(pos, len(ids) - 1)] != node_ids):
        raise RuntimeError(f"{source}: kept ways reference nodes missing from the file")
    west, east = float(lons[pos].min()), float(lons[pos].max())
    south, north = float(lats[pos].min()), float(lats[pos].max())

    # Pass 3: copy the selected nodes and ways (the source is sorted, so is the copy).
    start = time.perf_counter()
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    header = osmium.io.Header()
    header.set("generator", "accessibility scripts/make_embedded_data.py (pyosmium)")
    header.set("sorting", "Type_then_ID")
    header.add_box(osmium.osm.Box(osmium.osm.Location(west, south), osmium.osm.Location(east, north)))
    writer = osmium.SimpleWriter(str(output), header=header)
    try:
        osmium.apply(str(source), keep.id_filter(), writer)
    finally:
        writer.close()
    LOG.info(
        "pass 3: wrote %s: %d ways, %d nodes, %d bytes, bbox %.4f %.4f %.4f %.4f (%.1f s)",
        output, n_ways, len(node_ids), output.stat().st_size,
        west, south, east, north, time.perf_counter() - start,
    )


def make_polygons(communes: gpd.GeoDataFrame, area: shapely.Geometry, output: Path) -> None:
    """Write the PACA commune polygons meeting ``area`` (for maps)."""
    paca = communes[communes["departement"].isin(PACA_DEPARTEMENTS)]
    subset = paca[paca.intersects(area)].sort_values("code").reset_index(drop=True)
    LOG.info(
        "%d commune polygons meet the area: %s",
        len(subset), dict(sorted(Counter(subset["departement"]).items())),
    )
    _write_gpkg(subset, output)
    size = output.stat().st_size
    if size > POLYGONS_MAX_BYTES:
        LOG.info("%s is %d bytes, simplifying (tolerance %g°)", output, size, POLYGONS_SIMPLIFY_DEG)
        subset = subset.copy()
        try:  # keeps shared borders shared (GEOS >= 3.12)
            subset["geometry"] = shapely.coverage_simplify(subset.geometry.values, POLYGONS_SIMPLIFY_DEG)
        except (AttributeError, shapely.errors.GEOSException, shapely.errors.UnsupportedGEOSVersionError):
            subset["geometry"] = subset.geometry.simplify(POLYGONS_SIMPLIFY_DEG, preserve_topology=True)
        _write_gpkg(subset, output)
    LOG.info("wrote %s: %d communes, %d bytes", output, len(subset), output.stat().st_size)


def _write_gpkg(frame: gpd.GeoDataFrame, output: Path) -> None:
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": GPKG_DATE})
    try:
        frame.to_file(output, layer=POLYGONS_LAYER, driver="GPKG", engine="pyogrio")
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})


def copy_file(source: Path, output: Path, compress: bool) -> None:
    """Copy ``source`` to ``output``, gzipped reproducibly (mtime=0) if ``compress``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    if compress:
        with open(source, "rb") as src, open(output, "wb") as raw:
            with gzip.GzipFile(filename=source.name, mode="wb", fileobj=raw, compresslevel=9, mtime=0) as dst:
                shutil.copyfileobj(src, dst)
    else:
        shutil.copyfile(source, output)
    LOG.info("wrote %s (%d bytes)", output, output.stat().st_size)


def main(argv: list[str] | None = None) -> int:
    root = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shared", type=Path, default=root.parent / "shared" / "data",
                        help="shared open-data directory (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=root / "data",
                        help="output directory (default: %(default)s)")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
    )
    logging.getLogger("pyogrio").setLevel(logging.WARNING)
    if not (args.shared / OSM_SOURCE).is_file():
        parser.error(f"{args.shared / OSM_SOURCE} not found: is --shared the shared data directory?")

    start = time.perf_counter()
    area, communes = extract_area(args.shared / POLYGONS_SOURCE)
    make_osm_extract(args.shared / OSM_SOURCE, args.out / OSM_OUTPUT, area)
    make_polygons(communes, area, args.out / POLYGONS_OUTPUT)
    for source, output, compress in COPIES:
        copy_file(args.shared / source, args.out / output, compress)
    make_subsets(args.shared, args.out)
    LOG.info("done in %.1f s", time.perf_counter() - start)
    return 0


if __name__ == "__main__":
    sys.exit(main())
