"""One clock: Vietnam's date for every rule, UTC for every stored instant."""

from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import SurveyPeriod, SurveyResponse
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID

PATH = counter_path(OPEN_COUNTER_ID)
# 17:15 UTC on 29/11 is already 00:15 on 30/11 in Vietnam.
LATE_EVENING_UTC = datetime(2026, 11, 29, 17, 15, tzinfo=UTC)


def test_today_is_the_vietnamese_date_not_the_servers():
    with clock.travel(LATE_EVENING_UTC):
        assert clock.today() == date(2026, 11, 30)
        assert clock.now() == LATE_EVENING_UTC
    with clock.travel(datetime(2026, 11, 29, 16, 59, tzinfo=UTC)):
        assert clock.today() == date(2026, 11, 29)


def test_travel_refuses_a_naive_instant():
    with (
        pytest.raises(ValueError, match="timezone-aware"),
        clock.travel(datetime(2026, 1, 1)),
    ):
        pass


def test_day_bounds_are_vietnamese_midnights():
    assert clock.day_start(date(2026, 11, 30)) == datetime(2026, 11, 29, 17, tzinfo=UTC)
    assert clock.day_end(date(2026, 11, 30)) - clock.day_start(
        date(2026, 11, 30)
    ) == timedelta(days=1)


def test_stored_instants_come_back_aware_in_utc(app):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.opened_at = LATE_EVENING_UTC.astimezone(clock.VIETNAM)
        db.session.commit()
        db.session.expire_all()
        stored = db.session.get(SurveyPeriod, PERIOD_ID).opened_at
        assert stored == LATE_EVENING_UTC
        assert stored.utcoffset() == timedelta(0)


def test_naive_instants_are_refused_before_they_reach_the_database(app):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.opened_at = datetime(2026, 11, 29, 17, 15)
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            db.session.commit()
        db.session.rollback()


def _post_at(app, client, moment: datetime):
    with clock.travel(moment):
        hidden = served_form(client, PATH)
        return client.post(PATH, data={**complete_answers(), **hidden})


def test_period_ending_today_closes_at_vietnamese_midnight(app, client):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.ends_on = date(2026, 11, 29)
        period.starts_on = date(2026, 11, 1)
        db.session.commit()
    # 23:50 in Vietnam on the last day: accepted.
    accepted = _post_at(app, client, datetime(2026, 11, 29, 16, 50, tzinfo=UTC))
    assert accepted.status_code == 303
    # 00:15 in Vietnam the next day (still 29/11 in UTC): the period is over.
    refused = _post_at(app, client, LATE_EVENING_UTC)
    assert refused.status_code in (200, 409)
    with app.app_context():
        stamps = list(db.session.scalars(sa.select(SurveyResponse.submitted_at)))
    assert [clock.local(s).date() for s in stamps] == [date(2026, 11, 29)]


def test_period_starting_today_opens_at_vietnamese_midnight(app, client):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.starts_on, period.ends_on = date(2026, 11, 30), date(2026, 12, 31)
        db.session.commit()
    # 06:30 on 30/11 in Vietnam is 23:30 on 29/11 in UTC: already open.
    response = _post_at(app, client, datetime(2026, 11, 29, 23, 30, tzinfo=UTC))
    assert response.status_code == 303
