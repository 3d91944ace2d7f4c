"""At 1,280 and 360 px: the response page gives scale answers in words in both
languages, the English survey is English, and the menu marks the page's section.
Screenshots go to tests/artifacts/."""

import random

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyPeriod, SurveyResponse
from survey.services import demo
from tests.browser.conftest import screenshot
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID, PASSWORD, PERIOD_ID

pytestmark = pytest.mark.browser


def log_in(page, server):
    page.goto(server + "/admin/")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button.primary")


def test_response_page_answers_in_words(app, live_server, screen, backend):
    client = app.test_client()
    path = counter_path(OPEN_COUNTER_ID)
    client.post(
        path, data=complete_answers(q_1_1="0", q_1_2="1") | served_form(client, path)
    )
    with app.app_context():
        response_id = db.session.scalar(sa.select(sa.func.max(SurveyResponse.id)))
    log_in(screen, live_server)
    shots = backend == "sqlite"
    for language, first in (
        ("vi", ["Không có ý kiến / không áp dụng", "1 · Rất không hài lòng"]),
        ("en", ["No opinion / not applicable", "1 · Very dissatisfied"]),
    ):
        screen.goto(
            live_server + f"/lang/{language}?next=/admin/responses/{response_id}"
        )
        cells = screen.locator("td.answer").all_inner_texts()
        assert cells[:2] == first
        assert screen.evaluate("document.documentElement.scrollWidth") <= screen.width
        if shots:
            screenshot(screen, f"admin-response-words-{language}-{screen.width}")


def test_english_survey_and_menu_section(app, live_server, screen, backend):
    with app.app_context():
        demo.add_synthetic_responses(
            db.session.get(SurveyPeriod, PERIOD_ID), 60, random.Random(4)
        )
    shots = backend == "sqlite"
    path = counter_path(OPEN_COUNTER_ID)
    screen.goto(live_server + f"/lang/en?next={path}")
    text = screen.locator("main").inner_text()
    assert "Civil servants communicate politely" in text
    assert "Công chức" not in text
    assert screen.evaluate("document.documentElement.scrollWidth") <= screen.width
    if shots:
        screenshot(screen, f"survey-english-{screen.width}")
    screen.goto(live_server + "/lang/vi?next=/")
    log_in(screen, live_server)
    screen.goto(live_server + f"/admin/periods/{PERIOD_ID}/results/units/STP")
    current = screen.locator('nav.nav a[aria-current="page"]')
    assert current.all_inner_texts() == ["Đợt khảo sát"]
    if shots:
        screenshot(screen, f"admin-unit-results-menu-{screen.width}")


def test_english_workspace_names_criteria_in_english(app, live_server, screen, backend):
    with app.app_context():
        demo.add_synthetic_responses(
            db.session.get(SurveyPeriod, PERIOD_ID), 60, random.Random(5)
        )
    log_in(screen, live_server)
    url = f"/admin/periods/{PERIOD_ID}/results/units/STP"
    screen.goto(live_server + f"/lang/en?next={url}")
    text = screen.locator("main").inner_text()
    assert "Civil servants communicate politely" in text
    assert "Công chức có thái độ giao tiếp lịch sự" not in text
    assert screen.evaluate("document.documentElement.scrollWidth") <= screen.width
    if backend == "sqlite":
        screenshot(screen, f"admin-unit-results-english-{screen.width}")
