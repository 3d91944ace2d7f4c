"""Invitation codes and answering an invitation exactly once (SQLite and PostgreSQL)."""

import itertools
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from survey import clock, invitation_codes
from survey.extensions import db
from survey.models import AuditEntry, Invitation, InvitationBatch, SurveyResponse
from survey.services import invitations, sampling
from survey.services.responses import (
    ClientSignals,
    InvalidAnswers,
    InvalidSubmission,
    Submission,
)
from tests.helpers import DEFINITION
from tests.sample_data import answer, codes, drawn_period

ALPHABET = invitation_codes.ALPHABET


# --------------------------------------------------------------------------------------
# the code format


def test_new_codes_are_valid_random_and_unambiguous():
    made = {invitation_codes.new_code() for _ in range(2000)}
    assert len(made) == 2000
    assert all(len(c) == 11 and invitation_codes.is_valid(c) for c in made)
    assert not set("".join(made)) & set("ILOU")


def test_check_character_catches_every_single_typo_and_neighbour_swap():
    for _ in range(40):
        code = invitation_codes.new_code()
        for position, wrong in itertools.product(range(len(code)), ALPHABET):
            if wrong != code[position]:
                typo = code[:position] + wrong + code[position + 1 :]
                assert not invitation_codes.is_valid(typo), (code, typo)
        for position in range(len(code) - 1):
            a, b = code[position], code[position + 1]
            swapped = code[:position] + b + a + code[position + 2 :]
            # Luhn mod 32 misses only "0Z" <-> "Z0", as Luhn misses "09" <-> "90"
            if a != b and {a, b} != {"0", "Z"}:
                assert not invitation_codes.is_valid(swapped), (code, swapped)


def test_typed_codes_are_read_forgivingly():
    code = invitation_codes.new_code()
    shown = invitation_codes.display(code)
    assert shown.count("-") == 2
    assert invitation_codes.normalize(f"  {shown.lower()} ") == code
    assert invitation_codes.normalize(" ".join(code)) == code
    assert invitation_codes.normalize("O1IL" + code[4:]) == "0111" + code[4:]
    assert invitation_codes.normalize(code + "X") is None
    assert invitation_codes.normalize("ÁBC") is None


# --------------------------------------------------------------------------------------
# finding and answering


@pytest.fixture
def period(app_ctx):
    return drawn_period()


def test_find_returns_the_stratum_of_the_drawn_dossier(period):
    invitation = db.session.scalars(sa.select(Invitation).limit(1)).one()
    found = invitations.find(invitation_codes.display(invitation.code).lower())
    assert (found.id, found.unit_id, found.field) == (
        invitation.id,
        invitation.unit_id,
        invitation.field,
    )
    assert found.period.id == period.id


def test_mistyped_and_unknown_codes_fail_differently(period):
    code = codes(period)[0]
    wrong = code[:3] + ("X" if code[3] != "X" else "Y") + code[4:]
    with pytest.raises(invitations.CodeMistyped, match="kiểm tra lại"):
        invitations.find(wrong)
    payload = "ZZZZZZZZZZ"
    with pytest.raises(invitations.CodeUnknown):
        invitations.find(payload + invitation_codes.check_character(payload))
    with pytest.raises(invitations.CodeMistyped):
        invitations.find("hello")


def test_expired_code_has_its_own_error(period):
    invitation = db.session.scalars(sa.select(Invitation).limit(1)).one()
    after = datetime.combine(
        invitation.expires_on + timedelta(days=1), datetime.min.time(), clock.VIETNAM
    )
    with (
        clock.travel(after.astimezone(UTC)),
        pytest.raises(invitations.CodeExpired, match="hết hạn"),
    ):
        invitations.find(invitation.code)
    # the last day is still valid, in Vietnam's calendar
    last = datetime.combine(
        invitation.expires_on, datetime.max.time(), clock.VIETNAM
    ).astimezone(UTC)
    with clock.travel(last - timedelta(minutes=1)):
        assert invitations.find(invitation.code).id == invitation.id


def test_closed_period_has_its_own_error(period):
    period.status = "closed"
    db.session.commit()
    with pytest.raises(invitations.SurveyClosed):
        invitations.find(codes(period)[0])


def test_answer_is_stored_with_channel_stratum_and_invitation(period):
    invitation = db.session.scalars(sa.select(Invitation).limit(1)).one()
    response_id = answer(invitation.code, 5)
    stored = db.session.get(SurveyResponse, response_id)
    assert stored.channel == "sample"
    assert stored.invitation_id == invitation.id
    assert (stored.unit_id, stored.field) == (invitation.unit_id, invitation.field)
    assert stored.counter_id is None
    assert set(DEFINITION.decode_answers(stored.answers).values()) == {5}
    with pytest.raises(invitations.CodeUsed):
        invitations.find(invitation.code)


def test_second_answer_is_refused_by_the_database(period):
    code = codes(period)[0]
    ref = invitations.find(code)
    key = invitations.issue_key(ref)
    submission = Submission(dict.fromkeys(DEFINITION.scale_items, 4))
    invitations.record_answer(ref, key, submission, ClientSignals(None, None))
    with pytest.raises(invitations.CodeUsed):  # the same form sent again
        invitations.record_answer(ref, key, submission, ClientSignals(None, None))
    with pytest.raises(invitations.CodeUsed):  # a second phone with a fresh form
        invitations.record_answer(
            ref, invitations.issue_key(ref), submission, ClientSignals(None, None)
        )
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 1


def test_forged_key_or_off_scale_answers_store_nothing(period):
    first, second = codes(period)[:2]
    ref = invitations.find(first)
    other_key = invitations.issue_key(invitations.find(second))
    good = Submission(dict.fromkeys(DEFINITION.scale_items, 4))
    with pytest.raises(InvalidSubmission):
        invitations.record_answer(ref, other_key, good, ClientSignals(None, None))
    with pytest.raises(InvalidSubmission):
        invitations.record_answer(ref, "forged", good, ClientSignals(None, None))
    bad = Submission(dict.fromkeys(DEFINITION.scale_items, 9))
    with pytest.raises(InvalidAnswers):
        invitations.record_answer(
            ref, invitations.issue_key(ref), bad, ClientSignals(None, None)
        )
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 0


def test_concurrent_answers_to_one_code_store_exactly_one(app, period):
    code = codes(period)[0]
    ref = invitations.find(code)
    keys = [invitations.issue_key(ref) for _ in range(6)]
    submission = Submission(dict.fromkeys(DEFINITION.scale_items, 4))
    barrier = threading.Barrier(len(keys))
    outcomes = []

    def submit(key):
        with app.app_context():
            barrier.wait()
            try:
                invitations.record_answer(
                    ref, key, submission, ClientSignals(None, None)
                )
                outcomes.append("stored")
            except invitations.CodeUsed:
                outcomes.append("used")
            finally:
                db.session.remove()

    threads = [threading.Thread(target=submit, args=(k,)) for k in keys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["stored"] + ["used"] * (len(keys) - 1)
    assert db.session.scalar(sa.select(sa.func.count(SurveyResponse.id))) == 1


# --------------------------------------------------------------------------------------
# delivery and response rates


def test_batches_per_unit_are_marked_delivered_once_and_audited(period):
    rows = invitations.batch_rows(period)
    assert sorted(r.unit for r in rows) == ["Sở Tư pháp", "Xã Hòa Bình"]
    assert all(r.delivered_at is None for r in rows)
    assert invitations.mark_delivered(period, [rows[0].id]) == 1
    assert invitations.mark_delivered(period, [r.id for r in rows]) == 1
    entries = db.session.scalars(
        sa.select(AuditEntry).filter_by(action="invitations.delivered")
    ).all()
    assert [e.after["batches"] for e in entries] == [[rows[0].id], [rows[1].id]]
    with pytest.raises(invitations.ServiceError):
        invitations.mark_delivered(period, [9999])


def test_response_rates_count_every_drawn_dossier(period):
    rows = invitations.batch_rows(period)
    invitations.mark_delivered(period, [rows[0].id])
    delivered_unit = db.session.get(InvitationBatch, rows[0].id).unit_id
    batch_codes = db.session.scalars(
        sa.select(Invitation.code).filter_by(batch_id=rows[0].id)
    ).all()
    for code in batch_codes[:5]:
        answer(code)
    excluded = answer(batch_codes[5])
    db.session.get(SurveyResponse, excluded).status = "excluded"
    db.session.commit()
    table = sampling.rate_table(period, "unit").set_index("unit_id")
    mine = table.loc[delivered_unit]
    assert mine["sampled"] == len(batch_codes)
    assert mine["delivered"] == len(batch_codes)
    assert mine["completed"] == 5  # an excluded response is not a complete one
    assert mine["rr1"] == pytest.approx(100 * 5 / len(batch_codes))
    other = table.drop(delivered_unit).iloc[0]
    assert (other["delivered"], other["completed"], other["rr1"]) == (0, 0, 0)
    overall = sampling.rate_table(period, "all").iloc[0]
    assert overall["sampled"] == len(codes(period))


def test_links_csv_has_dossier_code_and_link_and_no_phone(period):
    slips = list(invitations.slips(period))
    lines = "".join(invitations.links_csv(iter(slips), lambda c: f"https://x/i/{c}"))
    header, first, *_ = lines.lstrip("\ufeff").splitlines()
    assert header == "dossier_code,invitation_code,link,expires_on,unit"
    dossier, code, link, expires, unit = first.split(",")
    assert link == "https://x/i/" + code.replace("-", "")
    assert dossier == slips[0].dossier
    assert len(lines.splitlines()) == len(slips) + 1
