"""Read the tables an analyst uploads: CSV or XLSX, row by row, never whole in memory.

CSV comes as Excel and one-stop systems write it: comma, semicolon or tab between cells;
UTF-8 with or without a BOM, or Windows-1258 (older Vietnamese Excel), whose combining
tone marks are normalised to NFC. XLSX is read with openpyxl in read-only mode. Row
numbers count the header as row 1, as a spreadsheet shows them.
"""

import codecs
import contextlib
import csv
import hashlib
import io
import re
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import BinaryIO, NamedTuple

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from .boundary import clean_cell

ENCODINGS = ("utf-8", "cp1258")
SEPARATORS = {",": _l("dấu phẩy"), ";": _l("dấu chấm phẩy"), "\t": _l("tab")}
CHUNK = 1 << 20
SAMPLE = 4 << 20  # bytes looked at to judge an encoding or find double-encoded text
ZIP_MAGIC = b"PK\x03\x04"


class TableError(ValueError):
    """A file that cannot be read as a table; the message says why and how to fix it."""

    def __init__(self, message: str, row: int | None = None):
        super().__init__(message)
        self.row = row


TONES = ("", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323")
VIETNAMESE = frozenset(
    unicodedata.normalize("NFC", letter + tone)
    for base in "aăâeêioôơuưy"
    for letter in (base, base.upper())
    for tone in TONES
) | frozenset("đĐ")
PUNCTUATION = frozenset("“”‘’–—…₫°·«»\u00a0")


@dataclass
class Table:
    """An opened table: how it was read, its header, and its rows as cells of `columns`."""

    columns: tuple[str, ...]
    kind: str  # "csv" or "xlsx"
    encoding: str | None
    separator: str | None
    sha256: str
    size: int
    rows: Iterator["Row"] = field(repr=False)


class Row(NamedTuple):
    number: int  # as a spreadsheet counts it: the header is row 1
    cells: list[str]  # stripped, in the order of the requested columns
    extra: int  # non-empty cells beyond the header


def open_table(
    stream: BinaryIO, columns: Sequence[str], *, encoding: str | None = None
) -> Table:
    """Open an uploaded CSV or XLSX file and check that it has the given columns.

    `encoding` forces "utf-8" or "cp1258" for CSV; without it the file is read as UTF-8
    when it is UTF-8, and as Windows-1258 only when its text looks Vietnamese in it.
    Header names match case-insensitively; other columns are ignored.
    :raise TableError: for a wrong encoding (with the fix), or missing columns (row 1).
    """
    stream.seek(0)
    if stream.read(4) == ZIP_MAGIC:
        return _open_xlsx(stream, columns)
    return _open_csv(stream, columns, encoding)


def file_digest(stream: BinaryIO) -> tuple[str, int]:
    stream.seek(0)
    digest = hashlib.file_digest(stream, "sha256")
    return digest.hexdigest(), stream.tell()


# CSV


def _open_csv(stream: BinaryIO, columns: Sequence[str], chosen: str | None) -> Table:
    if chosen not in (None, *ENCODINGS):
        raise TableError(
            _(
                "Bảng mã %(name)s không được hỗ trợ (chỉ UTF-8, Windows-1258).",
                name=chosen,
            )
        )
    scan = _scan(stream)
    stream.seek(0)
    sample = stream.read(SAMPLE)
    if sample[:2] in (b"\xff\xfe", b"\xfe\xff") or sample[1:2] == b"\x00":
        raise TableError(
            _(
                "Tệp được lưu dạng UTF-16 (Unicode text). Trong Excel, chọn Lưu thành "
                "“CSV UTF-8 (Comma delimited)” rồi nhập lại."
            )
        )
    if scan.nul is not None:
        raise TableError(
            _(
                "Dòng %(line)s có ký tự NUL: tệp không phải văn bản CSV hoặc đã hỏng. "
                "Xuất lại tệp rồi nhập lại.",
                line=scan.nul,
            ),
            scan.nul,
        )
    encoding = chosen or ("utf-8" if scan.utf8_error is None else None)
    if encoding is None and _looks_vietnamese(sample.decode("cp1258", "replace")):
        encoding = "cp1258"
    if encoding is None:
        raise _not_utf8(scan.utf8_error, unknown=True)
    if encoding == "utf-8" and scan.utf8_error is not None:
        raise _not_utf8(scan.utf8_error)
    if encoding == "cp1258":
        if scan.utf8_error is None and not sample.isascii():
            raise TableError(
                _(
                    "Tệp này là UTF-8, không phải Windows-1258: chọn bảng mã "
                    "“Tự nhận” hoặc UTF-8 rồi nhập lại."
                )
            )
        if scan.cp1258_error is not None:
            raise _not_utf8(scan.cp1258_error, unknown=True)
    if encoding == "utf-8":
        _refuse_double_encoding(sample.decode("utf-8", errors="ignore"))
    stream.seek(3 if scan.bom else 0)
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    lines = _lines(text)
    header_line = next(lines, "")
    separator = max(SEPARATORS, key=lambda s: _score(header_line, s, columns))
    header = next(csv.reader([header_line], delimiter=separator), [])
    try:
        index = _column_index(header, columns)
    except TableError:
        lines.close()
        raise
    reader = csv.reader(lines, delimiter=separator)
    return Table(
        columns=tuple(columns),
        kind="csv",
        encoding=encoding + ("-sig" if scan.bom else ""),
        separator=separator,
        sha256=scan.sha256,
        size=scan.size,
        rows=_csv_rows(reader, index, len(header)),
    )


def _lines(text: io.TextIOWrapper) -> Iterator[str]:
    """Lines of text in NFC (Windows-1258 writes tone marks as separate characters)."""
    try:
        for line in text:
            yield line if line.isascii() else unicodedata.normalize("NFC", line)
    finally:
        with contextlib.suppress(ValueError):  # already closed by the collector
            text.detach()  # the caller owns the file; do not close it


@dataclass
class _Scan:
    sha256: str
    size: int
    bom: bool
    utf8_error: int | None  # line of the first byte that is not UTF-8
    cp1258_error: int | None  # line of the first byte Windows-1258 leaves undefined
    nul: int | None  # line of the first NUL byte (binary or damaged files)


_CP1258_UNDEFINED = re.compile(rb"[\x81\x8a\x8d-\x90\x9a\x9d\x9e]")


def _scan(stream: BinaryIO) -> _Scan:
    """Hash the file and find where UTF-8 and Windows-1258 fail, in one pass of chunks."""
    stream.seek(0)
    digest, decoder = hashlib.sha256(), codecs.getincrementaldecoder("utf-8")()
    size, lines, bom, utf8_error, cp1258_error, nul = 0, 1, False, None, None, None
    while chunk := stream.read(CHUNK):
        if size == 0:
            bom = chunk.startswith(codecs.BOM_UTF8)
        digest.update(chunk)
        if utf8_error is None:
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as exc:
                utf8_error = lines + chunk.count(b"\n", 0, exc.start)
        if cp1258_error is None and (found := _CP1258_UNDEFINED.search(chunk)):
            cp1258_error = lines + chunk.count(b"\n", 0, found.start())
        if nul is None and (at := chunk.find(b"\x00")) >= 0:
            nul = lines + chunk.count(b"\n", 0, at)
        lines += chunk.count(b"\n")
        size += len(chunk)
    if utf8_error is None:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_error = lines
    return _Scan(digest.hexdigest(), size, bom, utf8_error, cp1258_error, nul)


def _not_utf8(line: int | None, unknown: bool = False) -> TableError:
    if unknown:
        return TableError(
            _(
                "Tệp không phải UTF-8 (byte lạ ở dòng %(line)s) và cũng không giống "
                "Windows-1258 tiếng Việt. Trong Excel, chọn Lưu thành “CSV UTF-8 "
                "(Comma delimited)” rồi nhập lại.",
                line=line,
            ),
            line,
        )
    return TableError(
        _(
            "Tệp không phải UTF-8 (byte lạ ở dòng %(line)s). Nếu tệp được lưu từ Excel "
            "cũ, chọn bảng mã Windows-1258; hoặc lưu lại dạng “CSV UTF-8” rồi nhập lại.",
            line=line,
        ),
        line,
    )


def _looks_vietnamese(text: str) -> bool:
    """Whether text decoded as Windows-1258 reads as Vietnamese.

    Every non-ASCII letter (after NFC) must be a Vietnamese letter inside a word, beside
    another letter: bytes of another encoding give symbols and letters standing alone.
    """
    if "\ufffd" in text:  # a byte that Windows-1258 leaves undefined
        return False
    text = unicodedata.normalize("NFC", text)
    letters = good = 0
    for match in re.finditer(r"[^\x00-\x7f]", text):
        char, at = match.group(), match.start()
        if char in PUNCTUATION:
            continue
        letters += 1
        beside = text[max(at - 1, 0) : at] + text[at + 1 : at + 2]
        good += char in VIETNAMESE and any(c.isalpha() for c in beside)
    return letters > 0 and good >= 0.9 * letters


# UTF-8 read as Windows-1252 and saved as UTF-8 again: "Ä‘áº¥t" for "đất".
_DOUBLE_ENCODED = re.compile(r"[ÂÃÄÅÆ][\u0080-\u00bf\u0152-\u2122]|á[º»]")
_WORD_BREAK = re.compile(r'[\s,;"]')


def _refuse_double_encoding(text: str) -> None:
    for number, line in enumerate(text.splitlines(), start=1):
        for match in _DOUBLE_ENCODED.finditer(line):
            word = _word_at(line, match.start())
            repaired = _undo_double_encoding(word)
            if repaired and repaired != word:
                raise TableError(
                    _(
                        "Dòng %(row)s: chữ “%(word)s” là tiếng Việt bị đổi bảng mã hai "
                        "lần (đúng ra là “%(fixed)s”). Xuất lại tệp từ hệ thống một cửa, "
                        "hoặc mở tệp gốc bằng Excel với bảng mã UTF-8 rồi lưu dạng "
                        "“CSV UTF-8”.",
                        row=number,
                        word=word,
                        fixed=repaired,
                    ),
                    number,
                )


def _word_at(line: str, at: int) -> str:
    """The word around a position (at most 40 characters each side: linear time)."""
    head = _WORD_BREAK.split(line[max(at - 40, 0) : at])[-1]
    return head + _WORD_BREAK.split(line[at : at + 40])[0]


def _undo_double_encoding(word: str) -> str | None:
    raw = bytearray()
    for char in word:
        try:
            raw += char.encode("cp1252")
        except UnicodeEncodeError:
            if ord(char) > 0xFF:
                return None
            raw.append(ord(char))  # bytes cp1252 leaves undefined pass as Latin-1
    try:
        return unicodedata.normalize("NFC", raw.decode("utf-8"))
    except UnicodeDecodeError:
        return None


def _score(header_line: str, separator: str, columns: Sequence[str]) -> tuple:
    names = {_name(n) for n in next(csv.reader([header_line], delimiter=separator), [])}
    return (sum(_name(c) in names for c in columns), header_line.count(separator))


def _name(text) -> str:
    return " ".join(str(text or "").replace("\ufeff", "").split()).casefold()


def _column_index(header: Sequence, columns: Sequence[str]) -> tuple[int, ...]:
    names = [_name(n) for n in header]
    missing = [c for c in columns if _name(c) not in names]
    if missing:
        found = ", ".join(str(n) for n in header if str(n or "").strip()) or "—"
        raise TableError(
            _(
                "Thiếu cột: %(missing)s. Dòng tiêu đề (dòng 1) có: %(found)s.",
                missing=", ".join(missing),
                found=found,
            ),
            1,
        )
    return tuple(names.index(_name(c)) for c in columns)


def _csv_rows(reader, index: tuple[int, ...], width: int) -> Iterator[Row]:
    last, number = max(index), 1
    try:
        for number, cells in enumerate(reader, start=2):  # noqa: B007
            row = _csv_row(number, cells, index, last, width)
            if row is not None:
                yield row
    except csv.Error as exc:  # e.g. a cell over csv's field size limit
        raise TableError(
            _(
                "Dòng %(row)s không đọc được (%(reason)s): thường do một dấu ngoặc kép "
                "không đóng. Sửa dòng đó rồi nhập lại.",
                row=number + 1,
                reason=str(exc),
            ),
            number + 1,
        ) from None


def _csv_row(number, cells, index, last, width) -> Row | None:
    if len(cells) <= last:
        if not any(cells):
            return None
        cells += [""] * (last + 1 - len(cells))
    extra = sum(1 for c in cells[width:] if c.strip()) if len(cells) > width else 0
    values = [clean_cell(cells[i]) for i in index]
    return Row(number, values, extra) if any(values) or extra else None


# XLSX


def _open_xlsx(stream: BinaryIO, columns: Sequence[str]) -> Table:
    from openpyxl import load_workbook  # only when someone uploads a workbook

    sha256, size = file_digest(stream)
    stream.seek(0)
    try:
        book = load_workbook(stream, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds for a damaged file
        raise TableError(
            _("Không mở được tệp XLSX (tệp hỏng hoặc không phải bảng tính).")
        ) from None
    sheet = book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = next(rows, ())
    try:
        index = _column_index(header, columns)
    except TableError:
        book.close()
        raise
    return Table(
        columns=tuple(columns),
        kind="xlsx",
        encoding=None,
        separator=None,
        sha256=sha256,
        size=size,
        rows=_xlsx_rows(book, rows, index, len(header)),
    )


def _xlsx_rows(book, rows, index: tuple[int, ...], width: int) -> Iterator[Row]:
    try:
        for number, values in enumerate(rows, start=2):
            cells = [_cell_text(v) for v in values]
            if not any(cells):
                continue
            cells += [""] * (max(index) + 1 - len(cells))
            extra = sum(1 for c in cells[width:] if c)
            yield Row(number, [cells[i] for i in index], extra)
    finally:
        book.close()


def _cell_text(value) -> str:
    """A cell as the text a CSV export would hold: dates ISO, whole numbers without .0."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return clean_cell(str(value))


# Values


def parse_date(text: str) -> date | None:
    """Read YYYY-MM-DD or DD/MM/YYYY (also with - or . between, or a time after).

    Returns None for text that is no real date; the caller reports it.
    """
    head = text.split(" ", 1)[0].split("T", 1)[0]
    try:
        if len(head) == 10 and head[4] == "-":
            return date.fromisoformat(head)
        parts = head.replace("-", "/").replace(".", "/").split("/")
        if len(parts) == 3 and len(parts[2]) == 4:
            day, month, year = (int(p) for p in parts)
            return date(year, month, day)
    except ValueError:
        return None
    return None


def plain_key(text: str) -> str:
    """Text as a key that ignores case, spacing, dashes and diacritics: "Đất – đai" → "dat dai"."""
    text = unicodedata.normalize("NFD", text.replace("đ", "d").replace("Đ", "D"))
    text = "".join(
        " " if c == "_" or unicodedata.category(c) == "Pd" else c
        for c in text
        if not unicodedata.combining(c)
    )
    return " ".join(text.split()).casefold()
