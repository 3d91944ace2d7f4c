"""Survey periods: create, open and close; which period a counter collects for."""

from datetime import date

import sqlalchemy as sa

from ..errors import Conflict, ServiceError
from ..extensions import db
from ..models import Channel, PeriodStatus, Questionnaire, SurveyPeriod, utcnow


class PeriodStateError(Conflict):
    """The period is not in a state that allows this."""


def create_period(
    name: str,
    starts_on: date,
    ends_on: date,
    questionnaire: Questionnaire,
    channels: tuple[str, ...] = (Channel.COUNTER,),
) -> SurveyPeriod:
    """Create a draft period.

    :raise ServiceError: if the dates or channels are invalid.
    """
    if ends_on < starts_on:
        raise ServiceError("A period cannot end before it starts.")
    unknown = set(channels) - {c.value for c in Channel}
    if unknown or not channels:
        raise ServiceError(
            f"Unknown channel(s): {', '.join(sorted(unknown)) or 'none given'}."
        )
    period = SurveyPeriod(
        name=name.strip(),
        starts_on=starts_on,
        ends_on=ends_on,
        questionnaire=questionnaire,
        channels=",".join(channels),
    )
    db.session.add(period)
    db.session.commit()
    return period


def open_period(period: SurveyPeriod) -> None:
    """Start accepting responses.

    :raise PeriodStateError: if the period is not a draft.
    """
    if period.status != PeriodStatus.DRAFT:
        raise PeriodStateError("Only a draft period can be opened.")
    period.status, period.opened_at = PeriodStatus.OPEN.value, utcnow()
    db.session.commit()


def close_period(period: SurveyPeriod) -> None:
    """Stop accepting responses.

    :raise PeriodStateError: if the period is not open.
    """
    if period.status != PeriodStatus.OPEN:
        raise PeriodStateError("Only an open period can be closed.")
    period.status, period.closed_at = PeriodStatus.CLOSED.value, utcnow()
    db.session.commit()


def period_collecting(channel: str, day: date | None = None) -> SurveyPeriod | None:
    """Return the open period that collects responses through a channel today."""
    day = day or date.today()
    query = (
        sa.select(SurveyPeriod)
        .where(
            SurveyPeriod.status == PeriodStatus.OPEN,
            SurveyPeriod.starts_on <= day,
            SurveyPeriod.ends_on >= day,
        )
        .order_by(SurveyPeriod.starts_on.desc())
        .options(sa.orm.joinedload(SurveyPeriod.questionnaire))
    )
    return next(
        (p for p in db.session.scalars(query) if channel in p.channel_set), None
    )
