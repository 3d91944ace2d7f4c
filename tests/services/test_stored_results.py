"""Stored results: computed once per (period, settings, data version), never shown as
current when newer data exists, never shown under other settings than those asked."""

import random
import threading

import pandas as pd
import pytest
import sqlalchemy as sa

import analysis
from survey.extensions import db
from survey.idset import pack_ids, unpack_ids
from survey.models import StoredResult, SurveyPeriod, SurveyResponse, User
from survey.services import demo, indices, review, stored_results
from tests.seed import PASSWORD, PERIOD_ID

NONE = indices.Settings(channel="counter")
WIDE = indices.Settings(channel="counter", level=0.9, ci="logit")


@pytest.fixture
def large_app(make_app):
    """An app that treats every period as large: pages never compute in the request."""
    return make_app(RESULTS_SYNC_LIMIT=0, RESULTS_BACKGROUND=False)


@pytest.fixture
def period(large_app):
    with large_app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        demo.add_synthetic_responses(period, 200, random.Random(3))
    return PERIOD_ID


@pytest.fixture
def admin_client(large_app, period):
    client = large_app.test_client()
    client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    return client


def province(results) -> float:
    table = results.table
    row = table[(table["unit"] == analysis.ALL) & (table["indicator"] == "SIPAS")]
    return float(row["estimate"].iloc[0])


def test_id_sets_round_trip():
    ids = [5, 3, 3, 10**12, 7, 1]
    assert unpack_ids(pack_ids(ids)).tolist() == [1, 3, 5, 7, 10**12]
    assert unpack_ids(pack_ids([])).tolist() == []
    with pytest.raises(ValueError, match="not an id set"):
        unpack_ids(b"[1, 2]")


def test_packed_results_keep_every_number(large_app, period):
    with large_app.app_context():
        results = indices.compute(db.session.get(SurveyPeriod, period), NONE)
        back = stored_results.unpack(stored_results.pack(results), results.period)
        pd.testing.assert_frame_equal(back.table, results.table, check_exact=True)
        pd.testing.assert_frame_equal(back.ranks, results.ranks, check_exact=True)
        assert list(back.response_ids) == list(results.response_ids)
        assert back.settings == results.settings
        assert back.integrity == results.integrity
        assert back.weights == results.weights


def test_equal_settings_share_a_key_and_others_do_not():
    assert stored_results.settings_hash(NONE) == stored_results.settings_hash(
        indices.Settings.from_dict(NONE.to_dict())
    )
    assert stored_results.settings_hash(NONE) != stored_results.settings_hash(WIDE)


def test_data_version_moves_with_the_data(large_app, period):
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        first = stored_results.data_version(found)
        assert stored_results.data_version(found) == first
        response = db.session.scalar(
            sa.select(SurveyResponse).filter_by(period_id=period).limit(1)
        )
        review.set_status(response, "excluded", "thử", by=admin)
        excluded = stored_results.data_version(found)
        assert excluded != first
        review.set_status(response, "valid", "khôi phục", by=admin)
        restored = stored_results.data_version(found)
        assert restored not in (first, excluded)
        demo.add_synthetic_responses(found, 1, random.Random(9))
        assert stored_results.data_version(found) != restored


def test_stale_results_are_shown_with_their_time_never_as_current(
    large_app, admin_client, period, monkeypatch
):
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        stored_results.compute_and_store(found, NONE)
        before = province(stored_results.lookup(found, NONE).results)
        demo.add_synthetic_responses(found, 60, random.Random(4), improvement=30)
    calls = []
    monkeypatch.setattr(indices, "compute", lambda *a, **k: calls.append(a))
    page = admin_client.get(f"/admin/periods/{period}/results?channel=counter")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "Đã có dữ liệu mới hơn" in text
    assert "Tính lại với dữ liệu mới" in text
    assert "trên dữ liệu hiện có" not in text
    assert calls == []  # the GET did not recompute
    monkeypatch.undo()
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        assert stored_results.lookup(found, NONE).state == "stale"
    refreshed = admin_client.post(
        f"/admin/periods/{period}/results", data={"channel": "counter", "refresh": "1"}
    )
    text = refreshed.get_data(as_text=True)
    assert "Đã có dữ liệu mới hơn" not in text
    assert "trên dữ liệu hiện có" in text
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        now = stored_results.lookup(found, NONE)
        assert now.state == "current"
        assert province(now.results) != before
        assert province(now.results) == pytest.approx(
            province(indices.compute(found, NONE)), abs=1e-12
        )


def test_other_settings_never_show_stored_numbers(
    large_app, admin_client, period, monkeypatch
):
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        stored = stored_results.compute_and_store(found, NONE)
        shown = f"{province(stored):.1f}"
    started = []
    monkeypatch.setattr(
        stored_results, "refresh", lambda p, s, *rest: started.append(s)
    )
    page = admin_client.get(
        f"/admin/periods/{period}/results?channel=counter&level=0.9&ci=logit"
    )
    text = page.get_data(as_text=True)
    assert started == [WIDE]
    assert "Đang tính kết quả cho thiết lập này" in text
    assert 'http-equiv="refresh"' in text
    assert shown not in text
    assert "SIPAS toàn tỉnh" not in text
    page = admin_client.get(f"/admin/periods/{period}/results?channel=counter")
    assert "SIPAS toàn tỉnh" in page.get_data(as_text=True)


def test_unit_page_reads_the_stored_table(large_app, admin_client, period, monkeypatch):
    with large_app.app_context():
        stored_results.compute_and_store(db.session.get(SurveyPeriod, period), NONE)
    monkeypatch.setattr(indices, "compute", pytest.fail)
    page = admin_client.get(
        f"/admin/periods/{period}/results/units/STP?channel=counter"
    )
    assert page.status_code == 200
    assert "trên dữ liệu hiện có" in page.get_data(as_text=True)


def test_one_computation_holds_the_lock(large_app, period):
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        assert stored_results.claim(found, NONE)
        assert not stored_results.claim(found, NONE)
        assert stored_results.lookup(found, NONE).state == "computing"
        stored_results.compute_and_store(found, NONE)
        assert stored_results.lookup(found, NONE).state == "current"
        assert stored_results.claim(found, NONE)


def test_background_refresh_stores_the_results(make_app):
    app = make_app(RESULTS_SYNC_LIMIT=0, RESULTS_BACKGROUND=True)
    with app.app_context():
        found = db.session.get(SurveyPeriod, PERIOD_ID)
        demo.add_synthetic_responses(found, 80, random.Random(6))
        before = set(threading.enumerate())
        assert stored_results.refresh(found, NONE)
        for thread in set(threading.enumerate()) - before:
            thread.join(timeout=120)
        db.session.expire_all()
        row = db.session.scalar(sa.select(StoredResult))
        assert row.computing_since is None
        assert row.error is None
        assert stored_results.lookup(found, NONE).state == "current"


def test_cli_refreshes_what_is_stale(large_app, period):
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        stored_results.compute_and_store(found, NONE)
        demo.add_synthetic_responses(found, 5, random.Random(2))
    runner = large_app.test_cli_runner()
    result = runner.invoke(args=["refresh-results", str(period)])
    assert result.exit_code == 0, result.output
    assert "1 stored result(s) recomputed" in result.output
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        assert stored_results.lookup(found, NONE).state == "current"


def test_a_failed_background_computation_is_told_in_words(
    large_app, admin_client, period
):
    """A crash in the background thread keeps a marker, read out in the page's language."""
    with large_app.app_context():
        found = db.session.get(SurveyPeriod, period)
        assert stored_results.claim(found, NONE)
        db.session.execute(
            sa.update(StoredResult).values(
                computing_since=None, error=stored_results.INTERNAL_ERROR
            )
        )
        db.session.commit()
    url = f"/admin/periods/{period}/results?channel=counter"
    text = admin_client.get(url).get_data(as_text=True)
    assert "không thành công: lỗi của máy chủ, đã ghi vào nhật ký" in text
    assert "internal error" not in text
    unit = admin_client.get(
        f"/admin/periods/{period}/results/units/STP?channel=counter"
    )
    assert "lỗi của máy chủ" in admin_client.get(unit.location).get_data(as_text=True)
    admin_client.get("/lang/en")
    text = admin_client.get(url).get_data(as_text=True)
    assert "a server error, written to the log" in text
