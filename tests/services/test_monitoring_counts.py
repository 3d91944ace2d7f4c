"""The dashboard's counts: read in one pass, kept per data version, always current."""

import random
from collections import Counter
from datetime import timedelta

import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyPeriod, SurveyResponse, User
from survey.services import demo, monitoring, review
from tests.seed import PERIOD_ID


def direct(period_id: int, visible=None):
    """Counts per unit and valid responses per Vietnam day, response by response."""
    per_unit, per_day = {}, Counter()
    for r in db.session.scalars(
        sa.select(SurveyResponse).filter_by(period_id=period_id)
    ):
        if visible is not None and r.unit_id not in visible:
            continue
        valid, excluded, flagged = per_unit.get(r.unit_id, (0, 0, 0))
        per_unit[r.unit_id] = (
            valid + (r.status == "valid"),
            excluded + (r.status == "excluded"),
            flagged + bool(r.flags),
        )
        if r.status == "valid":
            per_day[(r.submitted_at + timedelta(hours=7)).date()] += 1
    return per_unit, sorted(per_day.items())


def shown(period, visible=None):
    rows = monitoring.unit_progress(period, visible)
    per_unit = {
        r.unit.id: (r.valid, r.excluded, r.flagged)
        for r in rows
        if (r.valid, r.excluded, r.flagged) != (0, 0, 0)
    }
    return per_unit, monitoring.responses_per_day(period, visible)


def test_counts_equal_the_responses_and_follow_every_change(app_ctx):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    demo.add_synthetic_responses(period, 120, random.Random(1))
    assert shown(period) == direct(PERIOD_ID)
    some = set(list(direct(PERIOD_ID)[0])[:2])
    assert shown(period, some) == direct(PERIOD_ID, some)
    # Nothing changed: the counts are read once.
    assert monitoring.period_counts(period) is monitoring.period_counts(period)
    before = shown(period)

    demo.add_synthetic_responses(period, 7, random.Random(2))  # an open period grows
    grown = shown(period)
    assert grown == direct(PERIOD_ID)
    assert sum(v for v, _, _ in grown[0].values()) == (
        sum(v for v, _, _ in before[0].values()) + 7
    )

    admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
    response = db.session.scalar(
        sa.select(SurveyResponse).filter_by(period_id=PERIOD_ID, status="valid")
    )
    review.set_status(response, "excluded", "thử", by=admin)
    excluded = shown(period)
    assert excluded == direct(PERIOD_ID)
    assert excluded[0][response.unit_id][1] == grown[0][response.unit_id][1] + 1
    review.set_status(response, "valid", "khôi phục", by=admin)
    assert shown(period) == grown
