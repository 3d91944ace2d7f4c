"""Every time a person reads is Vietnam time, on both databases and in any process zone."""

import time
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import AuditEntry, PeriodStatus, SurveyPeriod, SurveyResponse, User
from survey.services import indices, publications, review
from tests.helpers import DEFINITION, logged_in
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID

STP = 2
# 23:59:59 on 1 March and 00:00:00 on 2 March in Vietnam.
LAST_SECOND = datetime(2026, 3, 1, 16, 59, 59, tzinfo=UTC)
MIDNIGHT = datetime(2026, 3, 1, 17, 0, 0, tzinfo=UTC)


def add_response(key: str, submitted: datetime) -> int:
    response = SurveyResponse(
        period_id=PERIOD_ID,
        unit_id=STP,
        counter_id=OPEN_COUNTER_ID,
        channel="counter",
        field="ho-tich",
        submission_key=key,
        form_served_at=submitted - timedelta(minutes=2),
        submitted_at=submitted,
        answers="4" * len(DEFINITION.scale_items),
        extra={},
        status="valid",
    )
    db.session.add(response)
    db.session.commit()
    return response.id


@pytest.fixture
def around_midnight(app):
    with app.app_context():
        return add_response("before", LAST_SECOND), add_response("after", MIDNIGHT)


def test_day_filter_cuts_at_vietnamese_midnight(app, around_midnight):
    before, after = around_midnight
    with app.app_context():
        for day, expected in (
            (date(2026, 3, 1), [before]),
            (date(2026, 3, 2), [after]),
        ):
            rows, _ = review.page(
                review.ResponseFilter(PERIOD_ID, day_from=day, day_to=day)
            )
            assert [r.id for r in rows] == expected


def test_day_filter_page_on_the_border(app, around_midnight):
    before, after = around_midnight
    client = logged_in(app)
    page = client.get(
        f"/admin/responses?period_id={PERIOD_ID}&day_from=2026-03-02&day_to=2026-03-02"
    ).get_data(as_text=True)
    assert f"/admin/responses/{after}" in page
    assert f'/admin/responses/{before}"' not in page
    assert "02/03 00:00" in page  # listed in Vietnam time, not 01/03 17:00


@pytest.mark.parametrize("zone", ["UTC", "Pacific/Kiritimati", "America/Los_Angeles"])
def test_pages_show_vietnam_time_whatever_the_process_zone(
    app, around_midnight, monkeypatch, zone
):
    monkeypatch.setenv("TZ", zone)
    time.tzset()
    try:
        _, after = around_midnight
        client = logged_in(app)
        detail = client.get(f"/admin/responses/{after}").get_data(as_text=True)
        assert "01/03/2026 23:58:00" in detail  # the form was served at 16:58 UTC
        assert "00:00:00" in detail
    finally:
        monkeypatch.undo()
        time.tzset()


def test_audit_log_is_in_vietnam_time(app):
    with app.app_context():
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        db.session.add(
            AuditEntry(at=MIDNIGHT, user_id=admin.id, action="test.midnight")
        )
        db.session.commit()
    page = logged_in(app).get("/admin/audit").get_data(as_text=True)
    assert "02/03/2026 00:00:00" in page
    assert "UTC" not in page


def test_publication_says_when_in_vietnam_time(app, around_midnight):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.status = PeriodStatus.CLOSED.value
        db.session.commit()
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        with clock.travel(datetime(2026, 4, 1, 18, 30, tzinfo=UTC)):
            publications.publish(period, indices.Settings(), by=admin)
    client = app.test_client()
    page = client.get(f"/results/{PERIOD_ID}").get_data(as_text=True)
    assert "02/04/2026 01:30" in page
    assert "UTC" not in page
    listing = client.get("/results/").get_data(as_text=True)
    assert "02/04/2026" in listing
