"""A sampled citizen on a 360 px phone: types the code from the slip, answers, and the
back button finds the invitation already answered."""

import pytest
import sqlalchemy as sa

from survey import invitation_codes
from survey.extensions import db
from survey.models import SurveyResponse
from tests.browser.conftest import screenshot
from tests.helpers import logged_in
from tests.sample_data import codes, drawn_period
from tests.seed import PERIOD_ID
from tests.test_qr_posters import decode_png

pytestmark = pytest.mark.browser


def sampled_responses(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count(SurveyResponse.id)).filter_by(channel="sample")
        )


def test_type_the_code_answer_and_go_back(app, live_server, phone, backend):
    with app.app_context():
        code = codes(drawn_period())[0]
    shown = invitation_codes.display(code)

    phone.goto(live_server + "/i")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    # a first try with a typo: the check character catches it
    phone.fill("#ma", shown[:-1] + ("A" if shown[-1] != "A" else "B"))
    phone.locator("button.send").click()
    assert "Mã mời chưa đúng" in phone.locator("p.alert").inner_text()
    if backend == "sqlite":
        screenshot(phone, "invitation-typo-360")
    # typed as people type: lower case, spaces for dashes
    phone.fill("#ma", shown.lower().replace("-", " "))
    phone.locator("button.send").click()
    phone.wait_for_url(f"**/i/{code}")
    assert phone.locator("h1").inner_text().startswith("Ông/Bà hài lòng")
    assert phone.locator(f"text={shown}").count() == 1
    assert phone.locator("[name=q_field]").count() == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    if backend == "sqlite":
        screenshot(phone, "invitation-survey-360")

    for group in phone.locator("fieldset.q .scale").all():
        group.locator("label").nth(4).click()  # "5 Rất hài lòng"
    phone.locator("button.send").click()
    phone.wait_for_url("**/cam-on*")  # the form action carries #loi
    assert "Cảm ơn" in phone.locator("h1").inner_text()
    assert sampled_responses(app) == 1
    if backend == "sqlite":
        screenshot(phone, "invitation-thanks-360")

    # Back: the browser fetches the form again and finds the invitation answered
    # (a browser that shows its cached form instead gets the same page on sending).
    phone.go_back()
    if phone.locator("button.send").count():
        phone.locator("button.send").click()
    assert "Mã mời đã được dùng" in phone.locator("h1").inner_text()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 360
    if backend == "sqlite":
        screenshot(phone, "invitation-used-360")
    assert sampled_responses(app) == 1


def test_slip_qr_code_opens_the_invitation(app, live_server, phone, backend):
    app.config["PUBLIC_BASE_URL"] = live_server
    with app.app_context():
        code = codes(drawn_period())[0]
    admin = logged_in(app)
    batches = admin.get(f"/admin/periods/{PERIOD_ID}/invitations").get_data(
        as_text=True
    )
    assert "In phiếu" in batches
    # the slip's QR code and the link in the CSV are the same URL
    links = admin.get(f"/admin/periods/{PERIOD_ID}/invitations/links.csv").get_data(
        as_text=True
    )
    url = next(line.split(",")[2] for line in links.splitlines() if code[:4] in line)
    assert url == f"{live_server}/i/{code}" or url.startswith(live_server + "/i/")
    with app.app_context():
        from survey.qr import counter_qr_png

        [decoded] = decode_png(counter_qr_png(url))
    phone.goto(decoded)
    assert phone.locator("h1").inner_text().startswith("Ông/Bà hài lòng")
