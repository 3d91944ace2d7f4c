"""The column read path gives the numbers the row-by-row read gave, on both databases.

``rows_response_frame`` and ``rows_sample_frame`` are the previous implementations
(one Python row per response through the ORM, ids as an ``IN`` list), kept here as
the reference the new path is held to (1e-12).
"""

import random
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import (
    Channel,
    Invitation,
    InvitationBatch,
    SampleStratum,
    SurveyPeriod,
    SurveyResponse,
    Unit,
)
from survey.services import demo, indices, reading, sampling
from survey.services.questionnaires import definition_of
from tests.sample_data import deliver_all, drawn_period
from tests.seed import PERIOD_ID
from tests.services.test_results import add_register

TOLERANCE = 1e-12


def rows_response_frame(
    period, response_ids=None, exclude_flags=(), extras=True, channel=None
):
    definition = definition_of(period.questionnaire)
    query = (
        sa.select(
            SurveyResponse.id,
            Unit.code,
            SurveyResponse.counter_id,
            SurveyResponse.field,
            SurveyResponse.submitted_at,
            SurveyResponse.answers,
            SurveyResponse.extra,
            SurveyResponse.channel,
            SurveyResponse.flags,
        )
        .join(Unit, Unit.id == SurveyResponse.unit_id)
        .where(SurveyResponse.period_id == period.id)
        .order_by(SurveyResponse.id)
    )
    if response_ids is None:
        query = query.where(SurveyResponse.status == "valid")
        if exclude_flags:
            query = query.where(~indices.flagging.excluded_by_policy(exclude_flags))
    else:
        query = query.where(SurveyResponse.id.in_(response_ids))
    columns = ["id", "unit", "counter", "field", "submitted_at", "answers", "extra"]
    frame = pd.DataFrame(
        db.session.execute(query).all(), columns=[*columns, "channel", "flags"]
    )
    frame["flagged"] = [bool(flags) for flags in frame.pop("flags")]
    items = definition.scale_items
    digits = np.frombuffer("".join(frame["answers"]).encode(), dtype=np.uint8)
    matrix = (digits.reshape(len(frame), len(items)) - ord("0")).astype(float)
    matrix[matrix == 0] = np.nan
    for position, code in enumerate(items):
        frame[code] = matrix[:, position]
    days = (
        pd.to_datetime(frame["submitted_at"], utc=True)
        .dt.tz_convert(clock.VIETNAM)
        .dt.strftime("%Y%m%d")
    )
    counter_day = frame["counter"].fillna(-1).astype(int).astype(str) + ":" + days
    frame["psu"] = counter_day.where(
        frame["counter"].notna(), "r" + frame["id"].astype(str)
    )
    frame["field"] = frame["field"].fillna("khac")
    for key in ("gender", "age_group"):
        frame[key] = [
            extra.get(key, "") if isinstance(extra, dict) else ""
            for extra in frame["extra"]
        ]
    return frame.drop(columns=["answers", "extra"])


def rows_sample_frame(period, response_ids=None):
    response = SurveyResponse.__table__
    valid = (
        response.c.id.in_(response_ids)
        if response_ids is not None
        else response.c.status == "valid"
    )
    plan = sampling.plan_of(period)
    rows = db.session.execute(
        sa.select(
            Invitation.id,
            Invitation.unit_id,
            Unit.code,
            Unit.name,
            Invitation.field,
            Invitation.inclusion_probability,
            SampleStratum.frame_size,
            InvitationBatch.delivered_at.is_not(None),
            response.c.id,
        )
        .join(Unit, Unit.id == Invitation.unit_id)
        .join(InvitationBatch, InvitationBatch.id == Invitation.batch_id)
        .outerjoin(
            SampleStratum,
            sa.and_(
                SampleStratum.plan_id == (plan.id if plan else None),
                SampleStratum.unit_id == Invitation.unit_id,
                SampleStratum.field == Invitation.field,
            ),
        )
        .outerjoin(response, sa.and_(response.c.invitation_id == Invitation.id, valid))
        .where(Invitation.period_id == period.id)
        .order_by(Invitation.id)
    ).all()
    return pd.DataFrame(
        rows,
        columns=["invitation", "unit_id", "unit", "unit_name", "field",
                 "probability", "population", "delivered", "response"],
    )  # fmt: skip


def both_ways(monkeypatch, compute):
    """The results of ``compute()`` through the column path, then the row path."""
    fast = compute()
    with monkeypatch.context() as patch:
        patch.setattr(indices, "response_frame", rows_response_frame)
        patch.setattr(sampling, "sample_frame", rows_sample_frame)
        slow = compute()
    return fast, slow


def assert_same_numbers(fast: pd.DataFrame, slow: pd.DataFrame) -> None:
    assert list(fast["unit"]) == list(slow["unit"])
    assert list(fast["indicator"]) == list(slow["indicator"])
    numeric = [c for c in slow.columns if pd.api.types.is_numeric_dtype(slow[c])]
    assert "estimate" in numeric
    assert "se" in numeric
    for column in numeric:
        np.testing.assert_allclose(
            fast[column].to_numpy(float),
            slow[column].to_numpy(float),
            rtol=0,
            atol=TOLERANCE,
            err_msg=column,
        )


@pytest.fixture
def period(app_ctx):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    demo.add_synthetic_responses(period, 300, random.Random(8))
    return period


def test_frames_hold_the_same_responses_and_scores(period):
    flagged = db.session.scalars(
        sa.select(SurveyResponse.id).where(SurveyResponse.period_id == period.id)
    ).all()[::7]
    db.session.execute(
        sa.update(SurveyResponse)
        .where(SurveyResponse.id.in_(flagged))
        .values(flags=["device-repeat"])
    )
    fast, slow = (
        indices.response_frame(period, extras=True),
        rows_response_frame(period),
    )
    assert len(fast) == len(slow) > 200
    assert list(fast["id"]) == list(slow["id"])
    for column in ("unit", "field", "channel", "gender", "age_group", "flagged"):
        assert list(fast[column]) == list(slow[column]), column
    assert fast["flagged"].sum() == len(flagged)
    items = list(definition_of(period.questionnaire).scale_items)
    np.testing.assert_array_equal(fast[items].to_numpy(), slow[items].to_numpy())
    # The same PSUs: counter x Vietnam day, or the response alone.
    assert fast.groupby("psu")["id"].apply(tuple).sort_values().tolist() == (
        slow.groupby("psu")["id"].apply(tuple).sort_values().tolist()
    )


def test_chosen_ids_are_exactly_those(period):
    ids = indices.response_frame(period)["id"].tolist()[::3]
    assert indices.response_frame(period, ids)["id"].tolist() == ids


@pytest.mark.parametrize("weighting", ["none", "volume", "rake"])
def test_column_path_gives_the_same_numbers(period, monkeypatch, weighting):
    extra = {}
    if weighting == "volume":
        fields = sorted(set(indices.response_frame(period)["field"]))
        add_register(period, {(u, f): 50 + 7 * len(f) for u in ("STP", "X-HB")
                              for f in fields})  # fmt: skip
    if weighting == "rake":
        margin = pd.DataFrame({"gender": ["nam", "nu"], "population": [3000, 7000]})
        extra = {"margins": (margin.to_csv(index=False),)}
    settings = indices.Settings(weighting=weighting, channel="counter", **extra)
    fast, slow = both_ways(monkeypatch, lambda: indices.compute(period, settings))
    assert_same_numbers(fast.table, slow.table)
    assert fast.response_ids == slow.response_ids
    assert fast.weights == pytest.approx(slow.weights, rel=0, abs=TOLERANCE)


def test_sampled_channel_gives_the_same_numbers(app_ctx, monkeypatch):
    period = drawn_period()
    deliver_all(period)
    demo.add_sampled_responses(period, 0.6, random.Random(11))
    demo.add_synthetic_responses(period, 150, random.Random(5))
    settings = indices.Settings()
    fast, slow = both_ways(monkeypatch, lambda: indices.compute(period, settings))
    assert fast.channel == "both"
    assert_same_numbers(fast.table, slow.table)
    assert_same_numbers(fast.beside.table, slow.beside.table)
    chosen = fast.response_ids[::2]
    fast, slow = both_ways(
        monkeypatch, lambda: indices.compute(period, settings, chosen)
    )
    assert_same_numbers(fast.table, slow.table)


def test_edges_read_as_the_rows_read_them(period):
    """A NULL field, no counter, both sides of Vietnamese midnight, a "no opinion"."""
    first = db.session.scalars(
        sa.select(SurveyResponse).where(SurveyResponse.counter_id.is_not(None))
    ).first()
    width = len(definition_of(period.questionnaire).scale_items)
    midnight = datetime(2026, 3, 1, 17, tzinfo=UTC)  # 00:00 on 2 March in Vietnam
    edges = {
        "before": (midnight - timedelta(microseconds=1), first.counter_id, "dat-dai"),
        "second before": (midnight - timedelta(seconds=1), first.counter_id, None),
        "at": (midnight, first.counter_id, "dat-dai"),
        "no counter": (midnight, None, "dat-dai"),
    }
    for key, (moment, counter, field) in edges.items():
        db.session.add(
            SurveyResponse(
                period_id=period.id,
                unit_id=first.unit_id,
                counter_id=counter,
                channel=Channel.COUNTER.value,
                field=field,
                submission_key=key.replace(" ", "-"),
                form_served_at=moment - timedelta(minutes=3),
                submitted_at=moment,
                answers="0" + "5" * (width - 1),
                extra={},
            )
        )
    db.session.commit()
    fast, slow = indices.response_frame(period), rows_response_frame(period)
    assert list(fast["id"]) == list(slow["id"])
    for column in ("unit", "field", "gender"):
        assert list(fast[column]) == list(slow[column]), column
    edge = fast.tail(len(edges)).reset_index(drop=True)
    assert list(edge["field"]) == ["dat-dai", "khac", "dat-dai", "dat-dai"]
    first_item = definition_of(period.questionnaire).scale_items[0]
    assert edge[first_item].isna().all()
    # Before midnight, one PSU; at midnight, the next day's; without a counter, alone.
    assert edge["psu"][0] == edge["psu"][1] == edge["psu"][2] - 1
    assert edge["psu"][3] == -edge["id"][3]
    assert fast.groupby("psu")["id"].apply(tuple).sort_values().tolist() == (
        slow.groupby("psu")["id"].apply(tuple).sort_values().tolist()
    )


def test_rows_parsed_in_many_blocks_make_the_same_frame(period, monkeypatch):
    whole = indices.response_frame(period, extras=True)
    blocks = []
    copy_out = reading._copy_out

    def counted(*args):
        for block in copy_out(*args):
            blocks.append(len(block))
            yield block

    monkeypatch.setattr(reading, "_copy_out", counted)
    monkeypatch.setattr(reading, "COPY_BLOCK", 300)  # a few rows a block
    pd.testing.assert_frame_equal(indices.response_frame(period, extras=True), whole)
    if db.engine.dialect.name == "postgresql":
        assert len(blocks) > 1
