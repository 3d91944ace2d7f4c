"""The analyst's work over HTTP: login, units, counters, periods, register, review, audit."""

import io
import random
from datetime import timedelta

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    AuditEntry,
    Counter,
    Dossier,
    PeriodTarget,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from survey.services import demo, indices, publications
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID


def audit_actions(app) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(sa.select(AuditEntry.action).order_by(AuditEntry.id))
        )


def upload(client, url, text: str, name: str = "file.csv"):
    data = {"file": (io.BytesIO(text.encode("utf-8")), name)}
    return client.post(url, data=data, content_type="multipart/form-data")


def test_login_logout_and_wrong_password(client, auth):
    assert auth.login(password="wrong-password").status_code == 401
    response = auth.login()
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    auth.logout()
    assert client.get("/admin/").status_code == 302


def test_login_does_not_redirect_off_site(client):
    response = client.post(
        "/auth/login?next=//evil.example/x",
        data={"username": "admin", "password": "test-password-1"},
    )
    assert response.headers["Location"] == "/admin/"


def test_login_attempts_are_rate_limited(make_app):
    app = make_app(RATELIMIT_ENABLED=True, LOGIN_RATE_LIMIT="3 per minute")
    client = app.test_client()
    codes = [
        client.post(
            "/auth/login", data={"username": "admin", "password": "x"}
        ).status_code
        for _ in range(4)
    ]
    assert codes == [401, 401, 401, 429]


def test_session_cookie_is_httponly_and_samesite(client, auth):
    cookie = auth.login().headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie


def test_unit_crud_and_csv_import_with_report(app, admin_client):
    response = admin_client.post(
        "/admin/units/new",
        data={
            "code": "SYT",
            "name": "Sở Y tế",
            "level": "department",
            "parent_id": "1",
        },
    )
    assert response.status_code == 302
    clash = admin_client.post(
        "/admin/units/new",
        data={"code": "SYT", "name": "Trùng", "level": "department", "parent_id": "1"},
    )
    assert clash.status_code == 422
    assert "đã được dùng" in clash.get_data(as_text=True)
    bad = upload(
        admin_client,
        "/admin/units/import",
        "code,name,level,parent_code\nA1,Xã A,commune,P\nA2,,commune,P\n",
    )
    assert bad.status_code == 422
    assert "thiếu tên đơn vị" in bad.get_data(as_text=True)
    good = upload(
        admin_client,
        "/admin/units/import",
        "code,name,level,parent_code\nA1,Xã A,commune,P\nA2,Xã B,commune,P\n",
    )
    assert good.status_code == 302
    export = admin_client.get("/admin/units/export.csv").get_data(as_text=True)
    assert "A2,Xã B,commune,P" in export
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Unit.id))) == 6
    assert {"unit.create", "unit.import"} <= set(audit_actions(app))


def test_merge_units_keeps_history(app, admin_client):
    upload(
        admin_client,
        "/admin/units/import",
        "code,name,level,parent_code\nA1,Xã A,commune,P\nA2,Xã B,commune,P\n",
    )
    response = admin_client.post(
        "/admin/units/restructure",
        data={
            "kind": "merge",
            "old_codes": "A1, A2",
            "new_units": "AB,Xã A Bình,commune",
            "effective_on": "2027-01-01",
            "confirm": "1",
        },
    )
    assert response.status_code == 302
    with app.app_context():
        old = db.session.scalar(sa.select(Unit).filter_by(code="A1"))
        new = db.session.scalar(sa.select(Unit).filter_by(code="AB"))
        assert str(old.valid_to) == "2026-12-31"
        assert str(new.valid_from) == "2027-01-01"
        assert new.parent.code == "P"


def test_counter_create_rename_rotate(app, admin_client):
    assert (
        admin_client.post(
            "/admin/units/2/counters", data={"name": "Quầy 7"}
        ).status_code
        == 302
    )
    assert (
        admin_client.post("/admin/units/2/counters", data={"name": ""}).status_code
        == 422
    )
    admin_client.post(
        f"/admin/counters/{OPEN_COUNTER_ID}/rename", data={"name": "Quầy một"}
    )
    old_path = counter_path(OPEN_COUNTER_ID)
    admin_client.post(
        f"/admin/counters/{OPEN_COUNTER_ID}/rotate", data={"confirm": "1"}
    )
    assert admin_client.get(old_path).status_code == 404
    with app.app_context():
        assert db.session.get(Counter, OPEN_COUNTER_ID).name == "Quầy một"
    posters = admin_client.get("/admin/units/2/posters").get_data(as_text=True)
    assert posters.count('class="poster"') == 2  # the active counters of Sở Tư pháp
    assert {"counter.create", "counter.rename", "counter.rotate_token"} <= set(
        audit_actions(app)
    )


def test_period_lifecycle_and_closed_period_takes_no_response(app, admin_client):
    response = admin_client.post(
        "/admin/periods/new",
        data={
            "name": "Năm 2027",
            "starts_on": "2027-01-01",
            "ends_on": "2026-12-31",
            "questionnaire_id": "1",
            "channels": ["counter"],
        },
    )
    assert response.status_code == 422
    assert (
        admin_client.post(
            f"/admin/periods/{PERIOD_ID}/close", data={"confirm": "1"}
        ).status_code
        == 302
    )
    path = counter_path(OPEN_COUNTER_ID)
    assert "chưa có đợt khảo sát" in admin_client.get(path).get_data(as_text=True)
    assert {"period.close"} <= set(audit_actions(app))


REGISTER = """dossier_code,unit_code,field,received_on,returned_on,on_time
H1,STP,ho-tich,{d},{d},1
H2,STP,ho-tich,{d},{d},đúng hạn
H3,X-HB,dat-dai,{d},,0
"""


def test_register_import_and_targets_from_the_plan(app, admin_client):
    with app.app_context():
        day = db.session.get(SurveyPeriod, PERIOD_ID).starts_on.isoformat()
    bad = upload(
        admin_client,
        "/admin/register/import",
        REGISTER.format(d=day)
        + "H1,STP,ho-tich,2026-13-01,,1\nH9,NOPE,x,2026-01-01,,maybe\n",
    )
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "mã hồ sơ trùng với dòng 2" in text
    assert "không có đơn vị mang mã NOPE" in text
    assert admin_client.post("/admin/register/import", data={}).status_code == 422
    good = upload(admin_client, "/admin/register/import", REGISTER.format(d=day))
    assert good.status_code == 302
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Dossier.id))) == 3
    page = admin_client.get(f"/admin/periods/{PERIOD_ID}/targets?moe=5&deff=1.5")
    assert page.status_code == 200
    assert (
        admin_client.post(
            f"/admin/periods/{PERIOD_ID}/targets", data={"t2": "2"}
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.scalar(sa.select(PeriodTarget.target)) == 2
    dashboard = admin_client.get(f"/admin/?period_id={PERIOD_ID}").get_data(
        as_text=True
    )
    assert "Sở Tư pháp" in dashboard
    assert '<img class="chart"' in dashboard


def test_exclude_needs_a_reason_and_is_audited(app, client, admin_client):
    path = counter_path(OPEN_COUNTER_ID)
    client.post(path, data=complete_answers() | served_form(client, path))
    assert (
        admin_client.post("/admin/responses/1/exclude", data={"reason": ""}).status_code
        == 422
    )
    assert (
        admin_client.post(
            "/admin/responses/1/exclude", data={"reason": "trùng thiết bị"}
        ).status_code
        == 302
    )
    detail = admin_client.get("/admin/responses/1").get_data(as_text=True)
    assert "trùng thiết bị" in detail
    listing = admin_client.get(
        f"/admin/responses?period_id={PERIOD_ID}&status=excluded"
    )
    assert "/admin/responses/1" in listing.get_data(as_text=True)
    assert (
        admin_client.post(
            "/admin/responses/1/restore", data={"reason": "kiểm tra lại, hợp lệ"}
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(SurveyResponse, 1).status == "valid"
    audit_page = admin_client.get("/admin/audit?action=response").get_data(as_text=True)
    assert "response.exclude" in audit_page
    assert "response.restore" in audit_page


@pytest.mark.parametrize(
    "path", ["/admin/responses?day_from=nope", "/admin/responses?before=x"]
)
def test_bad_filters_are_4xx_or_ignored(admin_client, path):
    assert admin_client.get(path).status_code in (200, 400)


def test_results_page_computes_and_publish_flow(app, client, admin_client):
    path = counter_path(OPEN_COUNTER_ID)
    for _ in range(3):
        client.post(path, data=complete_answers() | served_form(client, path))
    page = admin_client.get(f"/admin/periods/{PERIOD_ID}/results")
    assert page.status_code == 200
    assert "Sở Tư pháp" in page.get_data(as_text=True)
    assert (
        admin_client.post(
            f"/admin/periods/{PERIOD_ID}/publish",
            data={
                "weighting": "none",
                "ci": "korn-graubard",
                "level": "0.95",
                "confirm": "1",
            },
        ).status_code
        == 302
    )
    assert (
        client.get(f"/results/{PERIOD_ID}").status_code == 404
    )  # open periods are not published
    admin_client.post(f"/admin/periods/{PERIOD_ID}/close", data={"confirm": "1"})
    published = admin_client.post(
        f"/admin/periods/{PERIOD_ID}/publish",
        data={
            "weighting": "none",
            "ci": "korn-graubard",
            "level": "0.95",
            "confirm": "1",
        },
    )
    assert published.headers["Location"] == f"/results/{PERIOD_ID}"
    assert client.get(f"/results/{PERIOD_ID}").status_code == 200
    assert "period.publish" in audit_actions(app)


def test_results_table_sorts_and_unit_page_shows_the_published_trend(app, admin_client):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        demo.add_synthetic_responses(period, 120, random.Random(8))
        earlier = SurveyPeriod(
            name="Kỳ trước",
            starts_on=period.starts_on - timedelta(days=90),
            ends_on=period.starts_on - timedelta(days=1),
            questionnaire=period.questionnaire,
            status="closed",
        )
        db.session.add(earlier)
        db.session.commit()
        demo.add_synthetic_responses(earlier, 120, random.Random(9))
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        publications.publish(earlier, indices.Settings(), by=admin)
    by_name = admin_client.get(f"/admin/periods/{PERIOD_ID}/results?sort=name")
    text = by_name.get_data(as_text=True)
    assert text.index("Sở Tư pháp") < text.index("Xã Hòa Bình")
    by_n = admin_client.get(f"/admin/periods/{PERIOD_ID}/results?sort=n").get_data(
        as_text=True
    )
    assert 'aria-current="true">n ▾' in by_n
    unit = admin_client.get(f"/admin/periods/{PERIOD_ID}/results/units/STP")
    page = unit.get_data(as_text=True)
    assert unit.status_code == 200
    assert "Xu hướng SIPAS" in page
    assert page.count('<img class="chart"') == 2


def test_audit_log_filters_by_person(app, admin_client):
    admin_client.post(
        "/admin/units/new",
        data={
            "code": "SYT",
            "name": "Sở Y tế",
            "level": "department",
            "parent_id": "1",
        },
    )
    with app.app_context():
        viewer = db.session.scalar(sa.select(User.id).filter_by(username="viewer"))
        admin = db.session.scalar(sa.select(User.id).filter_by(username="admin"))
    mine = admin_client.get(f"/admin/audit?user_id={admin}").get_data(as_text=True)
    theirs = admin_client.get(f"/admin/audit?user_id={viewer}").get_data(as_text=True)
    assert "admin thêm đơn vị Sở Y tế lúc" in mine
    assert "thêm đơn vị Sở Y tế" not in theirs


def test_cookies_are_secure_when_served_over_https(make_app):
    app = make_app(PUBLIC_BASE_URL="https://khaosat.example.gov.vn")
    response = app.test_client().post(
        "/auth/login", data={"username": "admin", "password": "test-password-1"}
    )
    assert "Secure" in response.headers["Set-Cookie"]


def test_unit_opening_hours_are_data_checked_when_saved(app, admin_client):
    from survey.models import Unit

    with app.app_context():
        unit = db.session.scalar(sa.select(Unit).filter_by(code="X-HB"))
        data = {
            "code": unit.code,
            "name": unit.name,
            "level": unit.level,
            "parent_id": unit.parent_id,
        }
        unit_id = unit.id
    bad = admin_client.post(
        f"/admin/units/{unit_id}/edit", data=data | {"opening_hours": "T2-T9 8-17"}
    )
    assert bad.status_code == 422
    assert "Không đọc được" in bad.get_data(as_text=True)
    good = admin_client.post(
        f"/admin/units/{unit_id}/edit",
        data=data | {"opening_hours": "T2-T7 07:00-11:30, 13:30-17:00"},
    )
    assert good.status_code == 302
    with app.app_context():
        unit = db.session.get(Unit, unit_id)
        assert unit.opening_hours == "T2-T7 07:00-11:30, 13:30-17:00"
