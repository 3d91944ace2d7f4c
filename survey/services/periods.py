"""Survey periods: create, open and close; which period a counter collects for."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import clock
from ..errors import Conflict, ServiceError
from ..extensions import db
from ..models import (
    Channel,
    PeriodStatus,
    PeriodTarget,
    Questionnaire,
    SurveyPeriod,
)
from . import audit, register
from .publications import publication_of


class PeriodStateError(Conflict):
    """The period is not in a state that allows this."""


# More responses than any unit could collect in a period (and within an integer).
MAX_TARGET = 1_000_000


def create_period(
    name: str,
    starts_on: date,
    ends_on: date,
    questionnaire: Questionnaire,
    channels: tuple[str, ...] = (Channel.COUNTER,),
    *,
    by=None,
) -> SurveyPeriod:
    """Create a draft period.

    :raise ServiceError: if the dates or channels are invalid.
    """
    if ends_on < starts_on:
        raise ServiceError(_("Ngày kết thúc không thể trước ngày bắt đầu."))
    unknown = set(channels) - {c.value for c in Channel}
    if unknown or not channels:
        raise ServiceError(
            _(
                "Kênh không hợp lệ: %(channels)s.",
                channels=", ".join(sorted(unknown)) or _("chưa chọn kênh nào"),
            )
        )
    period = SurveyPeriod(
        name=name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        questionnaire=questionnaire,
        channels=",".join(channels),
    )
    db.session.add(period)
    db.session.flush()
    audit.record(
        "period.create",
        period,
        after={
            "name": period.name,
            "channels": period.channels,
            "questionnaire": questionnaire.code,
        },
        by=by,
    )
    db.session.commit()
    return period


def open_period(period: SurveyPeriod, *, by=None) -> None:
    """Start accepting responses.

    :raise PeriodStateError: if the period is not a draft.
    """
    if period.status != PeriodStatus.DRAFT:
        raise PeriodStateError(_("Chỉ mở được đợt đang ở trạng thái nháp."))
    clash = overlapping_open(period)
    if clash is not None:
        raise PeriodStateError(
            _(
                "Không mở được: đợt %(other)s đang mở cho cùng kênh và trùng thời gian "
                "(%(start)s – %(end)s). Hãy đóng đợt đó hoặc sửa ngày trước.",
                other=clash.name,
                start=clash.starts_on.strftime("%d/%m/%Y"),
                end=clash.ends_on.strftime("%d/%m/%Y"),
            )
        )
    period.status, period.opened_at = PeriodStatus.OPEN.value, clock.now()
    audit.record(
        "period.open",
        period,
        before={"status": "draft"},
        after={"status": "open"},
        by=by,
    )
    db.session.commit()


def overlapping_open(period: SurveyPeriod) -> SurveyPeriod | None:
    """Return an open period that shares a channel with this one and overlaps its dates.

    Periods cover every unit, so one open period per channel and day keeps each
    response in exactly one period.
    """
    query = sa.select(SurveyPeriod).where(
        SurveyPeriod.status == PeriodStatus.OPEN,
        SurveyPeriod.id != period.id,
        SurveyPeriod.starts_on <= period.ends_on,
        SurveyPeriod.ends_on >= period.starts_on,
    )
    return next(
        (p for p in db.session.scalars(query) if p.channel_set & period.channel_set),
        None,
    )


def close_period(period: SurveyPeriod, *, by=None) -> None:
    """Stop accepting responses.

    :raise PeriodStateError: if the period is not open.
    """
    if period.status != PeriodStatus.OPEN:
        raise PeriodStateError(_("Chỉ đóng được đợt đang mở."))
    period.status, period.closed_at = PeriodStatus.CLOSED.value, clock.now()
    audit.record(
        "period.close",
        period,
        before={"status": "open"},
        after={"status": "closed"},
        by=by,
    )
    db.session.commit()


def reopen_period(period: SurveyPeriod, *, by=None) -> None:
    """Undo a close: accept responses again, unless the period is already published.

    :raise PeriodStateError: if the period is not closed, is published, or another
        open period now takes its channel and dates.
    """
    if period.status != PeriodStatus.CLOSED:
        raise PeriodStateError(_("Chỉ mở lại được đợt đã đóng."))
    if publication_of(period) is not None:
        raise PeriodStateError(
            _("Đợt đã công bố không mở lại được: bản công bố là cố định.")
        )
    clash = overlapping_open(period)
    if clash is not None:
        raise PeriodStateError(
            _(
                "Không mở lại được: đợt %(other)s đang mở cho cùng kênh và trùng thời gian.",
                other=clash.name,
            )
        )
    period.status, period.closed_at = PeriodStatus.OPEN.value, None
    audit.record(
        "period.reopen",
        period,
        before={"status": "closed"},
        after={"status": "open"},
        by=by,
    )
    db.session.commit()


# Built once: a prebuilt statement keeps its cache key, which saves work per page view.
_OPEN_PERIODS_ON = (
    sa.select(
        SurveyPeriod.id,
        SurveyPeriod.name,
        SurveyPeriod.starts_on,
        SurveyPeriod.ends_on,
        SurveyPeriod.status,
        SurveyPeriod.channels,
        Questionnaire.id,
        Questionnaire.code,
        Questionnaire.content_hash,
    )
    .join(Questionnaire, Questionnaire.id == SurveyPeriod.questionnaire_id)
    .where(
        SurveyPeriod.status == PeriodStatus.OPEN,
        SurveyPeriod.starts_on <= sa.bindparam("day"),
        SurveyPeriod.ends_on >= sa.bindparam("day"),
    )
    .order_by(SurveyPeriod.starts_on.desc())
)


@dataclass(frozen=True)
class QuestionnaireRef:
    id: int
    code: str
    content_hash: str


@dataclass(frozen=True)
class PeriodRef:
    """A period as the public pages use it: read in one query, free of the session."""

    id: int
    name: str
    starts_on: date
    ends_on: date
    status: str
    questionnaire: QuestionnaireRef

    def is_open_on(self, day: date) -> bool:
        return (
            self.status == PeriodStatus.OPEN and self.starts_on <= day <= self.ends_on
        )


def period_collecting(channel: str, day: date | None = None) -> PeriodRef | None:
    """Return the open period that collects responses through a channel today."""
    rows = db.session.execute(_OPEN_PERIODS_ON, {"day": day or clock.today()})
    for *period, channels, q_id, q_code, q_hash in rows:
        if channel in channels.split(","):
            return PeriodRef(*period, QuestionnaireRef(q_id, q_code, q_hash))
    return None


def all_periods() -> list[SurveyPeriod]:
    query = sa.select(SurveyPeriod).order_by(
        SurveyPeriod.starts_on.desc(), SurveyPeriod.id.desc()
    )
    return list(
        db.session.scalars(query.options(sa.orm.joinedload(SurveyPeriod.questionnaire)))
    )


def latest_period() -> SurveyPeriod | None:
    """The period a dashboard shows first: the latest open one, else the latest."""
    periods = all_periods()
    return next(
        (p for p in periods if p.status == PeriodStatus.OPEN),
        periods[0] if periods else None,
    )


def targets(period: SurveyPeriod) -> dict[int, int]:
    query = sa.select(PeriodTarget.unit_id, PeriodTarget.target).filter_by(
        period_id=period.id
    )
    return dict(db.session.execute(query).all())


def set_targets(period: SurveyPeriod, values: dict[int, int], *, by=None) -> None:
    """Replace the per-unit targets of a period (a unit with 0 has no target).

    :raise ServiceError: for a negative or impossibly large target.
    """
    if any(v < 0 for v in values.values()):
        raise ServiceError(_("Chỉ tiêu không thể âm."))
    if any(v > MAX_TARGET for v in values.values()):
        raise ServiceError(f"Chỉ tiêu tối đa {MAX_TARGET:,} phiếu.".replace(",", "."))
    before = {str(k): v for k, v in targets(period).items()}
    db.session.execute(sa.delete(PeriodTarget).filter_by(period_id=period.id))
    rows = [
        {"period_id": period.id, "unit_id": u, "target": v}
        for u, v in values.items()
        if v
    ]
    if rows:
        db.session.execute(sa.insert(PeriodTarget), rows)
    audit.record(
        "period.targets",
        period,
        before=before,
        after={str(r["unit_id"]): r["target"] for r in rows},
        by=by,
    )
    db.session.commit()


def planned_targets(period: SurveyPeriod, moe: float, deff: float) -> dict[int, dict]:
    """Responses each unit needs for ±moe points, from the register volumes of the period.

    Uses analysis.plan_sample (finite population correction from the dossiers returned in
    the period); units without dossiers get no plan.
    """
    import pandas as pd

    from analysis.plan import plan_sample

    returned = register.returned_per_unit(period)
    if not returned:
        return {}
    frame = pd.DataFrame(
        {"unit": list(returned), "population": list(returned.values())}
    )
    plan = plan_sample(frame, moe=moe, deff=deff)
    return {
        int(row.unit): {
            "population": int(row.population),
            "n_needed": int(row.n_needed),
            "n_official": int(row.n_official),
        }
        for row in plan.itertuples()
    }
