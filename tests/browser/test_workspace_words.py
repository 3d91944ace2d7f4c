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


def test_long_comment_wraps_and_pages_read_as_words(app, live_server, screen, backend):
    client = app.test_client()
    path = counter_path(OPEN_COUNTER_ID)
    data = complete_answers(q_suggestion="x" * 1000)
    client.post(path, data=data | served_form(client, path))
    with app.app_context():
        response_id = db.session.scalar(sa.select(sa.func.max(SurveyResponse.id)))
    logged_in(app).post(f"/admin/periods/{PERIOD_ID}/close", data={"confirm": "1"})

    screen.goto(live_server + "/admin/")
    screen.fill("#username", "admin")
    screen.fill("#password", PASSWORD)
    screen.click("button.primary")
    shots = backend == "sqlite"
    for name, url in (
        ("response", f"/admin/responses/{response_id}"),
        ("responses", f"/admin/responses?period_id={PERIOD_ID}"),
        ("audit", "/admin/audit"),
    ):
        screen.goto(live_server + url)
        width = screen.evaluate("document.documentElement.scrollWidth")
        assert width <= screen.width, (name, width)
        if shots:
            screenshot(screen, f"admin-{name}-{screen.width}")
    screen.goto(live_server + f"/admin/responses/{response_id}")
    assert screen.locator("dd.comment").inner_text() == "x" * 1000
    screen.goto(live_server + "/admin/audit")
    assert "admin đóng đợt Đợt thử lúc" in screen.locator("tbody").inner_text()
    screen.goto(live_server + "/admin/periods")
    screen.locator("button", has_text="Mở lại").click()
    assert "Tôi hiểu" in screen.locator("form.confirm").inner_text()
    if shots:
        screenshot(screen, f"admin-confirm-{screen.width}")


def test_published_period_opens_as_published(app, live_server, screen, backend):
    import random

    from survey.models import SurveyPeriod, User
    from survey.services import demo, indices, periods, publications

    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        demo.add_synthetic_responses(period, 120, random.Random(2))
        periods.close_period(period)
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        publications.publish(period, indices.Settings(), by=admin)
    screen.goto(live_server + "/admin/")
    screen.fill("#username", "admin")
    screen.fill("#password", PASSWORD)
    screen.click("button.primary")
    for name, url in (
        ("results", f"/admin/periods/{PERIOD_ID}/results"),
        ("unit", f"/admin/periods/{PERIOD_ID}/results/units/STP"),
    ):
        screen.goto(live_server + url)
        assert "theo cách tính đã công bố" in screen.locator(".basis").inner_text()
        assert screen.evaluate("document.documentElement.scrollWidth") <= screen.width
        if backend == "sqlite":
            screenshot(screen, f"admin-{name}-as-published-{screen.width}")
    screen.goto(live_server + f"/admin/periods/{PERIOD_ID}/results?ci=wilson")
    assert "khác với bản công bố" in screen.locator(".basis").inner_text()
