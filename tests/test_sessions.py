"""Sessions that end: logout and password change end every copy; idle sessions lapse."""

from datetime import timedelta

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import User
from tests.helpers import logged_in
from tests.seed import PASSWORD

NEW_PASSWORD = "another-password-2"


def session_cookie(client) -> str:
    return client.get_cookie("session", domain="sipas.test").value


def replay(app, cookie: str):
    """A client that only holds a saved copy of a session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", cookie, domain="sipas.test")
    return thief


def test_a_saved_cookie_is_useless_after_logout(app):
    client = logged_in(app)
    saved = session_cookie(client)
    assert replay(app, saved).get("/admin/units").status_code == 200
    client.post("/auth/logout")
    response = replay(app, saved).get("/admin/units")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_password_change_ends_every_other_session(app):
    here, elsewhere = logged_in(app), logged_in(app)
    response = here.post(
        "/auth/password",
        data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert here.get("/admin/units").status_code == 200  # the changer stays in
    assert elsewhere.get("/admin/units").status_code == 302
    fresh = app.test_client()
    old = fresh.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    assert old.status_code == 401
    new = fresh.post(
        "/auth/login", data={"username": "admin", "password": NEW_PASSWORD}
    )
    assert new.status_code == 302


def test_password_change_needs_the_current_password(app):
    client = logged_in(app)
    response = client.post(
        "/auth/password",
        data={
            "current": "wrong-password",
            "new": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert response.status_code == 422
    assert "Mật khẩu hiện tại không đúng" in response.get_data(as_text=True)
    mismatch = client.post(
        "/auth/password",
        data={"current": PASSWORD, "new": NEW_PASSWORD, "confirm": "different-one-3"},
    )
    assert mismatch.status_code == 422
    with app.app_context():
        user = db.session.scalar(sa.select(User).filter_by(username="admin"))
        assert user.session_version == 0


def test_an_idle_session_lapses_and_activity_keeps_it(app):
    start = clock.now()
    with clock.travel(start):
        client = logged_in(app)
    for minutes in (20, 40, 60):  # each visit within 30 minutes of the last
        with clock.travel(start + timedelta(minutes=minutes)):
            assert client.get("/admin/units").status_code == 200
    with clock.travel(start + timedelta(minutes=60 + 31)):
        response = client.get("/admin/units")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/auth/login")


def test_login_starts_a_new_session(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
    logged = client.post(
        "/auth/login", data={"username": "admin", "password": PASSWORD}
    )
    assert logged.status_code == 302
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session["user_id"] == 1


def test_a_forged_user_id_type_is_ignored(app):
    client = app.test_client()
    with client.session_transaction() as session:
        session["user_id"] = "1"
        session["version"] = 0
    assert client.get("/admin/units").status_code == 302


def test_a_password_set_in_decomposed_form_works_at_the_login_page(app):
    decomposed = (
        "ma\u0323\u0302t-kha\u0302\u0309u-1"  # "mật-khẩu-1" with combining marks
    )
    with app.app_context():
        from survey.services import accounts

        accounts.create_user("nfd", decomposed, "viewer")
    response = app.test_client().post(
        "/auth/login", data={"username": "nfd", "password": decomposed}
    )
    assert response.status_code == 302
