"""Back after sending, in a real browser: the phone sees "already answered", not a form."""

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyResponse
from tests.browser.conftest import screenshot
from tests.helpers import counter_path
from tests.seed import OPEN_COUNTER_ID

pytestmark = pytest.mark.browser


def stored(app) -> list[bool]:
    with app.app_context():
        query = sa.select(SurveyResponse.declared_repeat).order_by(SurveyResponse.id)
        return list(db.session.scalars(query))


def answer_and_send(phone, choice: int) -> None:
    for group in phone.locator("fieldset.q .scale").all():
        group.locator("label").nth(choice).click()
    phone.locator("label[for=q_field-ho-tich]").click()
    phone.locator("button.send").click()
    phone.wait_for_url("**/cam-on*")  # the form action carries #loi


def test_back_then_send_again_stores_nothing_and_offers_another_dossier(
    app, live_server, phone, backend
):
    phone.goto(live_server + counter_path(OPEN_COUNTER_ID))
    answer_and_send(phone, 3)
    assert stored(app) == [False]

    phone.go_back()  # the browser fetches the survey page again
    assert phone.locator("h1").inner_text() == "Ông/Bà đã đánh giá rồi"
    assert phone.locator("button.send").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    if backend == "sqlite":
        screenshot(phone, "already-answered-360")
    phone.reload()  # and a refresh changes nothing
    assert phone.locator("h1").inner_text() == "Ông/Bà đã đánh giá rồi"
    assert stored(app) == [False]

    phone.locator("a.again").click()  # a second dossier, on purpose
    answer_and_send(phone, 4)
    phone.reload()  # a refreshed thank-you page stores nothing either
    assert "Cảm ơn" in phone.locator("h1").inner_text()
    assert stored(app) == [False, True]
