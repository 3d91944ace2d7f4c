"""The responses browser speaks in words: names of units, counters, fields, channels and
answers; a citizen's comment is shown as its text, wrapped."""

import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyResponse, User
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID

COMMENT = "Cán bộ nhiệt tình 👍 <b>cảm ơn</b>"


def answer(app, client, suggestion: str = COMMENT) -> int:
    path = counter_path(OPEN_COUNTER_ID)
    data = complete_answers(
        q_late="late-no-apology", q_harassment="none", q_suggestion=suggestion
    )
    client.post(path, data=data | served_form(client, path))
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.max(SurveyResponse.id)))


def test_list_names_units_counters_fields_and_channels(app, client, admin_client):
    answer(app, client)
    html = admin_client.get(f"/admin/responses?period_id={PERIOD_ID}").get_data(
        as_text=True
    )
    row = html[html.index("<tbody>") :]
    assert (
        "<td>Sở Tư pháp</td><td>Quầy 1</td><td>Hộ tịch</td><td>QR tại quầy</td>" in row
    )


def test_detail_shows_answers_in_words_and_the_comment_as_text(
    app, client, admin_client
):
    response_id = answer(app, client)
    html = admin_client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    assert "Sở Tư pháp / Quầy 1" in html
    assert "Trễ hẹn, không được thông báo, xin lỗi" in html
    assert "late-no-apology" not in html
    assert "Không gặp" in html
    assert "E3" not in html.split("Câu hỏi khác")[1]
    assert (
        '<dd class="comment">Cán bộ nhiệt tình 👍 &lt;b&gt;cảm ơn&lt;/b&gt;</dd>'
        in html
    )
    assert "\\u" not in html  # no escaped JSON


def test_excluding_in_a_published_period_says_the_publication_stays(
    app, client, admin_client
):
    response_id = answer(app, client)
    with app.app_context():
        from survey.models import SurveyPeriod
        from survey.services import indices, periods, publications

        period = db.session.get(SurveyPeriod, PERIOD_ID)
        periods.close_period(period)
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        publications.publish(period, indices.Settings(), by=admin)
    html = admin_client.get(f"/admin/responses/{response_id}").get_data(as_text=True)
    assert "không làm thay đổi bản công bố" in html
    done = admin_client.post(
        f"/admin/responses/{response_id}/exclude",
        data={"reason": "trùng thiết bị"},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "bản công bố không thay đổi" in done
