"""Actions that cannot be taken back, or that break printed posters, ask first; undo where
possible; no two open periods take the same channel on the same day."""

from datetime import date, timedelta

import pytest

from survey import clock
from survey.extensions import db
from survey.models import Counter, SurveyPeriod, Unit
from survey.services import periods
from survey.services.questionnaires import get_questionnaire
from tests.helpers import counter_path
from tests.seed import OPEN_COUNTER_ID, PERIOD_ID


def period_status(app, period_id: int = PERIOD_ID) -> str:
    with app.app_context():
        return db.session.get(SurveyPeriod, period_id).status


@pytest.mark.parametrize(
    ("url", "consequence"),
    [
        (f"/admin/periods/{PERIOD_ID}/close", "không nhận thêm phiếu"),
        (f"/admin/counters/{OPEN_COUNTER_ID}/rotate", "không dùng được nữa"),
        ("/admin/units/2/deactivate", "không còn nhận phiếu"),
        (f"/admin/periods/{PERIOD_ID}/publish", "Bản công bố là cố định"),
    ],
)
def test_first_post_only_asks_and_says_the_consequence(
    app, admin_client, url, consequence
):
    before = counter_path(OPEN_COUNTER_ID)
    page = admin_client.post(url, data={"weighting": "none"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert consequence in html
    assert 'name="confirm" value="1" required' in html
    assert "Tôi hiểu" in html
    assert '<input type="hidden" name="weighting" value="none">' in html  # carried
    # nothing happened
    assert period_status(app) == "open"
    assert admin_client.get(before).status_code == 200
    with app.app_context():
        assert db.session.get(Unit, 2).valid_to is None


def test_publish_says_it_is_final(admin_client):
    html = admin_client.post(f"/admin/periods/{PERIOD_ID}/publish").get_data(
        as_text=True
    )
    assert "Không thể hoàn tác thao tác này." in html


def test_close_then_reopen_until_published(app, admin_client):
    url = f"/admin/periods/{PERIOD_ID}"
    assert admin_client.post(url + "/close", data={"confirm": "1"}).status_code == 302
    assert period_status(app) == "closed"
    listing = admin_client.get("/admin/periods").get_data(as_text=True)
    assert f"{url}/reopen" in listing
    asked = admin_client.post(url + "/reopen").get_data(as_text=True)
    assert "nhận phiếu trở lại" in asked
    assert period_status(app) == "closed"
    assert admin_client.post(url + "/reopen", data={"confirm": "1"}).status_code == 302
    assert period_status(app) == "open"


def test_a_published_period_cannot_be_reopened(app, admin_client):
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        periods.close_period(period)
    from survey.services import demo

    with app.app_context():
        import random

        demo.add_synthetic_responses(
            db.session.get(SurveyPeriod, PERIOD_ID), 30, random.Random(3)
        )
    published = admin_client.post(
        f"/admin/periods/{PERIOD_ID}/publish",
        data={
            "weighting": "none",
            "ci": "korn-graubard",
            "level": "0.95",
            "confirm": "1",
        },
    )
    assert published.status_code == 302
    listing = admin_client.get("/admin/periods").get_data(as_text=True)
    assert f"/admin/periods/{PERIOD_ID}/reopen" not in listing
    refused = admin_client.post(
        f"/admin/periods/{PERIOD_ID}/reopen", data={"confirm": "1"}
    )
    assert refused.status_code == 409
    assert "Đợt đã công bố không mở lại được" in refused.get_data(as_text=True)
    assert period_status(app) == "closed"


def test_rotation_can_be_undone_within_the_window(app, admin_client):
    old = counter_path(OPEN_COUNTER_ID)
    rotate = f"/admin/counters/{OPEN_COUNTER_ID}/rotate"
    assert admin_client.post(rotate, data={"confirm": "1"}).status_code == 302
    assert admin_client.get(old).status_code == 404
    listing = admin_client.get("/admin/units/2/counters").get_data(as_text=True)
    assert "Khôi phục mã QR cũ" in listing
    restored = admin_client.post(f"/admin/counters/{OPEN_COUNTER_ID}/restore")
    assert restored.status_code == 302
    assert admin_client.get(old).status_code == 200  # the printed posters work again
    again = admin_client.post(f"/admin/counters/{OPEN_COUNTER_ID}/restore")
    assert again.status_code == 400  # nothing left to undo


def test_rotation_cannot_be_undone_after_the_window(app, admin_client):
    rotate = f"/admin/counters/{OPEN_COUNTER_ID}/rotate"
    admin_client.post(rotate, data={"confirm": "1"})
    with app.app_context():  # the rotation was 25 hours ago
        counter = db.session.get(Counter, OPEN_COUNTER_ID)
        counter.token_rotated_at = clock.now() - timedelta(hours=25)
        db.session.commit()
    listing = admin_client.get("/admin/units/2/counters").get_data(as_text=True)
    assert "Khôi phục mã QR cũ" not in listing
    late = admin_client.post(f"/admin/counters/{OPEN_COUNTER_ID}/restore")
    assert late.status_code == 400
    assert "24 giờ" in late.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Counter, OPEN_COUNTER_ID).token_nonce != "seed-nonce-1"


def test_deactivate_then_reactivate_a_unit(app, admin_client):
    assert (
        admin_client.post(
            "/admin/units/3/deactivate", data={"confirm": "1"}
        ).status_code
        == 302
    )
    with app.app_context():
        assert db.session.get(Unit, 3).valid_to == clock.today()
    listing = admin_client.get("/admin/units").get_data(as_text=True)
    assert "/admin/units/3/reactivate" in listing
    assert admin_client.post("/admin/units/3/reactivate").status_code == 302
    with app.app_context():
        assert db.session.get(Unit, 3).valid_to is None


def test_restructure_asks_before_merging(app, admin_client):
    data = {
        "kind": "merge",
        "old_codes": "STP,X-HB",
        "new_units": "M1,Đơn vị hợp nhất,department",
        "effective_on": (clock.today() + timedelta(days=1)).isoformat(),
    }
    asked = admin_client.post("/admin/units/restructure", data=data)
    assert asked.status_code == 200
    assert "STP,X-HB kết thúc" in asked.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(db.select(Unit).filter_by(code="M1")) is None
    done = admin_client.post("/admin/units/restructure", data=data | {"confirm": "1"})
    assert done.status_code == 302
    with app.app_context():
        assert db.session.scalar(db.select(Unit).filter_by(code="M1")) is not None


def new_period(name: str, starts: date, ends: date, channels=("counter",)):
    return periods.create_period(
        name, starts, ends, get_questionnaire("sipas-2640"), channels
    )


def test_overlapping_open_periods_of_one_channel_are_refused(app, admin_client):
    today = clock.today()
    with app.app_context():
        clash = new_period("Trùng", today, today + timedelta(days=60)).id
        sample_only = new_period(
            "Chỉ mẫu", today, today + timedelta(days=60), ("sample",)
        ).id
        later = new_period(
            "Sau", today + timedelta(days=31), today + timedelta(days=90)
        ).id
    refused = admin_client.post(f"/admin/periods/{clash}/open", data={"confirm": "1"})
    assert refused.status_code == 409
    html = refused.get_data(as_text=True)
    assert "Đợt thử đang mở cho cùng kênh và trùng thời gian" in html
    assert period_status(app, clash) == "draft"
    # the seeded open period takes both channels: a sample-only period clashes too
    assert (
        admin_client.post(
            f"/admin/periods/{sample_only}/open", data={"confirm": "1"}
        ).status_code
        == 409
    )
    # a period that starts after the open one ends is fine
    assert (
        admin_client.post(
            f"/admin/periods/{later}/open", data={"confirm": "1"}
        ).status_code
        == 302
    )
    assert period_status(app, later) == "open"


def test_overlap_rule_in_english(app, admin_client):
    today = clock.today()
    with app.app_context():
        clash = new_period("Overlap", today, today + timedelta(days=10)).id
    admin_client.get("/lang/en")
    html = admin_client.post(
        f"/admin/periods/{clash}/open", data={"confirm": "1"}
    ).get_data(as_text=True)
    assert "is open for the same channel" in html
