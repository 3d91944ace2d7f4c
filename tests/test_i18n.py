"""Languages: Vietnamese for everyone by default, English on request, clean diacritics."""

import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

from survey.i18n import local_number
from tests.helpers import counter_path
from tests.seed import OPEN_COUNTER_ID

PATH = counter_path(OPEN_COUNTER_ID)
CATALOG = (
    Path(__file__).resolve().parent.parent
    / "survey"
    / "translations"
    / "en"
    / "LC_MESSAGES"
)
HOST = "sipas.test"  # SERVER_NAME of the test apps: their cookies' domain
CRITERION = (
    "Công chức có thái độ giao tiếp lịch sự"  # questionnaire wording, never translated
)


def html_lang(html: str) -> str:
    return re.search(r'<html lang="([^"]*)"', html).group(1)


def in_english(client, path: str = "/"):
    response = client.get("/lang/en", query_string={"next": path})
    assert response.status_code == 302
    assert response.headers["Location"] == path
    assert client.get_cookie("lang", domain=HOST).value == "en"
    return response


def test_pages_are_vietnamese_by_default_whatever_the_browser_asks(client):
    html = client.get(PATH, headers={"Accept-Language": "en-US,en;q=0.9"}).get_data(
        as_text=True
    )
    assert html_lang(html) == "vi"
    assert "Gửi đánh giá" in html
    assert "Send my rating" not in html
    assert f'href="/lang/en?next={PATH}"' in html
    assert ">English</a>" in html


def test_survey_page_in_english_keeps_the_official_wording(client):
    in_english(client, PATH)
    html = client.get(PATH).get_data(as_text=True)
    assert html_lang(html) == "en"
    assert "Send my rating" in html
    assert "Part 1/" in html
    assert "Gửi đánh giá" not in html
    assert CRITERION in html
    assert "Tiếp cận dịch vụ hành chính công" in html
    assert ">Tiếng Việt</a>" in html


def test_form_errors_and_error_pages_follow_the_language(client):
    in_english(client, PATH)
    html = client.post(PATH, data={}).get_data(as_text=True)
    assert "Please choose an answer." in html
    missing = client.get("/s/not-a-token")
    assert missing.status_code == 404
    assert "Page not found" in missing.get_data(as_text=True)


def test_switching_back_to_vietnamese(client):
    in_english(client, PATH)
    response = client.get("/lang/vi", query_string={"next": PATH})
    assert response.headers["Location"] == PATH
    html = client.get(PATH).get_data(as_text=True)
    assert html_lang(html) == "vi"
    assert "Gửi đánh giá" in html


def test_admin_workspace_in_english(admin_client):
    in_english(admin_client, "/admin/")
    html = admin_client.get("/admin/").get_data(as_text=True)
    assert html_lang(html) == "en"
    assert "Monitoring" in html
    assert "Log out" in html
    assert "Đăng xuất" not in html
    units = admin_client.get("/admin/units").get_data(as_text=True)
    assert "Units and reception counters" in units
    admin_client.post("/auth/logout")
    assert "Logged out." in admin_client.get("/auth/login").get_data(as_text=True)


def test_unknown_language_is_not_found_and_falls_back_to_vietnamese(client):
    assert client.get("/lang/xx").status_code == 404
    assert client.get_cookie("lang", domain=HOST) is None
    client.set_cookie("lang", "xx", domain=HOST)
    assert html_lang(client.get("/").get_data(as_text=True)) == "vi"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/s/x",
        "https://evil.example",
        "/\\evil.example",
        "javascript:alert(1)",
        "",
    ],
)
def test_language_switch_is_no_open_redirect(client, target):
    response = client.get("/lang/en", query_string={"next": target})
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


def test_diacritics_are_utf8_and_composed(client):
    response = client.get(PATH + "/cam-on")
    assert response.mimetype == "text/html"
    assert response.mimetype_params["charset"] == "utf-8"
    assert "Cảm ơn".encode() in response.data
    text = response.data.decode("utf-8")
    assert unicodedata.is_normalized("NFC", text)


def test_every_message_has_an_english_translation():
    with (CATALOG / "messages.po").open("rb") as po:
        catalog = read_po(po)
    messages = [m for m in catalog if m.id]
    assert len(messages) > 300
    untranslated = [m.id for m in messages if not m.string or m.fuzzy]
    assert untranslated == []
    # Vietnamese typed in decomposed form renders badly in some fonts.
    assert all(unicodedata.is_normalized("NFC", m.id) for m in messages)
    with (CATALOG / "messages.mo").open("rb") as mo:
        compiled = {m.id: m.string for m in read_mo(mo) if m.id}
    assert compiled == {m.id: m.string for m in messages}, "run pybabel compile"


@pytest.mark.parametrize(("lang", "expected"), [("vi", "1.234,5"), ("en", "1,234.5")])
def test_numbers_use_the_marks_of_the_language(app, lang, expected):
    with app.test_request_context(headers={"Cookie": f"lang={lang}"}):
        assert local_number("1,234.5") == expected


def test_every_message_of_the_source_is_in_the_english_catalogue(tmp_path):
    """A message added to the code or templates without its English fails here."""
    from babel.messages.frontend import CommandLineInterface

    pot = tmp_path / "messages.pot"
    root = CATALOG.parent.parent.parent.parent
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(root)
        CommandLineInterface().run(
            ["pybabel", "-q", "extract", "-F", "pyproject.toml", "-o", str(pot), "."]
        )
    with pot.open("rb") as source, (CATALOG / "messages.po").open("rb") as po:
        wanted = {m.id for m in read_po(source) if m.id}
        translated = {m.id for m in read_po(po) if m.id and m.string and not m.fuzzy}
    missing = sorted(str(m) for m in wanted - translated)
    assert missing == [], "run pybabel extract/update and translate"


def test_workspace_error_page_speaks_to_an_official(admin_client):
    in_english(admin_client, "/admin/")
    page = admin_client.get("/admin/periods/999/results")
    html = page.get_data(as_text=True)
    assert page.status_code == 404
    assert "may have been removed" in html
    assert "scan the QR code" not in html.lower()
    assert "Back to monitoring" in html
    admin_client.get("/lang/vi")
    html = admin_client.get("/admin/periods/999/results").get_data(as_text=True)
    assert "có thể nó đã bị xóa" in html
    assert "quét mã QR" not in html
