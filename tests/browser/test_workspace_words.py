"""The workspace in words, at 1,280 and 360 px: a response with a 1,000-character
comment without spaces does not widen the page; the audit log and the confirmation
step read as sentences. Screenshots go to tests/artifacts/."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyResponse
from tests.browser.conftest import screenshot
from tests.helpers import complete_answers, counter_path, logged_in, served_form
from tests.seed import OPEN_COUNTER_ID, PASSWORD, PERIOD_ID

pytestmark = pytest.mark.browser


@pytest.fixture(params=[1280, 360])
def desk(browser, request):
    context = browser.new_context(
        viewport={"width": request.param, "height": 900}, locale="vi-VN"
    )
    page = context.new_page()
    page.width = request.param
    yield page
    context.close()


def test_long_comment_wraps_and_pages_read_as_words(app, live_server, desk, backend):
    client = app.test_client()
    path = counter_path(OPEN_COUNTER_ID)
    data = complete_answers(q_suggestion="x" * 1000)
    client.post(path, data=data | served_form(client, path))
    with app.app_context():
        response_id = db.session.scalar(sa.select(sa.func.max(SurveyResponse.id)))
    logged_in(app).post(f"/admin/periods/{PERIOD_ID}/close", data={"confirm": "1"})

    desk.goto(live_server + "/admin/")
    desk.fill("#username", "admin")
    desk.fill("#password", PASSWORD)
    desk.click("button.primary")
    shots = backend == "sqlite"
    for name, url in (
        ("response", f"/admin/responses/{response_id}"),
        ("responses", f"/admin/responses?period_id={PERIOD_ID}"),
        ("audit", "/admin/audit"),
    ):
        desk.goto(live_server + url)
        width = desk.evaluate("document.documentElement.scrollWidth")
        assert width <= desk.width, (name, width)
        if shots:
            screenshot(desk, f"admin-{name}-{desk.width}")
    desk.goto(live_server + f"/admin/responses/{response_id}")
    assert desk.locator("dd.comment").inner_text() == "x" * 1000
    desk.goto(live_server + "/admin/audit")
    assert "admin đóng đợt Đợt thử lúc" in desk.locator("tbody").inner_text()
    desk.goto(live_server + "/admin/periods")
    desk.locator("button", has_text="Mở lại").click()
    assert "Tôi hiểu" in desk.locator("form.confirm").inner_text()
    if shots:
        screenshot(desk, f"admin-confirm-{desk.width}")


def test_published_period_opens_as_published(app, live_server, desk, backend):
    import random

    from survey.models import SurveyPeriod, User
    from survey.services import demo, indices, periods, publications

    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        demo.add_synthetic_responses(period, 120, random.Random(2))
        periods.close_period(period)
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        publications.publish(period, indices.Settings(), by=admin)
    desk.goto(live_server + "/admin/")
    desk.fill("#username", "admin")
    desk.fill("#password", PASSWORD)
    desk.click("button.primary")
    for name, url in (
        ("results", f"/admin/periods/{PERIOD_ID}/results"),
        ("unit", f"/admin/periods/{PERIOD_ID}/results/units/STP"),
    ):
        desk.goto(live_server + url)
        assert "theo cách tính đã công bố" in desk.locator(".basis").inner_text()
        assert desk.evaluate("document.documentElement.scrollWidth") <= desk.width
        if backend == "sqlite":
            screenshot(desk, f"admin-{name}-as-published-{desk.width}")
    desk.goto(live_server + f"/admin/periods/{PERIOD_ID}/results?ci=wilson")
    assert "khác với bản công bố" in desk.locator(".basis").inner_text()
