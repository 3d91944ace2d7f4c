"""Numbers agree everywhere: over the demo, the workspace opens a published period on its
publication, so every number of the unit page is the published one, and the change
since the previous period is the difference of the two publications (the trend's points).
"""

import re

import pytest
import sqlalchemy as sa

import analysis
from survey.extensions import db
from survey.models import Publication, SurveyPeriod
from survey.services import demo, periods
from tests.helpers import logged_in
from tests.seed import PERIOD_ID

UNIT = "STP"


def vi(value: float | None, fmt: str = "%.1f") -> str:
    return "–" if value is None else (fmt % value).translate(str.maketrans(",.", ".,"))


@pytest.fixture
def published(app):
    """The demo province: its last two quarters published, the current one open."""
    with app.app_context():
        periods.close_period(db.session.get(SurveyPeriod, PERIOD_ID))
        demo.seed_demo(responses=120)
        latest, earlier = db.session.scalars(
            sa.select(Publication)
            .join(SurveyPeriod, SurveyPeriod.id == Publication.period_id)
            .order_by(SurveyPeriod.starts_on.desc())
        ).all()[:2]
        rows = {(r["unit"], r["indicator"]): r for r in latest.results}
        before = {(r["unit"], r["indicator"]): r for r in earlier.results}
        return latest.period_id, earlier.period.name, rows, before, latest.settings


def cells(html: str, code: str) -> list[str]:
    row = re.search(rf"<tr[^>]*><t[dh]>{re.escape(code)}</t[dh]>(.*?)</tr>", html, re.S)
    assert row, code
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", row.group(1), re.S)
    ]


def test_unit_page_shows_the_published_numbers(app, published):
    period_id, previous_name, rows, before, settings = published
    assert settings["weighting"] == "volume"  # the demo published weighted results
    admin = logged_in(app)
    html = admin.get(f"/admin/periods/{period_id}/results/units/{UNIT}").get_data(
        as_text=True
    )
    assert "Đang xem theo cách tính đã công bố ngày" in html
    assert "khác với bản công bố" not in html
    checked = 0
    for (unit, indicator), row in rows.items():
        if unit != UNIT or indicator == analysis.OVERALL:
            continue
        found = cells(html, indicator)
        province = rows[(analysis.ALL, indicator)]
        assert found[1] == vi(row["estimate"]), indicator
        assert found[2] == f"{vi(row['ci_low'])}–{vi(row['ci_high'])}", indicator
        assert found[3] == vi(province["estimate"]), indicator
        if found[4]:  # criteria: n and the change since the previous period
            assert found[4] == str(int(row["n"])), indicator
            change = row["estimate"] - before[(UNIT, indicator)]["estimate"]
            assert found[5].startswith(vi(change, "%+.1f")), indicator
        checked += 1
    assert checked >= 22
    overall, province = rows[(UNIT, analysis.OVERALL)], rows[(analysis.ALL, "SIPAS")]
    assert f"<b>{vi(overall['estimate'])}%</b>" in html
    assert (
        f"KTC {vi(overall['ci_low'])}–{vi(overall['ci_high'])} "
        f"(toàn tỉnh {vi(province['estimate'])}%)"
    ) in html
    # the change is the difference of the two publications: the trend's last two points
    change = overall["estimate"] - before[(UNIT, analysis.OVERALL)]["estimate"]
    assert f"<b>{vi(change, '%+.1f')}</b><span>điểm so với {previous_name}" in html


def test_results_page_opens_on_the_publication_and_labels_a_recomputation(
    app, published
):
    period_id, _, rows, _, _ = published
    admin = logged_in(app)
    html = admin.get(f"/admin/periods/{period_id}/results").get_data(as_text=True)
    assert "Đang xem theo cách tính đã công bố ngày" in html
    assert f"<b>{vi(rows[(analysis.ALL, 'SIPAS')]['estimate'])}%</b>" in html
    assert '<option selected value="volume">' in html
    other = admin.get(
        f"/admin/periods/{period_id}/results", query_string={"weighting": "none"}
    ).get_data(as_text=True)
    assert "Tính lại, khác với bản công bố." in other
    unit = admin.get(
        f"/admin/periods/{period_id}/results/units/{UNIT}",
        query_string={"weighting": "none"},
    ).get_data(as_text=True)
    assert "Tính lại, khác với bản công bố." in unit
