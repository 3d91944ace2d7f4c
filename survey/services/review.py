"""Reviewing responses: browse quickly at any volume, exclude and restore with a reason."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from .. import clock
from ..errors import ServiceError
from ..extensions import db
from ..models import SurveyResponse, User
from . import audit, flagging

PAGE_SIZE = 50


@dataclass
class ResponseFilter:
    period_id: int
    unit_id: int | None = None
    counter_id: int | None = None
    field: str | None = None
    status: str | None = None
    flagged: bool = False
    day_from: date | None = None
    day_to: date | None = None


def page(
    filters: ResponseFilter,
    *,
    before_id: int | None = None,
    visible: set[int] | None = None,
) -> tuple[list[SurveyResponse], int | None]:
    """Return one page of responses, newest first, and the id to continue from.

    Keyset pagination on (period_id, id): each page costs the same at a million rows.
    """
    query = sa.select(SurveyResponse).where(
        SurveyResponse.period_id == filters.period_id
    )
    for column, value in (
        (SurveyResponse.unit_id, filters.unit_id),
        (SurveyResponse.counter_id, filters.counter_id),
        (SurveyResponse.field, filters.field),
        (SurveyResponse.status, filters.status),
    ):
        if value:
            query = query.where(column == value)
    if filters.flagged:
        query = query.where(flagging.has_flag())
    days = _submitted_between(filters)
    if days is not None:
        # Bound the id range too: ordering by id with only a date condition would make the
        # database walk the primary key through every later response of a big period. The
        # day's ids come from the (period, submitted_at, id) index; MATERIALIZED keeps
        # PostgreSQL from turning min/max into that same walk along the primary key.
        day_ids = (
            sa.select(SurveyResponse.id)
            .where(SurveyResponse.period_id == filters.period_id, days)
            .cte("day_ids")
            .prefix_with("MATERIALIZED", dialect="postgresql")
        )
        bounds = sa.select(sa.func.min(day_ids.c.id), sa.func.max(day_ids.c.id))
        low, high = db.session.execute(bounds).one()
        if low is None:
            return [], None
        query = query.where(days, SurveyResponse.id.between(low, high))
    if visible is not None:
        query = query.where(SurveyResponse.unit_id.in_(visible))
    if before_id:
        query = query.where(SurveyResponse.id < before_id)
    rows = list(
        db.session.scalars(
            query.order_by(SurveyResponse.id.desc()).limit(PAGE_SIZE + 1)
        )
    )
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (rows[-1].id if more else None)


def _submitted_between(filters: ResponseFilter):
    """The condition on submission time for the day filters (days in Vietnam), or None."""
    conditions = []
    if filters.day_from:
        conditions.append(
            SurveyResponse.submitted_at >= clock.day_start(filters.day_from)
        )
    if filters.day_to:
        conditions.append(SurveyResponse.submitted_at < clock.day_end(filters.day_to))
    return sa.and_(*conditions) if conditions else None


def set_status(response: SurveyResponse, status: str, reason: str, *, by: User) -> None:
    """Exclude a response from the statistics, or restore it; the reason is mandatory.

    :raise ServiceError: without a reason, or if the status would not change.
    """
    reason = (reason or "").strip()
    if len(reason) < 3:
        raise ServiceError(_("Phải ghi lý do (ít nhất 3 ký tự)."))
    if status not in ("valid", "excluded") or response.status == status:
        raise ServiceError(_("Phiếu đã ở trạng thái này."))
    before = {"status": response.status, "reason": response.status_reason}
    response.status, response.status_reason = status, reason
    response.status_by_id, response.status_at = by.id, clock.now()
    audit.record(
        "response.exclude" if status == "excluded" else "response.restore",
        response,
        before=before,
        after={"status": status, "reason": reason},
        by=by,
    )
    db.session.commit()
