#!/usr/bin/env python3
"""Make the small test fixtures of ``tests/test_datasets*.py`` and ``tests/test_interop.py``.

Everything comes from the embedded data of the repository (``data/``), so the fixtures can be
rebuilt on any clone; the script is deterministic (same input, same bytes).

``tests/data/datasets/mirror/`` is a mirror laid out as ``accessibility.inputs.datasets.sources`` says
(``mirror_path`` of each source), for the Embrun / Ubaye area on the border of Hautes-Alpes (05)
and Alpes-de-Haute-Provence (04), the communes whose chef-lieu lies in ``BOX``:

* OSM extracts of "05" and "04": the drivable ways (``FIXTURE_HIGHWAYS``, no service roads, to
  stay small) of the embedded extract with a node in ``BOX`` and in the département (polygons
  widened by ``SPLIT_MARGIN_M``), kept whole; the two files overlap along the border, as real
  département extracts do. (Real extracts hold every object; these hold roads only.)
* geo.api.gouv.fr answers (``/departements/{dep}/communes`` JSON, and the GeoJSON contours) for
  those communes, in the API's format: ``mairie`` is the embedded IGN chef-lieu point, ``centre``
  a point inside the (simplified) polygon.
* the npm tarball of ``@etalab/decoupage-administratif`` holding ``package/data/communes.json``
  with those communes (and their ``anciensCodes`` from the embedded code-change table).
* INSEE's BPE detail zip (``BPE25.zip`` with ``BPE25.csv``, ``;``-separated, columns of the real
  file) holding one row per equipment of the embedded BPE 2018 counts of those communes, placed
  at the chef-lieu plus a deterministic offset of 30-300 m (synthetic coordinates; every 17th
  row without coordinates, as anonymised rows are).
* INSEE's counts ``DS_BPE_CSV_FR.zip`` (``DS_BPE_2025_data.csv``: ``GEO``, ``GEO_OBJECT``,
  ``FACILITY_DOM``, ``FACILITY_SDOM``, ``FACILITY_TYPE``, ``TIME_PERIOD``, ``OBS_VALUE``) with the
  same counts, plus rows the reader must drop (totals ``_T``, département rows, 2024).
* the gamme workbook ``BPE_gammes_equipements_2025.xlsx``: the embedded 2021 gammes, one row per
  BPE type, under two title lines, as INSEE lays it out.
* the France services CSV of those two départements (embedded list of 1 August 2024).
* the Filosofi zip: a GeoPackage of 200 m squares (EPSG:2154, ``idcar_200m``, ``ind``,
  ``lcog_geo``) with synthetic cells around each chef-lieu whose ``ind`` sum to the commune's
  population.

``tests/data/osm/digne-small.osm`` is an OSM XML file (for ``osmnx.graph_from_xml``): the
drivable ways of the embedded extract with a node within ``XML_BOX`` around Digne-les-Bains.

Usage::

    python scripts/make_dataset_fixtures.py
"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from accessibility.inputs.datasets._xlsx import write_xlsx_rows  # noqa: E402
from accessibility.inputs.datasets.assemble import _clip_one  # noqa: E402
from accessibility.inputs.datasets.departements import DEPARTEMENTS  # noqa: E402

DATA = ROOT / "data"
OUT = ROOT / "tests" / "data" / "datasets" / "mirror"
XML_OUT = ROOT / "tests" / "data" / "osm" / "digne-small.osm"
#: lon/lat box of the fixture communes' chef-lieux (Embrun, Savines-le-Lac, Le Lauzet-Ubaye …).
BOX = (6.26, 44.40, 6.70, 44.60)
#: Roads kept in the fixture extracts (no service/living_street: smaller files).
FIXTURE_HIGHWAYS = (
    "motorway", "motorway_link", "trunk", "trunk_link", "primary", "primary_link", "secondary",
    "secondary_link", "tertiary", "tertiary_link", "road",
)
SPLIT_MARGIN_M = 2000.0
XML_BOX = (6.228, 44.087, 6.237, 44.094)
BPE_YEAR = 2025
ZIP_DATE = (2025, 1, 1, 0, 0, 0)
SIMPLIFY_DEG = 0.002


def zip_write(path: Path, members: dict[str, bytes]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)


def load_inputs():
    com = pd.read_csv(DATA / "communes" / "communes-2023.csv.gz", dtype={"code": str, "departement": str, "region": str})
    sel = com[(com.lon > BOX[0]) & (com.lon < BOX[2]) & (com.lat > BOX[1]) & (com.lat < BOX[3])].copy()
    sel["population"] = sel["population"].fillna(0).astype(int)
    poly = gpd.read_file(DATA / "communes" / "communes-alpes-du-sud-2023-polygons.gpkg")
    poly = poly[poly["code"].isin(sel["code"])].sort_values("code").reset_index(drop=True)
    poly["geometry"] = poly.geometry.simplify(SIMPLIFY_DEG, preserve_topology=True)
    return sel.sort_values("code").reset_index(drop=True), poly


def make_osm(sel, poly) -> None:
    box = shapely.box(*BOX)
    for dep in ("05", "04"):
        d = DEPARTEMENTS[dep]
        dep_area = gpd.GeoSeries(
            [shapely.union_all(poly[poly["departement"] == dep].geometry.values)], crs="EPSG:4326"
        ).to_crs("EPSG:2154").buffer(SPLIT_MARGIN_M).to_crs("EPSG:4326").iloc[0]
        area = box.intersection(dep_area)
        out = OUT / f"download.openstreetmap.fr/extracts/{d.osm_extract}-latest.osm.pbf"
        out.parent.mkdir(parents=True, exist_ok=True)
        st = _clip_one(DATA / "osm" / "alpes-du-sud-roads-2021.osm.pbf", area, FIXTURE_HIGHWAYS, out)
        print(f"{out.relative_to(OUT)}: {st['kept_ways']} ways, {st['kept_nodes']} nodes, {out.stat().st_size:,} bytes")


def make_geo_api(sel, poly) -> None:
    for dep in ("05", "04"):
        s = sel[sel["departement"] == dep]
        p = poly.set_index("code")
        rows = []
        for r in s.itertuples():
            inner = shapely.point_on_surface(p.geometry[r.code])
            rows.append({
                "nom": r.nom,
                "code": r.code,
                "codeDepartement": dep,
                "codeRegion": r.region,
                "population": int(r.population),
                "centre": {"type": "Point", "coordinates": [round(inner.x, 4), round(inner.y, 4)]},
                "mairie": {"type": "Point", "coordinates": [round(r.lon, 4), round(r.lat, 4)]},
            })
        out = OUT / f"geo.api.gouv.fr/departements/{dep}/communes.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        feats = []
        for r in s.itertuples():
            g = p.geometry[r.code]
            feats.append({
                "type": "Feature",
                "properties": {"nom": r.nom, "code": r.code, "codeDepartement": dep, "population": int(r.population)},
                "geometry": json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-5))),
            })
        (out.parent / "communes-contour.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False), encoding="utf-8"
        )


def make_npm(sel) -> None:
    changes = pd.read_csv(DATA / "communes" / "commune-code-changes.csv", dtype=str)
    olds = changes.groupby("code")["old_code"].apply(list).to_dict()
    communes = []
    for r in sel.itertuples():
        c = {"code": r.code, "nom": r.nom, "typeLiaison": 0, "zone": "metro", "departement": r.departement,
             "region": r.region, "type": "commune-actuelle", "population": int(r.population)}
        if r.code in olds:
            c["anciensCodes"] = sorted(olds[r.code])
        communes.append(c)
    # one commune déléguée, as the real file has them (Embrun has none: a made-up one is not
    # added; Crots' former code 05045 is kept as is)
    pkg = {"name": "@etalab/decoupage-administratif", "version": "6.0.0", "description": "test fixture subset"}
    out = OUT / "registry.npmjs.org/@etalab/decoupage-administratif/-/decoupage-administratif-6.0.0.tgz"
    out.parent.mkdir(parents=True, exist_ok=True)
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tf:
        for name, data in (("package/package.json", json.dumps(pkg).encode()),
                           ("package/data/communes.json", json.dumps(communes, ensure_ascii=False).encode())):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mtime = 0
            tf.addfile(info, io.BytesIO(data))
    with open(out, "wb") as raw, gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0) as gz:
        gz.write(buf.getvalue())


def bpe_rows(sel) -> pd.DataFrame:
    from accessibility.inputs.communes import load_code_changes, map_commune_codes

    bpe = pd.read_csv(DATA / "bpe" / "bpe-2018-communes.csv.gz", dtype={"DEPCOM": str, "TYPEQU": str})
    bpe["code"] = map_commune_codes(bpe["DEPCOM"], load_code_changes(DATA / "communes" / "commune-code-changes.csv"))
    bpe = bpe[bpe["code"].isin(sel["code"])]
    bpe = bpe.groupby(["code", "TYPEQU"], as_index=False)["NB_EQUIP"].sum()
    bpe["NB_EQUIP"] = bpe["NB_EQUIP"].round().astype(int)
    return bpe[bpe["NB_EQUIP"] > 0].sort_values(["code", "TYPEQU"]).reset_index(drop=True)


def make_bpe(sel) -> None:
    from pyproj import Transformer

    counts = bpe_rows(sel)
    centre = sel.set_index("code")
    to_l93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    rows = []
    k = 0
    for r in counts.itertuples():
        lon0, lat0 = centre.loc[r.code, ["lon", "lat"]]
        x0, y0 = to_l93.transform(lon0, lat0)
        for _ in range(int(r.NB_EQUIP)):
            k += 1
            ang = (k * 2.399963) % (2 * np.pi)  # golden angle: spread, deterministic
            rad = 30.0 + (k * 37) % 270
            x, y = x0 + rad * np.cos(ang), y0 + rad * np.sin(ang)
            lon, lat = to_l93.transform(x, y, direction="INVERSE")
            geoloc = k % 17 != 0
            rows.append({
                "AN": str(BPE_YEAR), "NOMRS": "", "DEPCOM": r.code, "DEP": r.code[:2], "REG": "93",
                "DOM": r.TYPEQU[0], "SDOM": r.TYPEQU[:2], "TYPEQU": r.TYPEQU,
                "LAMBERT_X": f"{x:.1f}" if geoloc else "", "LAMBERT_Y": f"{y:.1f}" if geoloc else "",
                "LONGITUDE": f"{lon:.6f}" if geoloc else "", "LATITUDE": f"{lat:.6f}" if geoloc else "",
                "QUALITE_XY": ("Bonne" if k % 5 else "Acceptable") if geoloc else "Non géolocalisé",
                "EPSG": "2154" if geoloc else "", "QUALITE_GEOLOC": ("11" if k % 5 else "21") if geoloc else "",
                "DCIRIS": r.code,
            })
    df = pd.DataFrame(rows)
    zip_write(OUT / f"www.insee.fr/fr/statistiques/fichier/8217525/BPE{BPE_YEAR % 100}.zip",
              {f"BPE{BPE_YEAR % 100}.csv": df.to_csv(sep=";", index=False).encode("utf-8")})
    melodi = [{"GEO": r.code, "GEO_OBJECT": "COM", "FACILITY_DOM": r.TYPEQU[0], "FACILITY_SDOM": r.TYPEQU[:2],
               "FACILITY_TYPE": r.TYPEQU, "TIME_PERIOD": str(BPE_YEAR), "OBS_VALUE": str(r.NB_EQUIP)}
              for r in counts.itertuples()]
    # rows the reader must drop: domain totals, a département row, an older vintage
    first = counts.iloc[0]
    melodi += [
        {"GEO": first.code, "GEO_OBJECT": "COM", "FACILITY_DOM": "_T", "FACILITY_SDOM": "_T", "FACILITY_TYPE": "_T",
         "TIME_PERIOD": str(BPE_YEAR), "OBS_VALUE": str(int(counts[counts.code == first.code].NB_EQUIP.sum()))},
        {"GEO": "05", "GEO_OBJECT": "DEP", "FACILITY_DOM": first.TYPEQU[0], "FACILITY_SDOM": first.TYPEQU[:2],
         "FACILITY_TYPE": first.TYPEQU, "TIME_PERIOD": str(BPE_YEAR), "OBS_VALUE": "999"},
        {"GEO": first.code, "GEO_OBJECT": "COM", "FACILITY_DOM": first.TYPEQU[0], "FACILITY_SDOM": first.TYPEQU[:2],
         "FACILITY_TYPE": first.TYPEQU, "TIME_PERIOD": str(BPE_YEAR - 1), "OBS_VALUE": "77"},
    ]
    m = pd.DataFrame(melodi)
    meta = "COD_VAR;LIB_VAR\nGEO;Code géographique\nFACILITY_TYPE;Type d'équipement\nOBS_VALUE;Valeur\n"
    zip_write(OUT / "www.insee.fr/fr/statistiques/fichier/8217527/DS_BPE_CSV_FR.zip",
              {f"DS_BPE_{BPE_YEAR}_data.csv": m.to_csv(sep=";", index=False).encode("utf-8"),
               f"DS_BPE_{BPE_YEAR}_metadata.csv": meta.encode("utf-8")})


def make_gammes() -> None:
    g = pd.read_csv(DATA / "bpe" / "bpe-gammes-2021.csv", dtype=str).fillna("")
    rows = [["Gammes d'équipements de la BPE"], [f"Millésime {BPE_YEAR}"],
            ["DOM", "LIBELLE_DOM", "TYPEQU", "LIBELLE_TYPEQU", "TYPEQU_REGROUPEMENT",
             "LIBELLE_TYPEQU_REGROUPEMENT", "GAMME"]]
    names = {"proximité": "Gamme de proximité", "intermédiaire": "Gamme intermédiaire", "supérieure": "Gamme supérieure"}
    for r in g.itertuples(index=False):
        types = [t for t in (r.regroupement_1, r.regroupement_2, r.regroupement_3) if t]
        grouped = len(types) > 1
        for t in types:
            rows.append([r.domaine_code, r.domaine_libellé, t, f"{r._4} ({t})" if grouped else r._4,
                         r.code_equipement if grouped else "", r._4 if grouped else "", names[r.gamme]])
    out = OUT / f"www.insee.fr/fr/statistiques/fichier/8217535/BPE_gammes_equipements_{BPE_YEAR}.xlsx"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_xlsx_rows(out, rows)


def make_france_services() -> None:
    fs = pd.read_csv(DATA / "services" / "france-services-2024-08-01.csv.gz", dtype=str)
    fs = fs[fs["insee_dep"].isin(["04", "05"])]
    out = OUT / "www.data.gouv.fr/datasets/liste-des-structures-labellisees-france-services/france-services.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    fs.to_csv(out, sep=";", index=False)


def make_population(sel) -> None:
    from pyproj import Transformer

    to_l93 = Transformer.from_crs("EPSG:4326", "EPSG:2154", always_xy=True)
    cells = []
    for r in sel.itertuples():
        x0, y0 = to_l93.transform(r.lon, r.lat)
        n = 1 + int(r.population) // 400
        n = min(n, 6)
        cx, cy = np.floor(x0 / 200) * 200, np.floor(y0 / 200) * 200
        share = np.full(n, int(r.population) // n, dtype=float)
        share[0] += int(r.population) - share.sum()
        for k in range(n):
            x, y = cx + 200 * (k % 3), cy + 200 * (k // 3)
            cells.append({
                "idcar_200m": f"CRS3035RES200mN{int(y)}E{int(x)}",  # label only; real ids are in LAEA
                "ind": float(share[k]),
                "lcog_geo": r.code,
                "geometry": shapely.box(x, y, x + 200, y + 200),
            })
    gdf = gpd.GeoDataFrame(cells, crs="EPSG:2154")
    with tempfile.TemporaryDirectory() as td:
        p = Path(td) / "carreaux_200m_met.gpkg"
        import pyogrio

        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": "2023-01-01T00:00:00.000Z"})
        gdf.to_file(p, layer="carreaux_200m_met", driver="GPKG", engine="pyogrio")
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": None})
        zip_write(OUT / "www.insee.fr/fr/statistiques/fichier/7655475/Filosofi2019_carreaux_200m_gpkg.zip",
                  {"carreaux_200m_met.gpkg": p.read_bytes()})


def make_xml() -> None:
    import osmium

    area = shapely.box(*XML_BOX)
    with tempfile.TemporaryDirectory() as td:
        pbf = Path(td) / "x.osm.pbf"
        _clip_one(DATA / "osm" / "alpes-du-sud-roads-2021.osm.pbf", area,
                  FIXTURE_HIGHWAYS + ("residential", "living_street"), pbf)
        XML_OUT.parent.mkdir(parents=True, exist_ok=True)
        XML_OUT.unlink(missing_ok=True)
        w = osmium.SimpleWriter(osmium.io.File(str(XML_OUT), "osm,add_metadata=false"))
        try:
            for o in osmium.FileProcessor(str(pbf)):
                w.add(o)
        finally:
            w.close()
    print(f"{XML_OUT.relative_to(ROOT)}: {XML_OUT.stat().st_size:,} bytes")


def main() -> int:
    if OUT.exists():
        shutil.rmtree(OUT)
    sel, poly = load_inputs()
    print(f"{len(sel)} communes: {', '.join(sel['nom'])}")
    make_osm(sel, poly)
    make_geo_api(sel, poly)
    make_npm(sel)
    make_bpe(sel)
    make_gammes()
    make_france_services()
    make_population(sel)
    make_xml()
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"mirror: {total:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
