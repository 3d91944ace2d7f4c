"""Sample plans and draws on SQLite and PostgreSQL: proposals, refusals, reproducible
draws, never twice, and Poisson sampling as the register grows."""

import io
import random
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from analysis.plan import sample_size_proportion
from analysis.sampling import permanent_random_numbers
from survey import clock
from survey.errors import Conflict
from survey.extensions import db
from survey.models import (
    AuditEntry,
    Dossier,
    Invitation,
    SamplePlan,
    SampleStratum,
    SurveyPeriod,
    Unit,
    User,
)
from survey.services import demo, indices, publications, register, sampling
from tests.sample_data import REGISTER, add_register, deliver_all, drawn_period
from tests.seed import PERIOD_ID


@pytest.fixture
def period(app_ctx):
    add_register()
    return db.session.get(SurveyPeriod, PERIOD_ID)


def drawn_per_stratum(period) -> dict[tuple[str, str], int]:
    rows = db.session.execute(
        sa.select(Unit.code, Invitation.field, sa.func.count())
        .join(Unit, Unit.id == Invitation.unit_id)
        .where(Invitation.period_id == period.id)
        .group_by(Unit.code, Invitation.field)
    ).all()
    return {(u, f): n for u, f, n in rows}


def test_proposal_follows_the_margin_of_error_per_unit(period):
    settings = sampling.PlanSettings(moe=10, share=70, deff=1.3, response_rate=40)
    proposal = sampling.propose(period, settings)
    stp = proposal[proposal["unit"] == "STP"]
    expected = np.ceil(sample_size_proportion(200, 0.10, p=0.7, deff=1.3))
    assert stp["unit_needed"].iloc[0] == expected
    assert stp["needed"].sum() == expected
    assert stp["expected"].sum() == 200  # a closed register: its own frame
    ho_tich = stp[stp["field"] == "ho-tich"].iloc[0]
    assert ho_tich["needed"] == round(expected * 120 / 200)
    assert ho_tich["draw"] == min(120, np.ceil(ho_tich["needed"] / 0.4))
    assert ho_tich["rate"] == pytest.approx(ho_tich["draw"] / 120)
    assert (proposal["draw"] <= proposal["frame"]).all()


def test_proposal_takes_a_unit_target_and_a_field_minimum(period):
    settings = sampling.PlanSettings(moe=10, response_rate=100, min_per_field=8)
    unit_id = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    proposal = sampling.propose(period, settings, needed={unit_id: 40})
    stp = proposal[proposal["unit"] == "STP"].set_index("field")
    assert stp.loc["ho-tich", "needed"] == 24  # 40 x 120/200
    assert stp.loc["tu-phap", "needed"] == 8  # 4 by proportion, raised to 8
    assert stp["draw"].tolist() == stp["needed"].tolist()


def test_save_plan_stores_strata_and_is_audited(period):
    plan = sampling.save_plan(period, sampling.PlanSettings(moe=10))
    assert {(s.field, s.expected) for s in plan.strata if s.unit_id == 2} == {
        ("ho-tich", 120),
        ("dat-dai", 60),
        ("tu-phap", 20),
    }
    entry = db.session.scalars(
        sa.select(AuditEntry).filter_by(action="sample.plan")
    ).one()
    assert entry.after["strata"] == len(REGISTER)
    assert entry.after["draw"] == sum(s.draw_size for s in plan.strata)


def test_plan_the_register_cannot_support_is_refused_by_name(period):
    unit_id = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    with pytest.raises(sampling.PlanError, match="Sở Tư pháp · tu-phap: 20 hồ sơ"):
        sampling.save_plan(
            period, sampling.PlanSettings(), draws={(unit_id, "tu-phap"): 25}
        )
    assert db.session.scalar(sa.select(sa.func.count(SamplePlan.id))) == 0


def test_period_without_the_sample_channel_has_no_plan(period):
    period.channels = "counter"
    db.session.commit()
    with pytest.raises(sampling.PlanError, match="không có kênh mẫu"):
        sampling.propose(period, sampling.PlanSettings())


def test_plan_without_dossiers_says_to_import_the_register(app_ctx):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    with pytest.raises(sampling.PlanError, match="nhập sổ hồ sơ"):
        sampling.propose(period, sampling.PlanSettings())


@pytest.mark.parametrize(
    "settings",
    [{"moe": 0}, {"design": "cluster"}, {"response_rate": 0}, {"share": 100}],
)
def test_plan_settings_refuse_nonsense(settings):
    with pytest.raises(sampling.PlanError):
        sampling.PlanSettings(**settings)


def test_srswor_draws_each_stratum_exactly_with_its_probability(app_ctx):
    period = drawn_period()
    plan = sampling.plan_of(period)
    sizes = {(s.unit_id, s.field): s.draw_size for s in plan.strata}
    drawn = db.session.execute(
        sa.select(
            Invitation.unit_id, Invitation.field, Invitation.inclusion_probability
        ).where(Invitation.period_id == period.id)
    ).all()
    counted = pd.DataFrame(drawn, columns=["unit", "field", "pi"])
    for (unit, field), group in counted.groupby(["unit", "field"]):
        population = next(
            s.frame_size for s in plan.strata if (s.unit_id, s.field) == (unit, field)
        )
        assert len(group) == sizes[(unit, field)]
        assert group["pi"].tolist() == pytest.approx(
            [sizes[(unit, field)] / population] * len(group)
        )
    assert plan.seed
    assert plan.drawn_at is not None


def test_draw_is_the_smallest_permanent_numbers_and_repeats_exactly(app_ctx):
    period = drawn_period()
    plan = sampling.plan_of(period)
    stp = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    frame = db.session.execute(
        sa.select(Dossier.id, Dossier.code).where(
            Dossier.unit_id == stp, Dossier.field == "ho-tich"
        )
    ).all()
    u = permanent_random_numbers([code for _, code in frame], plan.seed)
    size = next(
        s.draw_size for s in plan.strata if (s.unit_id, s.field) == (stp, "ho-tich")
    )
    expected = {frame[i][0] for i in np.argsort(u)[:size]}
    drawn = set(
        db.session.scalars(
            sa.select(Invitation.dossier_id).where(
                Invitation.unit_id == stp, Invitation.field == "ho-tich"
            )
        )
    )
    assert drawn == expected
    check = sampling.verify_draw(period)
    assert check.same
    assert check.stored == check.repeated == sum(s.draw_size for s in plan.strata)


def test_a_drawn_plan_never_changes_and_is_not_drawn_again(app_ctx):
    period = drawn_period()
    before = db.session.scalar(sa.select(sa.func.count(Invitation.id)))
    with pytest.raises(Conflict, match="đã được rút"):
        sampling.draw(period)
    with pytest.raises(Conflict, match="không thể sửa"):
        sampling.save_plan(period, sampling.PlanSettings())
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == before
    audit = db.session.scalars(sa.select(AuditEntry).filter_by(action="sample.draw"))
    assert len(audit.all()) == 1


def test_a_dossier_is_never_drawn_twice_in_a_period(app_ctx):
    period = drawn_period()
    first = db.session.scalars(sa.select(Invitation).limit(1)).one()
    twin = {
        "period_id": period.id,
        "dossier_id": first.dossier_id,
        "batch_id": first.batch_id,
        "unit_id": first.unit_id,
        "field": first.field,
        "inclusion_probability": 1.0,
        "code": "0000000000" + "0",
        "expires_on": first.expires_on,
    }
    with pytest.raises(IntegrityError):
        db.session.execute(sa.insert(Invitation), [twin])
    db.session.rollback()


def test_verification_notices_a_register_changed_after_the_draw(app_ctx):
    period = drawn_period(response_rate=100)
    stp = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    drawn = db.session.scalars(
        sa.select(Invitation.dossier_id).filter_by(unit_id=stp, field="ho-tich")
    ).all()
    assert 0 < len(drawn) < 120 / 2
    db.session.execute(
        sa.update(Dossier)
        .where(Dossier.id.in_(drawn))
        .values(code=Dossier.code + "-renamed")
    )
    db.session.commit()
    check = sampling.verify_draw(period)
    assert not check.same
    assert check.missing
    assert all(code.endswith("-renamed") for code in check.missing)
    assert len(check.extra) == len(check.missing)


def test_srswor_draw_refused_when_the_register_shrank(period):
    sampling.save_plan(period, sampling.PlanSettings(moe=5, response_rate=30))
    stp = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    db.session.execute(
        sa.delete(Dossier).where(Dossier.unit_id == stp, Dossier.field == "tu-phap")
    )
    db.session.commit()
    with pytest.raises(sampling.PlanError, match="Sở Tư pháp · tu-phap: 0 hồ sơ"):
        sampling.draw(period)
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == 0
    assert sampling.plan_of(period).drawn_at is None


def register_csv(rows: list[tuple[str, str, str]], day) -> str:
    lines = ["dossier_code,unit_code,field,received_on,returned_on,on_time"]
    lines += [f"{code},{unit},{field},{day},{day},1" for code, unit, field in rows]
    return "\n".join(lines) + "\n"


def test_poisson_draws_new_dossiers_as_their_import_arrives(period):
    sampling.save_plan(period, sampling.PlanSettings(design="poisson", moe=10))
    report = sampling.draw(period)
    plan = sampling.plan_of(period)
    rates = {(s.unit_id, s.field): s.rate for s in plan.strata}
    first = set(db.session.scalars(sa.select(Invitation.dossier_id)))
    assert report.drawn == len(first) > 0
    # next week's export: 400 new dossiers of Sở Tư pháp, hộ tịch
    day = clock.today().isoformat()
    new = [(f"NEW-{i:05d}", "STP", "ho-tich") for i in range(400)]
    register.import_register(io.BytesIO(register_csv(new, day).encode()))
    after = db.session.execute(
        sa.select(Dossier.code, Invitation.inclusion_probability)
        .join(Invitation, Invitation.dossier_id == Dossier.id)
        .where(Dossier.code.like("NEW-%"))
    ).all()
    stp = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    rate = rates[(stp, "ho-tich")]
    u = permanent_random_numbers([code for code, _, _ in new], plan.seed)
    expected = {code for (code, _, _), x in zip(new, u, strict=True) if x < rate}
    assert {code for code, _ in after} == expected
    assert [p for _, p in after] == pytest.approx([rate] * len(after))
    # earlier draws stay; nothing drawn twice; the frame grew by the import
    assert first <= set(db.session.scalars(sa.select(Invitation.dossier_id)))
    stratum = db.session.get(SampleStratum, (plan.id, stp, "ho-tich"))
    assert stratum.frame_size == 120 + 400
    # importing the same file again changes nothing
    count = db.session.scalar(sa.select(sa.func.count(Invitation.id)))
    register.import_register(io.BytesIO(register_csv(new, day).encode()))
    assert db.session.scalar(sa.select(sa.func.count(Invitation.id))) == count
    assert sampling.verify_draw(period).same


def test_poisson_rate_is_planned_for_the_whole_period(period):
    proposal = sampling.propose(period, sampling.PlanSettings(design="poisson"))
    days = (period.ends_on - period.starts_on).days + 1
    elapsed = (clock.today() - period.starts_on).days + 1
    stp = proposal[(proposal["unit"] == "STP") & (proposal["field"] == "ho-tich")]
    assert stp["expected"].iloc[0] == np.ceil(120 * days / elapsed)
    assert stp["rate"].iloc[0] == pytest.approx(
        stp["draw"].iloc[0] / stp["expected"].iloc[0]
    )


def test_a_closed_period_is_not_drawn(period):
    sampling.save_plan(period, sampling.PlanSettings(moe=10))
    period.status = "closed"
    db.session.commit()
    with pytest.raises(Conflict, match="đã đóng"):
        sampling.draw(period)


def next_quarter(earlier: SurveyPeriod) -> SurveyPeriod:
    """A draft period with the sample channel right after an earlier one."""
    later = SurveyPeriod(
        name="Sau",
        starts_on=earlier.ends_on + timedelta(days=1),
        ends_on=earlier.ends_on + timedelta(days=90),
        questionnaire=earlier.questionnaire,
        channels="sample",
    )
    db.session.add(later)
    db.session.commit()
    return later


def test_last_periods_response_rate_and_design_effect_feed_the_plan(app_ctx):
    earlier = drawn_period(moe=10)
    deliver_all(earlier)
    demo.add_sampled_responses(earlier, 0.5, random.Random(4))
    earlier.status = "closed"
    db.session.commit()
    admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
    publication = publications.publish(earlier, indices.Settings(), by=admin)
    assert publication.summary["channel"] == "sample"
    stp = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    later = next_quarter(earlier)
    db.session.add_all(
        Dossier(
            code=f"LATER-{i}",
            unit_id=stp,
            field="ho-tich",
            received_on=later.starts_on,
            returned_on=later.starts_on,
        )
        for i in range(50)
    )
    db.session.commit()
    figures = sampling.last_period_figures(later).set_index("unit_id")
    rate = sampling.rate_table(earlier, "unit").set_index("unit_id").loc[stp, "rr1"]
    deff = next(
        r["deff"]
        for r in publication.results
        if r["unit"] == "STP" and r["indicator"] == "SIPAS"
    )
    assert figures.loc[stp, "response_rate"] == pytest.approx(rate)
    assert figures.loc[stp, "deff"] == pytest.approx(deff)
    settings = sampling.PlanSettings(response_rate=90, deff=3)
    proposal = sampling.propose(later, settings)
    assert proposal["response_rate"].iloc[0] == pytest.approx(rate)
    assert proposal["deff"].iloc[0] == pytest.approx(deff)


def test_a_counter_publication_gives_no_design_effect_to_a_sample(app_ctx):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    demo.add_synthetic_responses(period, 120, random.Random(1))
    period.status = "closed"
    db.session.commit()
    admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
    publications.publish(period, indices.Settings(), by=admin)
    later = next_quarter(period)
    assert sampling.last_period_figures(later).empty
