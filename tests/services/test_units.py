"""Unit tree import and counter tokens."""

import io

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from survey.extensions import db
from survey.models import Counter, Unit
from survey.services import units
from survey.services.imports import ImportRejected
from tests.helpers import to_cp1258
from tests.seed import OPEN_COUNTER_ID

GOOD = """code,name,level,parent_code
SYT,Sở Y tế,department,P
X-TP,Xã Tân Phú,commune,P
X-TP-1,Điểm tiếp nhận Tân Phú 1,office,X-TP
"""


def unit_count() -> int:
    return db.session.scalar(sa.select(sa.func.count(Unit.id)))


def test_import_creates_units_with_parents(app_ctx):
    report = units.import_units(GOOD)
    assert (report.created, report.updated, report.problems) == (3, 0, [])
    office = units.get_unit("X-TP-1")
    assert office.parent.code == "X-TP"
    assert office.parent.parent.code == "P"


def test_import_updates_existing_units(app_ctx):
    report = units.import_units(
        "code,name,level,parent_code\nSTP,Sở Tư pháp tỉnh,department,P\n"
    )
    assert (report.created, report.updated) == (0, 1)
    assert units.get_unit("STP").name == "Sở Tư pháp tỉnh"


def test_import_with_bad_rows_reports_every_problem_and_stores_nothing(app_ctx):
    before = unit_count()
    bad = GOOD + (
        "X-TP,Trùng mã,commune,P\n,,huyen,P\nX-1,Xã 1,huyen,P\nX-2,Xã 2,commune,NOPE\n"
    )
    with pytest.raises(ImportRejected) as rejected:
        units.import_units(bad)
    problems = {(p.row, p.column, p.message) for p in rejected.value.report.problems}
    assert {(row, column) for row, column, _ in problems} == {
        (5, "code"),
        (6, "code"),
        (6, "name"),
        (6, "level"),
        (7, "level"),
        (8, "parent_code"),
    }
    messages = dict(((row, column), message) for row, column, message in problems)
    assert messages[5, "code"] == "mã đơn vị trùng với dòng 3"
    assert messages[6, "code"] == "thiếu mã đơn vị"
    assert messages[7, "level"].startswith("cấp không hợp lệ; dùng một trong: province")
    assert "cấp trên không có" in messages[8, "parent_code"]
    assert unit_count() == before


def test_import_without_required_columns_is_rejected(app_ctx):
    with pytest.raises(ImportRejected, match="Thiếu cột: level, parent_code"):
        units.import_units("code;name\nA;B\n")


@pytest.mark.parametrize(
    "data",
    [
        "\ufeffcode;name;level;parent_code\nSYT;Sở Y tế;department;P\n".encode(),
        "code\tname\tlevel\tparent_code\nSYT\tSở Y tế\tdepartment\tP\n".encode(),
        to_cp1258("code;name;level;parent_code\nSYT;Sở Y tế;department;P\n"),
    ],
    ids=["utf8-bom-semicolon", "tab", "cp1258-semicolon"],
)
def test_import_reads_what_excel_writes(app_ctx, data):
    report = units.import_units(io.BytesIO(data), filename="units.csv")
    assert report.created == 1
    assert units.get_unit("SYT").name == "Sở Y tế"


def test_import_reads_xlsx_and_reports_unchanged_rows(app_ctx, tmp_path):
    book = Workbook()
    book.active.append(["code", "name", "level", "parent_code"])
    book.active.append(["STP", "Sở Tư pháp", "department", "P"])
    book.active.append(["SYT", "Sở Y tế", "department", "P"])
    book.save(tmp_path / "units.xlsx")
    with (tmp_path / "units.xlsx").open("rb") as stream:
        report = units.import_units(stream, filename="units.xlsx")
    assert (report.created, report.updated, report.unchanged) == (1, 0, 1)


def test_a_cycle_is_refused(app_ctx):
    with pytest.raises(ImportRejected) as rejected:
        units.import_units(
            "code,name,level,parent_code\nA,Xã A,commune,B\nB,Xã B,commune,A\n"
        )
    assert {p.row for p in rejected.value.report.problems} == {2, 3}
    assert units.get_unit("A") is None


def test_rotating_a_token_revokes_the_old_one(app_ctx):
    counter = db.session.get(Counter, OPEN_COUNTER_ID)
    old = units.counter_token(counter)
    assert units.find_counter(old).id == counter.id
    new = units.rotate_counter_token(counter)
    assert new != old
    assert units.find_counter(old) is None
    assert units.find_counter(new).unit.name == "Sở Tư pháp"


@pytest.mark.parametrize(
    "token", ["", "-", "1-", "1-short", "zzzzzzzzz-AAAAAAAAAAAA", "1-AAAAAAAAAAAA"]
)
def test_malformed_or_guessed_tokens_find_nothing(app_ctx, token):
    assert units.find_counter(token) is None
