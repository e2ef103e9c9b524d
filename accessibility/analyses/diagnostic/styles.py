"""QGIS styles of the diagnostic's GeoPackage, stored in its ``layer_styles`` table.

QGIS reads the table QGIS itself writes (*Save style → in the database*): one row per layer with
the style as QML and ``useAsDefault`` set, so each layer opens styled. The QML written here is the
smallest QGIS accepts: a categorized (or single-symbol) renderer of simple fills or markers and,
where a name field is given, simple labels.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import quoteattr

__all__ = ["Category", "categorized_qml", "write_layer_styles"]

#: (value, label, colour ``#rrggbb``)
Category = tuple[str, str, str]


def _rgb(color: str) -> str:
    c = color.lstrip("#")
    return ",".join(str(int(c[i:i + 2], 16)) for i in (0, 2, 4)) + ",255"


def _symbol(name: str, geometry: str, color: str, outline: str = "#666666") -> str:
    if geometry == "point":
        props = {"name": "triangle", "color": _rgb(color), "outline_color": "255,255,255,255", "size": "3"}
        kind, cls = "marker", "SimpleMarker"
    else:
        props = {"color": _rgb(color), "outline_color": _rgb(outline), "outline_width": "0.2", "style": "solid"}
        kind, cls = "fill", "SimpleFill"
    opts = "".join(f'<Option type="QString" name="{k}" value="{v}"/>' for k, v in props.items())
    return (f'<symbol type="{kind}" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
            f'<layer class="{cls}" enabled="1" locked="0" pass="0"><Option type="Map">{opts}</Option></layer></symbol>')


def categorized_qml(field: str | None, categories: Sequence[Category], *, geometry: str = "polygon",
                    label_field: str | None = None, default_color: str = "#dddddd") -> str:
    """A QML style: ``field``'s values coloured by ``categories`` (single symbol when ``field`` is None).

    Parameters
    ----------
    field : str or None
    categories : sequence of (value, label, colour)
    geometry : {"polygon", "point"}
    label_field : str, optional
        Field written as label.
    default_color : str
        Colour of the single symbol, or of values in no category.
    """
    if field is None:
        renderer = f'<renderer-v2 type="singleSymbol" forceraster="0" symbollevels="0" enableorderby="0"><symbols>' \
                   f'{_symbol("0", geometry, default_color)}</symbols></renderer-v2>'
    else:
        cats = "".join(f'<category render="true" value={quoteattr(str(v))} symbol="{i}" label={quoteattr(lab)}/>'
                       for i, (v, lab, _) in enumerate(categories))
        syms = "".join(_symbol(str(i), geometry, col) for i, (_, _, col) in enumerate(categories))
        renderer = (f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(field)} forceraster="0" symbollevels="0" '
                    f'enableorderby="0"><categories>{cats}</categories><symbols>{syms}</symbols></renderer-v2>')
    labels = ""
    if label_field:
        labels = (f'<labeling type="simple"><settings calloutType="simple"><text-style fieldName={quoteattr(label_field)} '
                  'fontSize="8" textColor="0,0,0,255" fontFamily="Sans Serif"><text-buffer bufferDraw="1" bufferSize="0.8" '
                  'bufferColor="255,255,255,255"/></text-style><placement placement="1"/>'
                  '<rendering obstacle="1" scaleVisibility="0"/></settings></labeling>')
    return ("<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
            f'<qgis version="3.28.0" styleCategories="Symbology|Labeling" labelsEnabled="{int(bool(label_field))}">'
            f"{renderer}{labels}</qgis>")


_DDL = """CREATE TABLE IF NOT EXISTS layer_styles (
  id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), f_table_schema TEXT(256),
  f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), styleQML TEXT, styleSLD TEXT,
  useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), update_time DATETIME)"""


def write_layer_styles(gpkg: str | Path, styles: dict[str, str], *, when: str = "2026-01-01T00:00:00Z") -> None:
    """Store ``styles`` (layer -> QML) in ``gpkg``'s ``layer_styles`` table, as QGIS does, each the
    layer's default; the table is registered in ``gpkg_contents`` as attributes."""
    con = sqlite3.connect(str(gpkg))
    try:
        geom = dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())
        con.execute(_DDL)
        for layer, qml in styles.items():
            if layer not in geom:
                continue
            con.execute("INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, "
                        "styleName, styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
                        "VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '', '', ?)",
                        (layer, geom[layer], layer, qml, f"access diagnostic: {layer}", when))
        con.execute("INSERT OR REPLACE INTO gpkg_contents (table_name, data_type, identifier, description, last_change) "
                    "VALUES ('layer_styles', 'attributes', 'layer_styles', 'QGIS styles', ?)", (when,))
        con.commit()
    finally:
        con.close()
