"""A demo province: units, counters, an open period and synthetic responses."""

import random
import secrets
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa

from .. import clock
from ..extensions import db
from ..models import (
    NO_OPINION,
    Channel,
    Counter,
    Dossier,
    Invitation,
    InvitationBatch,
    Role,
    SurveyPeriod,
    SurveyResponse,
    Unit,
    User,
)
from . import (
    accounts,
    indices,
    invitations,
    periods,
    plans,
    publications,
    sampling,
    units,
)
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
DEMO_USERS = (
    ("admin", "demo-admin-2026", Role.ADMIN, None),
    ("stp", "demo-unit-2026", Role.UNIT_HEAD, "STP"),
    ("viewer", "demo-viewer-2026", Role.VIEWER, None),
)


def seed_demo(responses: int = 400, seed: int = 2026) -> SurveyPeriod:
    """Create the demo province once and return its open period (idempotent).

    The province gets units, counters, demo accounts and a dossier register. Two
    quarters ago and last quarter ran the 2640/QĐ-BNV questionnaire and are published;
    Sở Tư pháp opened an improvement plan from the first, whose targets the second
    measured. This quarter is open on the 1001/QĐ-BNV counter questionnaire, at the
    counters and through sampled invitations, so the unit pages show the break in the
    series.
    """
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
    taken = set(db.session.scalars(sa.select(User.username)))
    for username, password, role, unit_code in DEMO_USERS:
        if username not in taken:
            unit = units.get_unit(unit_code) if unit_code else None
            accounts.create_user(username, password, role, unit)
    old, new = get_questionnaire("sipas-2640"), get_questionnaire("sipas-1001-dv")
    this_quarter = quarter_start(clock.today())
    last_quarter = quarter_start(this_quarter - timedelta(days=1))
    first_quarter = quarter_start(last_quarter - timedelta(days=1))
    if responses:
        stp = units.get_unit("STP")
        # Sở Tư pháp was weak on the time to a result and on feedback two quarters ago
        weak = {(stp.id, code): shift for code, shift in BEFORE.items()}
        baseline = published_quarter(
            old, first_quarter, last_quarter, responses, rng, -0.2, weak
        )
        demo_plan(baseline, stp, last_quarter)
        # ... acted on it, and last quarter measured the targets when it was published
        better = {(stp.id, code): shift for code, shift in AFTER.items()}
        published_quarter(old, last_quarter, this_quarter, responses, rng, -0.2, better)
    period = periods.create_period(
        demo_period_name(),
        this_quarter,
        quarter_start(this_quarter + timedelta(days=95)) - timedelta(days=1),
        new,
        (Channel.COUNTER, Channel.SAMPLE),
    )
    periods.open_period(period)
    if responses:
        add_dossiers(this_quarter, clock.today(), 6 * responses, rng)
        add_synthetic_responses(period, responses, rng)
        add_stuffed_phone(period)
        add_sample(period, rng)
    return period


def add_stuffed_phone(period: SurveyPeriod) -> None:
    """One phone answering 5 everywhere, eight times in half an hour: the review queue's
    first group in the demo."""
    definition = definition_of(period.questionnaire)
    counter = db.session.scalar(sa.select(Counter).order_by(Counter.id).limit(1))
    day = max(clock.today() - timedelta(days=1), period.starts_on)
    while day.weekday() >= 5 and day > period.starts_on:
        day -= timedelta(days=1)
    start = datetime.combine(day, time(8, 5), clock.VIETNAM).astimezone(UTC)
    db.session.add_all(
        SurveyResponse(
            period_id=period.id,
            unit_id=counter.unit_id,
            counter_id=counter.id,
            channel=Channel.COUNTER.value,
            field="ho-tich",
            submission_key=secrets.token_urlsafe(16),
            form_served_at=start + timedelta(minutes=4 * n),
            submitted_at=start + timedelta(minutes=4 * n, seconds=31),
            network_hash="demo-counter-wifi",
            device_hash="demo-staff-phone",
            answers=definition.encode_answers(
                {code: 5 for code in definition.scale_items}
            ),
            extra={},
        )
        for n in range(8)
    )
    db.session.commit()


#: The criteria of the demo plan (2.5 time to a result, 5.4 notice of the outcome of
#: feedback, 3.4 guidance), how Sở Tư pháp stood on them before and after (the first
#: fixed, the second not, the third too close to call), and what was written.
PLANNED = ("2.5", "5.4", "3.4")
BEFORE = {"2.5": -1.0, "5.4": -1.0, "3.4": -0.3}  # latent shifts two quarters ago
AFTER = {"2.5": 0.0, "5.4": -1.0, "3.4": -0.3}  # and last quarter
DEMO_ITEMS = {
    "2.5": (
        "Hồ sơ đất đai chờ ý kiến liên ngành quá lâu; chưa theo dõi hạn từng hồ sơ.",
        "Lập sổ theo dõi hạn; nhắc việc tự động 3 ngày trước hạn; họp liên ngành hằng tuần.",
        "Phó Giám đốc phụ trách hành chính",
    ),
    "5.4": (
        "Chưa có quy trình báo lại kết quả xử lý phản ánh cho người dân.",
        "Gửi kết quả qua SMS/Zalo trong 5 ngày làm việc; công khai trên cổng thông tin.",
        "Chánh Văn phòng Sở",
    ),
    "3.4": (
        "Công chức mới chưa được hướng dẫn nghiệp vụ đầy đủ.",
        "Tập huấn kỹ năng hướng dẫn hồ sơ; bảng hướng dẫn mẫu tại quầy.",
        "Trưởng bộ phận Một cửa",
    ),
}


def published_quarter(
    questionnaire, first: date, after: date, responses: int, rng, level: float, shifts
) -> SurveyPeriod:
    """A quarter that ran, closed, and was published at the start of the next one."""
    period = periods.create_period(
        demo_period_name(first), first, after - timedelta(days=1), questionnaire
    )
    periods.open_period(period)
    add_dossiers(first, after - timedelta(days=1), 6 * responses, rng)
    add_synthetic_responses(period, responses, rng, level, shifts)
    add_synthetic_responses(period, responses // 3, rng, level, shifts, unit_code="STP")
    periods.close_period(period)
    admin = db.session.scalar(sa.select(User).filter_by(role=Role.ADMIN).limit(1))
    with clock.travel(clock.day_start(after) + timedelta(hours=3)):
        publications.publish(period, indices.Settings(weighting="volume"), by=admin)
    return period


def demo_plan(baseline: SurveyPeriod, unit: Unit, quarter: date):
    """Sở Tư pháp's plan from a published quarter, mostly carried out in the next."""
    head = db.session.scalar(sa.select(User).filter_by(username="stp"))
    with clock.travel(
        clock.day_start(quarter + timedelta(days=6)) + timedelta(hours=3)
    ):
        draft = plans.plan_draft(baseline, unit)
        items = []
        for code in PLANNED:
            cause, actions, responsible = DEMO_ITEMS[code]
            row = draft.criterion(code)
            items.append(
                plans.ItemInput(
                    criterion=code,
                    cause=cause,
                    actions=actions,
                    responsible=responsible,
                    deadline=quarter + timedelta(days=60),
                    target=row["suggested_target"],
                )
            )
        plan = plans.create_plan(baseline, unit, items, by=head)
    with clock.travel(
        clock.day_start(quarter + timedelta(days=45)) + timedelta(hours=3)
    ):
        for item in plan.items[:2]:  # the third action is still open: overdue now
            plans.set_item_done(item, True, by=head)
    return plan


def add_sample(period: SurveyPeriod, rng: random.Random, answered: float = 0.55):
    """Plan and draw a Poisson sample, deliver all but one batch, answer some invitations.

    Sampled citizens answer less favourably than the counter stream (the drift the
    side-by-side results make visible); a few invitations stay unanswered for a
    newcomer to try.
    """
    admin = db.session.scalar(sa.select(User).filter_by(role=Role.ADMIN).limit(1))
    sampling.save_plan(
        period,
        sampling.PlanSettings(
            design="poisson", moe=8, deff=1.2, response_rate=100 * answered
        ),
        by=admin,
    )
    sampling.draw(period, by=admin)
    batches = [row.id for row in invitations.batch_rows(period)]
    invitations.mark_delivered(period, batches[:-1], by=admin)
    add_sampled_responses(period, answered, rng)


def add_sampled_responses(
    period: SurveyPeriod, share: float, rng: random.Random, drift: float = 0.6
) -> None:
    """Answer a share of the delivered invitations, less satisfied than at the counter."""
    definition = definition_of(period.questionnaire)
    unit_level = _unit_levels()
    delivered = db.session.execute(
        sa.select(Invitation.id, Invitation.unit_id, Invitation.field)
        .join(InvitationBatch, InvitationBatch.id == Invitation.batch_id)
        .where(
            Invitation.period_id == period.id,
            InvitationBatch.delivered_at.is_not(None),
        )
        .order_by(Invitation.id)
    ).all()
    last = min(period.ends_on, clock.today())
    span = (last - period.starts_on).days
    rows = []
    for invitation_id, unit_id, field in delivered:
        if rng.random() >= share:
            continue
        level = unit_level.get(unit_id, 0.0) - drift + rng.gauss(0, 0.7)
        day = last - timedelta(days=rng.randrange(0, min(span, 30) + 1))
        served = datetime.combine(day, time(19, 0), clock.VIETNAM).astimezone(
            UTC
        ) + timedelta(minutes=rng.randrange(0, 180))
        rows.append(
            SurveyResponse(
                period_id=period.id,
                unit_id=unit_id,
                channel=Channel.SAMPLE.value,
                field=field,
                invitation_id=invitation_id,
                submission_key=f"i{invitation_id}",
                form_served_at=served,
                submitted_at=served + timedelta(seconds=rng.randrange(90, 500)),
                answers=definition.encode_answers(
                    _synthetic_scale(definition, rng, level)
                ),
                extra={"gender": rng.choice(("nam", "nu"))},
            )
        )
    db.session.add_all(rows)
    db.session.commit()


def _unit_levels(improvement: float = 0.0) -> dict[int, float]:
    """Each demo unit's latent satisfaction: the same units are strong or weak always."""
    levels = random.Random(7)
    counters = db.session.scalars(sa.select(Counter.unit_id).distinct())
    return {u: levels.uniform(-0.8, 0.9) + improvement for u in sorted(counters)}


def _synthetic_scale(
    definition, rng: random.Random, level: float, lifts: dict[str, float] | None = None
) -> dict[str, int]:
    """Answers around a latent level: the last element (feedback handling) is weaker
    and often unanswered; `lifts` moves criteria up or down."""
    lifts = lifts or {}
    scale = {"overall": _likert(rng, level)}
    weakest = definition.elements[-1]
    for element in definition.elements:
        shift = -0.6 if element is weakest else 0.0
        for criterion in element.criteria:
            unanswered = element is weakest and rng.random() < 0.25
            lift = lifts.get(criterion.code, 0.0)
            scale[criterion.code] = (
                NO_OPINION if unanswered else _likert(rng, level + shift + lift)
            )
    return scale


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def add_dossiers(first: date, last: date, count: int, rng: random.Random) -> None:
    """Add a synthetic one-stop register: dossiers returned between two dates."""
    unit_ids = list(
        db.session.scalars(sa.select(Unit.id).where(Unit.parent_id.is_not(None)))
    )
    fields = (
        "dat-dai",
        "ho-tich",
        "xay-dung",
        "tu-phap",
        "dang-ky-kinh-doanh",
        "lao-dong-xa-hoi",
        "khac",
    )
    span = max((last - first).days, 1)
    rows = []
    for number in range(count):
        returned = first + timedelta(days=rng.randrange(span + 1))
        rows.append(
            {
                "code": f"DEMO-{first:%Y%m}-{number:06d}",
                "unit_id": rng.choice(unit_ids),
                "field": rng.choice(fields),
                "is_late": rng.random() < 0.06,
                "received_on": returned - timedelta(days=rng.randrange(1, 15)),
                "returned_on": returned,
            }
        )
    db.session.execute(sa.insert(Dossier), rows)
    db.session.commit()


def demo_period_name(day: date | None = None) -> str:
    day = day or clock.today()
    return f"Quý {(day.month - 1) // 3 + 1}/{day.year}"


def add_synthetic_responses(
    period: SurveyPeriod,
    count: int,
    rng: random.Random,
    improvement: float = 0.0,
    shifts: dict[tuple[int, str], float] | None = None,
    unit_code: str | None = None,
) -> None:
    """Add counter responses with a realistic spread: units differ, the last element is
    weaker and often unanswered; `shifts` moves (unit id, criterion) up or down,
    `unit_code` keeps the responses to one unit's counters."""
    definition = definition_of(period.questionnaire)
    query = sa.select(Counter).order_by(Counter.id)
    if unit_code is not None:
        query = query.join(Unit).where(Unit.code == unit_code)
    counters = list(db.session.scalars(query))
    unit_level = _unit_levels(improvement)
    lifts: dict[int, dict[str, float]] = {}
    for (unit_id, code), shift in (shifts or {}).items():
        lifts.setdefault(unit_id, {})[code] = shift
    asked = definition.question("field")  # the household form has no field question
    fields = [o.code for o in asked.options] if asked else [None]
    last = min(period.ends_on, clock.today())
    span = (last - period.starts_on).days
    rows = []
    for _ in range(count):
        counter = rng.choice(counters)
        level = unit_level[counter.unit_id] + rng.gauss(0, 0.7)
        scale = _synthetic_scale(definition, rng, level, lifts.get(counter.unit_id))
        day = last - timedelta(days=rng.randrange(0, min(span, 45) + 1))
        # Opening hours in Vietnam, stored in UTC like every timestamp (SQLite keeps no zone).
        served = datetime.combine(day, time(7, 30), clock.VIETNAM).astimezone(
            UTC
        ) + timedelta(minutes=rng.randrange(0, 540))
        rows.append(
            SurveyResponse(
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
