"""Real weaknesses of a unit: the family's adjustment, the reference, pooled small units."""

import random
from datetime import timedelta

import numpy as np
import pytest
import sqlalchemy as sa

from analysis.multiplicity import p_adjust
from survey import clock
from survey.extensions import db
from survey.models import SurveyPeriod, SurveyResponse, Unit
from survey.services import demo, indices, periods
from survey.services.questionnaires import definition_of, get_questionnaire
from survey.services.weaknesses import unit_weaknesses
from tests.plan_data import published_baseline
from tests.seed import PERIOD_ID


def run_period(
    offset: int, version: str = "sipas-2640", small: int = 10
) -> SurveyPeriod:
    """A past period, `offset` months back: many STP responses, few from Xã Hòa Bình."""
    first = clock.today() - timedelta(days=60 + 30 * offset)
    last = first + timedelta(days=25)
    with clock.travel(clock.day_start(last) + timedelta(hours=3)):
        period = periods.create_period(
            f"Tháng -{offset}", first, last, get_questionnaire(version)
        )
        periods.open_period(period)
        rng = random.Random(offset)
        demo.add_synthetic_responses(period, 150, rng, unit_code="STP")
        demo.add_synthetic_responses(period, small, rng, unit_code="X-HB")
        periods.close_period(period)
    return period


def seeded_period(small: int = 10) -> SurveyPeriod:
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    rng = random.Random(99)
    demo.add_synthetic_responses(period, 150, rng, unit_code="STP")
    demo.add_synthetic_responses(period, small, rng, unit_code="X-HB")
    return period


def answered_share(period_ids: list[int], unit: str, criterion: str) -> float:
    definition = definition_of(get_questionnaire("sipas-2640"))
    answers = [
        definition.decode_answers(a)[criterion]
        for a in db.session.scalars(
            sa.select(SurveyResponse.answers)
            .join(Unit, Unit.id == SurveyResponse.unit_id)
            .where(SurveyResponse.period_id.in_(period_ids), Unit.code == unit)
        )
    ]
    return 100 * sum(a >= 4 for a in answers) / sum(a > 0 for a in answers)


def test_a_small_unit_is_pooled_over_its_last_periods(app_ctx):
    older, old = run_period(2), run_period(1)
    period = seeded_period()
    settings = indices.Settings(pool_periods=3)
    results = indices.compute(period, settings)
    small = unit_weaknesses(results, "X-HB")
    assert small.pooled_periods == [period.name, old.name, older.name]
    row = next(r for r in small.rows if r["code"] == "1.1")
    ids = [period.id, old.id, older.id]
    assert row["estimate"] == pytest.approx(answered_share(ids, "X-HB", "1.1"))
    # a unit large enough on its own is not pooled
    assert unit_weaknesses(results, "STP").pooled_periods == []
    # nor is anyone when the analyst keeps one period
    alone = unit_weaknesses(indices.compute(period, indices.Settings()), "X-HB")
    assert alone.pooled_periods == []
    assert next(r for r in alone.rows if r["code"] == "1.1")["estimate"] == (
        pytest.approx(answered_share([period.id], "X-HB", "1.1"))
    )


def test_pooling_stops_at_a_change_of_questionnaire(app_ctx):
    run_period(2)
    run_period(1, version="sipas-1001-dv")
    period = seeded_period()
    results = indices.compute(period, indices.Settings(pool_periods=3))
    assert unit_weaknesses(results, "X-HB").pooled_periods == []


def test_the_family_is_adjusted_as_the_settings_say(app_ctx):
    period = published_baseline()
    for method in ("holm", "bh"):
        results = indices.compute(period, indices.Settings(adjustment=method))
        found = unit_weaknesses(results, "STP")
        assert found.adjustment == method
        assert found.family_size == 22
        raw = np.array([r["p_value"] for r in found.rows])
        np.testing.assert_allclose(
            [r["p_adjusted"] for r in found.rows], p_adjust(raw, method)
        )
    assert {r["code"] for r in found.real} >= {"2.5", "5.4"}


def test_the_peer_block_is_the_reference_when_asked(app_ctx):
    period = published_baseline()
    results = indices.compute(period, indices.Settings(reference="block"))
    found = unit_weaknesses(results, "STP")
    assert (found.reference, found.block) == ("block", "Sở, ban, ngành")
    # Sở Tư pháp is the only department: its block is itself, nothing stands out
    assert found.real == []
    assert all(r["difference"] == pytest.approx(0, abs=1e-9) for r in found.rows)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("reference", "country"),
        ("adjustment", "sidak"),
        ("pool_periods", 0),
        ("pool_periods", 9),
    ],
)
def test_unknown_weakness_settings_are_refused(field, value):
    with pytest.raises(indices.ResultsError):
        indices.Settings(**{field: value})
