"""Unit tree import and counter tokens."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import Counter, Unit
from survey.services import units
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
    assert (report.created, report.updated, report.errors) == (3, 0, [])
    office = units.get_unit("X-TP-1")
    assert office.parent.code == "X-TP"
    assert office.parent.parent.code == "P"


def test_import_updates_existing_units(app_ctx):
    report = units.import_units(
        "code,name,level,parent_code\nSTP,Sở Tư pháp tỉnh,department,P\n"
    )
    assert (report.created, report.updated) == (0, 1)
    assert units.get_unit("STP").name == "Sở Tư pháp tỉnh"


def test_import_with_bad_rows_reports_them_and_stores_nothing(app_ctx):
    before = unit_count()
    bad = (
        GOOD
        + "X-TP,Trùng mã,commune,P\n,Không mã,commune,P\nX-1,Xã 1,huyen,P\nX-2,Xã 2,commune,NOPE\n"
    )
    with pytest.raises(units.ImportRejected) as rejected:
        units.import_units(bad)
    rows = dict(rejected.value.report.errors)
    assert set(rows) == {5, 6, 7, 8}
    assert "repeats row 3" in rows[5]
    assert "code is empty" in rows[6]
    assert "level 'huyen'" in rows[7]
    assert "parent code NOPE" in rows[8]
    assert unit_count() == before


def test_import_without_required_columns_is_rejected(app_ctx):
    with pytest.raises(units.ImportRejected, match="missing column"):
        units.import_units("code;name\nA;B\n")


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
