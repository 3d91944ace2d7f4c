"""Each integrity flag on stuffing, and its absence on the genuine look-alikes.

Responses are written with chosen signals (times, phone, network, answers) and the flag
pass runs as `flask flag-responses` does. Look-alikes: a centre's shared Wi-Fi, a
carrier's address, a slow reader, a citizen answering for two dossiers, satisfied
citizens answering 5 everywhere, a unit open on Saturday afternoon.
"""

import io
import itertools
import random
from datetime import date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from survey import clock
from survey.extensions import db
from survey.models import (
    Dossier,
    FlagGroup,
    ResponseFlag,
    SurveyPeriod,
    SurveyResponse,
    Unit,
)
from survey.services import flagging
from tests.seed import OPEN_COUNTER_ID, OTHER_COUNTER_ID, PERIOD_ID

STP, XHB = 2, 3  # unit ids of the seed (province 1)
ITEMS = 23
keys = itertools.count()


def day_of(offset: int) -> date:
    """A weekday of the open period, `offset` weekdays after its 5th day."""
    day = clock.today() - timedelta(days=25)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    for _ in range(offset):
        day += timedelta(days=1)
        while day.weekday() >= 5:
            day += timedelta(days=1)
    return day


def at(day: date, hour: float) -> datetime:
    return datetime.combine(day, time(), clock.VIETNAM) + timedelta(hours=hour)


def varied(rng: random.Random) -> str:
    """A genuine-looking answer sheet: a level plus noise, some no-opinion."""
    level = rng.choice((3, 4, 4, 5))
    return "".join(
        str(max(1, min(5, level + rng.choice((-1, 0, 0, 1))))) for _ in range(ITEMS)
    )


def add(
    served: datetime,
    *,
    seconds: float = 150,
    counter: int = OPEN_COUNTER_ID,
    network: str = "net-a",
    device: str | None = None,
    answers: str | None = None,
    field: str = "ho-tich",
    rng: random.Random | None = None,
) -> None:
    db.session.add(
        SurveyResponse(
            period_id=PERIOD_ID,
            unit_id=STP if counter == OPEN_COUNTER_ID else XHB,
            counter_id=counter,
            channel="counter",
            field=field,
            submission_key=f"k{next(keys)}",
            form_served_at=served,
            submitted_at=served + timedelta(seconds=seconds),
            network_hash=network,
            device_hash=device or f"phone-{next(keys)}",
            answers=answers or varied(rng or random.Random(next(keys))),
            extra={},
        )
    )


def history(days: int = 12, per_day: int = 5, rng=None) -> None:
    """Ordinary days at both counters: citizens spread over the day, mixed networks."""
    rng = rng or random.Random(7)
    for offset in range(days):
        for counter in (OPEN_COUNTER_ID, OTHER_COUNTER_ID):
            for _ in range(per_day):
                network = rng.choice(("wifi-centre", "viettel-1", "vina-2"))
                add(
                    at(day_of(offset), rng.uniform(7.7, 16.5)),
                    counter=counter,
                    network=network,
                    seconds=rng.uniform(80, 400),
                    rng=rng,
                )


def flags_of() -> dict[str, set[str]]:
    flagging.flag_period(db.session.get(SurveyPeriod, PERIOD_ID))
    found: dict[str, set[str]] = {}
    rows = db.session.execute(
        sa.select(SurveyResponse.submission_key, ResponseFlag.code).join(
            ResponseFlag, ResponseFlag.response_id == SurveyResponse.id
        )
    )
    for key, code in rows:
        found.setdefault(code, set()).add(key)
    return found


def keys_where(*conditions) -> set[str]:
    return set(
        db.session.scalars(sa.select(SurveyResponse.submission_key).where(*conditions))
    )


def test_ordinary_traffic_raises_no_flag(app_ctx):
    history(days=15, per_day=8)
    db.session.commit()
    assert flags_of() == {}


def test_too_fast_is_flagged_but_a_slow_reader_is_not(app_ctx):
    history()
    add(at(day_of(13), 9), seconds=8, network="script", device="p1")
    add(at(day_of(13), 10), seconds=1800, network="slow", device="p2")  # half an hour
    db.session.commit()
    found = flags_of()
    assert found.keys() == {"fast"}
    assert found["fast"] == keys_where(SurveyResponse.device_hash == "p1")


def test_one_phone_answering_all_day_is_flagged(app_ctx):
    history()
    for hour in (8, 9, 10, 11, 14, 15):
        add(at(day_of(13), hour), device="staff-phone", answers="5" * ITEMS)
    db.session.commit()
    found = flags_of()
    assert found["device-repeat"] == keys_where(
        SurveyResponse.device_hash == "staff-phone"
    )


def test_a_citizen_with_two_dossiers_or_coming_back_is_not_a_suspect(app_ctx):
    history()
    # Two dossiers on one visit, answered back to back, at two counters of the centre.
    add(at(day_of(13), 9), device="citizen")
    add(at(day_of(13), 9.1), device="citizen", counter=OTHER_COUNTER_ID)
    # A business's agent, back on four other days.
    for offset in (1, 4, 7, 10):
        add(at(day_of(offset), 10), device="agent")
    db.session.commit()
    assert "device-repeat" not in flags_of()


def test_a_burst_from_one_network_is_flagged_but_a_busy_wifi_is_not(app_ctx):
    rng = random.Random(3)
    # A busy centre: its Wi-Fi carries most citizens, all day long, every day.
    for offset in range(12):
        for _ in range(25):
            add(
                at(day_of(offset), rng.uniform(7.6, 16.9)),
                network="wifi-centre",
                rng=rng,
            )
    for minute in range(0, 30, 1):  # 30 forms in half an hour from one network
        add(at(day_of(12), 14 + minute / 60), network="staff-wifi", seconds=60)
    db.session.commit()
    found = flags_of()
    assert found.get("network-burst") == keys_where(
        SurveyResponse.network_hash == "staff-wifi"
    )
    assert not keys_where(SurveyResponse.network_hash == "wifi-centre") & set().union(
        *found.values()
    )


def test_a_burst_from_rotating_addresses_is_flagged_at_the_counter(app_ctx):
    history()
    for minute in range(30):
        add(at(day_of(13), 9 + minute / 60), network=f"rotating-{minute}", seconds=70)
    db.session.commit()
    found = flags_of()
    assert found["counter-burst"] == keys_where(
        SurveyResponse.network_hash.like("rotating-%")
    )
    assert "network-burst" not in found


def test_copies_of_one_answer_sheet_are_flagged_but_satisfied_citizens_are_not(app_ctx):
    rng = random.Random(5)
    # A third of citizens answer 5 everywhere, on every network, every day.
    for offset in range(12):
        for _ in range(9):
            sheet = "5" * ITEMS if rng.random() < 0.33 else varied(rng)
            network = rng.choice(("wifi-centre", "viettel-1", "vina-2"))
            add(at(day_of(offset), rng.uniform(8, 16)), network=network, answers=sheet)
    copied = "4" * 10 + "5" * 13
    for hour in range(8, 16):
        add(at(day_of(12), hour), network="staff-wifi", answers=copied)
    db.session.commit()
    found = flags_of()
    assert found["pattern-repeat"] == keys_where(SurveyResponse.answers == copied)


def test_outside_opening_hours_is_flagged_with_each_units_own_hours(app_ctx):
    history()
    saturday = day_of(13)
    while saturday.weekday() != 5:
        saturday += timedelta(days=1)
    add(at(day_of(13), 21), device="night")  # 21:00 on a weekday
    add(at(day_of(13), 16.8), seconds=1500, device="late-reader")  # scanned at 16:48
    add(at(saturday, 15), device="saturday-x-hb", counter=OTHER_COUNTER_ID)
    add(at(saturday, 15), device="saturday-stp")
    # Xã Hòa Bình opens on Saturday afternoons; the others keep the province's week.
    db.session.get(Unit, XHB).opening_hours = "T2-T6 07:30-17:00; T7 07:30-17:00"
    db.session.commit()
    found = flags_of()
    assert found["off-hours"] == keys_where(
        SurveyResponse.device_hash.in_(["night", "saturday-stp"])
    )


def test_more_responses_than_dossiers_is_flagged_only_where_the_register_says(app_ctx):
    history(days=12, per_day=2)
    day = day_of(13)
    for number in range(4):  # the register: four dossiers returned that day at STP
        db.session.add(
            Dossier(
                code=f"D{number}",
                unit_id=STP,
                field="ho-tich",
                received_on=day - timedelta(days=5),
                returned_on=day,
            )
        )
    for hour in range(8, 20):
        add(at(day, 8 + (hour - 8) * 0.6), device=f"phone-{hour}")  # 12 answers
    db.session.commit()
    found = flags_of()
    assert (
        keys_where(
            sa.func.date(SurveyResponse.submitted_at) >= day,
            SurveyResponse.unit_id == STP,
        )
        <= found["over-dossiers"]
    )
    flagged = db.session.scalars(
        sa.select(SurveyResponse.unit_id)
        .join(ResponseFlag, ResponseFlag.response_id == SurveyResponse.id)
        .where(ResponseFlag.code == "over-dossiers")
    )
    assert set(flagged) == {STP}  # Xã Hòa Bình has no register: nothing to compare


def test_a_units_day_far_above_its_history_is_flagged(app_ctx):
    history(days=14, per_day=4)
    for number in range(40):  # ten times a usual day, varied, from many phones
        add(
            at(day_of(15), 7.7 + number * 0.2),
            counter=OTHER_COUNTER_ID,
            network=f"4g-{number % 7}",
        )
    db.session.commit()
    found = flags_of()
    jumped = keys_where(
        SurveyResponse.unit_id == XHB,
        SurveyResponse.submitted_at >= clock.day_start(day_of(15)),
    )
    assert jumped <= found["unit-jump"]


def test_the_pass_is_idempotent(app_ctx):
    history()
    for hour in (8, 9, 10, 11, 14):
        add(at(day_of(13), hour), device="staff-phone")
    db.session.commit()
    first = flags_of()
    groups = list(db.session.execute(sa.select(FlagGroup.id, FlagGroup.key)).all())
    again = flags_of()
    assert first == again
    assert (
        list(db.session.execute(sa.select(FlagGroup.id, FlagGroup.key)).all()) == groups
    )
    stored = dict(
        db.session.execute(
            sa.select(SurveyResponse.submission_key, SurveyResponse.flags)
        ).all()
    )
    assert {k for k, f in stored.items() if f} == set().union(*again.values())


@pytest.mark.parametrize("hours", ["T2-T6 7:30-17", "T8 07:30-17:00", "T2 17:00-07:30"])
def test_unreadable_opening_hours_are_refused(hours):
    from survey.integrity import HoursError, parse_hours

    with pytest.raises(HoursError):
        parse_hours(hours)


def test_opening_hours_read_days_ranges_and_lunch_breaks():
    from survey.integrity import parse_hours

    found = parse_hours("T2-T6 07:30-11:30, 13:30-17:00; CN 08:00-10:00")
    assert (0, 450, 690) in found
    assert (4, 810, 1020) in found
    assert (6, 480, 600) in found
    assert len(found) == 11


def test_the_pass_is_due_again_after_new_responses_or_a_register_import(app_ctx):
    """The fingerprint reads indexes only (no count of a period) and still sees
    a new response and an import that only updates dossiers."""
    from survey.services import register

    history(days=3, per_day=2)
    db.session.commit()
    period = db.session.get(SurveyPeriod, PERIOD_ID)
    header = "dossier_code,unit_code,field,received_on,returned_on,on_time\n"
    first = header + "H1,STP,ho-tich,2026-03-01,,\n"
    register.import_register(io.BytesIO(first.encode()), filename="so.csv")
    flagging.flag_period(period)
    assert not flagging.is_stale(period)
    add(at(day_of(4), 9), device="phone-new")
    db.session.commit()
    assert flagging.is_stale(period)
    flagging.flag_period(period)
    assert not flagging.is_stale(period)
    returned = header + "H1,STP,ho-tich,2026-03-01,2026-03-04,1\n"  # updates only
    register.import_register(io.BytesIO(returned.encode()), filename="so.csv")
    assert flagging.is_stale(period)
