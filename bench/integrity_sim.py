"""Stuffing simulator: a month of genuine and stuffed counter traffic through the real app.

The application runs in-process (Flask test client: real routes, forms, CSRF, signed
keys, device cookies, the already-answered page, the minimum wait) on its own SQLite
database, with simulated time through `survey.clock.travel`. Every phone is a client
with its own cookie jar and address.

Genuine traffic: a provincial centre hosting three departments (one Wi-Fi for all)
and three communes (a Wi-Fi each); dossiers returned per the register (Mondays and
mornings busier); a share of citizens answer, on the centre's Wi-Fi or on a carrier's
NAT pool, after reading for one to several minutes (log-normal), with answers
correlated across criteria (a citizen's level plus item noise, ordered thresholds),
a share who answer 5 everywhere, a few who answer for a second dossier through
"another dossier", and businesses' agents who come back on other days. Three weeks of
the previous period give counters and units a history.

Stuffing, each scenario on its own copy of the same genuine month:
staff phone through the day; staff in private browsing (a new cookie each form) on the
centre's Wi-Fi in sessions; a script rotating addresses; bursts after closing time;
straight 5s from a commune's staff; more responses than dossiers at a small commune;
and one that no rule can see (a few varied forms a day at a busy centre's pace).

Reported per scenario: recall (stuffed responses flagged / stuffed responses stored)
and false flags (genuine responses flagged / genuine responses), for three genuine
worlds of different seed, centre size, reading times, share of all-5 and Wi-Fi use.
Rate limits use the wall clock, not simulated time, so they are off here (tests cover
them); everything else at the door runs.
"""

import argparse
import heapq
import itertools
import math
import random
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from bench.results import write_section

SECRET = "sim-secret-of-the-simulator"
FIELDS = ("dat-dai", "ho-tich", "xay-dung", "tu-phap", "dang-ky-kinh-doanh",
          "lao-dong-xa-hoi")  # fmt: skip
CENTRE_WIFI = "203.0.113.{}"
CARRIERS = ("10.{}.{}.{}", "100.{}.{}.{}", "172.{}.{}.{}")
UNITS = (  # code, name, level, dossiers a day, counters, Wi-Fi address
    ("STP", "Sở Tư pháp", "department", 70, 2, CENTRE_WIFI),
    ("SXD", "Sở Xây dựng", "department", 45, 2, CENTRE_WIFI),
    ("STNMT", "Sở Nông nghiệp và Môi trường", "department", 60, 2, CENTRE_WIFI),
    ("X-AN", "Xã An Bình", "commune", 12, 1, "198.51.100.{}"),
    ("X-TAN", "Xã Tân Lập", "commune", 6, 1, "192.0.2.{}"),
    ("P-HOA", "Phường Hòa Khánh", "ward", 25, 2, "100.64.7.{}"),
)


@dataclass(frozen=True)
class World:
    """The genuine world's parameters (varied to check that the flags are robust)."""

    name: str
    seed: int
    scale: float = 1.0  # dossiers a day, as a multiple of UNITS
    reading_median: float = 150.0  # seconds to read and answer
    reading_sigma: float = 0.55
    all_five: float = 0.30  # share who answer 5 everywhere
    wifi: float = 0.55  # share on the centre's or commune's Wi-Fi
    response_rate: float = 0.25  # share of citizens with a dossier who answer


WORLDS = (
    World("base", 1),
    World(
        "big centre, quick readers, many all-5",
        2,
        scale=2.0,
        reading_median=90,
        reading_sigma=0.7,
        all_five=0.45,
        wifi=0.7,
        response_rate=0.3,
    ),
    World(
        "small centre, slow readers, few all-5",
        3,
        scale=0.6,
        reading_median=240,
        reading_sigma=0.5,
        all_five=0.2,
        wifi=0.35,
        response_rate=0.18,
    ),
)


@dataclass
class Outcome:
    genuine: int = 0
    genuine_flagged: int = 0
    stuffed: int = 0
    stuffed_flagged: int = 0
    refused: int = 0
    genuine_refused: int = 0
    codes: dict = field(default_factory=dict)
    seconds: float = 0.0


def local(day: date, hour: float) -> datetime:
    from survey import clock

    base = datetime.combine(day, datetime.min.time(), clock.VIETNAM)
    return (base + timedelta(hours=hour)).astimezone(UTC)


class Simulation:
    """One database, one app, one simulated clock; phones are test clients."""

    def __init__(self, folder: Path, world: World):
        self.folder, self.world = folder, world
        self.rng = random.Random(world.seed)
        self.now = datetime(2026, 9, 1, tzinfo=UTC)
        self.labels: dict[str, str] = {}  # submission nonce -> "genuine" / scenario
        self.refused = self.genuine_refused = 0
        self.events: list = []
        self.sequence = itertools.count()
        self.app = self.make_app(folder / "sim.sqlite")

    @staticmethod
    def make_app(path: Path):
        from survey import create_app

        return create_app(
            {
                "SECRET_KEY": SECRET,
                "INTEGRITY_SALT": "sim-salt-of-the-simulator",
                "PUBLIC_BASE_URL": "http://sipas.sim",
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}",
                "RATELIMIT_ENABLED": False,
                "SERVER_NAME": "sipas.sim",
            }
        )

    # -- the world -------------------------------------------------------------------
    def build(self, previous: tuple[date, date], current: tuple[date, date]) -> None:
        from flask_migrate import upgrade

        from survey.extensions import db
        from survey.models import Counter, Unit
        from survey.services import periods, units
        from survey.services.questionnaires import (
            get_questionnaire,
            sync_questionnaires,
        )

        with self.app.app_context():
            upgrade()
            sync_questionnaires()
            rows = ["code,name,level,parent_code", "TINH,Tỉnh Mô Phỏng,province,"]
            rows += [f"{c},{n},{lvl},TINH" for c, n, lvl, *_ in UNITS]
            units.import_units("\n".join(rows) + "\n")
            self.counters = {}
            for code, _, _, _, count, _ in UNITS:
                unit = db.session.scalar(sa.select(Unit).filter_by(code=code))
                made = [Counter(unit=unit, name=f"Quầy {i + 1}") for i in range(count)]
                db.session.add_all(made)
                db.session.commit()
                self.counters[code] = [
                    (c.id, f"/s/{units.counter_token(c)}", c.unit_id) for c in made
                ]
            questionnaire = get_questionnaire("sipas-2640")
            for name, (first, last) in (("Trước", previous), ("Tháng này", current)):
                period = periods.create_period(name, first, last, questionnaire)
                periods.open_period(period)
            self.period_ids = (1, 2)

    def register(self, first: date, last: date) -> dict:
        """Dossiers returned per unit and working day (Mondays busier), into the register."""
        from survey.extensions import db
        from survey.models import Dossier, Unit

        returned = {}
        rows = []
        with self.app.app_context():
            ids = dict(db.session.execute(sa.select(Unit.code, Unit.id)).all())
            day = first
            while day <= last:
                weekday = day.weekday()
                if weekday < 6:
                    for code, _, _, volume, _, _ in UNITS:
                        mean = (
                            volume * self.world.scale * (1.3 if weekday == 0 else 1.0)
                        )
                        mean *= 0.45 if weekday == 5 else 1.0
                        count = max(0, round(self.rng.gauss(mean, math.sqrt(mean))))
                        fields = [self.rng.choice(FIELDS) for _ in range(count)]
                        returned[code, day] = fields
                        rows += [
                            {
                                "code": f"{code}-{day:%Y%m%d}-{i}",
                                "unit_id": ids[code],
                                "field": f,
                                "received_on": day
                                - timedelta(days=self.rng.randint(1, 12)),
                                "returned_on": day,
                                "is_late": False,
                            }
                            for i, f in enumerate(fields)
                        ]
                day += timedelta(days=1)
            db.session.execute(sa.insert(Dossier), rows)
            db.session.commit()
        return returned

    # -- phones and the HTTP path ----------------------------------------------------
    def phone(self):
        return self.app.test_client()

    def carrier_address(self) -> str:
        pattern = self.rng.choice(CARRIERS)
        return pattern.format(
            self.rng.randint(1, 6), self.rng.randint(0, 3), self.rng.randint(2, 250)
        )

    def fetch(
        self, client, path: str, address: str, another: bool = False
    ) -> dict | None:
        page = client.get(
            path + ("?khac=1" if another else ""), environ_base={"REMOTE_ADDR": address}
        )
        html = page.get_data(as_text=True)
        hidden = dict(re.findall(r'name="(k|csrf_token)"[^>]*value="([^"]*)"', html))
        hidden.update(
            (name, value)
            for value, name in re.findall(
                r'value="([^"]*)"[^>]*name="(k|csrf_token)"', html
            )
        )
        return hidden if "k" in hidden else None

    def post(self, client, path, address, hidden, answers, field_code, label) -> bool:
        from tests.helpers import field_name

        data = {field_name(code): str(value) for code, value in answers.items()}
        data[field_name("field")] = field_code
        data |= hidden
        reply = client.post(path, data=data, environ_base={"REMOTE_ADDR": address})
        if reply.status_code == 303:
            from survey import tokens

            nonce = tokens._serializer(SECRET).loads(hidden["k"])[0]
            self.labels[nonce] = label
            return True
        if label == "genuine":
            self.genuine_refused += 1
        else:
            self.refused += 1
        return False

    def flow(self, start, client, path, address, answers, field_code, reading, label,
             another=False, then=None):  # fmt: skip
        """A phone fetches the form at `start`, posts after `reading` seconds."""
        self.now = start
        hidden = self.fetch(client, path, address, another)
        if hidden is None and label != "genuine":  # already answered: "another dossier"
            hidden = self.fetch(client, path, address, another=True)
        yield start + timedelta(seconds=reading)
        if hidden:
            self.post(client, path, address, hidden, answers, field_code, label)
        if then is not None:
            yield from then()

    def schedule(self, start: datetime, generator) -> None:
        heapq.heappush(self.events, (start, next(self.sequence), generator))

    def run(self) -> None:
        from survey import clock

        with clock.travel(lambda: self.now):
            while self.events:
                moment, _, generator = heapq.heappop(self.events)
                self.now = moment
                try:
                    wake = next(generator)
                except StopIteration:
                    continue
                heapq.heappush(self.events, (wake, next(self.sequence), generator))

    # -- genuine citizens ------------------------------------------------------------
    def answers(self, level: float, straight: bool = False) -> dict:
        from tests.helpers import DEFINITION

        if straight:
            sheet = {c.code: 5 for c in DEFINITION.criteria}
            sheet["overall"] = 5
            return sheet
        sheet = {}
        for element in DEFINITION.elements:
            shift = self.rng.gauss(-0.5 if element.code == "E5" else 0.0, 0.3)
            for criterion in element.criteria:
                if element.code == "E5" and self.rng.random() < 0.2:
                    sheet[criterion.code] = 0
                else:
                    sheet[criterion.code] = likert(
                        level + shift + self.rng.gauss(0, 0.55)
                    )
        sheet["overall"] = likert(level + self.rng.gauss(0, 0.4))
        return sheet

    def arrival(self, day: date) -> datetime:
        """A time of service: mornings busier, none at lunch."""
        if self.rng.random() < 0.65:
            hour = min(max(self.rng.gauss(9.2, 1.0), 7.6), 11.4)
        else:
            hour = self.rng.uniform(13.6, 16.9)
        if day.weekday() == 5:
            hour = self.rng.uniform(7.6, 11.4)
        return local(day, hour)

    def reading(self) -> float:
        world = self.world
        return max(
            40.0,
            self.rng.lognormvariate(
                math.log(world.reading_median), world.reading_sigma
            ),
        )

    def genuine(self, returned: dict) -> None:
        agents = [(self.phone(), self.carrier_address()) for _ in range(4)]
        unit_level = {code: self.rng.uniform(0.2, 1.1) for code, *_ in UNITS}
        wifi = {code: address for code, *_, address in UNITS}
        for (code, day), fields in sorted(returned.items()):
            for field_code in fields:
                if self.rng.random() >= self.world.response_rate:
                    continue
                counter_id, path, _ = self.rng.choice(self.counters[code])
                if self.rng.random() < 0.01:  # a business's agent, back on another day
                    client, address = self.rng.choice(agents)
                else:
                    client = self.phone()
                    address = (
                        wifi[code].format(self.rng.randint(2, 250))
                        if self.rng.random() < self.world.wifi
                        else self.carrier_address()
                    )
                level = unit_level[code] + self.rng.gauss(0, 0.8)
                straight = self.rng.random() < self.world.all_five
                start = self.arrival(day)
                then = None
                if self.rng.random() < 0.03:  # a second dossier, answered on purpose
                    then = self.second_dossier(client, path, address, level)
                self.schedule(
                    start,
                    self.flow(start, client, path, address, self.answers(level, straight),
                              field_code, self.reading(), "genuine", then=then),
                )  # fmt: skip

    def second_dossier(self, client, path, address, level):
        def follow():
            pause = self.rng.uniform(20, 120)
            start = self.now + timedelta(seconds=pause)
            yield start
            yield from self.flow(start, client, path, address, self.answers(level),
                                 self.rng.choice(FIELDS), self.reading(), "genuine",
                                 another=True)  # fmt: skip

        return follow

    # -- results ---------------------------------------------------------------------
    def outcome(self, period_id: int) -> Outcome:
        from survey.extensions import db
        from survey.models import ResponseFlag, SurveyPeriod, SurveyResponse
        from survey.services import flagging

        with self.app.app_context():
            period = db.session.get(SurveyPeriod, period_id)
            flagging.flag_period(period)
            rows = db.session.execute(
                sa.select(SurveyResponse.submission_key, SurveyResponse.flags).where(
                    SurveyResponse.period_id == period_id
                )
            ).all()
            codes = db.session.execute(
                sa.select(ResponseFlag.code, SurveyResponse.submission_key)
                .join(SurveyResponse, SurveyResponse.id == ResponseFlag.response_id)
                .where(ResponseFlag.period_id == period_id)
            ).all()
        result = Outcome(refused=self.refused, genuine_refused=self.genuine_refused)
        for nonce, flags in rows:
            label = self.labels.get(nonce, "genuine")
            if label == "genuine":
                result.genuine += 1
                result.genuine_flagged += bool(flags)
            else:
                result.stuffed += 1
                result.stuffed_flagged += bool(flags)
        for code, nonce in codes:
            side = (
                "genuine"
                if self.labels.get(nonce, "genuine") == "genuine"
                else "stuffed"
            )
            result.codes[code, side] = result.codes.get((code, side), 0) + 1
        return result


def likert(latent: float) -> int:
    return 1 + sum(latent > cut for cut in (-2.2, -1.4, -0.5, 0.5))


# -- stuffing scenarios: each adds flows to a copy of the genuine month -----------------
def working_days(first: date, last: date, rng: random.Random, count: int) -> list[date]:
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    days = [d for d in days if d.weekday() < 5]
    return sorted(rng.sample(days, min(count, len(days))))


def stuff(sim, start, client, path, address, sheet, reading, label) -> None:
    """Schedule one stuffed form: fetched at `start`, posted `reading` seconds later."""
    flow = sim.flow(
        start, client, path, address, sheet, sim.rng.choice(FIELDS), reading, label
    )
    sim.schedule(start, flow)


def random_address(rng: random.Random) -> str:
    return ".".join(str(rng.randint(1, 223)) for _ in range(4))


def staff_phone(sim: Simulation, first: date, last: date) -> str:
    """One staff phone (its cookie kept) filling forms through the day at a desk."""
    client = sim.phone()
    path = sim.counters["STP"][0][1]
    for day in working_days(first, last, sim.rng, 10):
        for _ in range(sim.rng.randint(8, 15)):
            start = local(day, sim.rng.uniform(7.7, 16.8))
            sheet = sim.answers(1.6, straight=sim.rng.random() < 0.6)
            address = CENTRE_WIFI.format(77)
            stuff(sim, start, client, path, address, sheet, sim.rng.uniform(35, 90),
                  "staff phone")  # fmt: skip
    return "device-repeat"


def private_browsing(sim: Simulation, first: date, last: date) -> str:
    """Staff in private windows (a new cookie each form) on the centre's Wi-Fi, in sessions."""
    path = sim.counters["SXD"][1][1]
    for day in working_days(first, last, sim.rng, 8):
        moment = local(day, sim.rng.choice((10.0, 14.5, 15.5)))
        for _ in range(sim.rng.randint(12, 25)):
            sheet = sim.answers(1.6, straight=sim.rng.random() < 0.5)
            reading = sim.rng.uniform(45, 80)
            stuff(sim, moment, sim.phone(), path, CENTRE_WIFI.format(90), sheet, reading,
                  "private browsing")  # fmt: skip
            moment += timedelta(seconds=reading + sim.rng.uniform(10, 30))
    return "network-burst"


def rotating_script(sim: Simulation, first: date, last: date) -> str:
    """A script: a new address and cookie per form, posting just after the door's wait."""
    path = sim.counters["P-HOA"][0][1]
    for day in working_days(first, last, sim.rng, 3):
        moment = local(day, 9.0)
        for _ in range(60):
            stuff(sim, moment, sim.phone(), path, random_address(sim.rng),
                  sim.answers(1.8), sim.rng.uniform(11, 20), "rotating script")  # fmt: skip
            moment += timedelta(seconds=sim.rng.uniform(20, 60))
    return "fast, counter-burst"


def patient_script(sim: Simulation, first: date, last: date) -> str:
    """A script that rotates addresses and waits like a reader (90-200 s per form)."""
    path = sim.counters["STNMT"][0][1]
    for day in working_days(first, last, sim.rng, 3):
        moment = local(day, 8.0)
        for _ in range(40):
            stuff(sim, moment, sim.phone(), path, random_address(sim.rng),
                  sim.answers(1.7), sim.rng.uniform(90, 200), "patient script")  # fmt: skip
            moment += timedelta(seconds=sim.rng.uniform(30, 90))
    return "counter-burst"


def after_closing(sim: Simulation, first: date, last: date) -> str:
    """Bursts after closing time from the centre's Wi-Fi."""
    path = sim.counters["STP"][1][1]
    for day in working_days(first, last, sim.rng, 5):
        moment = local(day, 17.6)
        for _ in range(sim.rng.randint(10, 20)):
            sheet = sim.answers(1.5, sim.rng.random() < 0.5)
            stuff(sim, moment, sim.phone(), path, CENTRE_WIFI.format(91), sheet,
                  sim.rng.uniform(40, 90), "after closing")  # fmt: skip
            moment += timedelta(seconds=sim.rng.uniform(90, 200))
    return "off-hours"


def straight_fives(sim: Simulation, first: date, last: date) -> str:
    """A commune's staff submit all-5 sheets from private windows, spread over the day."""
    path = sim.counters["X-AN"][0][1]
    for day in working_days(first, last, sim.rng, 15):
        for _ in range(sim.rng.randint(6, 12)):
            start = local(day, sim.rng.uniform(7.8, 16.5))
            address = f"198.51.100.{sim.rng.randint(2, 250)}"
            stuff(sim, start, sim.phone(), path, address, sim.answers(2.0, straight=True),
                  sim.rng.uniform(50, 120), "straight 5s")  # fmt: skip
    return "pattern-repeat"


def over_dossiers(sim: Simulation, first: date, last: date) -> str:
    """A small commune gets far more answers than citizens it served, varied, on 4G."""
    path = sim.counters["X-TAN"][0][1]
    for day in working_days(first, last, sim.rng, 10):
        for _ in range(sim.rng.randint(15, 25)):
            start = local(day, sim.rng.uniform(7.8, 16.5))
            stuff(sim, start, sim.phone(), path, sim.carrier_address(), sim.answers(1.4),
                  sim.rng.uniform(80, 240), "over dossiers")  # fmt: skip
    return "over-dossiers, unit-jump"


def quiet_padding(sim: Simulation, first: date, last: date) -> str:
    """Two or three varied forms a day at a busy department, each from a new private
    window, on 4G, at a reader's pace, below the dossiers: no signal exists."""
    path = sim.counters["STP"][0][1]
    for day in working_days(first, last, sim.rng, 20):
        for _ in range(sim.rng.randint(2, 3)):
            start = local(day, sim.rng.uniform(8.0, 16.0))
            stuff(sim, start, sim.phone(), path, sim.carrier_address(), sim.answers(1.5),
                  sim.rng.uniform(90, 240), "quiet padding")  # fmt: skip
    return "none"


SCENARIOS = {
    "staff phone": staff_phone,
    "private browsing": private_browsing,
    "rotating script": rotating_script,
    "patient script": patient_script,
    "after closing": after_closing,
    "straight 5s": straight_fives,
    "over dossiers": over_dossiers,
    "quiet padding": quiet_padding,
}
UNCATCHABLE = {
    "quiet padding": "a few varied forms a day from new private windows on 4G, at a "
    "reader's pace and below the dossiers returned, are indistinguishable from citizens; "
    "only a sampled channel (invitations drawn from the register) bounds them"
}


def simulate(world: World, folder: Path, scenarios: list[str]) -> dict[str, Outcome]:
    """Genuine months once, then each scenario on a copy of that database."""
    previous = (date(2026, 8, 10), date(2026, 8, 31))
    current = (date(2026, 9, 1), date(2026, 9, 30))
    sim = Simulation(folder, world)
    sim.build(previous, current)
    returned = sim.register(previous[0], current[1])
    sim.genuine(returned)
    started = time.monotonic()
    sim.run()
    outcomes = {"genuine only": sim.outcome(2)}
    outcomes["genuine only"].seconds = time.monotonic() - started
    for name in scenarios:
        copy = folder / f"{name.replace(' ', '-')}"
        copy.mkdir()
        shutil.copy(folder / "sim.sqlite", copy / "sim.sqlite")
        stuffed = Simulation.__new__(Simulation)
        stuffed.__dict__.update(sim.__dict__)
        stuffed.app = Simulation.make_app(copy / "sim.sqlite")
        stuffed.labels = dict(sim.labels)
        stuffed.refused, stuffed.events = 0, []
        stuffed.rng = random.Random(world.seed * 100 + len(name))
        SCENARIOS[name](stuffed, *current)
        stuffed.run()
        outcomes[name] = stuffed.outcome(2)
    return outcomes


def run(worlds: tuple[World, ...] = WORLDS, scenarios: list[str] | None = None) -> dict:
    scenarios = scenarios or list(SCENARIOS)
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for position, world in enumerate(worlds):
            place = Path(folder) / str(position)
            place.mkdir()
            results[world.name] = simulate(world, place, scenarios)
    write_section("Integrity simulator", report(results), "python -m bench integrity")
    return results


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f} %" if whole else "–"


def report(results: dict) -> str:
    scenario_names = [n for n in next(iter(results.values())) if n != "genuine only"]
    lines = [
        "The real application over HTTP (Flask test client, SQLite) with simulated time: "
        "three weeks of the previous period and a month (September 2026) at 10 counters "
        "of 6 units, then each stuffing scenario on a copy of the same month; "
        "`flask flag-responses` then counts. Recall = stuffed responses flagged / stored; "
        "false flags = genuine responses flagged / genuine responses (in the same run). "
        "Goal: recall ≥ 90 % where a signal exists, false flags ≤ 2 %.",
        "",
        "| world | genuine month: responses | false flags |"
        + "".join(f" {n}: recall · false flags |" for n in scenario_names),
        "|---|---:|---:|" + "---:|" * len(scenario_names),
    ]
    for world, outcomes in results.items():
        base = outcomes["genuine only"]
        cells = [
            f" {percent(o.stuffed_flagged, o.stuffed)} of {o.stuffed} · "
            f"{percent(o.genuine_flagged, o.genuine)} |"
            for o in (outcomes[n] for n in scenario_names)
        ]
        lines.append(
            f"| {world} | {base.genuine:,} | "
            f"{percent(base.genuine_flagged, base.genuine)} |" + "".join(cells)
        )
    lines += [
        "",
        "Flags raised per scenario (base world; responses per code, stuffed / genuine):",
        "",
    ]
    base_world = next(iter(results.values()))
    for name, outcome in base_world.items():
        codes = sorted({c for c, _ in outcome.codes})
        shown = ", ".join(
            f"{c} {outcome.codes.get((c, 'stuffed'), 0)}/{outcome.codes.get((c, 'genuine'), 0)}"
            for c in codes
        )
        signal = " ".join(SCENARIOS[name].__doc__.split()) if name in SCENARIOS else ""
        lines.append(f"- **{name}**: {shown or 'none'}. {signal}")
    lines += ["", "Scenarios without a signal:"]
    lines += [f"- **{name}**: {why}." for name, why in UNCATCHABLE.items()]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="one world only")
    args = parser.parse_args()
    run(WORLDS[:1] if args.quick else WORLDS)


if __name__ == "__main__":
    main()
