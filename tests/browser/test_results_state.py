"""A results page on stale stored results: the time, the notice and the refresh, on a
desk and a phone; the refresh works without JavaScript."""

import random

import pytest

from survey.extensions import db
from survey.models import SurveyPeriod
from survey.services import demo, indices, stored_results
from tests.browser.conftest import screenshot
from tests.seed import PASSWORD, PERIOD_ID

pytestmark = pytest.mark.browser


@pytest.fixture
def app(make_app):
    """Every period counts as large: pages show what is stored, never compute."""
    app = make_app(RESULTS_SYNC_LIMIT=0, RESULTS_BACKGROUND=False)
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        demo.add_synthetic_responses(period, 150, random.Random(1))
        stored_results.compute_and_store(period, indices.Settings(channel="counter"))
        demo.add_synthetic_responses(period, 20, random.Random(2))
    return app


@pytest.mark.parametrize("width", [1280, 360])
def test_stale_results_say_so_and_refresh(app, live_server, browser, backend, width):
    context = browser.new_context(
        viewport={"width": width, "height": 900},
        locale="vi-VN",
        java_script_enabled=False,
    )
    page = context.new_page()
    page.goto(live_server + "/admin/")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    page.goto(f"{live_server}/admin/periods/{PERIOD_ID}/results?channel=counter")
    notice = page.locator("text=Đã có dữ liệu mới hơn")
    assert notice.is_visible()
    box = notice.bounding_box()
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= width
    if backend == "sqlite":
        screenshot(page, f"admin-results-stale-{width}")
    page.click("text=Tính lại với dữ liệu mới")
    assert page.locator("text=trên dữ liệu hiện có").is_visible()
    assert not page.locator("text=Đã có dữ liệu mới hơn").count()
    if backend == "sqlite":
        screenshot(page, f"admin-results-current-{width}")
    context.close()
