"""Fingerprints of a run's output directory, to prove that a change of code left its outputs as
they were: the sha256 of every file's bytes, except where bytes legitimately vary between two runs
of the same code (a GeoPackage stores its write time, ``run.json`` its timings), where the
fingerprint is of the content: each GeoPackage layer's columns, types and rows (geometry as WKB).

    python scripts/output_fingerprints.py OUT_DIR > fingerprints.json

``tests/test_golden.py`` compares today's ``access compute --tier all --method both`` with the
fingerprints committed in ``tests/data/golden/`` (see its README for the commit that made them).
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

#: Files whose bytes change from one run to the next by design; ``run.json`` holds timings,
#: absolute paths and versions and is checked by its own tests.
SKIPPED = {"run.json"}


def _gpkg_fingerprint(path: Path) -> dict[str, str]:
    import pandas as pd
    import pyogrio

    out = {}
    for name, _geom_type in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        h = hashlib.sha256()
        h.update(json.dumps([(c, str(df[c].dtype)) for c in df.columns]).encode())
        if "geometry" in df:
            h.update(str(df.crs.to_epsg() if df.crs is not None else None).encode())
            df = pd.DataFrame(df.drop(columns="geometry")).assign(geometry=df.geometry.to_wkb(hex=True))
        h.update(df.to_csv(index=False, lineterminator="\n").encode())
        out[str(name)] = h.hexdigest()
    return out


def fingerprints(directory: str | Path) -> dict[str, object]:
    """``{file name: sha256 of its bytes}``, or for a GeoPackage ``{layer: sha256 of its content}``."""
    d = Path(directory)
    out: dict[str, object] = {}
    for p in sorted(d.iterdir()):
        if p.name in SKIPPED or not p.is_file():
            continue
        if p.suffix == ".gpkg":
            out[p.name] = _gpkg_fingerprint(p)
        else:
            out[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


if __name__ == "__main__":
    json.dump(fingerprints(sys.argv[1]), sys.stdout, indent=1, sort_keys=True)
    print()
