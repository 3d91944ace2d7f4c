"""The flag pass at scale: every integrity flag of a period of 1,000,000 counter responses.

PostgreSQL, in a throwaway schema dropped at the end: the province of `bench responses`
(120 units of skewed size, their counters, 90 days), with signals as the counters make
them: each unit's Wi-Fi and a carrier pool of 300 networks, one phone per response but
a few agents who come back, answers of varied patterns (a quarter all 5). Then
`flask flag-responses` as the CLI runs it: a first pass, and a second one on unchanged
data (which must change nothing). Wall time and peak memory of the process.
"""

import os
import resource
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import numpy as np
import sqlalchemy as sa

from bench.responses_scale import POSTGRES, build_province, make_app
from bench.results import write_section

COUNT = int(os.environ.get("SIPAS_BENCH_RESPONSES", 1_000_000))
COLUMNS = (
    "period_id, unit_id, counter_id, channel, field, submission_key, form_served_at, "
    "submitted_at, network_hash, device_hash, answers, extra, status, flags"
)
FIELDS = ("dat-dai", "ho-tich", "xay-dung", "tu-phap", "khac")


def copy_blocks(period_id, start: date, days: int, counters, rng, count=COUNT):
    """COPY text of `count` counter responses with their signals, in time order."""
    ids = np.array([c for c, _ in counters])
    unit_of = dict(counters)
    weight = 1 / (np.arange(1, len(ids) + 1) ** 0.8)
    pick = ids[rng.choice(len(ids), size=count, p=weight / weight.sum())]
    origin = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    offsets = np.arange(days)
    weekdays = offsets[(start.weekday() + offsets) % 7 < 5]  # Monday to Friday
    day = rng.choice(weekdays, size=count)
    seconds = np.sort(origin + day * 86400 + rng.integers(1800, 34000, count))
    submitted = np.datetime_as_string(seconds.astype("datetime64[s]"), timezone="UTC")
    served = np.datetime_as_string(
        (seconds - rng.lognormal(np.log(150), 0.5, count).astype(int) - 40).astype(
            "datetime64[s]"
        ),
        timezone="UTC",
    )
    wifi = rng.random(count) < 0.55
    network = np.where(
        wifi,
        np.char.add("wifi-", np.array([unit_of[c] for c in pick]).astype(str)),
        np.char.add("carrier-", rng.integers(0, 300, count).astype(str)),
    )
    agents = rng.random(count) < 0.01
    device = np.where(
        agents,
        np.char.add("agent-", rng.integers(0, 2000, count).astype(str)),
        np.char.add("phone-", np.arange(count).astype(str)),
    )
    level = rng.choice(np.arange(2, 6), size=count, p=[0.1, 0.25, 0.4, 0.25])
    noise = rng.choice([-1, 0, 0, 1], size=(count, 23))
    digits = np.clip(level[:, None] + noise, 1, 5)
    digits[rng.random(count) < 0.25] = 5
    answers = (digits + ord("0")).astype(np.uint8).tobytes().decode()
    block = []
    for i in range(count):
        counter = int(pick[i])
        block.append(
            f"{period_id}\t{unit_of[counter]}\t{counter}\tcounter\t"
            f"{FIELDS[i % len(FIELDS)]}\tf{i}\t{served[i]}\t{submitted[i]}\t"
            f"{network[i]}\t{device[i]}\t{answers[i * 23 : (i + 1) * 23]}\t{{}}\t"
            "valid\t[]\n"
        )
        if len(block) == 50_000:
            yield "".join(block)
            block = []
    if block:
        yield "".join(block)


def run() -> dict:
    schema = f"bench_flags_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        from flask_migrate import upgrade

        from survey.extensions import db
        from survey.models import SurveyPeriod
        from survey.services import flagging

        app = make_app(schema)
        rng = np.random.default_rng(2026)
        with app.app_context():
            upgrade()
            setup = build_province()
            started = time.perf_counter()
            with db.engine.connect() as conn:
                raw = conn.connection.driver_connection
                with raw.cursor() as cursor:
                    copy = f"COPY response ({COLUMNS}) FROM STDIN"
                    with cursor.copy(copy) as sink:
                        for text in copy_blocks(
                            setup["current"],
                            date.today() - timedelta(days=90),
                            90,
                            setup["counters"],
                            rng,
                        ):
                            sink.write(text)
                raw.commit()
            loaded = time.perf_counter() - started
            period = db.session.get(SurveyPeriod, setup["current"])
            timings = []
            reports = []
            for _ in range(2):
                started = time.perf_counter()
                reports.append(flagging.flag_period(period))
                timings.append(time.perf_counter() - started)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            db.engine.dispose()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    first = reports[0]
    body = (
        f"PostgreSQL on loopback, a throwaway schema: {COUNT:,} counter responses of one "
        f"period (120 units, 240 counters, 90 days), loaded by COPY in {loaded:.0f} s; "
        "the machine was shared with other work, so times are indicative.\n\n"
        "| pass | seconds | responses flagged | groups |\n|---|---:|---:|---:|\n"
        f"| first | {timings[0]:.1f} | {first.flagged:,} | {first.groups:,} |\n"
        f"| again, unchanged data | {timings[1]:.1f} | {reports[1].flagged:,} | "
        f"{reports[1].groups:,} |\n\n"
        f"Flags per kind (first pass): "
        + ", ".join(f"{k} {v:,}" for k, v in sorted(first.by_code.items()))
        + f". Peak memory of the process: {peak:,.0f} MB."
    )
    write_section("Flag pass at scale", body, "python -m bench flags")
    return {"seconds": timings, "flagged": first.flagged}
