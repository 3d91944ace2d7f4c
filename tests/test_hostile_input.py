"""The 500s found by hand with hostile input: each is now a clear 4xx (issue #9)."""

import io

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import PeriodTarget, SurveyResponse, Unit
from tests.helpers import complete_answers, counter_path, field_name, served_form
from tests.seed import OPEN_COUNTER_ID, PASSWORD, PERIOD_ID

PATH = counter_path(OPEN_COUNTER_ID)
HUGE = "9999999999999999999999999"


@pytest.mark.parametrize(
    "path",
    [
        "/s/zzzzzzzz-abcdefghijkl",  # a counter id beyond any integer column
        f"/results/{HUGE}",
        f"/results/{HUGE}.csv",
        "/results/2147483648",
        "/s/abc%00def-abcdefghijkl",
        "/s/%00",
        "/results/1%00",
    ],
)
def test_anonymous_hostile_paths_are_not_found(client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Không tìm thấy trang" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "path",
    [
        f"/admin/units/{HUGE}/edit",
        f"/admin/units/{2**31}/counters",
        f"/admin/counters/{HUGE}/poster",
        f"/admin/responses/{HUGE}",
        f"/admin/periods/{HUGE}/results",
    ],
)
def test_admin_out_of_range_ids_are_not_found(admin_client, path):
    assert admin_client.get(path).status_code == 404


@pytest.mark.parametrize(
    "query",
    [
        f"/admin/?period_id={HUGE}",
        f"/admin/responses?period_id={HUGE}",
        f"/admin/responses?period_id=1&unit_id={HUGE}",
        f"/admin/responses?period_id=1&counter_id={HUGE}&before={HUGE}",
        "/admin/responses?period_id=1&day_to=9999-12-31",
        "/admin/responses?period_id=1&day_from=0001-01-01&day_to=9999-12-31",
        "/admin/responses?period_id=1&field=%00",
        f"/admin/audit?user_id={HUGE}&before={HUGE}",
        "/admin/audit?action=%00",
        "/admin/periods/1/results?level=abc",
        "/admin/periods/1/results?trim=x",
        "/admin/periods/1/results?trim=nan",
        "/admin/periods/1/results?trim=-1",
        "/admin/periods/1/results?weighting=%00",
        "/admin/periods/1/results/units/STP?period_id=1&period_id=2",
        "/admin/periods/1/results/units/STP?level=abc&trim=x",
        "/admin/periods/1/results/units/%00STP",
        "/admin/periods/1/results/units/" + "X" * 300,
        "/admin/periods/1/targets?moe=1000000000000&deff=1",
        "/admin/periods/1/targets?moe=5&deff=nan",
        "/admin/periods/1/targets?moe=5&deff=-inf",
    ],
)
def test_admin_hostile_query_strings_are_never_a_500(admin_client, query):
    response = admin_client.get(query)
    assert response.status_code < 500, response.get_data(as_text=True)[:500]


def test_out_of_range_targets_are_refused_and_store_nothing(app, admin_client):
    with app.app_context():
        unit_id = db.session.scalar(sa.select(Unit.id).filter_by(code="STP"))
    response = admin_client.post(
        f"/admin/periods/{PERIOD_ID}/targets", data={f"t{unit_id}": HUGE}
    )
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(PeriodTarget.period_id))) == 0


def test_a_long_unit_code_in_a_restructure_is_refused(app, admin_client):
    response = admin_client.post(
        "/admin/units/restructure",
        data={
            "kind": "split",
            "old_codes": "X-HB",
            "new_units": f"{'X' * 40},Xã Một,commune\nX-2,Xã Hai,commune",
            "effective_on": "2030-01-01",
            "confirm": "1",
        },
    )
    assert response.status_code == 422
    assert "32" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Unit).filter_by(code="X-2")) is None


def test_nul_and_controls_in_a_suggestion_are_stripped_before_storage(app, client):
    suggestion = field_name("suggestion")
    data = complete_answers(**{suggestion: "Tốt\x00 lắm\x07\r\nCảm ơn\u202e"})
    response = client.post(PATH, data=data | served_form(client, PATH))
    assert response.status_code == 303
    with app.app_context():
        stored = db.session.scalars(sa.select(SurveyResponse)).one()
        assert stored.extra["suggestion"] == "Tốt lắm\nCảm ơn"


def test_decomposed_vietnamese_is_stored_composed(app, admin_client):
    decomposed = "Xa\u0303 Mo\u0323\u0302t"  # "Xã Một" typed with combining marks
    response = admin_client.post(
        "/admin/units/new",
        data={"code": "X-NFC", "name": decomposed, "level": "commune", "parent_id": 0},
    )
    assert response.status_code == 302
    with app.app_context():
        unit = db.session.scalar(sa.select(Unit).filter_by(code="X-NFC"))
        assert unit.name == "Xã Một"


def test_an_overlong_value_is_a_400(client):
    response = client.get("/results/?q=" + "a" * 20_000)
    assert response.status_code == 400


OFFSITE = [
    "//evil.example",
    "/%09/evil.example",
    "/%0d%0a/evil.example",
    "/%5Cevil.example",
    "/\\evil.example",
    "https://evil.example/",
    "/ /evil.example",
    "%2F%2Fevil.example",
]


@pytest.mark.parametrize("target", OFFSITE)
def test_language_switch_never_leaves_the_site(client, target):
    response = client.get(f"/lang/en?next={target}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/"


@pytest.mark.parametrize("target", [*OFFSITE, "/admin/%0d%0aSet-Cookie:x=1"])
def test_login_never_redirects_off_site(client, target):
    response = client.post(
        f"/auth/login?next={target}",
        data={"username": "admin", "password": PASSWORD},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/"


def test_login_follows_a_local_next(client):
    response = client.post(
        "/auth/login?next=/admin/units?x=1",
        data={"username": "admin", "password": PASSWORD},
    )
    assert response.headers["Location"] == "/admin/units?x=1"


def test_controls_in_csv_cells_never_reach_the_database(app, admin_client):
    text = (
        "code,name,level,parent_code\nA1,Xã A\x07,commune,P\nA2,Xa\u0303 B,commune,P\n"
    )
    response = admin_client.post(
        "/admin/units/import",
        data={"file": (io.BytesIO(text.encode("utf-8")), "units.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    with app.app_context():
        names = dict(db.session.execute(sa.select(Unit.code, Unit.name)).all())
    assert names["A1"] == "Xã A"
    assert names["A2"] == "Xã B"  # composed (NFC)


def test_a_nul_byte_in_a_csv_refuses_the_file_and_names_its_line(app, admin_client):
    # A NUL byte means a damaged or binary file: nothing of it is stored.
    text = "code,name,level,parent_code\nA1,Xã\x00 A,commune,P\n"
    response = admin_client.post(
        "/admin/units/import",
        data={"file": (io.BytesIO(text.encode("utf-8")), "units.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "NUL" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Unit.id).filter_by(code="A1")) is None


def test_nul_in_a_register_cell_is_not_a_500(admin_client):
    text = (
        "dossier_code,unit_code,field,received_on,returned_on,on_time\n"
        "HS\x00-1,STP,ho-tich,2026-03-02,2026-03-03,1\n"
    )
    response = admin_client.post(
        "/admin/register/import",
        data={"file": (io.BytesIO(text.encode("utf-8")), "register.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code in (302, 422)
