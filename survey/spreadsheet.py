"""Cells that a spreadsheet program will never run as formulas (OWASP CSV injection).

A text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is
read by Excel and LibreOffice as a formula (a unit named ``=HYPERLINK(...)`` would
become a live link in every download); such a cell gets a leading apostrophe, which
spreadsheet programs read as "this is text". Numbers are left alone: a negative
number stays a number. Control characters that XLSX cannot hold (a NUL stored before
the input boundary existed) are dropped, so one old answer cannot break a download.
"""

import re
import zipfile
from collections.abc import Iterable, Iterator
from datetime import datetime
from itertools import islice
from xml.sax.saxutils import escape

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
FIRST_CHARACTERS = frozenset("".join(FORMULA_PREFIXES))
UNWRITABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")


def neutralise(value):
    """Return a text value that starts like a formula with an apostrophe in front."""
    if not isinstance(value, str):
        return value
    if not value.isprintable():  # the rare text with a control character (or a NBSP)
        value = UNWRITABLE.sub("", value)
    return "'" + value if value.startswith(FORMULA_PREFIXES) else value


def neutralise_row(row: Iterable) -> list:
    """Return a row of cells with every formula-like text neutralised."""
    # Inline the common case (a number, a blank, plain text): a raw export has millions
    # of cells and a function call each would cost more than the writing.
    first = FIRST_CHARACTERS
    return [
        neutralise(value)
        if value.__class__ is str
        and value
        and (value[0] in first or not value.isprintable())
        else value
        for value in row
    ]


# ---- a streamed XLSX writer -------------------------------------------------------------
#
# A workbook is a zip of XML parts. The worksheet part is written row by row as text
# (inline strings, no shared-string table) straight into a zip entry, and the zip into
# a sink that hands its bytes out as they come: the download starts at once and memory
# holds one block of rows. General-purpose writers spend 5-7 µs per cell building the
# same XML; a raw export has 50-60 cells a row and a million rows.

MAX_ROWS = 1_048_576  # rows of one worksheet, header included
BLOCK = 1_000  # rows joined into one string before they go to the zip
EXCEL_EPOCH = datetime(1899, 12, 30)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
OFFICE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    f'<Default Extension="xml" ContentType="{OFFICE}.worksheet+xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{OFFICE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{OFFICE}.styles+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<Relationships xmlns="{PACKAGE_RELS}"><Relationship Id="rId1" '
    f'Type="{RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
# Styles: 0 plain, 1 date and time, 2 bold wrapped (the header).
STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<styleSheet xmlns="{MAIN}">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/>'
    "</numFmts>"
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border>'
    "</borders>"
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    "</cellStyleXfs>"
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" '
    'applyNumberFormat="1"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1" '
    'applyAlignment="1"><alignment wrapText="1" vertical="top"/></xf></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
SHEET_START = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    f'<worksheet xmlns="{MAIN}"><sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    "</sheetView></sheetViews><sheetData>"
)
SHEET_END = "</sheetData></worksheet>"
# The commonest cells, written once: blanks and the answers 0-5.
COMMON = {None: "<c/>", "": "<c/>"} | {n: f"<c><v>{n}</v></c>" for n in range(6)}
CACHE_SIZE = 20_000


def _text_cell(value: str, style: str = "") -> str:
    value = neutralise(value)
    value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f'<c{style} t="inlineStr"><is><t xml:space="preserve">{value}</t></is></c>'


def _cell(value) -> str:
    if value.__class__ is str:
        return _text_cell(value)
    if isinstance(value, datetime):  # naive local time: Excel has no time zones
        serial = (value - EXCEL_EPOCH).total_seconds() / 86400
        return f'<c s="1"><v>{serial!r}</v></c>'
    if isinstance(value, bool):
        return COMMON[int(value)]
    if isinstance(value, int | float):
        return "<c/>" if value != value else f"<c><v>{value!r}</v></c>"  # NaN: blank
    return _text_cell(str(value))


def _row(values, cache: dict, number: int) -> str:
    """One row of cells; short repeated values (codes, names, answers) come from cache."""
    parts = []
    for value in values:
        cell = cache.get(value)
        if cell is None:
            cell = _cell(value)
            if len(cache) < CACHE_SIZE and (
                value.__class__ is int or value.__class__ is str and len(value) < 64
            ):
                cache[value] = cell
        parts.append(cell)
    return f'<row r="{number}">' + "".join(parts) + "</row>"


class _Sink:
    """An unseekable file that keeps what is written until it is taken."""

    def __init__(self) -> None:
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data) -> int:
        self.parts.append(bytes(data))
        self.size += len(data)
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data, self.parts, self.size = b"".join(self.parts), [], 0
        return data


def xlsx_stream(
    headings: list[str],
    rows: Iterable[list],
    *,
    sheet_name: str = "responses",
    max_rows: int = MAX_ROWS,
    chunk: int = 256 * 1024,
) -> Iterator[bytes]:
    """Return an XLSX workbook of the rows as a stream of byte chunks.

    Every sheet starts with the headings (bold, frozen); a sheet full at ``max_rows``
    rows continues on the next one (``responses-1``, ``responses-2`` …). Text cells
    are neutralised (never a formula), datetimes must be naive (local time).
    """
    sink = _Sink()
    header = '<row r="1">' + "".join(_text_cell(h, ' s="2"') for h in headings)
    header += "</row>"
    rows = iter(rows)
    pending = next(rows, None)
    names = []
    cache = dict(COMMON)
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/styles.xml", STYLES)
        while pending is not None or not names:
            names.append(f"{sheet_name}-{len(names) + 1}")
            # A full sheet of wide rows can pass zip's 2 GB entry size: Zip64 always.
            sheet_part = f"xl/worksheets/sheet{len(names)}.xml"
            with book.open(sheet_part, "w", force_zip64=True) as sheet:
                sheet.write((SHEET_START + header).encode("utf-8", "replace"))
                room = max_rows - 1
                while pending is not None and room:
                    block = [pending]
                    for row in islice(rows, min(BLOCK, room) - 1):
                        block.append(row)
                    first = (
                        max_rows - room + 1
                    )  # the row number of the block's first row
                    room -= len(block)
                    pending = next(rows, None)
                    text = "".join(
                        [_row(row, cache, first + i) for i, row in enumerate(block)]
                    )
                    sheet.write(text.encode("utf-8", "replace"))
                    if sink.size >= chunk:
                        yield sink.take()
                sheet.write(SHEET_END.encode())
        book.writestr("xl/workbook.xml", _workbook(names))
        book.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(names)))
    yield sink.take()


def _workbook(names: list[str]) -> str:
    sheets = "".join(
        f'<sheet name="{escape(name)}" sheetId="{n}" r:id="rId{n}"/>'
        for n, name in enumerate(names, 1)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>{sheets}</sheets></workbook>'
    )


def _workbook_rels(count: int) -> str:
    links = "".join(
        f'<Relationship Id="rId{n}" Type="{RELS}/worksheet" '
        f'Target="worksheets/sheet{n}.xml"/>'
        for n in range(1, count + 1)
    )
    styles = (
        f'<Relationship Id="rId{count + 1}" Type="{RELS}/styles" Target="styles.xml"/>'
    )
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<Relationships xmlns="{PACKAGE_RELS}">{links}{styles}</Relationships>'
    )
