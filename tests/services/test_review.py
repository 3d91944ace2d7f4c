"""The responses browser: keyset pages and filters return exactly the matching responses."""

import random
from datetime import UTC, timedelta, timezone

import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyPeriod, SurveyResponse
from survey.services import demo, review
from tests.seed import PERIOD_ID

VN = timezone(timedelta(hours=7))


def all_pages(filters) -> list[int]:
    ids, before = [], None
    while True:
        rows, before = review.page(filters, before_id=before)
        ids += [r.id for r in rows]
        if before is None:
            return ids


def test_pages_cover_every_response_once_newest_first(app_ctx):
    demo.add_synthetic_responses(
        db.session.get(SurveyPeriod, PERIOD_ID), 130, random.Random(3)
    )
    ids = all_pages(review.ResponseFilter(PERIOD_ID))
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) == 130


def test_day_filter_returns_exactly_that_days_responses(app_ctx):
    demo.add_synthetic_responses(
        db.session.get(SurveyPeriod, PERIOD_ID), 200, random.Random(4)
    )
    stamps = dict(
        db.session.execute(
            sa.select(SurveyResponse.id, SurveyResponse.submitted_at)
        ).all()
    )
    local_day = {
        i: (t if t.tzinfo else t.replace(tzinfo=UTC)).astimezone(VN).date()
        for i, t in stamps.items()
    }
    day = sorted(set(local_day.values()))[1]
    ids = all_pages(review.ResponseFilter(PERIOD_ID, day_from=day, day_to=day))
    assert sorted(ids) == sorted(i for i, d in local_day.items() if d == day)
    empty = review.ResponseFilter(PERIOD_ID, day_from=day + timedelta(days=400))
    assert review.page(empty) == ([], None)
