"""The whole citizen path in a real browser: poster QR -> phone -> questionnaire -> thanks."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyResponse
from tests.browser.conftest import screenshot
from tests.helpers import counter_path, logged_in
from tests.seed import OPEN_COUNTER_ID
from tests.test_qr_posters import decode_png

pytestmark = pytest.mark.browser


def responses_stored(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(SurveyResponse.id)))


def test_scan_answer_submit_and_replay(app, live_server, phone, backend):
    # A newcomer's phone decodes the QR code the app printed for the counter.
    app.config["PUBLIC_BASE_URL"] = live_server
    png = logged_in(app).get(f"/admin/counters/{OPEN_COUNTER_ID}/qr.png").data
    [url] = decode_png(png)
    assert url.startswith(live_server + "/s/")

    phone.goto(url)
    assert phone.locator("h1").inner_text().startswith("Ông/Bà hài lòng")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    if backend == "sqlite":
        screenshot(phone, "survey-360")

    # Answer by tapping labels, as a finger would; no JavaScript runs on the page.
    for group in phone.locator("fieldset.q .scale").all():
        group.locator("label").nth(3).click()  # "4 Hài lòng"
    phone.locator("label[for=q_field-ho-tich]").click()
    phone.locator("label[for=q_expectations-time]").click()
    phone.locator("label[for=q_gender-nu]").click()

    posted = []
    phone.on(
        "request",
        lambda request: posted.append(request) if request.method == "POST" else None,
    )
    phone.locator("button.send").click()
    phone.wait_for_url("**/cam-on*")  # the form action carries #loi
    assert "Cảm ơn" in phone.locator("h1").inner_text()
    assert responses_stored(app) == 1

    # The same submission replayed (a flaky network's retry) is not stored twice.
    [request] = posted
    replay = phone.request.post(
        request.url,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        data=request.post_data,
    )
    assert replay.ok
    assert "Cảm ơn" in replay.text()
    assert responses_stored(app) == 1
    if backend == "sqlite":
        screenshot(phone, "thanks-360")


def test_missing_answers_are_marked_in_vietnamese(app, live_server, phone):
    phone.goto(live_server + counter_path(OPEN_COUNTER_ID))
    phone.locator("label[for=q_1_1-5]").click()
    phone.locator("button.send").click()
    assert phone.locator(".alert").inner_text().startswith("Còn")
    assert phone.locator("#q_1_1-5").is_checked()
    assert phone.locator("#q_1_2-err").inner_text() == "Vui lòng chọn một câu trả lời."
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    assert responses_stored(app) == 0
