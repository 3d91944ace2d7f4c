"""Plans over HTTP: a unit head writes one from published results; the province follows."""

import io
import re
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import ImprovementPlan, PlanState
from survey.services import plans
from tests.helpers import logged_in
from tests.plan_data import item, later_period, published_baseline, unit, user
from tests.seed import PERIOD_ID


@pytest.fixture
def baseline(app):
    with app.app_context():
        published_baseline()
        return unit("STP").id


def new_plan_url(unit_id: int) -> str:
    return f"/admin/units/{unit_id}/plans/new/{PERIOD_ID}"


def plan_form(criteria: list[str], deadline: str, targets: dict[str, str]) -> dict:
    data = {"step": "save"}
    for i, code in enumerate(criteria):
        data |= {
            f"items-{i}-criterion": code,
            f"items-{i}-cause": f"Nguyên nhân {code}",
            f"items-{i}-actions": f"Giải pháp {code}",
            f"items-{i}-responsible": "Chánh Văn phòng",
            f"items-{i}-deadline": deadline,
            f"items-{i}-target": targets[code],
        }
    return data


def stored_plan(app) -> ImprovementPlan | None:
    with app.app_context():
        plan = db.session.scalar(sa.select(ImprovementPlan))
        if plan is not None:
            plan.items  # noqa: B018 (load before the session ends)
        return plan


def test_unit_head_goes_from_results_to_a_plan(app, baseline):
    head = logged_in(app, "head")
    unit_page = head.get(f"/admin/periods/{PERIOD_ID}/results/units/STP").get_data(
        as_text=True
    )
    assert "Điểm yếu thật sự" in unit_page
    assert "điều chỉnh đa so sánh: Holm" in unit_page
    assert new_plan_url(baseline) in unit_page

    picker = head.get(new_plan_url(baseline)).get_data(as_text=True)
    checked = re.findall(r'name="criteria" value="([^"]+)" checked', picker)
    assert set(checked) == {"2.5", "5.4"}  # the real weaknesses are proposed

    step_two = head.post(
        new_plan_url(baseline), data={"step": "pick", "criteria": checked}
    )
    html = step_two.get_data(as_text=True)
    assert step_two.status_code == 200
    assert 'name="items-0-cause"' in html
    assert 'name="items-1-cause"' in html
    assert 'name="items-2-cause"' not in html

    deadline = (clock.today() + timedelta(days=30)).isoformat()
    saved = head.post(
        new_plan_url(baseline),
        data=plan_form(["2.5", "5.4"], deadline, {"2.5": "45", "5.4": "30,5"}),
    )
    assert saved.status_code == 302
    plan = stored_plan(app)
    assert saved.headers["Location"].endswith(f"/admin/plans/{plan.id}")
    assert [(i.criterion, i.target) for i in plan.items] == [
        ("2.5", 45.0),
        ("5.4", 30.5),
    ]
    detail = head.get(f"/admin/plans/{plan.id}").get_data(as_text=True)
    assert "Nguyên nhân 2.5" in detail
    assert "Hiệu quả sẽ được đo tự động khi kỳ sau được công bố." in detail
    # opening again leads to the existing plan
    again = head.get(new_plan_url(baseline))
    assert again.headers["Location"].endswith(f"/admin/plans/{plan.id}/edit")


@pytest.mark.parametrize(
    ("target", "deadline", "message"),
    [
        ("5", 30, "mục tiêu phải cao hơn mức đã công bố"),
        ("sáu mươi", 30, "Nhập một số từ 0 đến 100"),
        ("60", -2, "thời hạn đã qua"),
    ],
)
def test_bad_items_are_explained_and_nothing_is_stored(
    app, baseline, target, deadline, message
):
    head = logged_in(app, "head")
    day = (clock.today() + timedelta(days=deadline)).isoformat()
    response = head.post(
        new_plan_url(baseline), data=plan_form(["2.5"], day, {"2.5": target})
    )
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert stored_plan(app) is None


def test_a_node_above_units_has_no_weaknesses_of_its_own(app, baseline):
    page = logged_in(app, "admin").get(f"/admin/periods/{PERIOD_ID}/results/units/P")
    assert page.status_code == 200
    assert "cấp tổng hợp của các đơn vị trực thuộc" in page.get_data(as_text=True)


def test_an_admin_cannot_write_a_units_plan(app, baseline):
    assert logged_in(app, "admin").get(new_plan_url(baseline)).status_code == 403


def test_plan_of_an_unpublished_period_is_explained(app):
    with app.app_context():
        stp = unit("STP").id
    response = logged_in(app, "head").get(new_plan_url(stp), follow_redirects=True)
    assert "kế hoạch khắc phục được lập từ kết quả đã công bố" in response.get_data(
        as_text=True
    )


@pytest.fixture
def plan_id(app, baseline):
    with app.app_context():
        period = db.session.get(plans.SurveyPeriod, PERIOD_ID)
        plan = plans.create_plan(
            period, unit("STP"), [item("2.5", 60.0), item("1.1", 90.0)], by=user("head")
        )
        return plan.id


def test_the_province_follows_returns_and_comments(app, plan_id):
    admin = logged_in(app, "admin")
    table = admin.get("/admin/plans/").get_data(as_text=True)
    assert "Chưa có kế hoạch" in table
    assert "Đang thực hiện" in table
    assert "Xã Hòa Bình" in table
    assert f"/admin/plans/{plan_id}" in table
    assert (
        admin.post(f"/admin/plans/{plan_id}/return", data={"text": ""}).status_code
        == 302
    )
    assert stored_plan(app).status == "submitted"  # no reason, no return
    admin.post(
        f"/admin/plans/{plan_id}/return", data={"text": "Chưa nêu rõ nguyên nhân."}
    )
    assert stored_plan(app).state == PlanState.RETURNED

    head = logged_in(app, "head")
    detail = head.get(f"/admin/plans/{plan_id}").get_data(as_text=True)
    assert "Chưa nêu rõ nguyên nhân." in detail
    assert "Bị trả lại để sửa" in detail
    head.post(f"/admin/plans/{plan_id}/comments", data={"text": "Đã bổ sung."})
    edit = head.get(f"/admin/plans/{plan_id}/edit").get_data(as_text=True)
    assert re.findall(r'name="criteria" value="([^"]+)" checked', edit) == [
        "2.5",
        "1.1",
    ] or set(re.findall(r'name="criteria" value="([^"]+)" checked', edit)) == {
        "2.5",
        "1.1",
    }
    deadline = (clock.today() + timedelta(days=10)).isoformat()
    head.post(
        f"/admin/plans/{plan_id}/edit",
        data=plan_form(["2.5"], deadline, {"2.5": "61"}),
    )
    plan = stored_plan(app)
    assert plan.state == PlanState.IN_PROGRESS
    assert [(i.criterion, i.target) for i in plan.items] == [("2.5", 61.0)]
    with app.app_context():
        assert [c.text for c in db.session.get(ImprovementPlan, plan_id).comments] == [
            "Chưa nêu rõ nguyên nhân.",
            "Đã bổ sung.",
        ]


def test_items_are_marked_done_and_overdue_by_vietnam_date(app, plan_id):
    head = logged_in(app, "head")
    plan = stored_plan(app)
    head.post(
        f"/admin/plans/{plan_id}/items/{plan.items[0].id}/done", data={"done": "1"}
    )
    assert stored_plan(app).items[0].done_on == clock.today()
    with clock.travel(clock.day_start(plan.items[1].deadline + timedelta(days=1))):
        assert "Quá hạn" in logged_in(app, "admin").get("/admin/plans/").get_data(
            as_text=True
        )


def test_a_remark_too_long_is_refused_with_the_reason(app, plan_id):
    head = logged_in(app, "head")
    page = head.post(
        f"/admin/plans/{plan_id}/comments",
        data={"text": "x" * 2001},
        follow_redirects=True,
    )
    assert "Tối đa 2000 ký tự." in page.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(ImprovementPlan, plan_id).comments == []


def test_forged_plan_forms_get_a_reason_not_an_error(app, baseline):
    head = logged_in(app, "head")
    day = (clock.today() + timedelta(days=9)).isoformat()
    forged = plan_form(["9.9"], day, {"9.9": "70"})
    response = head.post(new_plan_url(baseline), data=forged)
    assert response.status_code == 422
    assert "không có trong kết quả" in response.get_data(as_text=True)
    empty = head.post(new_plan_url(baseline), data={"step": "save"})
    assert empty.status_code == 422
    assert "Chọn ít nhất một tiêu chí" in empty.get_data(as_text=True)
    assert stored_plan(app) is None


def test_viewer_reads_but_cannot_comment(app, plan_id):
    viewer = logged_in(app, "viewer")
    assert viewer.get(f"/admin/plans/{plan_id}").status_code == 200
    assert (
        viewer.post(f"/admin/plans/{plan_id}/comments", data={"text": "x"}).status_code
        == 403
    )


def test_export_for_the_provinces_report(app, plan_id):
    response = logged_in(app, "viewer").get(f"/admin/plans.xlsx?period_id={PERIOD_ID}")
    assert response.status_code == 200
    assert "ke-hoach-khac-phuc" in response.headers["Content-Disposition"]
    rows = list(
        openpyxl.load_workbook(io.BytesIO(response.data)).active.iter_rows(
            values_only=True
        )
    )
    assert [r[4] for r in rows[1:] if r[0] == "STP"] == ["2.5", "1.1"]


def test_unit_head_sees_the_measured_effect_on_the_plan_page(app, plan_id):
    with app.app_context():
        later_period({"2.5": 0.0})
    html = logged_in(app, "head").get(f"/admin/plans/{plan_id}").get_data(as_text=True)
    assert "Hiệu quả đo ở kỳ Đợt sau" in html
    assert "Cải thiện rõ rệt" in html
    assert "độ mạnh kiểm định" in html
    # the province's table of the new period shows what it measured
    table = logged_in(app, "admin").get("/admin/plans/").get_data(as_text=True)
    assert "Kế hoạch kỳ trước, đo ở kỳ này" in table
    assert "Cải thiện rõ rệt" in table
    assert f"/admin/plans/{plan_id}" in table


def test_unit_page_refuses_a_previous_period_of_another_version(app, baseline):
    with app.app_context():
        later = later_period({}, version="sipas-1001-dv")
    html = (
        logged_in(app, "admin")
        .get(f"/admin/periods/{later.id}/results/units/STP")
        .get_data(as_text=True)
    )
    assert "dùng bảng hỏi sipas-2640" in html
    assert "không so sánh với nhau" in html
    assert (
        "chuỗi bị ngắt khi đổi bảng hỏi" in html
    )  # the trend's break, in its alt text
