"""Read the first sheet of an ``.xlsx`` workbook as rows of strings, with the standard library.

INSEE publishes the gamme table as a small xlsx. Reading it needs only the shared strings and
the first worksheet (both XML inside the zip), so ``openpyxl`` is not a dependency of the engine
for one table. Numbers are returned as their text; dates and formulas are not interpreted.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

from accessibility.errors import DataFormatError

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_COL_RE = re.compile(r"^([A-Z]+)")


def _col_index(ref: str) -> int:
    m = _COL_RE.match(ref)
    k = 0
    for ch in m.group(1) if m else "":
        k = k * 26 + (ord(ch) - 64)
    return k - 1


def _text(el) -> str:
    return "".join(t.text or "" for t in el.iter(f"{{{_NS['m']}}}t"))


def _first_sheet_path(z: zipfile.ZipFile) -> str:
    names = set(z.namelist())
    try:
        wb = ET.fromstring(z.read("xl/workbook.xml"))
        rels = ET.fromstring(z.read("xl/_rels/workbook.xml.rels"))
        first = wb.find("m:sheets/m:sheet", _NS)
        rid = first.get(_REL_NS)
        for rel in rels:
            if rel.get("Id") == rid:
                target = rel.get("Target").lstrip("/")
                return target if target.startswith("xl/") else "xl/" + target
    except (KeyError, AttributeError, ET.ParseError):
        pass
    if "xl/worksheets/sheet1.xml" in names:
        return "xl/worksheets/sheet1.xml"
    raise DataFormatError("no worksheet found")


def read_xlsx_rows(path: str | Path) -> list[list[str]]:
    """Rows of the first worksheet, each a list of cell texts (missing cells are ``""``).

    Raises
    ------
    DataFormatError
        Not an xlsx file, or no worksheet.
    """
    p = Path(path)
    try:
        z = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DataFormatError(f"{str(p)!r} is not an xlsx workbook: {exc}") from exc
    with z:
        try:
            shared = []
            if "xl/sharedStrings.xml" in z.namelist():
                root = ET.fromstring(z.read("xl/sharedStrings.xml"))
                shared = [_text(si) for si in root.findall("m:si", _NS)]
            sheet = ET.fromstring(z.read(_first_sheet_path(z)))
        except (KeyError, ET.ParseError, DataFormatError) as exc:
            raise DataFormatError(f"{str(p)!r} is not a readable xlsx workbook: {exc}") from exc
    rows: list[list[str]] = []
    for row in sheet.iterfind("m:sheetData/m:row", _NS):
        cells: dict[int, str] = {}
        for k, c in enumerate(row.findall("m:c", _NS)):
            ref = c.get("r")
            j = _col_index(ref) if ref else k
            t = c.get("t")
            if t == "s":
                v = c.find("m:v", _NS)
                val = shared[int(v.text)] if v is not None and v.text is not None else ""
            elif t == "inlineStr":
                is_ = c.find("m:is", _NS)
                val = _text(is_) if is_ is not None else ""
            else:
                v = c.find("m:v", _NS)
                val = v.text if v is not None and v.text is not None else ""
            cells[j] = val
        if cells:
            width = max(cells) + 1
            rows.append([cells.get(j, "") for j in range(width)])
        else:
            rows.append([])
    return rows


def write_xlsx_rows(path: str | Path, rows: list[list[str]]) -> None:
    """Write ``rows`` as the single sheet of a minimal xlsx (inline strings; for test fixtures)."""
    from xml.sax.saxutils import escape

    def col(j: int) -> str:
        s = ""
        j += 1
        while j:
            j, r = divmod(j - 1, 26)
            s = chr(65 + r) + s
        return s

    data = []
    for i, row in enumerate(rows, start=1):
        cells = "".join(
            f'<c r="{col(j)}{i}" t="inlineStr"><is><t>{escape(str(v))}</t></is></c>'
            for j, v in enumerate(row) if str(v) != ""
        )
        data.append(f'<row r="{i}">{cells}</row>')
    sheet = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<worksheet xmlns="{_NS["m"]}"><sheetData>{"".join(data)}</sheetData></worksheet>'
    )
    files = {
        "[Content_Types].xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            "</Types>"
        ),
        "_rels/.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
            "</Relationships>"
        ),
        "xl/workbook.xml": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            f'<workbook xmlns="{_NS["m"]}" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            '<sheets><sheet name="Gammes" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ),
        "xl/_rels/workbook.xml.rels": (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
            "</Relationships>"
        ),
        "xl/worksheets/sheet1.xml": sheet,
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for name, text in files.items():
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
