"""Names an attacker (or a careless import) can give a unit: never a formula, never a 500.

A unit name with ``$…$`` used to be read by matplotlib as mathematics (every chart
page a 500, and the public page forever once published); a name or code starting
with ``=`` became a live formula in the downloads.
"""

import csv
import io
import random

import openpyxl
import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import PeriodStatus, SurveyPeriod, Unit, User
from survey.services import demo, indices, publications
from survey.spreadsheet import neutralise, neutralise_row
from tests.helpers import logged_in
from tests.seed import PERIOD_ID

FORMULA_NAME = '=HYPERLINK("http://evil.example","Bấm vào đây")'
MATH_NAME = r"Xã $\frac{1}{0}$ $x^$"  # four dollars: two maths fragments
FORMULA_CODE = "-2+3"


@pytest.fixture
def hostile(app):
    """Units with hostile names and a code, responses, and the period published."""
    with app.app_context():
        units = {u.code: u for u in db.session.scalars(sa.select(Unit))}
        units["STP"].name = FORMULA_NAME
        units["X-HB"].name = MATH_NAME
        units["X-HB"].code = FORMULA_CODE
        db.session.commit()
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        demo.add_synthetic_responses(period, 200, random.Random(3))
        period.status = PeriodStatus.CLOSED.value
        db.session.commit()
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        publications.publish(period, indices.Settings(), by=admin)
    return app


def formula_cells(body: bytes) -> list[str]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return [
        cell.coordinate
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.data_type == "f"
    ]


def texts(body: bytes) -> set[str]:
    book = openpyxl.load_workbook(io.BytesIO(body))
    return {
        cell.value
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str)
    }


def test_public_pages_with_hostile_names_render(hostile):
    client = hostile.test_client()
    page = client.get(f"/results/{PERIOD_ID}")
    assert page.status_code == 200
    assert "frac" in page.get_data(as_text=True)  # the name, shown as text
    assert client.get("/results/").status_code == 200


def test_workspace_charts_with_hostile_names_render(hostile):
    client = logged_in(hostile)
    for path in (
        f"/admin/?period_id={PERIOD_ID}",
        f"/admin/periods/{PERIOD_ID}/results",
        f"/admin/periods/{PERIOD_ID}/results/units/{FORMULA_CODE}",
        f"/admin/periods/{PERIOD_ID}/results/units/STP",
    ):
        assert client.get(path).status_code == 200, path


def test_public_downloads_hold_no_formula(hostile):
    client = hostile.test_client()
    xlsx = client.get(f"/results/{PERIOD_ID}.xlsx").data
    assert formula_cells(xlsx) == []
    assert {"'" + FORMULA_NAME, "'" + FORMULA_CODE} <= texts(xlsx)
    rows = list(
        csv.DictReader(
            io.StringIO(
                client.get(f"/results/{PERIOD_ID}.csv").data.decode("utf-8-sig")
            )
        )
    )
    assert {r["name"] for r in rows} >= {"'" + FORMULA_NAME}
    assert not any(value.startswith("=") for r in rows for value in r.values())


def test_workspace_downloads_hold_no_formula(hostile):
    client = logged_in(hostile)
    xlsx = client.get(f"/admin/periods/{PERIOD_ID}/responses.xlsx").data
    assert formula_cells(xlsx) == []
    assert "'" + FORMULA_CODE in texts(xlsx)
    body = client.get(f"/admin/periods/{PERIOD_ID}/responses.csv").data
    units = {r["unit"] for r in csv.DictReader(io.StringIO(body.decode("utf-8-sig")))}
    assert "'" + FORMULA_CODE in units
    tree = client.get("/admin/units/export.csv").data.decode("utf-8-sig")
    assert "'" + FORMULA_NAME.replace('"', '""') in tree


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+84 912", "'+84 912"),
        ("-x", "'-x"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Xã Một", "Xã Một"),
        ("Tốt\x00 lắm\x0b", "Tốt lắm"),
        ("\x00=1", "'=1"),
        ("", ""),
        (-5, -5),
        (-0.25, -0.25),
        (None, None),
    ],
)
def test_neutralise_touches_only_formula_like_text(value, expected):
    assert neutralise(value) == expected


def test_a_row_keeps_its_numbers():
    assert neutralise_row(["=A1", -3, 2.5, "ok"]) == ["'=A1", -3, 2.5, "ok"]
