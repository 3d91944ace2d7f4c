"""Results by channel: the sample's design, the counter beside it, never pooled, and the
counter - sample difference, in results and in publications."""

import random

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

import analysis
from analysis.channels import compare_channels
from analysis.design import make_design
from analysis.estimate import indices as estimate_indices
from analysis.sampling import sample_weights
from survey.extensions import db
from survey.models import SurveyResponse, User
from survey.services import demo, indices, publications, sampling
from tests.sample_data import deliver_all, drawn_period

ANSWERED = 0.6


@pytest.fixture
def period(app_ctx):
    period = drawn_period()
    deliver_all(period)
    demo.add_sampled_responses(period, ANSWERED, random.Random(11))
    demo.add_synthetic_responses(period, 200, random.Random(5))
    return period


def by_unit(table: pd.DataFrame, indicator: str = analysis.OVERALL) -> pd.DataFrame:
    return table[table["indicator"] == indicator].set_index("unit")


def test_auto_puts_the_sample_first_and_the_counter_beside_it(period):
    results = indices.compute(period, indices.Settings())
    assert results.settings.channel == results.channel == "both"
    sample_ids = set(
        db.session.scalars(sa.select(SurveyResponse.id).filter_by(channel="sample"))
    )
    assert set(results.response_ids) == sample_ids | set(results.beside.response_ids)
    assert by_unit(results.table).loc["STP", "n"] <= len(sample_ids)
    assert results.beside.channel == "counter"
    expected = compare_channels(results.beside.table, results.table)
    pd.testing.assert_frame_equal(
        results.gap.reset_index(drop=True), expected.reset_index(drop=True)
    )
    gap = by_unit(results.gap).loc["STP"]
    assert gap["difference"] == pytest.approx(
        by_unit(results.beside.table).loc["STP", "estimate"]
        - by_unit(results.table).loc["STP", "estimate"]
    )
    assert gap["se"] == pytest.approx(
        np.hypot(
            by_unit(results.beside.table).loc["STP", "se"],
            by_unit(results.table).loc["STP", "se"],
        )
    )


def test_each_channel_alone_uses_only_its_responses(period):
    counter = indices.compute(period, indices.Settings(channel="counter"))
    sample = indices.compute(period, indices.Settings(channel="sample"))
    channels = dict(
        db.session.execute(sa.select(SurveyResponse.id, SurveyResponse.channel)).all()
    )
    assert {channels[i] for i in counter.response_ids} == {"counter"}
    assert {channels[i] for i in sample.response_ids} == {"sample"}
    assert counter.rates is None
    assert sample.rates is not None
    both = indices.compute(period, indices.Settings(channel="both"))
    pd.testing.assert_frame_equal(both.table, sample.table)
    pd.testing.assert_frame_equal(both.beside.table, counter.table)


def test_sample_design_is_inverse_probability_with_nonresponse_and_fpc(period):
    results = indices.compute(period, indices.Settings(channel="sample"))
    drawn = sampling.sample_frame(period)
    responded = drawn["response"].notna().to_numpy()
    stratum = (drawn["unit"] + "|" + drawn["field"]).to_numpy()
    weights = sample_weights(drawn["probability"], responded, stratum, drawn["unit"])
    frame = indices.response_frame(period)
    frame = frame[frame["channel"] == "sample"].reset_index(drop=True)
    by_response = pd.Series(weights[responded], index=drawn["response"][responded])
    population = pd.Series(
        drawn["population"].to_numpy()[responded], index=by_response.index
    )
    frame["weight"] = frame["id"].map(by_response)
    frame["fpc"] = frame["id"].map(population)
    frame["stratum"] = frame["unit"] + "|" + frame["field"]
    design = make_design(frame, strata="stratum", weight="weight", fpc="fpc")
    structure = indices.definition_of(period.questionnaire).structure
    expected = estimate_indices(frame, structure, design=design)
    mine = by_unit(results.table)
    theirs = by_unit(expected)
    for unit in ("STP", "X-HB", analysis.ALL):
        assert mine.loc[unit, "estimate"] == pytest.approx(theirs.loc[unit, "estimate"])
        assert mine.loc[unit, "se"] == pytest.approx(theirs.loc[unit, "se"])
    # weights of a unit's respondents add up to its dossiers in the frame
    plan = sampling.plan_of(period)
    stp_population = sum(s.frame_size for s in plan.strata if s.unit_id == 2)
    stp_weights = weights[responded & (drawn["unit"] == "STP").to_numpy()]
    assert stp_weights.sum() == pytest.approx(stp_population)


def test_nonresponse_cells_can_be_whole_units(period):
    strata = indices.compute(period, indices.Settings(channel="sample"))
    units = indices.compute(
        period, indices.Settings(channel="sample", nonresponse="unit")
    )
    assert by_unit(strata.table).loc["STP", "estimate"] != pytest.approx(
        by_unit(units.table).loc["STP", "estimate"], abs=1e-9
    )


def test_a_channel_without_responses_is_refused_in_vietnamese(app_ctx):
    period = drawn_period()
    demo.add_synthetic_responses(period, 50, random.Random(5))
    with pytest.raises(indices.ResultsError, match="mẫu ngẫu nhiên"):
        indices.compute(period, indices.Settings(channel="sample"))
    with pytest.raises(indices.ResultsError, match="cả hai kênh"):
        indices.compute(period, indices.Settings(channel="both"))
    assert indices.compute(period, indices.Settings()).channel == "counter"


def test_response_rates_come_with_sampled_results(period):
    results = indices.compute(period, indices.Settings())
    rates = results.rates.set_index("unit")
    drawn = sampling.sample_frame(period)
    assert rates.loc[analysis.ALL, "sampled"] == len(drawn)
    assert rates.loc[analysis.ALL, "completed"] == drawn["response"].notna().sum()
    assert rates.loc["STP", "rr1"] == pytest.approx(
        100 * drawn[drawn["unit"] == "STP"]["response"].notna().mean()
    )


def test_publication_keeps_both_channels_and_reproduces(period):
    period.status = "closed"
    db.session.commit()
    admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
    publication = publications.publish(period, indices.Settings(), by=admin)
    assert publication.settings["channel"] == "both"
    summary = publication.summary
    assert summary["channel"] == "both"
    assert summary["sample_responses"] + summary["counter_responses"] == len(
        publications.used_ids(publication)
    )
    units = publications.side_by_side(summary)
    assert {"rate", "counter", "gap"} <= set(units["STP"])
    assert units["STP"]["gap"]["difference"] == pytest.approx(
        units["STP"]["counter"]["estimate"]
        - next(
            r["estimate"]
            for r in publication.results
            if r["unit"] == "STP" and r["indicator"] == analysis.OVERALL
        )
    )
    assert publications.verify(publication)
    # a sampled response excluded after publication changes nothing published
    response = db.session.scalars(
        sa.select(SurveyResponse).filter_by(channel="sample").limit(1)
    ).one()
    response.status = "excluded"
    db.session.commit()
    assert publications.verify(publication)


def test_settings_stored_before_channels_mean_the_counter():
    legacy = indices.Settings(weighting="volume").to_dict()
    del legacy["channel"], legacy["nonresponse"]
    assert indices.Settings.from_dict(legacy).channel == "counter"
    with pytest.raises(indices.ResultsError):
        indices.Settings(channel="pooled")


def test_sampled_responses_without_a_drawn_dossier_are_refused(app_ctx):
    period = drawn_period()
    demo.add_synthetic_responses(period, 50, random.Random(5))
    stray = db.session.scalars(sa.select(SurveyResponse).limit(1)).one()
    stray.channel = "sample"
    db.session.commit()
    with pytest.raises(indices.ResultsError, match="không gắn với hồ sơ"):
        indices.compute(period, indices.Settings(channel="sample"))
    assert indices.compute(period, indices.Settings(channel="counter")).response_ids
