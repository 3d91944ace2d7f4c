"""The dossier register import: encodings, separators, XLSX, every problem, upserts."""

import csv
import io
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from survey.extensions import db
from survey.models import AuditEntry, Dossier, FileImport
from survey.services import imports, register, units
from survey.services.imports import ImportRejected
from tests.helpers import to_cp1258

HEADER = "dossier_code,unit_code,field,received_on,returned_on,on_time\n"
GOOD = HEADER + (
    "H1,STP,Hộ tịch,2026-03-01,2026-03-05,1\n"
    "H2,STP,dat-dai,02/03/2026,06/03/2026,đúng hạn\n"
    "H3,X-HB,đất đai,2026-03-03,,\n"
    "H4,X-HB,DAT DAI,2026-03-03,2026-03-20,Trễ hạn\n"
)


def run(text: str | bytes, **options) -> imports.ImportReport:
    data = text.encode("utf-8") if isinstance(text, str) else text
    return register.import_register(io.BytesIO(data), filename="so.csv", **options)


def refused(text: str | bytes, **options) -> imports.ImportReport:
    with pytest.raises(ImportRejected) as rejected:
        run(text, **options)
    return rejected.value.report


def dossiers() -> dict[str, tuple]:
    rows = db.session.execute(
        sa.select(
            Dossier.code,
            Dossier.field,
            Dossier.received_on,
            Dossier.returned_on,
            Dossier.is_late,
        )
    )
    return {code: rest for code, *rest in rows}


def test_import_reads_dates_words_and_fields_by_label_code_or_plain(app_ctx):
    report = run(GOOD)
    assert (report.rows, report.created, report.updated, report.unchanged) == (
        4,
        4,
        0,
        0,
    )
    assert (report.encoding, report.separator) == ("utf-8", ",")
    stored = dossiers()
    assert stored["H1"] == ["ho-tich", date(2026, 3, 1), date(2026, 3, 5), False]
    assert stored["H2"] == ["dat-dai", date(2026, 3, 2), date(2026, 3, 6), False]
    assert stored["H3"] == ["dat-dai", date(2026, 3, 3), None, False]
    assert stored["H4"][1:] == [date(2026, 3, 3), date(2026, 3, 20), True]


def test_reimporting_the_same_file_changes_nothing(app_ctx):
    first = run(GOOD)
    again = run(GOOD)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 4)
    assert again.import_id != first.import_id
    changed = db.session.scalars(register.changed_dossiers(again.import_id)).all()
    assert changed == []
    assert (
        len(db.session.scalars(register.changed_dossiers(first.import_id)).all()) == 4
    )


def test_next_weeks_export_adds_and_updates(app_ctx):
    first = run(GOOD)
    next_week = HEADER + (
        "H1,STP,Hộ tịch,2026-03-01,2026-03-05,1\n"  # unchanged
        "H3,X-HB,đất đai,2026-03-03,2026-03-10,0\n"  # returned now, late
        "H5,STP,Xây dựng,2026-03-09,2026-03-12,1\n"  # new
    )
    report = run(next_week)
    assert (report.rows, report.created, report.updated, report.unchanged) == (
        3,
        1,
        1,
        1,
    )
    assert dossiers()["H3"][2:] == [date(2026, 3, 10), True]
    changed = {
        d.code for d in db.session.scalars(register.changed_dossiers(report.import_id))
    }
    assert changed == {"H3", "H5"}
    # The seam for Poisson draws: each dossier is newly returned in one import only.
    newly = {
        d.code for d in db.session.scalars(register.newly_returned(report.import_id))
    }
    assert newly == {"H3", "H5"}
    earlier = {
        d.code for d in db.session.scalars(register.newly_returned(first.import_id))
    }
    assert earlier == {"H1", "H2", "H4"}
    assert run(next_week).unchanged == 3


def test_every_problem_of_every_row_is_reported_and_nothing_stored(app_ctx):
    bad = HEADER + (
        "H1,STP,ho-tich,2026-03-01,2026-03-05,1\n"  # row 2: fine
        "H1,NOPE,Thuế,2026-02-30,2026-03-05,maybe\n"  # row 3: four problems
        ",STP,ho-tich,,,\n"  # row 4: no code, no received date
        "H9,STP,ho-tich,2026-03-10,2026-03-01,1\n"  # row 5: returned before received
        f"{'X' * 61},STP,ho-tich,2026-03-10,31/13/2026,1\n"  # row 6: too long, bad date
        "H7,,,2026-03-10,2026-03-11,\n"  # row 7: no unit, no field, no on_time
        "H8,STP,ho-tich,2026-03-10,2026-03-11,1,extra\n"  # row 8: a cell too many
    )
    report = refused(bad)
    found = {
        (p.row, p.column, p.message.split(" (")[0].split(";")[0])
        for p in report.problems
    }
    assert found == {
        (3, "dossier_code", "mã hồ sơ trùng với dòng 2"),
        (3, "unit_code", "không có đơn vị mang mã NOPE"),
        (3, "field", "lĩnh vực không khớp lĩnh vực nào của phiếu khảo sát"),
        (3, "received_on", "ngày tiếp nhận không hợp lệ"),
        (3, "on_time", "không phải giá trị đúng hạn/trễ hạn"),
        (4, "dossier_code", "thiếu mã hồ sơ"),
        (4, "received_on", "thiếu ngày tiếp nhận"),
        (5, "returned_on", "ngày trả kết quả trước ngày tiếp nhận"),
        (6, "dossier_code", "mã hồ sơ dài hơn 60 ký tự"),
        (6, "returned_on", "ngày trả kết quả không hợp lệ"),
        (7, "unit_code", "thiếu mã đơn vị"),
        (7, "field", "thiếu lĩnh vực"),
        (7, "on_time", "hồ sơ đã trả kết quả nhưng thiếu đúng hạn/trễ hạn"),
        (8, None, "dòng có 1 ô thừa ngoài các cột của dòng tiêu đề"),
    }
    assert report.problem_count == 14
    assert [p.row for p in report.problems] == sorted(p.row for p in report.problems)
    unknown_field = next(p for p in report.problems if p.column == "field")
    assert "Đất đai (dat-dai)" in unknown_field.message  # the accepted values
    assert dossiers() == {}
    record = db.session.get(FileImport, report.import_id)
    assert (record.status, record.problems, record.kind) == ("refused", 14, "register")


def test_many_bad_rows_are_capped_on_screen_and_complete_in_the_download(app_ctx):
    lines = [f"D{n},NOPE,ho-tich,2026-03-01,bad,1" for n in range(400)]
    report = refused(HEADER + "\n".join(lines) + "\n")
    assert report.problem_count == 800
    assert len(report.problems) == imports.SCREEN_LIMIT
    text = b"".join(imports.problem_report(report.import_id)).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Dòng", "Cột", "Giá trị", "Vấn đề"]
    assert len(rows) == 801
    assert rows[-1][:3] == ["401", "returned_on", "bad"]
    assert dossiers() == {}


@pytest.mark.parametrize(
    ("encoding", "bom", "separator"),
    [
        ("utf-8", False, ","),
        ("utf-8", True, ","),
        ("utf-8", True, ";"),
        ("utf-8", False, "\t"),
        ("cp1258", False, ";"),
        ("cp1258", False, ","),
    ],
)
def test_encodings_and_separators(app_ctx, encoding, bom, separator):
    text = GOOD.replace(",", separator)
    if encoding == "cp1258":
        data = to_cp1258(text)
    else:
        data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    report = run(data)
    assert report.created == 4
    assert report.separator == separator
    assert report.encoding == (encoding + ("-sig" if bom else ""))
    assert dossiers()["H1"][0] == "ho-tich"


def test_cp1258_text_is_stored_in_nfc(app_ctx):
    data = to_cp1258("code,name,level,parent_code\nX-TL,Xã Tiến Lộc,commune,P\n")
    assert b"\xf2" in data  # the combining dot below of "ộ"
    report = units.import_units(io.BytesIO(data), filename="units.csv")
    assert report.encoding == "cp1258"
    assert units.get_unit("X-TL").name == "Xã Tiến Lộc"  # NFC, as typed


def test_xlsx_with_date_cells_and_numbers(app_ctx, tmp_path):
    book = Workbook()
    sheet = book.active
    sheet.append(
        ["Dossier_Code", "unit_code", "field", "received_on", "returned_on", "on_time"]
    )
    sheet.append([1001, "STP", "Hộ tịch", date(2026, 3, 1), date(2026, 3, 4), 1])
    sheet.append(["H2", "X-HB", "Đất đai", "02/03/2026", None, None])
    path = tmp_path / "so.xlsx"
    book.save(path)
    with path.open("rb") as stream:
        report = register.import_register(stream, filename="so.xlsx")
    assert (report.created, report.encoding, report.separator) == (2, None, None)
    assert dossiers()["1001"] == ["ho-tich", date(2026, 3, 1), date(2026, 3, 4), False]


def test_not_utf8_and_not_vietnamese_is_refused_with_the_fix(app_ctx):
    report = refused(HEADER.encode() + "H1,STP,日本,2026-03-01,,\n".encode("shift_jis"))
    assert report.problem_count == 1
    assert "không phải UTF-8" in report.problems[0].message
    assert "CSV UTF-8" in report.problems[0].message
    assert report.problems[0].row == 2


def test_forcing_utf8_on_a_cp1258_file_names_the_row(app_ctx):
    data = to_cp1258(GOOD)
    report = refused(data, encoding="utf-8")
    assert "Windows-1258" in report.problems[0].message
    assert report.problems[0].row == 2


def test_choosing_cp1258_for_a_utf8_file_is_refused(app_ctx):
    report = refused(GOOD, encoding="cp1258")
    assert "là UTF-8" in report.problems[0].message


def test_double_encoded_text_is_reported_with_the_fix(app_ctx):
    mojibake = GOOD.encode("utf-8").decode("cp1252", errors="replace")
    report = refused(mojibake)
    message = report.problems[0].message
    assert "đổi bảng mã hai lần" in message
    assert "“Há»™”" in message
    assert "(đúng ra là “Hộ”)" in message
    assert report.problems[0].row == 2


def test_missing_columns_name_what_the_header_has(app_ctx):
    report = refused("code;unit;field\nH1;STP;ho-tich\n")
    assert report.problems[0].row == 1
    assert "Thiếu cột: dossier_code" in report.problems[0].message
    assert "code, unit, field" in report.problems[0].message


def test_binary_or_broken_csv_is_refused_not_crashed(app_ctx):
    nul = refused(GOOD + "H9,STP,ho-tich,2026-03-01,,\x00\n")
    assert "NUL" in nul.problems[0].message
    assert nul.problems[0].row == 6
    unclosed = refused(GOOD + 'H9,STP,"' + "x" * 200_000 + "\n")
    assert unclosed.problems[0].row == 6
    assert "ngoặc kép" in unclosed.problems[0].message
    utf16 = refused(GOOD.encode("utf-16"))
    assert "UTF-16" in utf16.problems[0].message
    assert dossiers() == {}


def test_an_empty_file_is_refused(app_ctx):
    assert "không có dòng" in refused(HEADER).problems[0].message


def test_imports_are_recorded_and_audited(app_ctx):
    report = run(GOOD)
    record = db.session.get(FileImport, report.import_id)
    assert (record.status, record.rows, record.created, record.filename) == (
        "done",
        4,
        4,
        "so.csv",
    )
    assert len(record.sha256) == 64
    assert record.finished_at is not None
    entry = db.session.scalar(sa.select(AuditEntry).filter_by(action="register.import"))
    assert entry.after["sha256"] == record.sha256
    assert [i.id for i in register.recent_imports()] == [report.import_id]


def test_fields_by_current_or_former_name(app_ctx):
    report = run(
        HEADER
        + 'L1,STP,"Lao động, việc làm, an sinh xã hội",2026-03-01,,\n'
        + "L2,STP,Lao động – Thương binh và Xã hội,2026-03-01,,\n"
        + "L3,STP,Lao động - Thương binh và Xã hội,2026-03-01,,\n"
    )
    assert report.created == 3
    assert {code: row[0] for code, row in dossiers().items()} == {
        "L1": "lao-dong-xa-hoi",
        "L2": "lao-dong-xa-hoi",
        "L3": "lao-dong-xa-hoi",
    }
