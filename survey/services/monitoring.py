"""Progress of a period: responses against targets and dossiers, per unit and per day."""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from ..extensions import db
from ..models import PeriodTarget, SurveyPeriod, SurveyResponse, Unit
from . import register


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


def unit_progress(
    period: SurveyPeriod, visible: set[int] | None = None
) -> list[UnitProgress]:
    """Return one row per unit with responses, a target or dossiers in the period."""
    flagged = sa.func.sum(
        sa.case((sa.cast(SurveyResponse.flags, sa.String) != "[]", 1), else_=0)
    )
    counts = db.session.execute(
        sa.select(
            SurveyResponse.unit_id,
            sa.func.sum(sa.case((SurveyResponse.status == "valid", 1), else_=0)),
            sa.func.sum(sa.case((SurveyResponse.status == "excluded", 1), else_=0)),
            flagged,
        )
        .where(SurveyResponse.period_id == period.id)
        .group_by(SurveyResponse.unit_id)
    ).all()
    by_unit = {
        unit_id: (valid, excluded, flags) for unit_id, valid, excluded, flags in counts
    }
    targets = dict(
        db.session.execute(
            sa.select(PeriodTarget.unit_id, PeriodTarget.target).filter_by(
                period_id=period.id
            )
        ).all()
    )
    returned = register.returned_per_unit(period)
    ids = set(by_unit) | set(targets) | set(returned)
    if visible is not None:
        ids &= visible
    units = db.session.scalars(
        sa.select(Unit).where(Unit.id.in_(ids)).order_by(Unit.code)
    )
    return [
        UnitProgress(
            u,
            *(int(x or 0) for x in by_unit.get(u.id, (0, 0, 0))),
            targets.get(u.id),
            returned.get(u.id),
        )
        for u in units
    ]


def responses_per_day(
    period: SurveyPeriod, visible: set[int] | None = None
) -> list[tuple[date, int]]:
    """Valid responses per calendar day in Vietnam (UTC+7)."""
    if db.engine.dialect.name == "postgresql":
        day = sa.func.date(
            sa.func.timezone("Asia/Ho_Chi_Minh", SurveyResponse.submitted_at)
        )
    else:
        day = sa.func.date(SurveyResponse.submitted_at, "+7 hours")
    query = (
        sa.select(day, sa.func.count())
        .where(SurveyResponse.period_id == period.id, SurveyResponse.status == "valid")
        .group_by(day)
        .order_by(day)
    )
    if visible is not None:
        query = query.where(SurveyResponse.unit_id.in_(visible))
    return [
        (d if isinstance(d, date) else date.fromisoformat(d), n)
        for d, n in db.session.execute(query).all()
    ]
