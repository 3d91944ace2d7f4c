"""Publications that verify honestly: labels frozen, numbers within a tolerance, a hash
over a canonical form, and any size of response set (no IN list)."""

import random
from datetime import UTC, datetime

import numpy as np
import pytest
import sqlalchemy as sa

import analysis
from survey.extensions import db
from survey.idset import pack_ids
from survey.models import (
    Counter,
    PeriodStatus,
    Publication,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from survey.services import demo, indices, publications
from survey.services.questionnaires import definition_of
from tests.seed import PERIOD_ID


@pytest.fixture
def admin(app_ctx):
    return db.session.scalar(sa.select(User).filter_by(username="admin"))


@pytest.fixture
def published(app_ctx, admin):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    demo.add_synthetic_responses(period, 240, random.Random(5))
    period.status = PeriodStatus.CLOSED.value
    db.session.commit()
    return publications.publish(period, indices.Settings(), by=admin)


def test_ids_are_kept_compactly_and_not_loaded_by_public_pages(published, client):
    assert published.response_ids == []
    assert len(publications.used_ids(published)) == 240
    db.session.expunge_all()
    loaded = db.session.scalar(sa.select(Publication))
    state = sa.inspect(loaded)
    assert {"response_ids", "used_responses"} <= state.unloaded
    assert client.get(f"/results/{PERIOD_ID}").status_code == 200


def test_a_renamed_unit_changes_nothing_published(published):
    unit = db.session.scalar(sa.select(Unit).filter_by(code="STP"))
    old_name = unit.name
    unit.name = "Sở Tư pháp (tên mới)"
    db.session.commit()
    found = publications.verify(published)
    assert found, found.differences
    assert found.checked > 500
    names = {r["name"] for r in published.results if r["unit"] == "STP"}
    assert names == {old_name}


def test_a_changed_response_is_named(published):
    ids = publications.used_ids(published)
    response = db.session.get(SurveyResponse, int(ids[0]))
    unit = db.session.get(Unit, response.unit_id).code
    response.answers = "".join("1" if d != "0" else "0" for d in response.answers)
    db.session.commit()
    found = publications.verify(published)
    assert not found
    assert any(d.startswith(f"results [{unit}/") for d in found.differences)
    assert all("published" in d for d in found.differences)


def test_a_changed_exclusion_in_the_response_set_is_named(published):
    ids = publications.used_ids(published)
    published.used_responses = pack_ids(ids[1:])  # one response left out afterwards
    db.session.commit()
    found = publications.verify(published)
    assert not found
    assert "no longer give the published hash" in found.differences[0]
    assert any("summary responses: published 240, recomputed 239" in d
               for d in found.differences)  # fmt: skip


def test_numbers_are_compared_within_the_documented_tolerance(published):
    content = {"results": published.results, "summary": published.summary}
    moved = {
        "results": [
            dict(r, estimate=r["estimate"] + publications.VERIFY_TOLERANCE / 10)
            if r["estimate"] is not None
            else r
            for r in published.results
        ],
        "summary": published.summary,
    }
    found = publications.Verification()
    publications._compare(content, moved, "", found)
    assert found
    far = {"results": [dict(published.results[0], estimate=-1.0)],
           "summary": published.summary}  # fmt: skip
    publications._compare(
        {"results": published.results[:1], "summary": published.summary},
        far,
        "",
        found,
    )
    assert not found


def test_the_hash_ignores_digits_beyond_the_canonical_form(published):
    settings, ids = published.settings, publications.used_ids(published)
    content = {"results": published.results, "summary": published.summary}
    nudged = {
        "results": [
            dict(r, se=r["se"] * (1 + 1e-15)) if r["se"] else r
            for r in published.results
        ],
        "summary": published.summary,
    }
    questionnaire = published.period.questionnaire.content_hash
    assert publications.content_hash(
        questionnaire, settings, ids, content
    ) == publications.content_hash(questionnaire, settings, ids, nudged)
    assert (
        publications.content_hash(questionnaire, settings, ids, content)
        == published.content_hash
    )
    assert (
        publications.content_hash(questionnaire, settings, ids[1:], content)
        != published.content_hash
    )


def test_more_than_70000_responses_publish_and_verify(app_ctx, admin):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    counters = db.session.execute(sa.select(Counter.id, Counter.unit_id)).all()
    rng = np.random.default_rng(12)
    count = 70_500
    width = len(definition_of(period.questionnaire).scale_items)
    digits = rng.choice(np.frombuffer(b"012345", np.uint8), size=(count, width))
    stamp = datetime(2026, 1, 5, 3, tzinfo=UTC)
    rows = []
    for i in range(count):
        counter, unit = counters[i % 2]
        rows.append(
            {
                "period_id": period.id,
                "unit_id": unit,
                "counter_id": counter,
                "channel": "counter",
                "field": "ho-tich",
                "submission_key": f"bulk{i}",
                "form_served_at": stamp,
                "submitted_at": stamp,
                "answers": digits[i].tobytes().decode(),
                "extra": {},
                "status": "valid",
                "flags": [],
            }
        )
    for start in range(0, count, 10_000):
        db.session.execute(sa.insert(SurveyResponse), rows[start : start + 10_000])
    period.status = PeriodStatus.CLOSED.value
    db.session.commit()
    publication = publications.publish(
        period, indices.Settings(channel="counter"), by=admin
    )
    assert len(publications.used_ids(publication)) == count
    found = publications.verify(publication)
    assert found, found.differences[:5]
    assert publication.summary["responses"] == count
    assert any(
        r["unit"] == analysis.ALL and r["indicator"] == analysis.OVERALL
        for r in publication.results
    )
