"""The review queue over HTTP: groups, one decision per group, undo, publication."""

import re

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import (
    AuditEntry,
    FlagDecision,
    FlagGroup,
    PeriodStatus,
    Publication,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from survey.services import indices, publications
from tests.helpers import logged_in
from tests.seed import PERIOD_ID
from tests.services.test_flags import ITEMS, add, at, day_of, history
from tests.services.test_results import add_register

QUEUE = f"/admin/periods/{PERIOD_ID}/flags"


def staff_phone_day(app) -> None:
    """Ordinary history, then one phone answering 5s through a day at Quầy 1."""
    with app.app_context():
        history()
        for hour in (8.1, 8.2, 8.3, 8.4, 8.5, 8.6):
            add(at(day_of(13), hour), device="staff-phone", answers="5" * ITEMS)
        db.session.commit()


def statuses(app) -> dict[str, str]:
    with app.app_context():
        rows = db.session.execute(
            sa.select(SurveyResponse.device_hash, SurveyResponse.status).where(
                SurveyResponse.device_hash == "staff-phone"
            )
        )
        return {status for _, status in rows}


def publish(app, settings: indices.Settings) -> int:
    """Close the seeded period and publish it under these settings, as the admin."""
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        period.status = PeriodStatus.CLOSED.value
        db.session.commit()
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        return publications.publish(period, settings, by=admin).id


def only_group(app) -> int:
    with app.app_context():
        return db.session.scalar(
            sa.select(FlagGroup.id).where(FlagGroup.code == "device-repeat")
        )


def test_queue_groups_one_phone_in_one_sentence(app):
    staff_phone_day(app)
    page = logged_in(app).get(QUEUE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Một điện thoại gửi nhiều lần" in html
    sentence = re.search(
        r"6 phiếu từ một điện thoại tại Quầy 1 \(Sở Tư pháp\)[^<]*", html
    )
    assert sentence, html
    assert "tất cả chọn 5" in sentence.group(0)
    assert html.count('badge flag">Một điện thoại gửi nhiều lần<') == 1


def test_excluding_a_group_excludes_every_response_with_one_reason_and_undo(app):
    staff_phone_day(app)
    client = logged_in(app)
    group_id = (client.get(QUEUE), only_group(app))[1]
    reply = client.post(
        f"/admin/flag-groups/{group_id}/exclude",
        data={"reason": "Điện thoại của quầy tự điền"},
    )
    assert reply.status_code == 302
    assert statuses(app) == {"excluded"}
    with app.app_context():
        decision = db.session.scalars(sa.select(FlagDecision)).one()
        assert decision.action == "exclude"
        assert len(decision.changed_ids) == 6
        audit = db.session.scalars(
            sa.select(AuditEntry).filter_by(action="flags.exclude")
        ).one()
        assert audit.after["responses"] == 6
        reason = db.session.scalar(
            sa.select(SurveyResponse.status_reason).where(
                SurveyResponse.device_hash == "staff-phone"
            )
        )
        assert reason.endswith("Điện thoại của quầy tự điền")
    # Decided groups leave the open queue; undo brings them back.
    assert "Một điện thoại gửi nhiều lần</span>" not in client.get(QUEUE).get_data(
        as_text=True
    )
    undo = client.post(f"/admin/flag-decisions/{decision.id}/undo")
    assert undo.status_code == 302
    assert statuses(app) == {"valid"}
    assert "6 phiếu từ một điện thoại" in client.get(QUEUE).get_data(as_text=True)


def test_clearing_a_group_keeps_the_responses_and_removes_their_flags(app):
    staff_phone_day(app)
    client = logged_in(app)
    client.get(QUEUE)
    group_id = only_group(app)
    client.post(f"/admin/flag-groups/{group_id}/clear", data={"reason": "Một gia đình"})
    with app.app_context():
        flags = db.session.scalars(
            sa.select(SurveyResponse.flags).where(
                SurveyResponse.device_hash == "staff-phone"
            )
        ).all()
    assert statuses(app) == {"valid"}
    assert all("device-repeat" not in f for f in flags)
    # A recomputation keeps the decision: the flags stay cleared.
    client.post(f"/admin/periods/{PERIOD_ID}/flags/recompute")
    with app.app_context():
        again = db.session.scalars(
            sa.select(SurveyResponse.flags).where(
                SurveyResponse.device_hash == "staff-phone"
            )
        ).all()
    assert again == flags


def test_a_decision_needs_a_reason_and_stores_nothing_without_one(app):
    staff_phone_day(app)
    client = logged_in(app)
    client.get(QUEUE)
    group_id = only_group(app)
    reply = client.post(
        f"/admin/flag-groups/{group_id}/exclude",
        data={"reason": ""},
        follow_redirects=True,
    )
    assert "Phải ghi lý do" in reply.get_data(as_text=True)
    assert statuses(app) == {"valid"}


def test_viewer_reads_the_queue_but_cannot_decide(app):
    staff_phone_day(app)
    viewer = logged_in(app, "viewer")
    assert viewer.get(QUEUE).status_code == 200
    group_id = only_group(app)
    assert (
        viewer.post(
            f"/admin/flag-groups/{group_id}/exclude", data={"reason": "x" * 5}
        ).status_code
        == 403
    )
    assert logged_in(app, "head").get(QUEUE).status_code == 403


def test_decisions_are_frozen_once_the_period_is_published(app):
    staff_phone_day(app)
    client = logged_in(app)
    client.get(QUEUE)
    group_id = only_group(app)
    publish(app, indices.Settings())
    reply = client.post(
        f"/admin/flag-groups/{group_id}/exclude",
        data={"reason": "trop tard"},
        follow_redirects=True,
    )
    assert "Đợt đã công bố" in reply.get_data(as_text=True)
    assert statuses(app) == {"valid"}


def test_policy_leaves_out_unreviewed_flags_and_results_show_both_indices(app):
    staff_phone_day(app)
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        everything = indices.compute(period, indices.Settings())
        policy = indices.compute(
            period, indices.Settings(exclude_flags=("device-repeat",))
        )
        assert len(everything.response_ids) - len(policy.response_ids) == 6
        stp = policy.integrity["units"]["STP"]
        assert stp["flagged"] == 6
        assert stp["excluded"] == 6
        assert stp["used"] == stp["received"] - 6
        assert stp["with_flagged"] > stp["without_flagged"]  # the 5s lifted the index
        assert policy.integrity["policy"] == ["device-repeat"]
    page = logged_in(app).get(
        f"/admin/periods/{PERIOD_ID}/results?exclude_flags=device-repeat"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "SIPAS bỏ phiếu cờ" in html
    assert 'value="device-repeat" checked' in html or "checked" in html


def test_publication_states_received_flagged_excluded_used(app, client):
    staff_phone_day(app)
    publication_id = publish(app, indices.Settings(exclude_flags=("device-repeat",)))
    with app.app_context():
        assert publications.verify(db.session.get(Publication, publication_id))
    html = client.get(f"/results/{PERIOD_ID}").get_data(as_text=True)
    assert "Phiếu nhận / gắn cờ / loại / dùng" in html
    assert "Một điện thoại gửi nhiều lần" in html  # the policy, in words
    assert re.search(r"\d+ / 6 / 6 / \d+", html)


@pytest.mark.parametrize("policy", [(), ("device-repeat",)], ids=["none", "policy"])
def test_indices_with_and_without_the_flagged_are_those_of_full_computations(
    app, policy
):
    """The two figures beside each unit (estimates only, weighted as the results are)
    are the overall indices that a whole computation gives on the same responses,
    whether the results beside them leave the flagged out (a policy) or not."""
    staff_phone_day(app)
    with app.app_context():
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        present = indices.response_frame(period)[["unit", "field"]].drop_duplicates()
        add_register(period, {(u, f): 40 + 3 * len(f) for u, f in present.values})
        for weighting in ("none", "volume"):
            every = indices.Settings(weighting=weighting, channel="counter")
            clean = indices.replace(every, exclude_flags=("device-repeat",))
            shown = indices.replace(every, exclude_flags=policy)
            effect = indices.compute(period, shown).integrity["units"]
            for settings, figure in (
                (every, "with_flagged"),
                (clean, "without_flagged"),
            ):
                table = indices.compute(period, settings).table
                overall = table[table["indicator"] == "SIPAS"]
                assert len(overall) > 2
                for unit, estimate in zip(
                    overall["unit"], overall["estimate"], strict=True
                ):
                    assert abs(effect[unit][figure] - estimate) < 1e-12, (unit, figure)
            assert effect["STP"]["with_flagged"] != effect["STP"]["without_flagged"]


def test_counts_per_unit_are_those_of_the_stored_responses(app):
    """Received, flagged, reviewed out and used per unit, as the database counts them,
    with a review's exclusions, flagged responses still in, and a policy."""
    staff_phone_day(app)
    client = logged_in(app)
    group_id = (client.get(QUEUE), only_group(app))[1]
    with app.app_context():  # two of the six flagged answers stay valid and flagged
        kept = db.session.scalars(
            sa.select(SurveyResponse.id)
            .where(SurveyResponse.device_hash == "staff-phone")
            .order_by(SurveyResponse.id)
        ).all()[:2]
    client.post(f"/admin/flag-groups/{group_id}/exclude", data={"reason": "tự điền"})
    with app.app_context():
        db.session.execute(
            sa.update(SurveyResponse)
            .where(SurveyResponse.id.in_(kept))
            .values(status="valid", flags=["device-repeat"])
        )
        db.session.commit()
        period = db.session.get(SurveyPeriod, PERIOD_ID)
        counter = (SurveyResponse.period_id == PERIOD_ID) & (
            SurveyResponse.channel == "counter"
        )
        expected = {}
        for unit, status, flags in db.session.execute(
            sa.select(Unit.code, SurveyResponse.status, SurveyResponse.flags)
            .join(Unit, Unit.id == SurveyResponse.unit_id)
            .where(counter)
        ):
            entry = expected.setdefault(unit, [0, 0, 0])
            entry[0] += 1
            entry[1] += bool(flags)
            entry[2] += status == "excluded"
        assert expected["STP"][1:] == [6, 4]
        for policy in ((), ("device-repeat",)):
            settings = indices.Settings(channel="counter", exclude_flags=policy)
            found = indices.compute(period, settings)
            units = found.integrity["units"]
            used = found.table
            for unit, (received, flagged, reviewed_out) in expected.items():
                entry = units[unit]
                assert (entry["received"], entry["flagged"], entry["reviewed_out"]) == (
                    received,
                    flagged,
                    reviewed_out,
                ), unit
                assert entry["excluded"] == entry["received"] - entry["used"]
            assert units["STP"]["used"] <= expected["STP"][0] - 4
            assert len(used)
        assert indices.compute(period, indices.Settings(channel="counter")).integrity[
            "units"
        ]["STP"]["used"] == (expected["STP"][0] - 4)
