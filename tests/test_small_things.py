"""Small things a newcomer noticed: each checked here."""

from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID


def test_favicon_is_served_and_linked(client, admin_client):
    moved = client.get("/favicon.ico")
    assert moved.status_code == 301
    with client.get(moved.headers["Location"]) as icon:
        assert icon.status_code == 200
        assert icon.mimetype == "image/svg+xml"
    assert 'rel="icon"' in client.get("/").get_data(as_text=True)
    assert 'rel="icon"' in admin_client.get("/admin/").get_data(as_text=True)


def test_thanks_page_links_to_the_published_results(client):
    path = counter_path(OPEN_COUNTER_ID)
    done = client.post(
        path, data=complete_answers() | served_form(client, path), follow_redirects=True
    )
    assert 'href="/results/"' in done.get_data(as_text=True)


def test_channels_are_words_with_spaces(admin_client):
    html = admin_client.get("/admin/periods").get_data(as_text=True)
    assert "QR tại quầy, Mẫu ngẫu nhiên (thư mời)" in html
    assert "QR,mẫu" not in html


def test_restructure_help_has_no_backticks(admin_client):
    html = admin_client.get("/admin/units/restructure").get_data(as_text=True)
    assert "`" not in html


def test_province_poster_page_is_not_blank(admin_client):
    html = admin_client.get("/admin/units/1/posters").get_data(as_text=True)
    assert "Tỉnh Thử chưa có quầy nào đang hoạt động" in html
    assert 'href="/admin/units/2/posters"' in html  # Sở Tư pháp's posters


def current_entry(html: str) -> list[str]:
    """The labels of the menu entries marked as the current page."""
    import re

    return re.findall(r'aria-current="page">([^<]+)</a>', html)


def test_unit_results_page_highlights_the_periods_entry(app, admin_client):
    import random

    from survey.extensions import db
    from survey.models import SurveyPeriod
    from survey.services import demo

    with app.app_context():
        demo.add_synthetic_responses(
            db.session.get(SurveyPeriod, 1), 60, random.Random(3)
        )
    html = admin_client.get("/admin/periods/1/results/units/STP").get_data(as_text=True)
    assert current_entry(html) == ["Đợt khảo sát"]
    assert current_entry(admin_client.get("/admin/units").get_data(as_text=True)) == [
        "Đơn vị"
    ]
    counters = admin_client.get("/admin/units/2/counters").get_data(as_text=True)
    assert current_entry(counters) == ["Đơn vị"]
    flags = admin_client.get("/admin/periods/1/flags").get_data(as_text=True)
    assert current_entry(flags) == ["Rà soát"]


def test_every_workspace_page_highlights_one_entry_at_most(app):
    from survey.admin import NAV_SECTIONS, nav_section

    entries = set(NAV_SECTIONS.values())
    endpoints = [r.endpoint for r in app.url_map.iter_rules()]
    for endpoint in endpoints:
        section = nav_section(endpoint)
        if endpoint.startswith("admin."):
            assert section in entries, endpoint
        else:
            assert section is None, endpoint


def test_a_value_too_long_is_refused_in_words(client):
    path = counter_path(OPEN_COUNTER_ID)
    page = client.post(path, data={"suggestion": "x" * 10_001})
    html = page.get_data(as_text=True)
    assert page.status_code == 400
    assert "dài quá 10000 ký tự nên chưa được nhận" in html
    assert "A submitted value is too long" not in html
    client.get("/lang/en")
    english = client.post(path, data={"suggestion": "x" * 10_001})
    assert english.status_code == 400
    assert "longer than 10000 characters" in english.get_data(as_text=True)


def test_comments_page_ignores_query_arguments_of_its_route(admin_client):
    page = admin_client.get("/admin/periods/1/comments?period_id=2&fmt=csv&q=x&before=")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/admin/periods/1/comments.csv?q=x" in html
