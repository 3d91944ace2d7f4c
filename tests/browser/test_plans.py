"""The loop in a real browser: published weaknesses -> a plan -> its measured effect.

A unit head opens the unit's published results, writes an improvement plan from the
real weaknesses, and sees each target measured when the next period is published;
the Sở Nội vụ follows it in the province's table. At 1,280 px and on a 360 px phone;
screenshots in tests/artifacts/.
"""

from datetime import timedelta

import pytest

from survey import clock
from tests.browser.conftest import screenshot
from tests.plan_data import later_period, published_baseline
from tests.seed import PASSWORD, PERIOD_ID

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="vi-VN"
    )
    yield context.new_page()
    context.close()


def log_in(page, base: str, username: str) -> None:
    page.goto(base + "/auth/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button.primary")


def fits(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth") <= 360


def test_unit_head_writes_a_plan_and_sees_its_effect(
    app, live_server, desk, phone, backend
):
    shots = backend == "sqlite"
    with app.app_context():
        published_baseline()
    log_in(desk, live_server, "head")
    desk.goto(f"{live_server}/admin/periods/{PERIOD_ID}/results/units/STP")
    weaknesses = desk.locator("#weaknesses")
    assert "Điểm yếu thật sự" in weaknesses.inner_text()
    assert "điều chỉnh đa so sánh: Holm" in weaknesses.inner_text()
    if shots:
        screenshot(desk, "plan-unit-weaknesses")

    desk.click("text=Lập kế hoạch khắc phục")
    assert desk.locator("h2", has_text="Bước 1/2").count() == 1
    checked = desk.locator("input[name=criteria]:checked")
    assert sorted(checked.evaluate_all("boxes => boxes.map(b => b.value)")) == [
        "2.5",
        "5.4",
    ]
    if shots:
        screenshot(desk, "plan-pick")
    desk.click("button.primary")  # Tiếp tục

    deadline = (clock.today() + timedelta(days=25)).isoformat()
    for i, (target, who) in enumerate(
        (("60", "Phó Giám đốc"), ("45,5", "Chánh Văn phòng"))
    ):
        desk.fill(f"#items-{i}-cause", "Thiếu người trả kết quả vào giờ cao điểm.")
        desk.fill(f"#items-{i}-actions", "Bố trí thêm một quầy trả kết quả buổi sáng.")
        desk.fill(f"#items-{i}-responsible", who)
        desk.fill(f"#items-{i}-deadline", deadline)
        desk.fill(f"#items-{i}-target", target)
    if shots:
        screenshot(desk, "plan-write")
    desk.click("text=Lưu và gửi Sở Nội vụ")
    assert "Đã lưu kế hoạch" in desk.locator(".flash").inner_text()
    assert (
        "Đang thực hiện"
        in desk.locator("h1 + .badge, .actions .badge").first.inner_text()
    )
    plan_url = desk.url

    with app.app_context():  # the next period is published: every target is measured
        later_period({"2.5": 0.0})
    desk.goto(plan_url)
    items = desk.locator("section.item")
    assert items.count() == 2
    assert "Cải thiện rõ rệt" in items.nth(0).inner_text()
    assert "độ mạnh kiểm định" in items.nth(1).inner_text()
    if shots:
        screenshot(desk, "plan-effect")

    log_in(phone, live_server, "head")
    phone.goto(plan_url)
    assert "Cải thiện rõ rệt" in phone.locator("section.item").first.inner_text()
    assert fits(phone)
    if shots:
        screenshot(phone, "plan-effect-360")
    for path in (
        f"/admin/periods/{PERIOD_ID}/results/units/STP",
        f"/admin/units/{2}/plans/new/{PERIOD_ID}",
        f"/admin/plans/?period_id={PERIOD_ID}",
    ):
        phone.goto(live_server + path)
        assert fits(phone), path
    if shots:
        screenshot(phone, "plan-list-360")

    log_in(desk, live_server, "admin")
    desk.goto(f"{live_server}/admin/plans/")  # the latest publication measured the plan
    table = desk.locator("table.plans").inner_text()
    assert "Xã Hòa Bình" in table
    assert "Chưa có kế hoạch" in table  # no plan from the new period yet
    assert "Cải thiện rõ rệt" in table
    if shots:
        screenshot(desk, "plan-province-table")
