"""The analyst's path in a real browser: log in, create a period, monitor, publish, download.

Screenshots of the main pages go to tests/artifacts/ so that layout changes can be seen.
"""

import random

import openpyxl
import pytest

from survey.extensions import db
from survey.models import SurveyPeriod
from survey.services import demo, publications
from tests.browser.conftest import screenshot
from tests.seed import PASSWORD, PERIOD_ID

pytestmark = pytest.mark.browser


@pytest.fixture
def desk(browser):
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="vi-VN", accept_downloads=True
    )
    yield context.new_page()
    context.close()


def test_analyst_publishes_and_the_public_downloads(
    app, live_server, desk, browser, backend
):
    with app.app_context():
        demo.add_synthetic_responses(
            db.session.get(SurveyPeriod, PERIOD_ID), 150, random.Random(1)
        )
    shots = backend == "sqlite"
    desk.goto(live_server + "/admin/")
    desk.fill("#username", "admin")
    desk.fill("#password", PASSWORD)
    desk.click("button.primary")
    assert desk.locator("h1").first.inner_text().startswith("Theo dõi")
    if shots:
        screenshot(desk, "admin-dashboard")

    desk.click("text=Đợt khảo sát")
    desk.click("text=Tạo đợt mới")
    desk.fill("#name", "Quý I/2027")
    desk.fill("#starts_on", "2027-01-01")
    desk.fill("#ends_on", "2027-03-31")
    desk.check("input[value=counter]")
    desk.click("button.primary")
    assert "Đã tạo đợt Quý I/2027" in desk.locator(".flash").inner_text()

    row = desk.locator("tr", has_text="Đợt thử")
    row.locator("button", has_text="Đóng").click()
    assert "không nhận thêm phiếu" in desk.locator(".consequence").inner_text()
    if shots:
        screenshot(desk, "admin-confirm-close")
    desk.check("input[name=confirm]")
    desk.click("button:has-text('Đóng đợt')")
    assert "đã đóng" in desk.locator(".flash").inner_text()
    desk.goto(f"{live_server}/admin/periods/{PERIOD_ID}/results")
    assert desk.locator("table tbody tr").count() == 2  # Sở Tư pháp and Xã Hòa Bình
    if shots:
        screenshot(desk, "admin-results")
    desk.click("text=Công bố kết quả đợt này")
    assert "Không thể hoàn tác" in desk.locator(".final").inner_text()
    desk.check("input[name=confirm]")
    desk.click("button:has-text('Công bố')")
    desk.wait_for_url(f"**/results/{PERIOD_ID}")
    assert "Chỉ số hài lòng (SIPAS): Đợt thử" in desk.locator("h1").inner_text()
    if shots:
        screenshot(desk, "public-results-desk")

    with desk.expect_download() as download:
        desk.click("text=Tải XLSX")
    assert download.value.suggested_filename.endswith(".xlsx")
    with download.value.path().open("rb") as workbook:
        sheet = openpyxl.load_workbook(workbook, read_only=True).active
        rows = sheet.max_row
    with app.app_context():
        publication = publications.publication_of(
            db.session.get(SurveyPeriod, PERIOD_ID)
        )
        assert rows == len(publication.results) + 1
        assert publications.verify(publication)

    phone = browser.new_context(
        viewport={"width": 360, "height": 740}, java_script_enabled=False
    )
    page = phone.new_page()
    page.goto(f"{live_server}/results/{PERIOD_ID}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    if shots:
        screenshot(page, "public-results-360")
    phone.close()


def test_workspace_fits_a_phone(app, live_server, phone, backend):
    """Every main page of the workspace fits 360 px (wide tables scroll inside their box)."""
    with app.app_context():
        demo.add_synthetic_responses(
            db.session.get(SurveyPeriod, PERIOD_ID), 60, random.Random(2)
        )
    phone.goto(live_server + "/admin/")
    phone.fill("#username", "admin")
    phone.fill("#password", PASSWORD)
    phone.click("button.primary")
    for path in (
        "/admin/",
        f"/admin/periods/{PERIOD_ID}/results",
        "/admin/periods",
        "/admin/units",
        "/admin/responses",
        "/admin/register",
        "/admin/audit",
        f"/admin/periods/{PERIOD_ID}/results/units/STP",
    ):
        phone.goto(live_server + path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 360, path
    if backend == "sqlite":
        phone.goto(f"{live_server}/admin/periods/{PERIOD_ID}/results")
        screenshot(phone, "admin-results-360")
