"""Improvement plans: opened from published weaknesses, followed, measured next period."""

import io
from datetime import timedelta

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from analysis.targets import evaluate_targets
from survey import clock
from survey.extensions import db
from survey.models import AuditEntry, PlanState, SurveyPeriod
from survey.services import plans, publications
from tests.plan_data import (
    item,
    later_period,
    published_baseline,
    unit,
    user,
)
from tests.seed import PERIOD_ID


@pytest.fixture
def baseline(app_ctx):
    return published_baseline()


@pytest.fixture
def plan(baseline):
    draft = plans.plan_draft(baseline, unit("STP"))
    targets = {c["code"]: c["suggested_target"] for c in draft.criteria}
    return plans.create_plan(
        baseline,
        unit("STP"),
        [item("2.5", targets["2.5"]), item("3.1", targets["3.1"])],
        by=user("head"),
    )


def actions(name: str) -> list[AuditEntry]:
    return list(db.session.scalars(sa.select(AuditEntry).filter_by(action=name)))


def test_draft_proposes_the_real_weaknesses_first(baseline):
    draft = plans.plan_draft(baseline, unit("STP"))
    proposed = [c["code"] for c in draft.criteria if c["proposed"]]
    assert set(proposed) == {"2.5", "5.4"}
    assert [c["code"] for c in draft.criteria[:2]] == sorted(
        proposed, key=lambda code: draft.criterion(code)["p_adjusted"]
    )
    assert len(draft.criteria) == 22
    published = {
        r["indicator"]: r["estimate"]
        for r in publications.publication_of(baseline).results
        if r["unit"] == "STP"
    }
    for criterion in draft.criteria:
        assert criterion["baseline"] == published[criterion["code"]]
        assert criterion["suggested_target"] > criterion["baseline"]


def test_a_plan_needs_a_published_period(app_ctx):
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    with pytest.raises(plans.PlanError, match="chưa công bố"):
        plans.create_plan(period, unit("STP"), [item("2.5", 60)], by=user("head"))


def test_plan_stores_items_with_the_published_baseline(plan, baseline):
    assert [i.criterion for i in plan.items] == ["2.5", "3.1"]
    published = next(
        r
        for r in publications.publication_of(baseline).results
        if r["unit"] == "STP" and r["indicator"] == "2.5"
    )
    assert plan.items[0].baseline == published["estimate"]
    assert plan.state == PlanState.IN_PROGRESS
    (entry,) = actions("plan.create")
    assert entry.after["unit"] == "STP"
    assert entry.after["items"][0]["criterion"] == "2.5"


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ({"target": 1.0}, "mục tiêu phải cao hơn mức đã công bố"),
        ({"target": 101.0}, "không quá 100%"),
        ({"deadline": -1}, "thời hạn đã qua"),
        ({"cause": "  "}, "cần ghi nguyên nhân"),
        ({"criterion": "9.9"}, "không có trong kết quả"),
    ],
)
def test_items_that_break_a_rule_are_refused_with_the_criterion(baseline, bad, message):
    values = {"criterion": "2.5", "target": 80.0, "deadline": 20, "cause": "Lý do"}
    values |= bad
    wanted = item(
        values["criterion"],
        values["target"],
        clock.today() + timedelta(days=values["deadline"]),
        cause=values["cause"],
    )
    with pytest.raises(plans.PlanError, match=message):
        plans.create_plan(baseline, unit("STP"), [wanted], by=user("head"))
    assert plans.find_plan(unit("STP"), baseline) is None


def test_one_plan_per_unit_and_period(plan, baseline):
    with pytest.raises(plans.PlanExists):
        plans.create_plan(baseline, unit("STP"), [item("2.5", 90)], by=user("head"))


def test_states_follow_the_actions_and_the_vietnam_date(plan):
    first, second = plan.items
    plans.set_item_done(first, True, by=user("head"))
    assert first.done_on == clock.today()
    assert plan.state == PlanState.IN_PROGRESS
    late = clock.day_start(second.deadline + timedelta(days=1))
    with clock.travel(late - timedelta(minutes=1)):  # 23:59 on the deadline, Vietnam
        assert plan.state == PlanState.IN_PROGRESS
    with clock.travel(late):
        assert plan.state == PlanState.OVERDUE
        plans.set_item_done(second, True, by=user("head"))
        assert plan.state == PlanState.DONE
    assert [e.after["criterion"] for e in actions("plan.item_done")] == ["2.5", "3.1"]


def test_the_province_returns_a_plan_and_the_unit_resubmits(plan):
    with pytest.raises(plans.PlanError, match="nội dung nhận xét"):
        plans.return_plan(plan, " ", by=user("admin"))
    plans.return_plan(plan, "Giải pháp chưa cụ thể.", by=user("admin"))
    assert plan.state == PlanState.RETURNED
    assert plan.comments[-1].kind == "return"
    plans.set_item_done(plan.items[0], True, by=user("head"))
    kept = plan.items[0].done_on
    revised = [item(i.criterion, i.target + 1, i.deadline) for i in plan.items]
    plans.update_plan(plan, revised, by=user("head"))
    assert plan.state == PlanState.IN_PROGRESS
    assert plan.items[0].done_on == kept
    assert actions("plan.update")[0].before["status"] == "returned"
    assert [a.after["reason"] for a in actions("plan.return")] == [
        "Giải pháp chưa cụ thể."
    ]


def test_the_next_publication_measures_every_target(plan, baseline):
    after = later_period({"2.5": 0.0, "5.4": -1.4})  # 2.5 fixed, the rest as before
    db.session.refresh(plan)
    assert plan.evaluated_period_id == after.id
    assert plan.evaluation_note is None
    effects = {i.criterion: i.effect for i in plan.items}
    assert effects["2.5"]["verdict"] == "improved"
    assert effects["2.5"]["change"] > 0
    assert effects["3.1"]["verdict"] in ("no_change", "too_few")
    # the stored effect is the statistics of the two published rows
    rows = {}
    for period in (baseline, after):
        published = publications.publication_of(period).results
        rows[period.id] = next(
            r for r in published if r["unit"] == "STP" and r["indicator"] == "2.5"
        )
    columns = ["estimate", "se", "df", "n", "n_eff"]
    expected = evaluate_targets(
        [plan.items[0].target],
        pd.DataFrame([rows[baseline.id]])[columns],
        pd.DataFrame([rows[after.id]])[columns],
    ).iloc[0]
    assert effects["2.5"]["change"] == pytest.approx(expected["change"])
    assert effects["2.5"]["ci_low"] == pytest.approx(expected["ci_low"])
    assert effects["2.5"]["power"] == pytest.approx(expected["power"])
    assert actions("plan.evaluate")[0].after["verdicts"]["2.5"] == "improved"
    with pytest.raises(plans.PlanError, match="đã được đánh giá"):
        plans.update_plan(plan, [item("2.5", 99)], by=user("head"))


def test_a_next_period_of_another_version_cannot_measure_a_plan(plan):
    later_period({}, version="sipas-1001-dv")
    db.session.refresh(plan)
    assert plan.evaluated_period_id is not None
    assert "sipas-1001-dv" in plan.evaluation_note
    assert "không so sánh" in plan.evaluation_note
    assert all(i.effect is None for i in plan.items)


def test_plans_opened_after_a_publication_wait_for_the_next(baseline, app_ctx):
    later = later_period(publish=False)
    # a plan opened now from the baseline is measured by `later` when it is published
    draft = plans.plan_draft(baseline, unit("STP"))
    target = draft.criterion("5.4")["suggested_target"]
    plan = plans.create_plan(
        baseline, unit("STP"), [item("5.4", target)], by=user("head")
    )
    assert plan.evaluated_period_id is None
    publications.publish(later, publications.Settings(), by=user("admin"))
    db.session.refresh(plan)
    assert plan.evaluated_period_id == later.id


def test_the_table_of_the_next_period_shows_what_it_measured(plan, baseline):
    after = later_period({"2.5": 0.0})
    (stp,) = [r for r in plans.plan_table(after) if r.unit.code == "STP"]
    assert stp.state == PlanState.NONE  # no plan from the new period yet
    assert stp.measured.id == plan.id
    assert stp.effects["improved"] >= 1
    assert all(r.measured is None for r in plans.plan_table(baseline))


def test_province_table_lists_every_unit_and_a_unit_head_sees_only_theirs(
    plan, baseline
):
    rows = plans.plan_table(baseline)
    states = {r.unit.code: r.state for r in rows}
    assert states == {"STP": PlanState.IN_PROGRESS, "X-HB": PlanState.NONE}
    assert rows[0].unit.code == "X-HB"  # no plan yet comes before plans in progress
    visible = {unit("STP").id}
    assert [r.unit.code for r in plans.plan_table(baseline, visible)] == ["STP"]


def test_export_has_a_row_per_item_and_per_unit_without_a_plan(plan, baseline):
    plans.update_plan(
        plan,
        [item("2.5", plan.items[0].target, cause='=HYPERLINK("http://x")')],
        by=user("head"),
    )
    book = openpyxl.load_workbook(io.BytesIO(plans.export_table(baseline)))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[0][:5] == ("Mã đơn vị", "Đơn vị", "Khối", "Tình trạng", "Tiêu chí")
    by_unit = {r[0]: r for r in rows[1:]}
    assert by_unit["X-HB"][3] == "Chưa có kế hoạch"
    assert by_unit["STP"][4] == "2.5"
    assert by_unit["STP"][8] == '\'=HYPERLINK("http://x")'  # never a formula
    assert book.active["A2"].data_type == "s"
