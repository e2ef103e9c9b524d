"""The PDF of the report, for a SDAASP annex: matplotlib's ``PdfPages`` (already a dependency: no
system library, no browser), one A4 page per part: the headline table, each map, the sectors,
the qualification. The HTML stays the full report; the PDF holds its figures and main tables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from accessibility.analyses.diagnostic.pipeline import Diagnostic
from accessibility.outputs.maps import fr_number
from accessibility.settings import TIER_LABELS, TIERS

__all__ = ["write_pdf", "pdf_page_count", "A4"]

#: A4 portrait, inches.
A4 = (8.27, 11.69)


def _fmt(v, dec: int) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return "–"
    return fr_number(float(v), dec) if isinstance(v, (int, float, np.integer, np.floating)) else str(v)


def _table_page(pdf, title: str, df: pd.DataFrame, cols: list[tuple[str, str, int]], note: str) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=A4)
    ax = fig.add_axes((0.05, 0.08, 0.9, 0.82))
    ax.set_axis_off()
    fig.text(0.5, 0.95, title, ha="center", fontsize=13, fontweight="bold")
    cells = [[_fmt(r.get(c), d) if d >= 0 else str(r.get(c) if r.get(c) is not None else "–")[:60] for c, _, d in cols]
             for r in df.head(40).to_dict(orient="records")] or [["(aucune ligne)"] + [""] * (len(cols) - 1)]
    t = ax.table(cellText=cells, colLabels=[h for _, h, _ in cols], loc="upper center", cellLoc="left")
    t.auto_set_font_size(False)
    t.set_fontsize(6.5)
    t.scale(1, 1.25)
    fig.text(0.05, 0.04, note, fontsize=7, color="#555555")
    pdf.savefig(fig)


def _image_page(pdf, path: Path) -> None:
    from matplotlib.figure import Figure
    from PIL import Image

    fig = Figure(figsize=A4)
    ax = fig.add_axes((0.03, 0.03, 0.94, 0.94))
    ax.set_axis_off()
    with Image.open(path) as im:
        ax.imshow(np.asarray(im.convert("RGB")))
    pdf.savefig(fig)


def write_pdf(diag: Diagnostic, images: Mapping[str, Path], path: str | os.PathLike) -> int:
    """Write the PDF and return its number of pages: 1 (headline) + one per map + 1 (sectors)
    + 1 (population of the zones grises)."""
    from matplotlib.backends.backend_pdf import PdfPages

    lab = {t: TIER_LABELS[t] for t in TIERS}
    h = diag.headline.assign(tier=diag.headline["tier"].map(lab))
    pages = 0
    with PdfPages(str(path), metadata={"Title": f"Diagnostic {', '.join(diag.options.departements)}",
                                       "Creator": "accessibility access diagnostic", "CreationDate": None}) as pdf:
        _table_page(pdf, f"Synthèse — départements {', '.join(diag.options.departements)}", h, [
            ("tier", "Gamme", -1), ("area", "Territoire", -1), ("communes_zone_grise", "Communes en ZG", 0),
            ("population_zone_grise", "Habitants en ZG", 0), ("share_population_zone_grise", "Part (%)", 1),
            ("share_region", "Région (%)", 1), ("share_france", "France (%)", 1)],
            "Source : tableau_synthese.csv. Région et France : " + "; ".join(sorted(set(diag.headline["region_status"]))))
        pages += 1
        for name in ("armature", *[f"bassins_{t}" for t in TIERS], "superposition"):
            if name in images:
                _image_page(pdf, images[name])
                pages += 1
        s = diag.sectors[diag.sectors["retained"].astype(bool)] if len(diag.sectors) else diag.sectors
        _table_page(pdf, "Espaces à enjeux", s, [("sector", "Secteur", -1), ("name", "Nom", -1), ("communes", "Communes", 0),
                                                ("population", "Habitants", 0), ("tiers_labels", "Gammes", -1)],
                    "Source : secteurs.csv (avec EPCI, bassins et liste des communes).")
        p = diag.profile.assign(tier=diag.profile["tier"].map(lab))
        _table_page(pdf, "Population des zones grises", p, [
            ("tier", "Gamme", -1), ("area", "Territoire", -1), ("population", "Habitants", 0), ("share_65_pct", "65+ (%)", 1),
            ("median_income_eur", "Revenu médian (€)", 0), ("unemployment_pct", "Chômage (%)", 1)],
            "Source : qualification_population.csv.")
        pages += 2
    return pages


def pdf_page_count(path: str | os.PathLike) -> int:
    """Pages of a PDF, read back from its page tree (``/Type /Pages`` … ``/Count n``)."""
    import re

    data = Path(path).read_bytes()
    counts = [int(m) for m in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count\s+(\d+)", data, flags=re.S)]
    counts += [int(m) for m in re.findall(rb"/Count\s+(\d+)[^>]*?/Type\s*/Pages\b", data, flags=re.S)]
    return max(counts) if counts else 0
