"""The register import in a real browser: a refused file's report, then a good file."""

import pytest

from tests.browser.conftest import screenshot
from tests.seed import PASSWORD

pytestmark = pytest.mark.browser

HEADER = "dossier_code;unit_code;field;received_on;returned_on;on_time\n"


@pytest.mark.parametrize("width", [1280, 360])
def test_analyst_imports_the_register_in_the_browser(
    browser, live_server, backend, width, tmp_path
):
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="vi-VN"
    )
    page = context.new_page()
    page.goto(live_server + "/admin/register")
    page.fill("#username", "admin")
    page.fill("#password", PASSWORD)
    page.click("button.primary")
    bad = tmp_path / "so-loi.csv"
    bad.write_text(
        HEADER
        + "HS-1;STP;Thuế;31/02/2026;;\n"
        + "HS-1;NOPE;Đất đai;01/03/2026;28/02/2026;có\n",
        encoding="utf-8-sig",
    )
    page.set_input_files("input[type=file]", str(bad))
    page.click("form.upload button")
    text = (
        page.inner_text("main")
        if page.query_selector("main")
        else page.inner_text("body")
    )
    assert "không nhập được" in text
    for message in (
        "lĩnh vực không khớp",
        "ngày tiếp nhận không hợp lệ",
        "mã hồ sơ trùng với dòng 2",
        "không có đơn vị mang mã NOPE",
        "ngày trả kết quả trước ngày tiếp nhận",
    ):
        assert message in text
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if backend == "sqlite":
        screenshot(page, f"admin-register-refused-{width}")
    good = tmp_path / "so.csv"
    good.write_text(
        HEADER + "HS-1;STP;Hộ tịch;01/03/2026;05/03/2026;Đúng hạn\n", encoding="utf-8"
    )
    page.goto(live_server + "/admin/register")
    page.set_input_files("input[type=file]", str(good))
    page.click("form.upload button")
    text = page.inner_text("body")
    assert "Đã nhập so.csv" in text
    assert "1 mới" in text
    assert "bị từ chối" in text  # the refused attempt stays in the list
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if backend == "sqlite":
        screenshot(page, f"admin-register-{width}")
    context.close()
