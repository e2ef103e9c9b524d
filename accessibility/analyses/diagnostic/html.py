"""The French HTML report of a diagnostic: one self-contained file (maps inlined as base64 PNG,
no script, no external resource), rendered with Jinja2 from ``templates/rapport.html.j2``.

Every table shows the CSV it comes from under it.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from markupsafe import Markup, escape

from accessibility.analyses.diagnostic.pipeline import Diagnostic
from accessibility.outputs.maps import fr_number
from accessibility.settings import TIER_LABELS, TIERS

__all__ = ["html_table", "render_html", "method_paragraphs"]

_TITLES = {"epci": "Par EPCI", "bv": "Par bassin de vie (INSEE 2022)", "density": "Par classe de densité",
           "canton": "Par canton"}


def _cell(v, decimals: int | None) -> tuple[str, bool]:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return "–", True
    if isinstance(v, (bool, np.bool_)):
        return ("oui" if v else "non"), False
    if decimals is not None and isinstance(v, (int, float, np.integer, np.floating)):
        return fr_number(float(v), decimals), True
    return str(v), False


def html_table(df: pd.DataFrame, columns: Sequence[tuple[str, str, int | None]], source: str | None) -> Markup:
    """An HTML table of ``df``'s ``columns`` (name, French header, decimals or None for text),
    with the CSV it comes from under it; empty cells show ``–``."""
    head = "".join(f"<th>{escape(h)}</th>" for _, h, _ in columns)
    rows = []
    for rec in df.to_dict(orient="records"):
        cells = []
        for col, _, dec in columns:
            text, num = _cell(rec.get(col), dec)
            cells.append(f'<td class="n">{escape(text)}</td>' if num else f"<td>{escape(text)}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    body = "".join(rows) or f'<tr><td colspan="{len(columns)}">(aucune ligne)</td></tr>'
    src = f'<p class="src">Source : <code>{escape(source)}</code></p>' if source else ""
    return Markup(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{src}")


def method_paragraphs(diag: Diagnostic, sources: Sequence[Mapping[str, str]]) -> list[str]:
    """The method, in a few paragraphs (thresholds, definitions, data vintages)."""
    o = diag.options
    thr = ", ".join(f"{TIER_LABELS[t]} {fr_number(o.thresholds_min[t], 0)} min" for t in TIERS)
    vint = "; ".join(f"{s.get('title') or s.get('role')} ({s.get('vintage', 'millésime non indiqué')})" for s in sources)
    measure = ("la moyenne des temps d'accès aux équipements de la gamme (définition INSEE)" if o.method == "mean"
               else "le temps d'accès au pôle de la gamme le plus proche")
    return [
        "Les temps sont des temps de trajet en voiture, de centre à centre : du chef-lieu de la commune au chef-lieu "
        "de la commune la plus proche qui possède l'équipement (0 quand la commune le possède), calculés sur le réseau "
        f"routier OpenStreetMap avec des vitesses par type de route. Le temps d'une commune pour une gamme est {measure}.",
        f"Une commune est en zone grise d'une gamme quand ce temps dépasse le seuil : {thr}. Une commune qui ne peut "
        "être placée sur le réseau n'est comptée ni dans la population, ni en zone grise ; elle est listée.",
        f"Étape 1, l'armature : une commune est pôle d'une gamme quand elle possède au moins {fr_number(100 * o.pole_share, 0)} % "
        "des équipements de la gamme (millésime de la BPE) ; son niveau est la gamme la plus haute dont elle est pôle. "
        "Étape 2, les bassins de services : pour chaque niveau, chaque commune est rattachée au pôle de ce niveau ou "
        "d'un niveau supérieur le plus proche en voiture (à égalité, le pôle de plus petit code commune).",
        "Étape 3, la superposition : le nombre de gammes pour lesquelles chaque commune est en zone grise (0 à 3) ; les "
        "secteurs sont les groupes de communes en zone grise (au moins une gamme) dont les polygones se touchent, nommés "
        f"par leur commune la plus peuplée ; un secteur de moins de {o.min_sector_size} communes n'est pas retenu comme "
        "espace à enjeux (commune isolée). Étape 4, la qualification : classes de la grille communale de densité, "
        "équipements au-delà du seuil, part des 65 ans ou plus (grille du recensement), revenu médian (médianes communales "
        "pondérées par la population), taux de chômage des 15-64 ans (chômeurs / actifs).",
        "Les parts régionale et nationale ne sont calculées que si le graphe routier couvre au moins 99 % des communes "
        "et des habitants de la zone ; sinon le tableau dit pourquoi elles manquent. Données : " + (vint or "voir run.json") + ".",
    ]


def _headline_columns() -> list[tuple[str, str, int | None]]:
    return [("tier_label", "Gamme", None), ("area", "Territoire", None), ("threshold_min", "Seuil (min)", 0),
            ("communes", "Communes", 0), ("communes_zone_grise", "Communes en zone grise", 0),
            ("population", "Habitants", 0), ("population_zone_grise", "Habitants en zone grise", 0),
            ("share_population_zone_grise", "Part des habitants (%)", 1),
            ("share_region", "Part, région (%)", 1), ("share_france", "Part, France (%)", 1)]


def _territory_columns(key: str) -> list[tuple[str, str, int | None]]:
    cols: list[tuple[str, str, int | None]] = [("label", "Territoire", None), ("communes", "Communes", 0),
                                               ("population", "Habitants", 0)]
    for t in TIERS:
        lab = TIER_LABELS[t]
        cols += [(f"population_zone_grise_{t}", f"Hab. en zone grise, {lab}", 0),
                 (f"share_population_zone_grise_{t}", f"%, {lab}", 1),
                 (f"weighted_minutes_{t}", f"Temps pondéré (min), {lab}", 1)]
    return cols


def _tables_html(diag: Diagnostic, tables: Mapping[str, pd.DataFrame], files: Mapping[str, str],
                 sources: Sequence[Mapping[str, str]]) -> dict[str, Markup]:
    lab = {t: TIER_LABELS[t] for t in TIERS}
    h = tables["headline"]
    status = "".join(f"<p class=\"src\">Part {escape(area)} : {escape(st)}.</p>" for area, st in
                     (("région", "; ".join(sorted(set(h["region_status"])))), ("France", "; ".join(sorted(set(h["france_status"]))))))
    out = {"headline": Markup(html_table(h.assign(tier_label=h["tier"].map(lab)), _headline_columns(), files["headline"])
                              + Markup(status))}
    p = diag.poles[diag.poles["level"] >= 2].sort_values(["level", "nom"], ascending=[False, True])
    out["poles"] = html_table(p, [("nom", "Pôle", None), ("code", "Code", None), ("departement", "Dép.", None),
                                  ("level_label", "Niveau", None)], files["poles"])
    b = diag.bassins.sort_values(["tier", "population"], ascending=[True, False])
    for t in TIERS:
        bt = b[b["tier"] == t]
        out[f"bassins_{t}"] = html_table(bt.head(25) if t == "proximite" else bt, [
            ("nom", "Pôle", None), ("departement", "Dép.", None), ("communes", "Communes", 0),
            ("population", "Habitants", 0), ("median_minutes", "Temps médian (min)", 1),
            ("max_minutes", "Temps max. (min)", 1), ("communes_zone_grise", "Communes en zone grise", 0),
            ("population_zone_grise", "Hab. en zone grise", 0)], files["bassins"])
    s = diag.sectors[diag.sectors["retained"].astype(bool)] if len(diag.sectors) else diag.sectors
    out["sectors"] = html_table(s, [("sector", "Secteur", None), ("name", "Nom", None), ("communes", "Communes", 0),
                                    ("population", "Habitants", 0), ("tiers_labels", "Gammes en zone grise", None),
                                    ("epci", "EPCI", None), ("bassins_intermediaire", "Bassins intermédiaires", None)],
                                files["sectors"])
    d = diag.density
    out["density"] = html_table(d[d["grouping"] == "groupe"].assign(tier_label=d["tier"].map(lab)) if len(d) else d, [
        ("tier_label", "Gamme", None), ("label", "Type de territoire", None), ("communes_zone_grise", "Communes en zone grise", 0),
        ("population_zone_grise", "Hab. en zone grise", 0), ("share_of_zone_grise_population", "Part de la zone grise (%)", 1),
        ("share_population_zone_grise", "Part du type en zone grise (%)", 1)], files["density"])
    df = diag.deficient.groupby("tier", sort=False).head(5)
    out["deficient"] = html_table(df.assign(tier_label=df["tier"].map(lab)), [
        ("tier_label", "Gamme", None), ("label", "Équipement", None), ("communes_zone_grise_beyond", "Communes de la zone grise au-delà", 0),
        ("population_zone_grise_beyond", "Habitants", 0), ("share_zone_grise_population_beyond", "Part de la zone grise (%)", 1),
        ("communes_beyond", "Toutes communes au-delà", 0)], files["deficient"])
    pr = diag.profile
    out["profile"] = html_table(pr.assign(tier_label=pr["tier"].map(lab)), [
        ("tier_label", "Gamme", None), ("area", "Territoire", None), ("communes", "Communes", 0), ("population", "Habitants", 0),
        ("share_65_pct", "65 ans ou plus (%)", 1), ("median_income_eur", "Revenu médian (€)", 0),
        ("poverty_rate_pct", "Taux de pauvreté (%)", 1), ("unemployment_pct", "Chômage 15-64 ans (%)", 1)], files["profile"])
    for k in diag.territories:
        out[f"by_{k}"] = html_table(tables[f"by_{k}"], _territory_columns(k), files[f"by_{k}"])
    out["sources"] = html_table(pd.DataFrame(list(sources), columns=["role", "title", "vintage", "licence", "attribution"]),
                                [("title", "Donnée", None), ("vintage", "Millésime", None), ("licence", "Licence", None),
                                 ("attribution", "Attribution", None)], None)
    return out


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def render_html(diag: Diagnostic, tables: Mapping[str, pd.DataFrame], images: Mapping[str, Path], *,
                sources: Sequence[Mapping[str, str]] = (), files: Mapping[str, str]) -> str:
    """The report as one HTML string (see the module docstring).

    Parameters
    ----------
    diag : Diagnostic
    tables : mapping name -> DataFrame
        :func:`accessibility.analyses.diagnostic.report.diagnostic_tables`.
    images : mapping name -> Path
        The maps (:func:`accessibility.analyses.diagnostic.report.draw_maps`); inlined.
    sources : sequence of mapping
        Data sources (``role, title, vintage, licence, attribution``).
    files : mapping name -> str
        CSV file of each table, named under it.
    """
    import jinja2

    from accessibility import __version__

    env = jinja2.Environment(loader=jinja2.PackageLoader("accessibility.analyses.diagnostic", "templates"),
                             autoescape=True, undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    o, c = diag.options, diag.communes
    notes = list(diag.notes) + ([] if images else ["Les cartes n'ont pas été produites (--no-maps)."])
    n_sec = int(diag.sectors["retained"].sum()) if len(diag.sectors) else 0
    ctx = {
        "title": f"Diagnostic d'accessibilité aux services — départements {', '.join(o.departements)}",
        "departements": ", ".join(o.departements), "version": __version__, "date": dt.date.today().isoformat(),
        "method_label": "moyenne des temps aux équipements de la gamme" if o.method == "mean" else "temps au pôle le plus proche",
        "thresholds": ", ".join(f"{TIER_LABELS[t]} : {fr_number(o.thresholds_min[t], 0)} min" for t in TIERS),
        "notes": notes, "method": method_paragraphs(diag, sources), "tables": _tables_html(diag, tables, files, sources),
        "images": {k: _data_uri(p) for k, p in images.items()} | {k: "" for k in ("armature", "superposition",
                                                                                   *[f"bassins_{t}" for t in TIERS]) if k not in images},
        "tiers": [{"code": t, "label": TIER_LABELS[t], "map": f"bassins_{t}", "bassins": f"bassins_{t}"} for t in TIERS],
        "territory_tables": [{"key": f"by_{k}", "title": _TITLES.get(k, k)} for k in diag.territories],
        "armature_text": (f"Parmi les {len(c)} communes analysées : {int((c['level'] == 3).sum())} pôles supérieurs, "
                          f"{int((c['level'] == 2).sum())} pôles intermédiaires, {int((c['level'] == 1).sum())} pôles de "
                          f"proximité ; {int((c['level'] == 0).sum())} communes ne sont pôle d'aucune gamme."),
        "bassins_text": ", ".join(f"{int((diag.bassins['tier'] == t).sum())} bassins de niveau {TIER_LABELS[t]}" for t in TIERS)
        + " (la liste des bassins de proximité est limitée aux 25 plus peuplés ; tous dans bassins.csv).",
        "superposition_text": (f"{int((c['zone_grise_tiers'].fillna(0) > 0).sum())} communes sont en zone grise pour au moins "
                               f"une gamme, {int((c['zone_grise_tiers'].fillna(0) == 3).sum())} pour les trois ; elles forment "
                               f"{n_sec} espaces à enjeux d'au moins {o.min_sector_size} communes."),
    }
    return env.get_template("rapport.html.j2").render(**ctx)
