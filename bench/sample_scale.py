"""The sampled channel at a province's size: plan, draw, invitations, rates, results.

PostgreSQL, in a throwaway schema dropped at the end: 200 units x 7 fields; last quarter's
register of 500,000 dossiers (closed: a fixed-size SRSWOR draw) and this quarter's, growing
(Poisson): 250,000 dossiers so far, then a weekly import of 50,000 more drawn as they
arrive. Last quarter's invitations are delivered and 45 % answered (COPY), then its
response rates and sampled results are computed, and the workspace pages are timed
through the Flask test client. ``python -m bench sample``.
"""

import os
import statistics
import time
import uuid
from datetime import timedelta

import numpy as np
import sqlalchemy as sa

from bench.results import write_section

POSTGRES = os.environ.get(
    "SIPAS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
# SIPAS_BENCH_DOSSIERS scales the run down for a quick check of the benchmark itself.
CLOSED = int(os.environ.get("SIPAS_BENCH_DOSSIERS", 500_000))
GROWING, ARRIVING = CLOSED // 2, CLOSED // 10
UNITS = 200
FIELDS = ("dat-dai", "ho-tich", "xay-dung", "tu-phap", "dang-ky-kinh-doanh",
          "lao-dong-xa-hoi", "khac")  # fmt: skip
ANSWERED = 0.45
PASSWORD = "bench-password-1"
REQUESTS = 5


def make_app(schema: str):
    from survey import create_app

    return create_app(
        {
            "SECRET_KEY": "bench",
            "SQLALCHEMY_DATABASE_URI": POSTGRES,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "connect_args": {"options": f"-csearch_path={schema}"}
            },
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )


def timed(results: dict, name: str, work):
    started = time.perf_counter()
    value = work()
    results[name] = time.perf_counter() - started
    return value


def copy(text_blocks, table: str, columns: str) -> None:
    from survey.extensions import db

    with db.engine.connect() as conn:
        raw = conn.connection.driver_connection
        with (
            raw.cursor() as cursor,
            cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as target,
        ):
            for block in text_blocks:
                target.write(block)
        raw.commit()


def dossier_lines(prefix, count, first_day, days, unit_ids, rng):
    weight = 1 / np.arange(1, len(unit_ids) + 1) ** 0.7  # busy and quiet units
    units = np.asarray(unit_ids)[
        rng.choice(len(unit_ids), count, p=weight / weight.sum())
    ]
    fields = rng.choice(len(FIELDS), count, p=[0.3, 0.25, 0.1, 0.15, 0.08, 0.07, 0.05])
    returned = np.datetime64(first_day) + rng.integers(0, days, count)
    received = returned - rng.integers(1, 15, count)
    for start in range(0, count, 50_000):
        stop = min(start + 50_000, count)
        yield "".join(
            f"{prefix}{i:07d}\t{units[i]}\t{FIELDS[fields[i]]}\t{received[i]}\t"
            f"{returned[i]}\tf\n"
            for i in range(start, stop)
        )


def answer_lines(period_id, invitations, rng):
    """Sampled responses of a share of the invitations (id, unit, field)."""
    chosen = [row for row in invitations if rng.random() < ANSWERED]
    digits = rng.choice(np.frombuffer(b"012345", np.uint8), size=(len(chosen), 23),
                        p=[0.05, 0.04, 0.08, 0.2, 0.4, 0.23])  # fmt: skip
    digits[:, 22] = rng.choice(np.frombuffer(b"12345", np.uint8), size=len(chosen))
    answers = digits.tobytes().decode()
    moment = "2026-01-05 12:00:00+00"
    lines = [
        f"{period_id}\t{unit}\t\\N\tsample\t{field}\ti{inv}\t{inv}\t{moment}\t{moment}\t"
        f"{answers[k * 23 : (k + 1) * 23]}\t{{}}\tvalid\t[]\n"
        for k, (inv, unit, field) in enumerate(chosen)
    ]
    yield "".join(lines)


def build(schema: str) -> dict:
    from flask_migrate import upgrade

    from survey import clock
    from survey.extensions import db
    from survey.models import PeriodStatus, Role, SurveyPeriod, Unit
    from survey.services import accounts
    from survey.services.questionnaires import get_questionnaire, sync_questionnaires

    upgrade()
    sync_questionnaires()
    province = Unit(code="BENCH", name="Tỉnh thử tải", level="province")
    units = [Unit(code=f"U{i:03d}", name=f"Đơn vị {i}", level="commune", parent=province)
             for i in range(1, UNITS + 1)]  # fmt: skip
    db.session.add_all([province, *units])
    questionnaire = get_questionnaire("sipas-2640")
    today = clock.today()
    closed = SurveyPeriod(name="Quý trước", starts_on=today - timedelta(days=181),
                          ends_on=today - timedelta(days=91), questionnaire=questionnaire,
                          channels="sample", status=PeriodStatus.OPEN.value)  # fmt: skip
    growing = SurveyPeriod(name="Quý này", starts_on=today - timedelta(days=60),
                           ends_on=today + timedelta(days=30), questionnaire=questionnaire,
                           channels="counter,sample", status=PeriodStatus.OPEN.value)  # fmt: skip
    db.session.add_all([closed, growing])
    db.session.commit()
    accounts.create_user("admin", PASSWORD, Role.ADMIN)
    return {
        "closed": closed.id,
        "growing": growing.id,
        "units": [u.id for u in units],
        "closed_start": closed.starts_on,
        "growing_start": growing.starts_on,
    }


def page_ms(client, url: str) -> tuple[float, int]:
    times, size = [], 0
    for _ in range(REQUESTS + 1):
        started = time.perf_counter()
        response = client.get(url)
        body = response.get_data()
        times.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
        size = len(body)
    return 1000 * statistics.median(times[1:]), size


def run() -> dict:
    from survey.extensions import db
    from survey.models import Invitation, InvitationBatch, SurveyPeriod
    from survey.services import indices, sampling

    schema = f"bench_sample_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    seconds, counts = {}, {}
    rng = np.random.default_rng(7)
    try:
        app = make_app(schema)
        with app.app_context():
            setup = build(schema)
            columns = "code, unit_id, field, received_on, returned_on, is_late"
            timed(seconds, "COPY registers", lambda: (
                copy(dossier_lines("Q", CLOSED, setup["closed_start"], 91,
                                   setup["units"], rng), "dossier", columns),
                copy(dossier_lines("N", GROWING, setup["growing_start"], 60,
                                   setup["units"], rng), "dossier", columns),
            ))  # fmt: skip
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                conn.exec_driver_sql("VACUUM ANALYZE dossier")
            closed = db.session.get(SurveyPeriod, setup["closed"])
            growing = db.session.get(SurveyPeriod, setup["growing"])
            settings = sampling.PlanSettings(moe=8, share=75, deff=1.3, min_per_field=5)
            proposal = timed(seconds, "propose (SRSWOR)",
                             lambda: sampling.propose(closed, settings))  # fmt: skip
            counts["strata"] = len(proposal)
            timed(seconds, "save plan", lambda: sampling.save_plan(closed, settings))
            report = timed(seconds, "draw SRSWOR", lambda: sampling.draw(closed))
            counts["srswor"] = report.drawn
            check = timed(seconds, "verify draw (redo and compare)",
                          lambda: sampling.verify_draw(closed))  # fmt: skip
            assert check.same
            poisson = sampling.PlanSettings(design="poisson", moe=8, share=75, deff=1.3)
            timed(seconds, "save plan (Poisson)",
                  lambda: sampling.save_plan(growing, poisson))  # fmt: skip
            report = timed(seconds, "draw Poisson", lambda: sampling.draw(growing))
            counts["poisson"] = report.drawn
            copy(dossier_lines("W", ARRIVING, setup["growing_start"] + timedelta(days=55),
                               5, setup["units"], rng), "dossier", columns)  # fmt: skip
            counts["arrived"] = timed(seconds, "draw a week's arrivals (Poisson pass)",
                                      sampling.draw_arrivals)  # fmt: skip
            db.session.execute(
                sa.update(InvitationBatch)
                .where(InvitationBatch.period_id == closed.id)
                .values(delivered_at=sa.func.now())
            )
            db.session.commit()
            rows = db.session.execute(
                sa.select(Invitation.id, Invitation.unit_id, Invitation.field).where(
                    Invitation.period_id == closed.id
                )
            ).all()
            response_columns = (
                "period_id, unit_id, counter_id, channel, field, submission_key, "
                "invitation_id, form_served_at, submitted_at, answers, extra, status, "
                "flags"
            )
            copy(answer_lines(closed.id, rows, rng), "response", response_columns)
            with db.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as conn:
                conn.exec_driver_sql("VACUUM ANALYZE invitation")
                conn.exec_driver_sql("VACUUM ANALYZE response")
            rates = timed(seconds, "response rates (RR1 per unit)",
                          lambda: sampling.rate_table(closed, "unit"))  # fmt: skip
            counts["answered"] = int(rates["completed"].sum())
            results = timed(seconds, "results, sampled channel",
                            lambda: indices.compute(closed, indices.Settings()))  # fmt: skip
            counts["rows"] = len(results.table)
            batch = db.session.scalar(
                sa.select(InvitationBatch.id)
                .where(InvitationBatch.period_id == closed.id)
                .order_by(InvitationBatch.id)
                .limit(1)
            )
            batch_size = db.session.scalar(
                sa.select(sa.func.count(Invitation.id)).filter_by(batch_id=batch)
            )
            db.engine.dispose()
        client = app.test_client()
        assert (
            client.post(
                "/auth/login", data={"username": "admin", "password": PASSWORD}
            ).status_code
            == 302
        )
        base = f"/admin/periods/{setup['closed']}"
        pages = {
            "plan page (drawn, 200 units)": f"{base}/sample",
            "invitations page (batches, rates)": f"{base}/invitations",
            f"slips of one batch ({batch_size} slips)": f"{base}/invitations/slips?batch={batch}",
            f"links CSV ({counts['srswor']:,} rows)": f"{base}/invitations/links.csv",
            "results page (sample)": f"{base}/results",
        }  # fmt: skip
        measured = {name: page_ms(client, url) for name, url in pages.items()}
        with app.app_context():
            db.engine.dispose()
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    lines = ["| step | seconds |", "|---|---:|"]
    lines += [f"| {name} | {value:.2f} |" for name, value in seconds.items()]
    pages_md = ["| page (median of 5, test client) | ms | bytes |", "|---|---:|---:|"]
    pages_md += [f"| {n} | {ms:.0f} | {size:,} |" for n, (ms, size) in measured.items()]
    body = (
        f"PostgreSQL on loopback, a throwaway schema; {UNITS} units x 7 fields "
        f"({counts['strata']:,} strata). Last quarter: {CLOSED:,} dossiers, a fixed-size "
        f"SRSWOR of **{counts['srswor']:,}** (plan ±8 points per unit); {ANSWERED:.0%} "
        f"answered: {counts['answered']:,} responses. This quarter: {GROWING:,} dossiers "
        f"so far, Poisson draw of {counts['poisson']:,}, then {ARRIVING:,} arriving "
        f"dossiers gave {counts['arrived']:,} more invitations.\n\n"
        + "\n".join(lines)
        + "\n\n"
        + "\n".join(pages_md)
        + "\n\nTimes are an upper bound when the machine is shared with other work."
    )
    write_section("Sampled channel at scale", body, "python -m bench sample")
    return {"seconds": seconds, "pages": measured, "counts": counts}
