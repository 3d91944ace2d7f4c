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
