"""The citizen's path over HTTP: QR URL -> form -> thank-you, and every kind of bad input."""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import Counter, PeriodStatus, SurveyPeriod, SurveyResponse
from survey.services import units
from tests.helpers import (
    DEFINITION,
    complete_answers,
    counter_path,
    field_name,
    served_form,
)
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID, REVOKED_COUNTER_ID

PATH = counter_path(OPEN_COUNTER_ID)


def count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(SurveyResponse.id)))


def submit(client, path=PATH, **overrides):
    data = complete_answers(**overrides) | served_form(client, path)
    return client.post(path, data=data)


def test_survey_page_shows_every_criterion_grouped_by_element(client):
    response = client.get(PATH)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    # 22 criteria, then every question but the free-text suggestion
    assert html.count("<fieldset") == 22 + 10
    assert "Tiếp cận dịch vụ hành chính công" in html
    assert "Công chức có thái độ giao tiếp lịch sự" in html
    assert 'lang="vi"' in html
    assert "<script" not in html


def test_submission_stores_one_response_with_all_answers(app, client):
    response = submit(client)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(PATH + "/cam-on")
    with app.app_context():
        stored = db.session.scalars(sa.select(SurveyResponse)).one()
        assert stored.channel == "counter"
        assert stored.field == "ho-tich"
        assert stored.counter_id == OPEN_COUNTER_ID
        assert stored.period_id == PERIOD_ID
        assert stored.extra == {"expectations": ["E3", "time"], "gender": "nu"}
        assert stored.form_served_at <= stored.submitted_at
        assert len(stored.network_hash) == 32
        answers = DEFINITION.decode_answers(stored.answers)
    assert len(answers) == 23
    assert set(answers.values()) == {4}


def test_thank_you_page_is_vietnamese(client):
    page = client.get(submit(client).headers["Location"])
    assert "Cảm ơn" in page.get_data(as_text=True)


def test_retried_submission_is_stored_once(app, client):
    data = complete_answers() | served_form(client, PATH)
    first = client.post(PATH, data=data)
    second = client.post(PATH, data=data)
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"]
    assert count(app) == 1


def test_no_opinion_is_stored_as_zero(app, client):
    submit(client, **{field_name("5.4"): "0"})
    with app.app_context():
        stored = db.session.scalar(sa.select(SurveyResponse.answers))
    assert DEFINITION.decode_answers(stored)["5.4"] == 0
    assert DEFINITION.decode_answers(stored)["5.3"] == 4


def test_missing_answers_keep_what_was_answered(app, client):
    data = complete_answers() | served_form(client, PATH)
    del data[field_name("3.1")]
    data[field_name("1.1")] = "5"
    response = client.post(PATH, data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Vui lòng chọn một câu trả lời." in html
    assert 'id="q_1_1-5" value="5" checked' in html
    assert count(app) == 0


def test_overall_question_is_required_but_no_opinion_is_not_allowed_there(app, client):
    response = submit(client, **{field_name("overall"): "0"})
    assert response.status_code == 422
    assert count(app) == 0


def test_value_outside_the_scale_is_refused(app, client):
    response = submit(client, **{field_name("2.1"): "7"})
    assert response.status_code == 422
    assert "không hợp lệ" in response.get_data(as_text=True)
    assert count(app) == 0


def test_wrong_type_is_refused(app, client):
    response = submit(
        client, **{field_name("2.1"): "abc", field_name("expectations"): ["x"]}
    )
    assert response.status_code == 422
    assert count(app) == 0


def test_unknown_criterion_code_is_refused(app, client):
    response = submit(client, **{field_name("9.9"): "4"})
    assert response.status_code == 400
    assert "không thuộc bảng hỏi" in response.get_data(as_text=True)
    assert count(app) == 0


def test_oversize_suggestion_is_refused(app, client):
    response = submit(client, **{field_name("suggestion"): "x" * 1001})
    assert response.status_code == 422
    assert "Tối đa 1000 ký tự" in response.get_data(as_text=True)
    assert count(app) == 0


def test_oversize_body_is_refused(app, client):
    response = submit(client, **{field_name("suggestion"): "x" * 70_000})
    assert response.status_code == 413
    assert count(app) == 0


def test_forged_submission_key_is_refused(app, client):
    data = complete_answers() | {"k": "forged.key.value"}
    response = client.post(PATH, data=data)
    assert response.status_code == 400
    assert "hết hạn hoặc không hợp lệ" in response.get_data(as_text=True)
    assert count(app) == 0


def test_key_from_another_counter_is_refused(app, client):
    other = counter_path(2)
    data = complete_answers() | served_form(client, other)
    assert client.post(PATH, data=data).status_code == 400
    assert count(app) == 0


def test_unknown_and_revoked_tokens_are_vietnamese_404(client):
    for path in (
        "/s/zz-AAAAAAAAAAAA",
        "/s/garbage",
        counter_path(REVOKED_COUNTER_ID),
        counter_path(OPEN_COUNTER_ID, secret="guess"),
    ):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Không tìm thấy trang" in response.get_data(as_text=True)


def test_rotated_token_stops_working(app, client):
    with app.app_context():
        new_token = units.rotate_counter_token(db.session.get(Counter, OPEN_COUNTER_ID))
    assert client.get(PATH).status_code == 404
    assert client.get(f"/s/{new_token}").status_code == 200


def close_period(app):
    with app.app_context():
        db.session.get(SurveyPeriod, PERIOD_ID).status = PeriodStatus.CLOSED.value
        db.session.commit()


def test_closed_period_shows_a_friendly_page_without_form(app, client):
    close_period(app)
    response = client.get(PATH)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "chưa có đợt khảo sát" in html
    assert "<form" not in html


def test_submission_into_a_closed_period_is_refused(app, client):
    data = complete_answers() | served_form(client, PATH)
    close_period(app)
    response = client.post(PATH, data=data)
    assert response.status_code == 409
    assert count(app) == 0


def test_csrf_token_is_required(make_app):
    app = make_app(WTF_CSRF_ENABLED=True)
    client = app.test_client()
    data = complete_answers() | served_form(client, PATH)
    assert "csrf_token" in data
    missing = {k: v for k, v in data.items() if k != "csrf_token"}
    assert client.post(PATH, data=missing).status_code == 400
    assert client.post(PATH, data=data | {"csrf_token": "wrong"}).status_code == 400
    assert count(app) == 0
    assert client.post(PATH, data=data).status_code == 303
    assert count(app) == 1


def test_page_weight_and_no_third_party_hosts(client):
    page = client.get(PATH, headers={"Accept-Encoding": "gzip"})
    with client.get("/static/css/public.css") as css:
        css_bytes = len(css.data)
    assert page.headers["Content-Encoding"] == "gzip"
    assert len(page.data) + css_bytes <= 30 * 1024
    html = client.get(PATH).get_data(as_text=True)
    assert "http://" not in html
    assert "https://" not in html
    assert "//" not in html.replace("://", "")


def test_security_headers(client):
    headers = client.get(PATH).headers
    assert "default-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_no_raw_client_identifiers_are_stored(app, client):
    client.post(
        PATH,
        data=complete_answers() | served_form(client, PATH),
        environ_base={"REMOTE_ADDR": "203.0.113.7"},
        headers={"User-Agent": "UA-X"},
    )
    with app.app_context():
        row = db.session.execute(sa.select(SurveyResponse.__table__)).one()
    assert not any("203.0.113" in str(v) or "UA-X" in str(v) for v in row)


def test_failed_submit_lists_every_question_to_fix_at_the_top(client):
    path = counter_path(OPEN_COUNTER_ID)
    html = client.get(path).get_data(as_text=True)
    assert f'action="{path}#loi"' in html
    data = complete_answers()
    del data["q_1_2"], data["q_overall"]
    failed = client.post(path, data=data | served_form(client, path))
    assert failed.status_code == 422
    html = failed.get_data(as_text=True)
    summary = html[html.index('id="loi"') : html.index("</ol>")]
    assert 'role="alert"' in html[html.index('<div class="alert summary"') :][:80]
    assert summary.count("<li>") == 2
    assert 'href="#q_1_2"' in summary
    assert 'href="#q_overall"' in summary
    assert 'id="q_1_2"' in html
    assert html.index('id="loi"') < html.index('id="q_1_1"')


def test_head_on_a_survey_url_is_not_an_error(client):
    assert client.head(counter_path(OPEN_COUNTER_ID)).status_code == 200
