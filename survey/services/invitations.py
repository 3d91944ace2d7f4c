"""Invitations: finding a code, answering it exactly once, and delivering batches.

A citizen's code leads to one drawn dossier. Every way a code can fail has its own
error (mistyped, unknown, expired, already answered, survey closed), so each gets
its own page. One response per code rests on the unique invitation id of a response:
whoever inserts second, on any phone and at any moment, is refused by the database.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy.exc import IntegrityError

from .. import clock, invitation_codes
from ..errors import Conflict, NotFound, ServiceError
from ..extensions import db
from ..models import (
    Channel,
    Dossier,
    Invitation,
    InvitationBatch,
    PeriodStatus,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from ..spreadsheet import neutralise_row
from . import audit, periods
from .questionnaires import definition_of
from .responses import (
    ClientSignals,
    InvalidSubmission,
    Submission,
    check_answers,
    response_row,
)

_INSERT_RESPONSE = SurveyResponse.__table__.insert().returning(
    SurveyResponse.__table__.c.id
)


class CodeMistyped(ServiceError):
    """The check character does not match: a typing mistake."""


class CodeUnknown(NotFound):
    """A well-formed code that no invitation has: a guess, or an old slip."""


class CodeExpired(ServiceError):
    status = 410


class CodeUsed(Conflict):
    """The invitation has its response already."""


class SurveyClosed(Conflict):
    """The invitation's period no longer collects responses."""


class SurveyNotStarted(Conflict):
    """The invitation's period has not been opened yet."""


@dataclass(frozen=True)
class InvitationRef:
    """An invitation as the public pages use it, read in one query."""

    id: int
    code: str
    unit_id: int
    unit_name: str
    field: str
    expires_on: date
    answered: bool
    period: periods.PeriodRef

    @property
    def display_code(self) -> str:
        return invitation_codes.display(self.code)


def normalize(text: str) -> str:
    """Return the stored form of a typed code.

    :raise CodeMistyped: if it is not eleven characters of the alphabet or its check
        character does not match.
    """
    code = invitation_codes.normalize(text)
    if code is None or not invitation_codes.is_valid(code):
        raise CodeMistyped(
            "Mã mời chưa đúng. Vui lòng kiểm tra lại mã in trên phiếu mời "
            "(11 ký tự, ví dụ 7K3M-QP9X-4TZ)."
        )
    return code


def find(text: str) -> InvitationRef:
    """Return the open invitation behind a typed or linked code.

    :raise CodeMistyped, CodeUnknown, CodeExpired, CodeUsed, SurveyNotStarted,
        SurveyClosed:
    """
    code = normalize(text)
    response = SurveyResponse.__table__
    row = db.session.execute(
        sa.select(
            Invitation.id,
            Invitation.code,
            Unit.id,
            Unit.name,
            Invitation.field,
            Invitation.expires_on,
            response.c.id.is_not(None),
            SurveyPeriod,
        )
        .join(Unit, Unit.id == Invitation.unit_id)
        .join(SurveyPeriod, SurveyPeriod.id == Invitation.period_id)
        .outerjoin(response, response.c.invitation_id == Invitation.id)
        .where(Invitation.code == code)
    ).first()
    if row is None:
        raise CodeUnknown(
            "Không tìm thấy mã mời này. Vui lòng kiểm tra lại mã trên phiếu mời."
        )
    *head, period = row
    ref = InvitationRef(*head, period=_period_ref(period))
    if ref.answered:
        raise CodeUsed("Mã mời này đã được dùng để trả lời.")
    if period.status == PeriodStatus.DRAFT:
        raise SurveyNotStarted("Đợt khảo sát của phiếu mời này chưa bắt đầu.")
    if period.status != PeriodStatus.OPEN:
        raise SurveyClosed("Đợt khảo sát của phiếu mời này đã kết thúc.")
    if clock.today() > ref.expires_on:
        raise CodeExpired(f"Phiếu mời đã hết hạn ngày {ref.expires_on:%d/%m/%Y}.")
    return ref


def _period_ref(period: SurveyPeriod) -> periods.PeriodRef:
    q = period.questionnaire
    return periods.PeriodRef(
        period.id,
        period.name,
        period.starts_on,
        period.ends_on,
        period.status,
        periods.QuestionnaireRef(q.id, q.code, q.content_hash),
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(
        current_app.config["SECRET_KEY"], salt="invitation-form"
    )


def issue_key(invitation: InvitationRef) -> str:
    """Return the signed key of a served form: the invitation and when it was served."""
    return _serializer().dumps(invitation.id)


def _read_key(key: str, invitation: InvitationRef) -> datetime:
    try:
        invitation_id, served = _serializer().loads(
            key, max_age=current_app.config["FORM_MAX_AGE"], return_timestamp=True
        )
    except (BadSignature, ValueError, TypeError):
        invitation_id = served = None
    if invitation_id != invitation.id:
        raise InvalidSubmission(
            "Phiếu đã hết hạn hoặc không hợp lệ. Vui lòng mở lại đường dẫn trong phiếu mời."
        )
    return served.astimezone(UTC)


def record_answer(
    invitation: InvitationRef, key: str, submission: Submission, signals: ClientSignals
) -> int:
    """Store the one response of an invitation; return its id.

    :raise InvalidSubmission: if the form's key is forged, expired or for another code.
    :raise InvalidAnswers: if answers are off the questionnaire.
    :raise CodeUsed: if a response for this invitation exists (the database's unique
        invitation id decides, so concurrent submissions store exactly one).
    """
    served_at = _read_key(key, invitation)
    definition = definition_of(invitation.period.questionnaire)
    check_answers(definition, submission)
    row = response_row(
        definition,
        submission,
        signals,
        period_id=invitation.period.id,
        unit_id=invitation.unit_id,
        counter_id=None,
        channel=Channel.SAMPLE.value,
        field=invitation.field,
        invitation_id=invitation.id,
        submission_key=f"i{invitation.id}",
        form_served_at=served_at,
    )
    try:
        response_id = db.session.execute(_INSERT_RESPONSE, row).scalar_one()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise CodeUsed("Mã mời này đã được dùng để trả lời.") from None
    return response_id


def unit_name_of(text: str) -> str | None:
    """The unit of a code whatever its state (for the thank-you page), or None."""
    code = invitation_codes.normalize(text)
    if code is None:
        return None
    return db.session.scalar(
        sa.select(Unit.name)
        .join(Invitation, Invitation.unit_id == Unit.id)
        .where(Invitation.code == code)
    )


# --------------------------------------------------------------------------------------
# delivery


@dataclass(frozen=True)
class BatchRow:
    id: int
    unit: str
    created_at: datetime
    delivered_at: datetime | None
    delivered_by: str | None
    invitations: int
    answered: int
    expires_on: date | None


def batch_rows(period: SurveyPeriod) -> list[BatchRow]:
    """Every batch of the period with its counts, by unit then creation."""
    response = SurveyResponse.__table__
    rows = db.session.execute(
        sa.select(
            InvitationBatch.id,
            Unit.name,
            InvitationBatch.created_at,
            InvitationBatch.delivered_at,
            User.username,
            sa.func.count(Invitation.id),
            sa.func.count(response.c.id),
            sa.func.max(Invitation.expires_on),
        )
        .join(Unit, Unit.id == InvitationBatch.unit_id)
        .join(Invitation, Invitation.batch_id == InvitationBatch.id)
        .outerjoin(User, User.id == InvitationBatch.delivered_by_id)
        .outerjoin(response, response.c.invitation_id == Invitation.id)
        .where(InvitationBatch.period_id == period.id)
        .group_by(
            InvitationBatch.id,
            Unit.code,
            Unit.name,
            InvitationBatch.created_at,
            InvitationBatch.delivered_at,
            User.username,
        )
        .order_by(Unit.code, InvitationBatch.id)
    ).all()
    return [BatchRow(*row) for row in rows]


def mark_delivered(period: SurveyPeriod, batch_ids: list[int], *, by=None) -> int:
    """Mark batches of the period as handed over or sent; return how many changed.

    :raise ServiceError: if none of the ids is a batch of this period.
    """
    batches = list(
        db.session.scalars(
            sa.select(InvitationBatch).where(
                InvitationBatch.period_id == period.id,
                InvitationBatch.id.in_(batch_ids),
            )
        )
    )
    if not batches:
        raise ServiceError(_("Chọn ít nhất một lô phiếu mời của đợt này."))
    changed = [b for b in batches if b.delivered_at is None]
    now = clock.now()
    for batch in changed:
        batch.delivered_at, batch.delivered_by_id = now, by.id if by else None
    audit.record(
        "invitations.delivered",
        period,
        after={"batches": [b.id for b in changed]},
        by=by,
    )
    db.session.commit()
    return len(changed)


@dataclass(frozen=True)
class Slip:
    code: str
    dossier: str
    unit: str
    expires_on: date

    @property
    def display_code(self) -> str:
        return invitation_codes.display(self.code)


def slips(period: SurveyPeriod, batch_id: int | None = None) -> Iterator[Slip]:
    """The invitations of a batch (or the whole period), in dossier order."""
    query = (
        sa.select(Invitation.code, Dossier.code, Unit.name, Invitation.expires_on)
        .join(Dossier, Dossier.id == Invitation.dossier_id)
        .join(Unit, Unit.id == Invitation.unit_id)
        .where(Invitation.period_id == period.id)
        .order_by(Unit.code, Dossier.code)
    )
    if batch_id is not None:
        query = query.where(Invitation.batch_id == batch_id)
    for row in db.session.execute(query.execution_options(yield_per=2000)):
        yield Slip(*row)


def links_csv(slips_: Iterator[Slip], link) -> Iterator[str]:
    """CSV lines (UTF-8 BOM first) for an SMS or Zalo sender: dossier, code, link, expiry.

    ``link(code)`` builds the invitation URL. No phone numbers: the sender joins the
    dossier code to its own contact list.
    """
    yield "\ufeff"
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["dossier_code", "invitation_code", "link", "expires_on", "unit"])
    for slip in slips_:
        writer.writerow(
            neutralise_row(
                [
                    slip.dossier,
                    slip.display_code,
                    link(slip.code),
                    slip.expires_on.isoformat(),
                    slip.unit,
                ]
            )
        )
        if buffer.tell() > 64 * 1024:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def open_codes(period: SurveyPeriod, limit: int) -> list[str]:
    """Codes of delivered, unanswered, unexpired invitations (as printed)."""
    response = SurveyResponse.__table__
    codes = db.session.scalars(
        sa.select(Invitation.code)
        .join(InvitationBatch, InvitationBatch.id == Invitation.batch_id)
        .outerjoin(response, response.c.invitation_id == Invitation.id)
        .where(
            Invitation.period_id == period.id,
            InvitationBatch.delivered_at.is_not(None),
            Invitation.expires_on >= clock.today(),
            response.c.id.is_(None),
        )
        .order_by(Invitation.id)
        .limit(limit)
    )
    return [invitation_codes.display(code) for code in codes]


def batch_of(period: SurveyPeriod, batch_id: int) -> InvitationBatch:
    """:raise NotFound: if the batch is not one of this period's."""
    batch = db.session.get(InvitationBatch, batch_id)
    if batch is None or batch.period_id != period.id:
        raise NotFound(_("Không có lô phiếu mời này trong đợt."))
    return batch
