"""Registers, plans and drawn samples for the tests of the sampled channel."""

import random
from datetime import timedelta

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import (
    Dossier,
    Invitation,
    InvitationBatch,
    SurveyPeriod,
    Unit,
)
from survey.services import sampling
from tests.seed import PERIOD_ID

#: Dossiers of the seeded open period per stratum (unit code, field).
REGISTER = {
    ("STP", "ho-tich"): 120,
    ("STP", "dat-dai"): 60,
    ("STP", "tu-phap"): 20,
    ("X-HB", "ho-tich"): 90,
    ("X-HB", "dat-dai"): 45,
}


def add_register(
    counts: dict[tuple[str, str], int] = REGISTER, prefix: str = "HS", seed: int = 3
) -> None:
    """Insert dossiers returned within the seeded period, per stratum."""
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    units = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
    rng = random.Random(seed)
    span = (clock.today() - period.starts_on).days
    rows = []
    for (unit, field), count in counts.items():
        for _ in range(count):
            returned = period.starts_on + timedelta(days=rng.randrange(span + 1))
            rows.append(
                {
                    "code": f"{prefix}-{len(rows) + 1:06d}-{unit}",
                    "unit_id": units[unit],
                    "field": field,
                    "received_on": returned - timedelta(days=2),
                    "returned_on": returned,
                    "is_late": False,
                }
            )
    db.session.execute(sa.insert(Dossier), rows)
    db.session.commit()


def drawn_period(design: str = "srswor", **settings) -> SurveyPeriod:
    """The seeded period with the test register, a saved plan and a drawn sample."""
    add_register()
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    plan = sampling.PlanSettings(design=design, **({"moe": 10} | settings))
    sampling.save_plan(period, plan)
    sampling.draw(period)
    return period


def codes(period: SurveyPeriod, unit: str | None = None) -> list[str]:
    query = sa.select(Invitation.code).where(Invitation.period_id == period.id)
    if unit:
        query = query.join(Unit, Unit.id == Invitation.unit_id).where(Unit.code == unit)
    return list(db.session.scalars(query.order_by(Invitation.id)))


def deliver_all(period: SurveyPeriod) -> None:
    db.session.execute(
        sa.update(InvitationBatch)
        .where(InvitationBatch.period_id == period.id)
        .values(delivered_at=clock.now())
    )
    db.session.commit()


def answer(code: str, value: int = 4, **by_item: int) -> int:
    """Answer an invitation through the service, every item with `value`."""
    from survey.services import invitations
    from survey.services.responses import ClientSignals, Submission
    from tests.helpers import DEFINITION

    ref = invitations.find(code)
    scale = dict.fromkeys(DEFINITION.scale_items, value) | by_item
    return invitations.record_answer(
        ref, invitations.issue_key(ref), Submission(scale), ClientSignals(None, None)
    )
