"""A sampled citizen's path over HTTP: type the code, answer once, and every bad code."""

import csv
import io
import ipaddress
import re
import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, invitation_codes
from survey.extensions import db
from survey.models import Invitation, SurveyPeriod, SurveyResponse
from survey.services import invitations
from tests.helpers import complete_answers, field_name, served_form
from tests.sample_data import codes, drawn_period
from tests.seed import PERIOD_ID
from tests.test_rate_limits import redis_url  # noqa: F401 (a fixture)


@pytest.fixture
def code(app) -> str:
    with app.app_context():
        return codes(drawn_period())[0]


def unknown_code(seed: int = 0) -> str:
    payload = f"{seed:010d}".translate(str.maketrans("0123456789", "ABCDEFGHJK"))
    return payload + invitation_codes.check_character(payload)


def answers() -> dict:
    data = complete_answers()
    del data[field_name("field")]  # the register knows the dossier's field
    return data


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(SurveyResponse.id)))


def test_entry_page_asks_for_the_code_in_vietnamese(client):
    response = client.get("/i")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Nhập mã phiếu mời" in html
    assert 'name="ma"' in html
    assert "<script" not in html


def test_typed_code_in_any_case_with_dashes_leads_to_the_form(client, code):
    shown = invitation_codes.display(code).lower()
    response = client.get("/i", query_string={"ma": f" {shown} "})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/i/{code}"
    assert client.get(f"/i/{shown}").headers["Location"] == f"/i/{code}"


def test_mistyped_code_says_check_the_code_and_keeps_it(client, code):
    typo = code[:-1] + ("A" if code[-1] != "A" else "B")
    response = client.get("/i", query_string={"ma": typo})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Mã mời chưa đúng" in html
    assert f'value="{typo}"' in html


def test_unknown_code_gets_its_page_with_the_entry_form(client, code):
    response = client.get(f"/i/{unknown_code()}")
    assert response.status_code == 404
    assert "Không tìm thấy mã mời" in response.get_data(as_text=True)


def test_form_asks_everything_but_the_field(client, code):
    response = client.get(f"/i/{code}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.count("<fieldset") == 22 + 9
    assert field_name("field") not in html
    assert invitation_codes.display(code) in html
    assert "Sở Tư pháp" in html or "Xã Hòa Bình" in html


def test_answer_once_then_every_way_back_gets_already_answered(app, client, code):
    form = served_form(client, f"/i/{code}")
    response = client.post(f"/i/{code}", data=answers() | form)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/i/{code}/cam-on"
    thanks = client.get(f"/i/{code}/cam-on").get_data(as_text=True)
    assert "Cảm ơn Ông/Bà đã trả lời" in thanks
    with app.app_context():
        response_row = db.session.scalars(sa.select(SurveyResponse)).one()
        invitation = db.session.scalars(
            sa.select(Invitation).filter_by(code=code)
        ).one()
        assert response_row.invitation_id == invitation.id
        assert response_row.field == invitation.field
        assert response_row.channel == "sample"
    again = client.post(f"/i/{code}", data=answers() | form)  # back button, resend
    assert again.status_code == 409
    assert "Mã mời đã được dùng" in again.get_data(as_text=True)
    other_phone = app.test_client()
    assert other_phone.get(f"/i/{code}").status_code == 409
    assert stored(app) == 1


def test_incomplete_answers_are_marked_and_nothing_is_stored(app, client, code):
    form = served_form(client, f"/i/{code}")
    data = answers() | form
    del data[field_name("1.1")]
    response = client.post(f"/i/{code}", data=data)
    assert response.status_code == 422
    assert "Vui lòng chọn một câu trả lời" in response.get_data(as_text=True)
    assert stored(app) == 0


def test_posting_the_field_question_is_refused(app, client, code):
    form = served_form(client, f"/i/{code}")
    response = client.post(f"/i/{code}", data=complete_answers() | form)
    assert response.status_code == 400
    assert stored(app) == 0


def test_expired_code_gets_its_own_page(app, client, code):
    with app.app_context():
        expires = db.session.scalar(
            sa.select(Invitation.expires_on).filter_by(code=code)
        )
    later = datetime.combine(
        expires + timedelta(days=1), datetime.min.time(), clock.VIETNAM
    )
    with clock.travel(later.astimezone(UTC)):
        response = client.get(f"/i/{code}")
    assert response.status_code == 410
    html = response.get_data(as_text=True)
    assert "Phiếu mời đã hết hạn" in html
    assert expires.strftime("%d/%m/%Y") in html


def test_closed_period_gets_its_own_page(app, client, code):
    with app.app_context():
        db.session.get(SurveyPeriod, PERIOD_ID).status = "closed"
        db.session.commit()
    response = client.get(f"/i/{code}")
    assert response.status_code == 409
    assert "Đợt khảo sát đã kết thúc" in response.get_data(as_text=True)


def test_period_not_yet_open_gets_its_own_page(app, client, code):
    with app.app_context():
        db.session.get(SurveyPeriod, PERIOD_ID).status = "draft"
        db.session.commit()
    response = client.get(f"/i/{code}")
    assert response.status_code == 409
    assert "Đợt khảo sát chưa bắt đầu" in response.get_data(as_text=True)


def test_form_needs_its_csrf_token(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    with app.app_context():
        code = codes(drawn_period())[0]
    client = app.test_client()
    html = client.get(f"/i/{code}").get_data(as_text=True)
    key = re.search(r'name="k"[^>]*value="([^"]*)"', html) or re.search(
        r'value="([^"]*)"[^>]*name="k"', html
    )
    response = client.post(f"/i/{code}", data=answers() | {"k": key.group(1)})
    assert response.status_code == 400
    assert stored(app) == 0


# --------------------------------------------------------------------------------------
# guessing


def guess(client, seed: int, address: str = "127.0.0.1"):
    return client.get(f"/i/{unknown_code(seed)}", environ_base={"REMOTE_ADDR": address})


def test_guessing_codes_is_limited_per_network(make_app):
    app = make_app(RATELIMIT_ENABLED=True, INVITATION_GUESS_LIMIT="3 per minute")
    with app.app_context():
        code = codes(drawn_period())[0]
    client = app.test_client()
    # looking at a real code, or mistyping one, costs nothing
    for _ in range(5):
        assert client.get(f"/i/{code}").status_code == 200
        assert client.get("/i", query_string={"ma": code[:-1] + "*"}).status_code == 400
    assert [guess(client, s).status_code for s in range(3)] == [404, 404, 404]
    refused = guess(client, 3)
    assert refused.status_code == 429
    assert "Quá nhiều yêu cầu" in refused.get_data(as_text=True)
    assert guess(client, 4, "10.9.9.9").status_code == 404  # another network
    # the thank-you page tells known from unknown codes: it counts too
    other = "10.8.8.8"
    thanks = [
        client.get(f"/i/{unknown_code(s)}/cam-on", environ_base={"REMOTE_ADDR": other})
        for s in range(4)
    ]
    assert [r.status_code for r in thanks] == [404, 404, 404, 429]


def test_guessing_limit_is_shared_by_processes_through_redis(make_app, redis_url):  # noqa: F811
    config = dict(
        RATELIMIT_ENABLED=True,
        INVITATION_GUESS_LIMIT="3 per minute",
        RATELIMIT_STORAGE_URI=redis_url,
    )
    first, second = make_app(**config), make_app(**config)
    address = str(ipaddress.IPv6Address(uuid.uuid4().int))
    assert guess(first.test_client(), 1, address).status_code == 404
    assert guess(second.test_client(), 2, address).status_code == 404
    assert guess(first.test_client(), 3, address).status_code == 404
    assert guess(second.test_client(), 4, address).status_code == 429


def test_links_csv_never_carries_a_live_formula():
    slip = invitations.Slip(
        code="ABCDEFGHJK0",
        dossier="=HYPERLINK(1)",
        unit="@Xã",
        expires_on=date(2026, 12, 31),
    )
    text = "".join(
        invitations.links_csv(iter([slip]), lambda code: f"https://x/i/{code}")
    )
    row = next(csv.reader(io.StringIO(text.lstrip("\ufeff").splitlines()[1])))
    assert row[0] == "'=HYPERLINK(1)"
    assert row[4] == "'@Xã"
    assert row[2] == "https://x/i/ABCDEFGHJK0"
