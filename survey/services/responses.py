"""Recording responses: exactly once per served form, never partially, never out of scale."""

import dataclasses
import hashlib
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from analysis.questionnaire import Questionnaire

from .. import clock, tokens
from ..errors import Conflict, ServiceError
from ..extensions import db
from ..models import NO_OPINION, Channel, Counter, SurveyPeriod, SurveyResponse
from . import flagging, periods, units
from .questionnaires import definition_of

# The public path reads counters and periods as detached refs (one Core query each);
# services and tests may also pass the ORM objects, which have the same attributes.
CounterLike = Counter | units.CounterRef
PeriodLike = SurveyPeriod | periods.PeriodRef

# The hot path skips the ORM unit of work: one prebuilt Core INSERT per response.
_INSERT_RESPONSE = SurveyResponse.__table__.insert().returning(
    SurveyResponse.__table__.c.id
)


class InvalidSubmission(ServiceError):
    """The submitted form is forged, expired or belongs to another counter or period."""


class InvalidAnswers(ServiceError):
    status = 422


class PeriodNotOpen(Conflict):
    """The period behind a form no longer accepts responses."""


class OtherDevice(InvalidSubmission):
    """The form was served to another phone (or the browser dropped its cookie)."""


class AlreadyAnswered(Conflict):
    """This phone answered for this unit today, after the form was served."""


class TooEarly(ServiceError):
    """Posted sooner after serving than anyone answers: sent back, answers kept."""

    status = 429

    def __init__(self, seconds: int):
        super().__init__(
            "Phiếu được gửi quá nhanh sau khi mở. Vui lòng xem lại các câu trả lời "
            "rồi bấm Gửi."
        )
        self.seconds = seconds


@dataclass(frozen=True)
class AnsweredMark:
    """What a phone remembers (in its session) of its last answer for a unit."""

    unit_id: int
    at: datetime
    key: str  # digest of the submission key that was answered

    def is_today(self) -> bool:
        return clock.local(self.at).date() == clock.today()


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class Submission:
    """What a citizen answered: scale items (1–5, 0 = no opinion), the field, other answers."""

    scale: dict[str, int]
    field: str | None = None
    extra: dict = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class ClientSignals:
    network_hash: str | None
    device_hash: str | None


def collecting_period(counter, day: date | None = None) -> periods.PeriodRef | None:
    """Return the period a counter's QR code collects for today, if any."""
    return periods.period_collecting(Channel.COUNTER, day)


def issue_key(
    counter: CounterLike, period: PeriodLike, *, device: str = "", repeat: bool = False
) -> str:
    """Return the signed one-time key that goes into a served form.

    ``device`` is the tag of the phone's cookie (the key works from that phone only);
    ``repeat`` marks a form asked for through "another dossier".
    """
    return tokens.issue_submission_key(
        current_app.config["SECRET_KEY"],
        counter.id,
        period.id,
        clock.now(),
        device=device,
        repeat=repeat,
    )


def check_answers(definition: Questionnaire, submission: Submission) -> None:
    """Refuse answers that the questionnaire does not allow.

    Every required item needs an answer: a criterion where the version has a "no
    opinion" answer (0), a scale question marked required. Where the version has no
    "no opinion" answer a criterion may be left out (stored as 0), but not all of them.
    :raise InvalidAnswers: naming the first problem.
    """
    allowed = set(definition.scale_items)
    unknown = set(submission.scale) - allowed
    if unknown:
        raise InvalidAnswers(
            f"Câu hỏi không có trong phiếu: {', '.join(sorted(unknown))}."
        )
    criteria = {c.code for c in definition.criteria}
    required = {q.code for q in definition.questions if q.on_scale and q.required}
    if definition.criteria_required:
        required |= criteria
    missing = required - set(submission.scale)
    if missing:
        raise InvalidAnswers(f"Còn câu chưa trả lời: {', '.join(sorted(missing))}.")
    if not criteria & set(submission.scale):
        raise InvalidAnswers("Phiếu chưa trả lời tiêu chí nào.")
    for item, value in submission.scale.items():
        floor = NO_OPINION if item in criteria and definition.no_opinion else 1
        if not isinstance(value, int) or not floor <= value <= 5:
            raise InvalidAnswers(f"Câu {item}: câu trả lời ngoài thang đo.")


def record_response(
    counter: CounterLike,
    period: PeriodLike,
    key: str,
    submission: Submission,
    signals: ClientSignals,
    answered: AnsweredMark | None = None,
) -> tuple[int, bool]:
    """Store one response with its answers; a repeated key returns the stored one.

    Returns the response id and whether it was created now. Exactly-once rests on the
    unique submission key (insert, and on conflict read), so concurrent retries cannot
    both insert and no check-then-insert race exists. ``answered`` is the phone's last
    answer for this unit: a form served before it (Back, a second tab) is not stored
    again unless it was asked for as "another dossier".
    :raise InvalidSubmission: if the key is forged, expired or for another form.
    :raise OtherDevice: if the key was served to another phone.
    :raise PeriodNotOpen: if the period stopped collecting.
    :raise InvalidAnswers: if answers are off the questionnaire.
    :raise AlreadyAnswered: if this phone answered after the form was served.
    :raise TooEarly: if posted sooner than SUBMIT_MIN_SECONDS after serving.
    """
    config = current_app.config
    signed = tokens.read_submission_key(
        config["SECRET_KEY"], key, config["FORM_MAX_AGE"], clock.now()
    )
    if signed is None or (signed.counter_id, signed.period_id) != (
        counter.id,
        period.id,
    ):
        raise InvalidSubmission(
            "Phiếu đã hết hạn hoặc không hợp lệ. Vui lòng quét lại mã QR."
        )
    if signed.device and (signals.device_hash or "")[:16] != signed.device:
        raise OtherDevice(
            "Phiếu này được mở trên thiết bị khác, hoặc trình duyệt không giữ cookie "
            "của trang khảo sát. Vui lòng cho phép cookie rồi quét lại mã QR."
        )
    if not period.is_open_on(clock.today()):
        raise PeriodNotOpen("Đợt khảo sát đã kết thúc; phiếu không được ghi nhận.")
    definition = definition_of(period.questionnaire)
    check_answers(definition, submission)
    if answered is not None and answered.unit_id == counter.unit_id:
        if answered.key == key_digest(key):  # the answered form, posted again
            existing = _by_key(signed.nonce)
            if existing is not None:
                return existing, False
        elif answered.at >= signed.served_at and not signed.repeat:
            raise AlreadyAnswered("Ông/Bà đã gửi đánh giá cho đơn vị này hôm nay.")
    now = clock.now()
    waited = (now - signed.served_at).total_seconds()
    if waited < config["SUBMIT_MIN_SECONDS"]:
        raise TooEarly(int(config["SUBMIT_MIN_SECONDS"] - waited) + 1)
    answers = definition.encode_answers(submission.scale)
    row = response_row(
        definition,
        submission,
        signals,
        period_id=period.id,
        unit_id=counter.unit_id,
        counter_id=counter.id,
        channel=Channel.COUNTER.value,
        field=submission.field,
        submission_key=signed.nonce,
        form_served_at=signed.served_at,
        submitted_at=now,
        flags=flagging.flags_at_submission(
            counter.unit_id, signed.served_at, now, answers
        ),
        declared_repeat=signed.repeat,
    )
    try:
        response_id = db.session.execute(_INSERT_RESPONSE, row).scalar_one()
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = _by_key(signed.nonce)
        if existing is None:
            raise
        return existing, False
    return response_id, True


def response_row(
    definition: Questionnaire,
    submission: Submission,
    signals: ClientSignals,
    **origin,
) -> dict:
    """The row a submission stores: its origin (period, unit, channel …) and answers.

    ``origin`` may also set what the defaults fill in (submitted_at, flags …).
    """
    return (
        dict(
            submitted_at=clock.now(),
            network_hash=signals.network_hash,
            device_hash=signals.device_hash,
            answers=definition.encode_answers(submission.scale),
            extra=submission.extra,
            status="valid",
            flags=[],
        )
        | origin
    )


def _by_key(nonce: str) -> int | None:
    return db.session.scalar(
        sa.select(SurveyResponse.id).filter_by(submission_key=nonce)
    )
