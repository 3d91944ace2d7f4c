"""The comments page in a real browser: wrapped long comments, desk and phone widths."""

from datetime import UTC, datetime, timedelta

import pytest

from survey.extensions import db
from survey.models import SurveyResponse
from tests.browser.conftest import screenshot
from tests.helpers import DEFINITION
from tests.seed import OPEN_COUNTER_ID, PASSWORD, PERIOD_ID

pytestmark = pytest.mark.browser

STP = 2
TEXTS = [
    "Cán bộ nhiệt tình, hướng dẫn chu đáo 👍",
    "Phải chờ lâu, nơi ngồi chờ chật; đề nghị bố trí thêm ghế và máy lấy số.",
    "x" * 1000,  # one word of 1,000 characters
    "<b>không in đậm</b> & trả kết quả trễ hẹn",
]


def add_comments(app) -> None:
    start = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    items = DEFINITION.scale_items
    with app.app_context():
        db.session.add_all(
            SurveyResponse(
                period_id=PERIOD_ID, unit_id=STP, counter_id=OPEN_COUNTER_ID,
                channel="counter", field="ho-tich", submission_key=f"b-{n}",
                form_served_at=start, submitted_at=start + timedelta(hours=n),
                answers="".join("2" if n % 2 and c == "3.1" else "4" for c in items),
                extra={"suggestion": text},
            )
            for n, text in enumerate(TEXTS)
        )  # fmt: skip
        db.session.commit()


@pytest.mark.parametrize("width", [1280, 360])
def test_comments_page_wraps_and_fits_the_screen(
    app, live_server, browser, backend, width
):
    add_comments(app)
    context = browser.new_context(
        viewport={"width": width, "height": 900}, locale="vi-VN"
    )
    page = context.new_page()
    try:
        page.goto(live_server + "/auth/login")
        page.fill("#username", "head")
        page.fill("#password", PASSWORD)
        page.click("button.primary")
        page.goto(f"{live_server}/admin/responses?period_id={PERIOD_ID}")
        page.click("text=Đọc góp ý của người dân")
        assert page.locator("li.comment").count() == len(TEXTS)
        page.fill("#f-q", "cho lau")
        page.click("form.filters button")
        assert page.locator("li.comment").count() == 1
        page.goto(f"{live_server}/admin/periods/{PERIOD_ID}/comments")
        assert page.locator("li.comment b").count() == 0  # markup shown as text
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{overflow}px wider than the screen"
        long_comment = page.locator("p.comment-text", has_text="xxxx")
        assert long_comment.bounding_box()["width"] <= width
        if backend == "sqlite":
            screenshot(page, f"admin-comments-{width}")
    finally:
        context.close()
