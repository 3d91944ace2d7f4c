"""QR codes decode to the counter's survey URL; posters print it in text too."""

import io

import zxingcpp
from PIL import Image

from survey.qr import counter_qr_png, counter_qr_svg
from tests.helpers import counter_path, logged_in
from tests.seed import OPEN_COUNTER_ID

SURVEY_URL = "http://sipas.test" + counter_path(OPEN_COUNTER_ID)


def decode_png(data: bytes) -> list[str]:
    return [
        result.text for result in zxingcpp.read_barcodes(Image.open(io.BytesIO(data)))
    ]


def test_png_decodes_to_the_url():
    assert decode_png(counter_qr_png("https://example.vn/s/1-abcdefghijkl")) == [
        "https://example.vn/s/1-abcdefghijkl"
    ]


def test_svg_is_a_scalable_document():
    svg = counter_qr_svg("https://example.vn/s/1-abcdefghijkl")
    assert "<svg" in svg
    assert "viewBox" in svg


def test_counter_qr_png_route_serves_the_survey_url(admin_client):
    response = admin_client.get(f"/admin/counters/{OPEN_COUNTER_ID}/qr.png")
    assert response.mimetype == "image/png"
    assert decode_png(response.data) == [SURVEY_URL]


def test_counter_qr_svg_route(admin_client):
    response = admin_client.get(f"/admin/counters/{OPEN_COUNTER_ID}/qr.svg")
    assert response.mimetype == "image/svg+xml"
    assert b"<svg" in response.data


def test_poster_has_unit_counter_qr_and_short_url(admin_client):
    html = admin_client.get(f"/admin/counters/{OPEN_COUNTER_ID}/poster").get_data(
        as_text=True
    )
    assert "Sở Tư pháp" in html
    assert "Quầy 1" in html
    assert "<svg" in html
    assert "<?xml" not in html
    assert f'<p class="url">{SURVEY_URL}</p>' in html
    assert "Quét mã QR" in html


def test_public_base_url_overrides_the_request_host(make_app):
    app = make_app(PUBLIC_BASE_URL="https://sipas.example.gov.vn/")
    png = logged_in(app).get(f"/admin/counters/{OPEN_COUNTER_ID}/qr.png").data
    assert decode_png(png) == [
        "https://sipas.example.gov.vn" + counter_path(OPEN_COUNTER_ID)
    ]


def test_unknown_counter_poster_is_404(admin_client):
    assert admin_client.get("/admin/counters/999/poster").status_code == 404
