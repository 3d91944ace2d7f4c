"""After a failed submit the survey opens at an error summary whose items lead to each
question to fix; a chosen answer is never painted in the error colour. No JavaScript."""

import re

import pytest

from tests.browser.conftest import screenshot
from tests.helpers import counter_path
from tests.seed import OPEN_COUNTER_ID

pytestmark = pytest.mark.browser


def rgb(text: str) -> tuple[int, ...]:
    return tuple(int(v) for v in re.findall(r"\d+", text)[:3])


def reddish(colour: tuple[int, ...]) -> bool:
    r, g, b = colour
    return r > g + 60 and r > b + 60


@pytest.fixture(params=[360, 1280])
def page(browser, request):
    context = browser.new_context(
        viewport={"width": request.param, "height": 800},
        java_script_enabled=False,
        locale="vi-VN",
    )
    page = context.new_page()
    page.width = request.param
    yield page
    context.close()


def test_error_summary_opens_first_and_links_to_each_question(
    live_server, page, backend
):
    page.goto(live_server + counter_path(OPEN_COUNTER_ID))
    page.locator("label[for=q_1_1-1]").click()  # a "1": an answer, not an error
    page.locator("button.send").click()
    assert page.url.endswith("#loi")
    summary = page.locator("#loi")
    assert summary.get_attribute("role") == "alert"
    box = summary.bounding_box()  # relative to the viewport
    assert page.evaluate("window.scrollY") > 0  # opened at the summary, not the top
    assert -2 <= box["y"] < 800 - 100
    links = summary.locator("a")
    assert links.count() >= 20
    assert links.first.get_attribute("href") == "#q_1_2"
    assert page.locator("#q_1_1").get_attribute("class") == "q"  # answered: not marked

    chosen = page.locator("label[for=q_1_1-1]")
    assert page.locator("#q_1_1-1").is_checked()
    fill = rgb(chosen.evaluate("e => getComputedStyle(e).backgroundColor"))
    error = rgb(page.locator("#q_1_2-err").evaluate("e => getComputedStyle(e).color"))
    assert reddish(error)
    assert not reddish(fill)
    assert page.evaluate("document.documentElement.scrollWidth") <= page.width
    if backend == "sqlite":
        screenshot(page, f"survey-errors-{page.width}")

    links.nth(1).click()
    assert page.url.endswith("#q_1_3")
    assert abs(page.locator("#q_1_3").bounding_box()["y"]) < 40
