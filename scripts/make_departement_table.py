#!/usr/bin/env python3
"""Write ``accessibility/inputs/datasets/_departement_table.py``: the départements of France, their
neighbours and the OSM extracts that cover them.

Three inputs, all public, none downloaded by this script:

* ``--npm-tarball``: the npm package ``@etalab/decoupage-administratif`` 6.0.0
  (``npm pack @etalab/decoupage-administratif@6.0.0``; sha1
  0330556cf07e21fff21111e5775a316ec18b9636 as the npm registry publishes it). Its
  ``data/departements.json`` gives the code, name and region of the 96 metropolitan and 5
  overseas départements (``zone`` ``metro`` and ``drom``; the collectivités ``com`` are left
  out: no BPE, no gamme).
* ``--polygons``: the commune polygons of ``../shared/data/communes/communes-2023-polygons.gpkg``
  (IGN ADMIN EXPRESS via Etalab, simplified). Two départements are *neighbours* when their
  dissolved polygons (Lambert-93) are less than ``NEAR_M`` metres apart: they share a border,
  or come so close that the simplified polygons cannot tell (Var and Vaucluse share about a
  kilometre of the Durance; Bouches-du-Rhône and Alpes-de-Haute-Provence are 583 m apart in
  the simplified polygons). For this table's use (whose services and roads may serve a
  commune near the border) a near contact counts like a border.
* ``--osmfr-listing``: the polygon paths of the OpenStreetMap France extract service, one per
  line (``europe/france/nord_pas_de_calais/pas_de_calais``), taken from
  ``git ls-tree -r --name-only HEAD osc_modif/polygons`` of github.com/osm-fr/osm-extract-replication
  (the repository that builds https://download.openstreetmap.fr/extracts/). A département's
  extract is ``extracts/<path>-latest.osm.pbf``; its old region (before 2016) is the parent
  folder, which is also the name of Geofabrik's sub-region file (``_`` → ``-``).

Usage::

    python scripts/make_departement_table.py --npm-tarball decoupage-administratif-6.0.0.tgz \\
        --polygons ../shared/data/communes/communes-2023-polygons.gpkg \\
        --osmfr-listing osmfr-france-listing.txt
"""

from __future__ import annotations

import argparse
import io
import json
import re
import sys
import tarfile
import unicodedata
from pathlib import Path

#: Two départements closer than this (metres, simplified polygons) are neighbours.
NEAR_M = 1000.0
LAMBERT93 = "EPSG:2154"

OUT = Path(__file__).resolve().parent.parent / "accessibility" / "datasets" / "_departement_table.py"


def slug(name: str) -> str:
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", s).strip("_")


def read_departements(tarball: Path) -> list[dict]:
    with tarfile.open(tarball) as tf:
        data = json.load(io.TextIOWrapper(tf.extractfile("package/data/departements.json"), encoding="utf-8"))
    return [d for d in data if d["zone"] in ("metro", "drom")]


def neighbours(polygons: Path, codes: list[str]) -> dict[str, list[str]]:
    import geopandas as gpd
    import shapely

    g = gpd.read_file(polygons, columns=["departement"])
    g = g[g["departement"].isin(codes)]
    metro = g[~g["departement"].str.startswith("97")].to_crs(LAMBERT93)
    metro["geometry"] = shapely.make_valid(metro.geometry.values)
    dep = metro.dissolve("departement")
    geoms = dep.geometry.values
    out: dict[str, list[str]] = {c: [] for c in codes}
    names = list(dep.index)
    tree = shapely.STRtree(geoms)
    for i, a in enumerate(names):
        for j in tree.query(geoms[i], predicate="dwithin", distance=NEAR_M):
            if names[j] != a:
                out[a].append(names[j])
    return {k: sorted(v) for k, v in out.items()}


#: Département names whose OSM France extract is named otherwise.
EXTRACT_NAME = {"974": "reunion"}


def osm_paths(listing: Path, deps: list[dict]) -> dict[str, str]:
    paths = [p.strip() for p in listing.read_text().splitlines() if p.strip()]
    by_slug = {}
    for p in paths:
        by_slug.setdefault(p.rsplit("/", 1)[-1], []).append(p)
    out = {}
    for d in deps:
        s = EXTRACT_NAME.get(d["code"], slug(d["nom"]))
        cands = [p for p in by_slug.get(s, []) if p.startswith("europe/france/") and p.count("/") == 3]
        if not cands:  # overseas: a top-level extract of its own
            cands = [p for p in by_slug.get(s, []) if not p.startswith("europe/")]
        if len(cands) != 1:
            raise SystemExit(f"no single OSM France extract for {d['code']} {d['nom']} ({s}): {cands}")
        out[d["code"]] = cands[0]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--npm-tarball", type=Path, required=True)
    ap.add_argument("--polygons", type=Path, required=True)
    ap.add_argument("--osmfr-listing", type=Path, required=True)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    deps = read_departements(args.npm_tarball)
    codes = [d["code"] for d in deps]
    nb = neighbours(args.polygons, codes)
    osm = osm_paths(args.osmfr_listing, deps)
    lines = [
        '"""Generated by scripts/make_departement_table.py: do not edit by hand (see that script for',
        "the sources: @etalab/decoupage-administratif 6.0.0, IGN ADMIN EXPRESS commune polygons,",
        'the polygon list of github.com/osm-fr/osm-extract-replication)."""',
        "",
        "# code, name, region code, OpenStreetMap France extract path, neighbouring départements",
        "DEPARTEMENT_ROWS: tuple[tuple[str, str, str, str, tuple[str, ...]], ...] = (",
    ]
    for d in deps:
        c = d["code"]
        lines.append(f"    ({c!r}, {d['nom']!r}, {d['region']!r}, {osm[c]!r}, {tuple(nb[c])!r}),")
    lines.append(")")
    args.out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: {len(deps)} départements", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
