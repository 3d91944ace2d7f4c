"""Published periods and plans for the tests of weaknesses and improvement plans.

The seeded open period becomes the baseline: synthetic responses in which Sở Tư pháp
answers criteria 2.5 and 5.4 much worse than Xã Hòa Bình, closed and published. A
later period (a month ahead, reached with clock.travel) can then be published to
measure the plans.
"""

import random
from datetime import date, timedelta

import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import SurveyPeriod, Unit, User
from survey.services import demo, periods, plans, publications
from survey.services.indices import Settings
from survey.services.questionnaires import get_questionnaire
from tests.seed import PERIOD_ID

WEAK = {"2.5": -1.6, "5.4": -1.4}


def user(name: str) -> User:
    return db.session.scalar(sa.select(User).filter_by(username=name))


def unit(code: str) -> Unit:
    return db.session.scalar(sa.select(Unit).filter_by(code=code))


def shifts(changes: dict[str, float], code: str = "STP") -> dict:
    return {(unit(code).id, criterion): shift for criterion, shift in changes.items()}


def add_responses(period, changes: dict[str, float], responses: int, seed: int):
    """Responses from both units, Xã Hòa Bình's as many again (it has one counter)."""
    rng = random.Random(seed)
    demo.add_synthetic_responses(period, responses, rng, shifts=shifts(changes))
    demo.add_synthetic_responses(period, responses, rng, unit_code="X-HB")


def published_baseline(responses: int = 300, seed: int = 5) -> SurveyPeriod:
    """The seeded period with responses (STP weak on 2.5 and 5.4), published."""
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    add_responses(period, WEAK, responses, seed)
    periods.close_period(period)
    publications.publish(period, Settings(), by=user("admin"))
    return period


def later_period(
    changes: dict[str, float] | None = None,
    *,
    version: str = "sipas-2640",
    responses: int = 300,
    publish: bool = True,
    starts_in: int = 35,
) -> SurveyPeriod:
    """A period a month ahead, run and (by default) published at its end."""
    first = clock.today() + timedelta(days=starts_in)
    last = first + timedelta(days=27)
    with clock.travel(clock.day_start(last) + timedelta(hours=4)):
        period = periods.create_period(
            f"Đợt sau {first:%d/%m}", first, last, get_questionnaire(version)
        )
        periods.open_period(period)
        add_responses(period, WEAK if changes is None else changes, responses, 7)
        periods.close_period(period)
        if publish:
            with clock.travel(clock.day_start(last + timedelta(days=2))):
                publications.publish(period, Settings(), by=user("admin"))
    return db.session.get(SurveyPeriod, period.id)


def item(criterion: str, target: float, deadline: date | None = None, **text):
    return plans.ItemInput(
        criterion=criterion,
        cause=text.get("cause", "Thiếu người trả kết quả giờ cao điểm."),
        actions=text.get("actions", "Thêm một quầy trả kết quả buổi sáng."),
        responsible=text.get("responsible", "Phó Giám đốc"),
        deadline=deadline or clock.today() + timedelta(days=20),
        target=target,
    )
