"""The streamed XLSX writer: a workbook spreadsheet programs read, cells typed, sheets split."""

import io
import random
import zipfile
from datetime import datetime

import openpyxl

from survey.spreadsheet import xlsx_stream

HEADINGS = ["Mã phiếu [id]", "Góp ý [suggestion]", "Điểm [1.1]", "Lúc [at]", "p"]
ROWS = [
    [1, "Cán bộ <tốt> & nhanh 👍", 4, datetime(2026, 3, 3, 0, 30, 15), 0.25],
    [2, '=HYPERLINK("http://x")', None, datetime(2026, 3, 3, 23, 59, 59), None],
    [3, "a\x00b\x1fc", 5, datetime(2026, 3, 4, 7, 0), float("nan")],
    [4, "", 0, datetime(2026, 3, 4, 7, 0), 1],
]


def read(body: bytes) -> list[list[list]]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheets = [[list(r) for r in s.iter_rows(values_only=True)] for s in book.worksheets]
    names = book.sheetnames
    book.close()
    return names, sheets


def test_cells_keep_their_types_and_text_is_never_a_formula():
    names, (sheet,) = read(b"".join(xlsx_stream(HEADINGS, [list(r) for r in ROWS])))
    assert names == ["responses-1"]
    assert sheet[0] == HEADINGS
    assert sheet[1] == [1, "Cán bộ <tốt> & nhanh 👍", 4, ROWS[0][3], 0.25]
    assert sheet[2][1] == '\'=HYPERLINK("http://x")'
    assert sheet[2][2] is None
    assert sheet[2][3] == ROWS[1][3]
    assert sheet[3][1] == "abc"  # control characters dropped, the rest kept
    assert sheet[3][4] is None  # NaN is a blank
    assert sheet[4][:3] == [4, None, 0]


def test_a_full_sheet_continues_on_the_next_with_its_header():
    rows = [[n, f"t{n}", 3, datetime(2026, 1, 1), 1.5] for n in range(10)]
    names, sheets = read(b"".join(xlsx_stream(HEADINGS, rows, max_rows=4)))
    assert names == ["responses-1", "responses-2", "responses-3", "responses-4"]
    assert [len(s) for s in sheets] == [4, 4, 4, 2]
    assert all(s[0] == HEADINGS for s in sheets)
    assert [r[0] for s in sheets for r in s[1:]] == list(range(10))
    body = b"".join(xlsx_stream(HEADINGS, rows, max_rows=4))
    with zipfile.ZipFile(io.BytesIO(body)) as book:  # every row says its number
        sheet = book.read("xl/worksheets/sheet2.xml").decode()
    assert [f'<row r="{n}">' in sheet for n in range(1, 6)] == [True] * 4 + [False]


def test_no_rows_gives_one_sheet_with_the_header():
    names, sheets = read(b"".join(xlsx_stream(HEADINGS, [])))
    assert names == ["responses-1"]
    assert sheets == [[HEADINGS]]


def test_the_stream_starts_before_the_rows_end():
    noise = random.Random(1)
    rows = (
        [n, noise.randbytes(100).hex(), 4, datetime(2026, 1, 1), 1.0]
        for n in range(20_000)
    )
    chunks = xlsx_stream(HEADINGS, rows, chunk=64 * 1024)
    first = next(chunks)
    assert first.startswith(b"PK")
    rest = list(chunks)
    assert len(rest) > 1
    with zipfile.ZipFile(io.BytesIO(first + b"".join(rest))) as book:
        assert book.testzip() is None
