"""Recording responses directly through the service: exactly once, never off the scale."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey import clock, tokens
from survey.extensions import db
from survey.models import Counter, PeriodStatus, SurveyPeriod, SurveyResponse
from survey.services import responses
from tests.helpers import DEFINITION
from tests.seed import OPEN_COUNTER_ID, OTHER_COUNTER_ID, PERIOD_ID

SIGNALS = responses.ClientSignals("n" * 32, "d" * 32)


def full_submission(value: int = 4) -> responses.Submission:
    return responses.Submission(
        {code: value for code in DEFINITION.scale_items}, "ho-tich"
    )


@pytest.fixture
def counter_and_period(app_ctx):
    return db.session.get(Counter, OPEN_COUNTER_ID), db.session.get(
        SurveyPeriod, PERIOD_ID
    )


def stored() -> int:
    return db.session.scalar(sa.select(sa.func.count(SurveyResponse.id)))


def test_record_is_idempotent_per_key(counter_and_period):
    counter, period = counter_and_period
    key = responses.issue_key(counter, period)
    first, created = responses.record_response(
        counter, period, key, full_submission(), SIGNALS
    )
    again, created_again = responses.record_response(
        counter, period, key, full_submission(), SIGNALS
    )
    assert (created, created_again) == (True, False)
    assert first == again
    assert stored() == 1


def test_record_rejects_a_key_of_another_counter(counter_and_period):
    counter, period = counter_and_period
    other = db.session.get(Counter, OTHER_COUNTER_ID)
    with pytest.raises(responses.InvalidSubmission):
        responses.record_response(
            counter,
            period,
            responses.issue_key(other, period),
            full_submission(),
            SIGNALS,
        )
    assert stored() == 0


def test_record_rejects_an_expired_key(app, counter_and_period, monkeypatch):
    counter, period = counter_and_period
    key = responses.issue_key(counter, period)
    monkeypatch.setitem(app.config, "FORM_MAX_AGE", -1)
    with pytest.raises(responses.InvalidSubmission):
        responses.record_response(counter, period, key, full_submission(), SIGNALS)


def test_record_rejects_a_closed_period(counter_and_period):
    counter, period = counter_and_period
    key = responses.issue_key(counter, period)
    period.status = PeriodStatus.CLOSED.value
    with pytest.raises(responses.PeriodNotOpen):
        responses.record_response(counter, period, key, full_submission(), SIGNALS)
    period.status, period.ends_on = (
        PeriodStatus.OPEN.value,
        clock.today() - timedelta(days=1),
    )
    with pytest.raises(responses.PeriodNotOpen):
        responses.record_response(counter, period, key, full_submission(), SIGNALS)
    assert stored() == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"1.1": 6}, "ngoài thang đo"),
        ({"1.1": -1}, "ngoài thang đo"),
        ({"overall": 0}, "ngoài thang đo"),
        ({"9.9": 3}, "không có trong phiếu"),
    ],
)
def test_record_rejects_answers_off_the_questionnaire(
    counter_and_period, change, message
):
    counter, period = counter_and_period
    submission = full_submission()
    submission.scale.update(change)
    with pytest.raises(responses.InvalidAnswers, match=message):
        responses.record_response(
            counter, period, responses.issue_key(counter, period), submission, SIGNALS
        )
    assert stored() == 0


def test_record_rejects_missing_answers(counter_and_period):
    counter, period = counter_and_period
    submission = full_submission()
    del submission.scale["3.1"]
    with pytest.raises(responses.InvalidAnswers, match="3.1"):
        responses.record_response(
            counter, period, responses.issue_key(counter, period), submission, SIGNALS
        )


def test_concurrent_retries_store_one_response(app, backend):
    """Eight threads post the same key at once; the unique constraint keeps one row."""
    with app.app_context():
        key = tokens.issue_submission_key("test", OPEN_COUNTER_ID, PERIOD_ID)
    barrier, outcomes = threading.Barrier(8), []

    def submit():
        with app.app_context():
            counter = db.session.get(Counter, OPEN_COUNTER_ID)
            period = db.session.get(SurveyPeriod, PERIOD_ID)
            barrier.wait()
            try:
                outcomes.append(
                    responses.record_response(
                        counter, period, key, full_submission(), SIGNALS
                    )
                )
            except sa.exc.OperationalError as exc:  # SQLite: "database is locked"
                outcomes.append(("locked", str(exc)))

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with app.app_context():
        assert stored() == 1
        assert db.session.scalar(sa.select(SurveyResponse.answers)) == "4" * 23
    created = [o for o in outcomes if o[1] is True]
    assert len(created) == 1
    if backend == "postgresql":
        assert len({o[0] for o in outcomes}) == 1
        assert len(outcomes) == 8


def test_a_forms_age_is_measured_on_the_apps_clock(counter_and_period):
    counter, period = counter_and_period
    served = clock.now() - timedelta(hours=3)
    with clock.travel(served):
        key = responses.issue_key(counter, period)
    response_id, created = responses.record_response(
        counter, period, key, full_submission(), SIGNALS
    )
    assert created
    stored_response = db.session.get(SurveyResponse, response_id)
    assert abs((stored_response.form_served_at - served).total_seconds()) < 1
    with clock.travel(served):
        late = responses.issue_key(counter, period)
    with (
        clock.travel(served + timedelta(hours=13)),
        pytest.raises(responses.InvalidSubmission),
    ):
        responses.record_response(counter, period, late, full_submission(), SIGNALS)


def test_keys_served_before_the_stamp_still_work(app_ctx, counter_and_period):
    counter, period = counter_and_period
    old_style = tokens._serializer("test").dumps(["nonce", counter.id, period.id])
    _, created = responses.record_response(
        counter, period, old_style, full_submission(), SIGNALS
    )
    assert created
