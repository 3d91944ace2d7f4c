"""Weaknesses stored with the results: equal to the freshly computed ones, read by the
unit page without touching the responses, and never shown as current when stale."""

import random
from dataclasses import replace

import pytest

from survey.extensions import db
from survey.models import SurveyPeriod
from survey.services import demo, indices, stored_results, weaknesses
from tests.seed import PASSWORD, PERIOD_ID

NONE = indices.Settings(channel="counter")
BLOCK = indices.Settings(channel="counter", reference="block", adjustment="bh")


@pytest.fixture
def large_app(make_app):
    return make_app(RESULTS_SYNC_LIMIT=0, RESULTS_BACKGROUND=False)


@pytest.fixture
def period(large_app):
    with large_app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        rng = random.Random(5)
        demo.add_synthetic_responses(period, 150, rng, unit_code="STP")
        demo.add_synthetic_responses(period, 120, rng)
    return PERIOD_ID


@pytest.fixture
def admin_client(large_app, period):
    client = large_app.test_client()
    client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    return client


def fresh(results, unit):
    """The weaknesses computed from the responses, as before they were stored."""
    return weaknesses.unit_weaknesses(replace(results, weaknesses=None), unit)


@pytest.mark.parametrize("settings", [NONE, BLOCK], ids=["province", "block"])
def test_stored_weaknesses_equal_the_fresh_ones(large_app, period, settings):
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        stored_results.compute_and_store(found, settings)
        results = stored_results.lookup(found, settings).results
        assert results.weaknesses, "every unit's weaknesses are stored"
        table = results.table
        units = set(table[table["kind"] == "unit"]["unit"])
        assert set(results.weaknesses) == units
        for unit in units:
            stored = weaknesses.unit_weaknesses(results, unit)
            again = fresh(results, unit)
            assert stored.rows == again.rows  # every number exactly
            assert (stored.reference, stored.block, stored.adjustment) == (
                again.reference,
                again.block,
                again.adjustment,
            )
            assert stored.alpha == again.alpha
            assert stored.rows


def test_unit_page_reads_stored_weaknesses(
    large_app, admin_client, period, monkeypatch
):
    with large_app.app_context():
        stored_results.compute_and_store(db.session.get(SurveyPeriod, period), NONE)
    monkeypatch.setattr(weaknesses, "channel_sample", pytest.fail)
    monkeypatch.setattr(indices, "compute", pytest.fail)
    page = admin_client.get(
        f"/admin/periods/{period}/results/units/STP?channel=counter"
    )
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "trên dữ liệu hiện có" in text
    assert 'id="weaknesses"' in text


def test_stale_stored_weaknesses_are_never_shown_as_current(
    large_app, admin_client, period, monkeypatch
):
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        stored_results.compute_and_store(found, NONE)
        before = stored_results.lookup(found, NONE).results.weaknesses["STP"]
        demo.add_synthetic_responses(
            found, 80, random.Random(6), unit_code="STP", improvement=30
        )
        assert stored_results.lookup(found, NONE).state == "stale"
    monkeypatch.setattr(weaknesses, "channel_sample", pytest.fail)
    page = admin_client.get(
        f"/admin/periods/{period}/results/units/STP?channel=counter"
    )
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Đã có dữ liệu mới hơn" in text
    assert "trên dữ liệu hiện có" not in text
    assert 'id="weaknesses"' in text  # the stored computation's, with its time
    monkeypatch.undo()
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        stored_results.compute_and_store(found, NONE)
        now = stored_results.lookup(found, NONE)
        assert now.state == "current"
        after = now.results.weaknesses["STP"]
        assert after["rows"] != before["rows"]
        assert weaknesses.unit_weaknesses(now.results, "STP").rows == (
            fresh(now.results, "STP").rows
        )
