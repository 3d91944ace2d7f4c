"""A demo province: units, counters, an open period and synthetic responses."""

import random
import secrets
from datetime import date, datetime, time, timedelta, timezone

import sqlalchemy as sa

from ..extensions import db
from ..models import NO_OPINION, Channel, Counter, Response, SurveyPeriod, Unit
from . import periods, units
from .questionnaires import definition_of, get_questionnaire, sync_questionnaires

DEMO_UNITS = """code,name,level,parent_code
DEMO,Tỉnh An Hòa (dữ liệu mẫu),province,
STP,Sở Tư pháp,department,DEMO
SXD,Sở Xây dựng,department,DEMO
SNNMT,Sở Nông nghiệp và Môi trường,department,DEMO
STC,Sở Tài chính,department,DEMO
P-ANLAC,Phường An Lạc,ward,DEMO
P-BINHMINH,Phường Bình Minh,ward,DEMO
X-HOABINH,Xã Hòa Bình,commune,DEMO
X-TANPHU,Xã Tân Phú,commune,DEMO
X-SONGDA,Xã Sông Đà,commune,DEMO
"""
COUNTER_NAMES = ("Quầy 1 – Tiếp nhận hồ sơ", "Quầy 2 – Trả kết quả", "Quầy 3 – Đất đai")
VN = timezone(timedelta(hours=7))


def seed_demo(responses: int = 400, seed: int = 2026) -> SurveyPeriod:
    """Create the demo province once and return its open period (idempotent)."""
    sync_questionnaires()
    existing = db.session.scalar(
        sa.select(SurveyPeriod).filter_by(name=demo_period_name())
    )
    if existing is not None:
        return existing
    units.import_units(DEMO_UNITS)
    rng = random.Random(seed)
    for unit in db.session.scalars(sa.select(Unit).where(Unit.parent_id.is_not(None))):
        for name in COUNTER_NAMES[: rng.choice((2, 3))]:
            db.session.add(Counter(unit=unit, name=name))
    db.session.commit()
    today = date.today()
    quarter_start = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    period = periods.create_period(
        demo_period_name(),
        quarter_start,
        quarter_start + timedelta(days=91),
        get_questionnaire("sipas-2640"),
        (Channel.COUNTER, Channel.SAMPLE),
    )
    periods.open_period(period)
    if responses:
        add_synthetic_responses(period, responses, rng)
    return period


def demo_period_name() -> str:
    today = date.today()
    return f"Quý {(today.month - 1) // 3 + 1}/{today.year}"


def add_synthetic_responses(
    period: SurveyPeriod, count: int, rng: random.Random
) -> None:
    """Add responses with a realistic spread: units differ, E5 is weaker and often unanswered."""
    definition = definition_of(period.questionnaire)
    counters = list(db.session.scalars(sa.select(Counter)))
    unit_level = {c.unit_id: rng.uniform(-0.8, 0.9) for c in counters}
    fields = [o.code for o in definition.question("field").options]
    now = datetime.now(VN)
    rows = []
    for _ in range(count):
        counter = rng.choice(counters)
        level = unit_level[counter.unit_id] + rng.gauss(0, 0.7)
        scale = {"overall": _likert(rng, level)}
        for element in definition.elements:
            shift = -0.6 if element.code == "E5" else 0.0
            for criterion in element.criteria:
                unanswered = element.code == "E5" and rng.random() < 0.25
                scale[criterion.code] = (
                    NO_OPINION if unanswered else _likert(rng, level + shift)
                )
        day = now.date() - timedelta(days=rng.randrange(0, 30))
        served = datetime.combine(day, time(7, 30), VN) + timedelta(
            minutes=rng.randrange(0, 540)
        )
        rows.append(
            Response(
                period_id=period.id,
                unit_id=counter.unit_id,
                counter_id=counter.id,
                channel=Channel.COUNTER.value,
                field=rng.choice(fields),
                submission_key=secrets.token_urlsafe(16),
                form_served_at=served,
                submitted_at=served + timedelta(seconds=rng.randrange(70, 400)),
                answers=definition.encode_answers(scale),
                extra={
                    "gender": rng.choice(("nam", "nu")),
                    "age_group": rng.choice(
                        ("18-25", "26-35", "36-45", "46-60", "61+")
                    ),
                },
            )
        )
    db.session.add_all(rows)
    db.session.commit()


def _likert(rng: random.Random, level: float) -> int:
    """Draw a 1–5 answer from a latent level (ordered-probit-like thresholds)."""
    latent = level + rng.gauss(0, 1)
    return 1 + sum(latent > cut for cut in (-2.2, -1.4, -0.6, 0.6))
