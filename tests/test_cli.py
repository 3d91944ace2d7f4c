"""Commands: demo seeding, unit import, counters, periods."""

import sqlalchemy as sa

from analysis.targets import EFFECTS
from survey.extensions import db
from survey.models import (
    Counter,
    ImprovementPlan,
    PlanState,
    SurveyPeriod,
    SurveyResponse,
    Unit,
)
from survey.services import periods, publications
from tests.seed import PERIOD_ID


def close_seeded_period(app) -> None:
    """The demo opens this quarter's period: no other may be open for its channels."""
    with app.app_context():
        periods.close_period(db.session.get(SurveyPeriod, PERIOD_ID))


def test_seed_demo_creates_a_working_province_once(app, runner):
    close_seeded_period(app)
    result = runner.invoke(args=["seed-demo", "--responses", "120"])
    assert result.exit_code == 0, result.output
    assert "/admin/counters/" in result.output
    assert "/poster" in result.output
    assert "survey: http://" in result.output
    assert "/s/" in result.output
    assert "Sampled channel" in result.output
    assert "/i/" in result.output
    again = runner.invoke(args=["seed-demo", "--responses", "120"])
    assert again.exit_code == 0
    with app.app_context():
        demo = db.session.scalar(sa.select(Unit).filter_by(code="DEMO"))
        assert len(demo.children) == 9
        periods = db.session.scalars(
            sa.select(SurveyPeriod)
            .where(SurveyPeriod.id != 1)
            .order_by(SurveyPeriod.id)
        ).all()
        assert [p.status for p in periods] == ["closed", "closed", "open"]
        *published, period = periods
        for earlier in published:
            assert publications.verify(publications.publication_of(earlier))
        # the loop a newcomer should see: a plan from the first quarter, measured by
        # the second, and this quarter on the 1001/QĐ-BNV counter questionnaire
        (plan,) = db.session.scalars(sa.select(ImprovementPlan)).all()
        assert (plan.unit.code, plan.period_id) == ("STP", published[0].id)
        assert plan.evaluated_period_id == published[1].id
        verdicts = {i.criterion: i.effect["verdict"] for i in plan.items}
        assert verdicts["2.5"] == "improved"  # the rest depends on the sample size
        assert set(verdicts.values()) <= set(EFFECTS)
        assert plan.state == PlanState.OVERDUE
        assert period.questionnaire.code == "sipas-1001-dv"
        count = db.session.scalar(
            sa.select(sa.func.count(SurveyResponse.id)).filter_by(
                period_id=period.id, channel="counter"
            )
        )
        assert count == 120 + 8  # and the demo's stuffing phone, for the review queue
        sampled = db.session.scalar(
            sa.select(sa.func.count(SurveyResponse.id)).filter_by(
                period_id=period.id, channel="sample"
            )
        )
        assert sampled > 0
        per_unit = db.session.execute(
            sa.select(SurveyResponse.unit_id, sa.func.count())
            .filter_by(period_id=period.id)
            .group_by(SurveyResponse.unit_id)
        ).all()
        assert len(per_unit) >= 8


def test_import_units_reports_bad_rows_with_exit_code(runner, tmp_path):
    bad = tmp_path / "units.csv"
    bad.write_text("code,name,level,parent_code\nA,Xã A,village,P\n", encoding="utf-8")
    result = runner.invoke(args=["import-units", str(bad)])
    assert result.exit_code == 1
    assert "dòng 2, level: cấp không hợp lệ" in result.output


def test_add_counter_and_rotate(app, runner):
    result = runner.invoke(args=["add-counter", "STP", "Quầy 9"])
    assert result.exit_code == 0
    assert "/s/" in result.output
    with app.app_context():
        counter_id = db.session.scalar(sa.select(Counter.id).filter_by(name="Quầy 9"))
    rotated = runner.invoke(args=["rotate-token", str(counter_id)])
    assert rotated.exit_code == 0
    assert rotated.output.split("/s/")[1] != result.output.split("/s/")[1]
    assert runner.invoke(args=["add-counter", "NOPE", "Quầy"]).exit_code == 1


def test_create_open_and_close_a_period(app, runner):
    result = runner.invoke(
        args=[
            "create-period",
            "Năm 2027",
            "2027-01-01",
            "2027-12-31",
            "--channel",
            "counter",
            "--channel",
            "sample",
        ]
    )
    assert result.exit_code == 0, result.output
    period_id = result.output.split()[1].rstrip(":")
    assert runner.invoke(args=["set-period", period_id, "open"]).exit_code == 0
    assert runner.invoke(args=["set-period", period_id, "open"]).exit_code == 1
    assert runner.invoke(args=["set-period", period_id, "close"]).exit_code == 0
    bad_dates = runner.invoke(args=["create-period", "X", "2027-12-31", "2027-01-01"])
    assert bad_dates.exit_code == 1
    assert "Ngày kết thúc không thể trước ngày bắt đầu." in bad_dates.output


def test_flag_responses_finds_the_demo_phone_and_is_idempotent(app, runner):
    close_seeded_period(app)
    runner.invoke(args=["seed-demo", "--responses", "120"])
    with app.app_context():
        period_id = db.session.scalar(
            sa.select(SurveyPeriod.id)
            .filter_by(status="open")
            .order_by(SurveyPeriod.id.desc())
        )
    first = runner.invoke(args=["flag-responses", str(period_id)])
    assert first.exit_code == 0, first.output
    assert "device-repeat 8" in first.output
    again = runner.invoke(args=["flag-responses", str(period_id)])
    assert again.output == first.output
    scheduled = runner.invoke(args=["flag-responses", "--all-open", "--if-stale"])
    assert f"period {period_id}: up to date" in scheduled.output
    assert runner.invoke(args=["flag-responses"]).exit_code == 2
    assert runner.invoke(args=["flag-responses", "999"]).exit_code == 1
