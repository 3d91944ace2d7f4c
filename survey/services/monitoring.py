"""Progress of a period: responses against targets and dossiers, per unit and per day."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app

from ..extensions import db
from ..models import PeriodTarget, SurveyPeriod, SurveyResponse, Unit
from . import flagging, register


@dataclass
class UnitProgress:
    unit: Unit
    valid: int
    excluded: int
    flagged: int
    target: int | None
    returned: int | None

    @property
    def response_rate(self) -> float | None:
        """Valid responses per dossier returned in the period, in percent."""
        return 100 * self.valid / self.returned if self.returned else None

    @property
    def target_share(self) -> float | None:
        return min(100.0, 100 * self.valid / self.target) if self.target else None


#: Counts already read are kept per app by (period id, data version): a closed
#: period's never change, and any new response, status change, flag pass or register
#: import gives an open period a new key, so a count shown is always the current one.
COUNTS_CACHE_SIZE = 32


@dataclass(frozen=True)
class PeriodCounts:
    """A period's responses per unit and per day, read in one pass."""

    per_unit: dict[int, tuple[int, int, int]]  # unit id: valid, excluded, flagged
    per_day: dict[int, dict[date, int]]  # unit id: Vietnam day: valid responses
    returned: dict[int, int]  # unit id: dossiers returned in the period


def _vietnam_day():
    if db.engine.dialect.name == "postgresql":
        return sa.func.date(
            sa.func.timezone("Asia/Ho_Chi_Minh", SurveyResponse.submitted_at)
        )
    return sa.func.date(SurveyResponse.submitted_at, "+7 hours")


def _read_counts(period: SurveyPeriod) -> PeriodCounts:
    day = _vietnam_day()
    valid = sa.func.sum(sa.case((SurveyResponse.status == "valid", 1), else_=0))
    excluded = sa.func.sum(sa.case((SurveyResponse.status == "excluded", 1), else_=0))
    flagged = sa.func.sum(sa.case((flagging.has_flag(), 1), else_=0))
    rows = db.session.execute(
        sa.select(SurveyResponse.unit_id, day, valid, excluded, flagged)
        .where(SurveyResponse.period_id == period.id)
        .group_by(SurveyResponse.unit_id, day)
    ).all()
    per_unit: dict[int, tuple[int, int, int]] = {}
    per_day: dict[int, dict[date, int]] = {}
    for unit_id, d, v, x, f in rows:
        v, x, f = int(v or 0), int(x or 0), int(f or 0)
        total = per_unit.get(unit_id, (0, 0, 0))
        per_unit[unit_id] = (total[0] + v, total[1] + x, total[2] + f)
        if v:
            d = d if isinstance(d, date) else date.fromisoformat(d)
            per_day.setdefault(unit_id, {})[d] = v
    return PeriodCounts(per_unit, per_day, register.returned_per_unit(period))


def period_counts(period: SurveyPeriod) -> PeriodCounts:
    """The period's counts, read once per data version (stored_results.data_version)."""
    from .stored_results import data_version  # it reads the results' modules

    _counts = current_app.extensions.setdefault("monitoring_counts", {})
    key = (period.id, data_version(period))
    found = _counts.get(key)
    if found is None:
        found = _read_counts(period)
        if len(_counts) >= COUNTS_CACHE_SIZE:
            _counts.pop(next(iter(_counts)))
        _counts[key] = found
    return found


def unit_progress(
    period: SurveyPeriod,
    visible: set[int] | None = None,
    counts: PeriodCounts | None = None,
) -> list[UnitProgress]:
    """Return one row per unit with responses, a target or dossiers in the period."""
    counts = counts or period_counts(period)
    by_unit = counts.per_unit
    targets = dict(
        db.session.execute(
            sa.select(PeriodTarget.unit_id, PeriodTarget.target).filter_by(
                period_id=period.id
            )
        ).all()
    )
    returned = counts.returned
    ids = set(by_unit) | set(targets) | set(returned)
    if visible is not None:
        ids &= visible
    units = db.session.scalars(
        sa.select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code)
    )
    return [
        UnitProgress(
            u,
            *by_unit.get(u.id, (0, 0, 0)),
            targets.get(u.id),
            returned.get(u.id),
        )
        for u in units
    ]


def responses_per_day(
    period: SurveyPeriod,
    visible: set[int] | None = None,
    counts: PeriodCounts | None = None,
) -> list[tuple[date, int]]:
    """Valid responses per calendar day in Vietnam (UTC+7)."""
    counts = counts or period_counts(period)
    days: dict[date, int] = {}
    for unit_id, per_day in counts.per_day.items():
        if visible is None or unit_id in visible:
            for d, n in per_day.items():
                days[d] = days.get(d, 0) + n
    return sorted(days.items())
