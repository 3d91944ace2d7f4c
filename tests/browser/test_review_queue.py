"""The review queue in a real browser: a group excluded with one reason, at 1280 and 360 px."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyResponse
from tests.browser.conftest import screenshot
from tests.seed import PASSWORD, PERIOD_ID
from tests.test_flag_review import staff_phone_day

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("width", [1280, 360])
def test_analyst_excludes_a_group_with_one_reason(
    app, live_server, browser, width, backend
):
    staff_phone_day(app)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="vi-VN"
    )
    page = context.new_page()
    page.goto(live_server + f"/admin/periods/{PERIOD_ID}/flags")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    card = page.locator("section.group", has_text="Một điện thoại gửi nhiều lần")
    assert "6 phiếu từ một điện thoại tại Quầy 1" in card.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if backend == "sqlite":
        screenshot(page, f"review-queue-{width}")
    card.locator("input[name=reason]").fill("Điện thoại của quầy tự điền")
    card.locator("button.danger").click()
    assert "Đã loại các phiếu của nhóm" in page.locator(".flash").inner_text()
    if backend == "sqlite":
        screenshot(page, f"review-group-{width}")
    with app.app_context():
        excluded = db.session.scalars(
            sa.select(SurveyResponse.status).where(
                SurveyResponse.device_hash == "staff-phone"
            )
        ).all()
    assert set(excluded) == {"excluded"}
    context.close()
