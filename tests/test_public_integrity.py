"""One citizen, one response per visit; what a script pays at the door."""

import ipaddress
import uuid
from datetime import timedelta

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import SurveyResponse
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID, OTHER_COUNTER_ID

PATH = counter_path(OPEN_COUNTER_ID)


def stored(app) -> list[SurveyResponse]:
    with app.app_context():
        rows = db.session.scalars(sa.select(SurveyResponse).order_by(SurveyResponse.id))
        return [(r.declared_repeat, r.device_hash) for r in rows]


def test_after_answering_the_form_page_says_already_answered(app, client):
    first = served_form(client, PATH)
    assert client.post(PATH, data=complete_answers() | first).status_code == 303
    again = client.get(PATH)  # Back: the browser fetches the page again
    html = again.get_data(as_text=True)
    assert again.status_code == 200
    assert "Ông/Bà đã đánh giá rồi" in html
    assert 'name="k"' not in html
    assert PATH + "?khac=1" in html
    assert again.headers["Cache-Control"] == "no-store"
    assert len(stored(app)) == 1


def test_a_form_served_before_the_answer_is_not_stored_again(app, client):
    second_tab = served_form(client, PATH)
    client.post(PATH, data=complete_answers() | served_form(client, PATH))
    reply = client.post(PATH, data=complete_answers("5") | second_tab)
    assert reply.status_code == 409
    assert "Ông/Bà đã đánh giá rồi" in reply.get_data(as_text=True)
    assert len(stored(app)) == 1


def test_another_dossier_is_stored_as_a_declared_repeat(app, client):
    client.post(PATH, data=complete_answers() | served_form(client, PATH))
    form = served_form(client, PATH + "?khac=1")
    assert "k" in form
    assert client.post(PATH, data=complete_answers("5") | form).status_code == 303
    rows = stored(app)
    assert [repeat for repeat, _ in rows] == [False, True]
    assert rows[0][1] == rows[1][1]  # the same phone


def test_the_same_phone_at_another_unit_gets_the_form(app, client):
    client.post(PATH, data=complete_answers() | served_form(client, PATH))
    other = counter_path(OTHER_COUNTER_ID)
    assert "k" in served_form(client, other)


def test_a_refreshed_thank_you_page_stores_nothing(app, client):
    done = client.post(PATH, data=complete_answers() | served_form(client, PATH))
    for _ in range(3):
        assert "Cảm ơn" in client.get(done.headers["Location"]).get_data(as_text=True)
    assert len(stored(app)) == 1


def test_a_key_only_works_from_the_phone_it_was_served_to(app, client):
    form = served_form(client, PATH)
    other_phone = app.test_client()
    other_phone.get(PATH)  # it has a device cookie of its own
    reply = other_phone.post(PATH, data=complete_answers() | form)
    assert reply.status_code == 400
    assert "thiết bị khác" in reply.get_data(as_text=True)
    no_cookie = app.test_client()
    assert no_cookie.post(PATH, data=complete_answers() | form).status_code == 400
    assert stored(app) == []


def test_a_form_posted_at_once_is_sent_back_with_its_answers(make_app):
    app = make_app(SUBMIT_MIN_SECONDS=10)
    client = app.test_client()
    start = clock.now()
    with clock.travel(start):
        form = served_form(client, PATH)
    with clock.travel(start + timedelta(seconds=3)):
        early = client.post(PATH, data=complete_answers("5") | form)
    html = early.get_data(as_text=True)
    assert early.status_code == 429
    assert 7 <= int(early.headers["Retry-After"]) <= 8
    assert "quá nhanh" in html
    assert 'value="5" checked' in html  # the answers are kept
    assert stored(app) == []
    with clock.travel(start + timedelta(seconds=40)):
        assert client.post(PATH, data=complete_answers("5") | form).status_code == 303
    assert len(stored(app)) == 1


def test_submission_time_flags_are_raised_at_once(make_app):
    app = make_app(SUBMIT_MIN_SECONDS=10)
    client = app.test_client()
    start = clock.now().replace(hour=3)  # 10:00 in Vietnam... on any weekday
    while clock.local(start).weekday() >= 5:
        start += timedelta(days=1)
    with clock.travel(start):
        form = served_form(client, PATH)
    with clock.travel(start + timedelta(seconds=12)):
        assert client.post(PATH, data=complete_answers() | form).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(SurveyResponse.flags)) == ["fast"]


def door_app(make_app, **limits):
    return make_app(RATELIMIT_ENABLED=True, **limits)


def unique_address() -> str:
    """A network of this test alone (a Redis may be shared with other runs)."""
    return str(ipaddress.IPv6Address(uuid.uuid4().int))


def test_one_phone_is_limited_per_device(make_app):
    app = door_app(make_app, SUBMIT_DEVICE_LIMIT="2 per day")
    phone = app.test_client()
    codes = []
    for _ in range(3):
        codes.append(
            phone.post(
                PATH, data=complete_answers() | served_form(phone, PATH + "?khac=1")
            ).status_code
        )
    assert codes == [303, 303, 429]
    assert len(stored(app)) == 2


def test_one_counter_is_limited_whatever_the_address(make_app):
    app = door_app(make_app, SUBMIT_COUNTER_LIMIT="3 per 10 minutes")
    codes = []
    for _ in range(4):
        phone, address = app.test_client(), unique_address()
        form = served_form(phone, PATH)
        codes.append(
            phone.post(
                PATH,
                data=complete_answers() | form,
                environ_base={"REMOTE_ADDR": address},
            ).status_code
        )
    assert codes == [303, 303, 303, 429]
    # Another counter is not affected.
    other = counter_path(OTHER_COUNTER_ID)
    phone = app.test_client()
    assert (
        phone.post(
            other, data=complete_answers() | served_form(phone, other)
        ).status_code
        == 303
    )


def test_a_network_that_keeps_tripping_the_limits_is_shut_out(make_app):
    app = door_app(
        make_app, FORM_NETWORK_LIMIT="2 per minute", DOOR_ESCALATION="2 per 10 minutes"
    )
    address = unique_address()

    def fetch():
        return app.test_client().get(PATH, environ_base={"REMOTE_ADDR": address})

    codes = [fetch().status_code for _ in range(4)]
    assert codes == [200, 200, 429, 429]
    # Two refusals: the network is shut out for the escalation window, not a minute.
    shut = fetch()
    assert shut.status_code == 429
    assert 60 < int(shut.headers["Retry-After"]) <= 600
    # A citizen on another network is not affected.
    other = app.test_client().get(PATH, environ_base={"REMOTE_ADDR": unique_address()})
    assert other.status_code == 200
