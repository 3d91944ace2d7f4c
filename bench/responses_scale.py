"""Responses at scale: the responses browser and the raw exports at 1,000,000 responses.

PostgreSQL, in a throwaway schema dropped at the end: a province of 120 units with
skewed sizes gets 1,000,000 responses in its open period and 100,000 in the previous
one, loaded with COPY, then VACUUM ANALYZE (what autovacuum would have done).

(a) Pages of GET /admin/responses through the Flask test client, logged in as the
    admin: median and p95 of 20 requests after 3 warm-ups, and the plan (EXPLAIN
    ANALYZE) of each page's query. Goal: under 200 ms per page.
(a') The comments page (GET /admin/periods/<id>/comments) the same way: search,
    score filters, a unit, a unit head. Goal: under 300 ms median per page.
(b) Exports (CSV, XLSX, Parquet) through GET /admin/periods/<id>/responses.<fmt>,
    each in a fresh process that logs in and reads the stream to the end: wall time
    and peak RSS (VmHWM) at 100,000 and 1,000,000 rows; the same peak at both sizes
    means constant memory.
    The 1,000,000-row CSV is then read by ``python -m analysis indices``.
"""

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
import zipfile
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import sqlalchemy as sa

from bench.results import write_section

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get(
    "SIPAS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench-password-1"
# SIPAS_BENCH_RESPONSES scales the run down for a quick check of the benchmark itself.
BIG = int(os.environ.get("SIPAS_BENCH_RESPONSES", 1_000_000))
SMALL = BIG // 10
REQUESTS, WARMUP = 20, 3
GOAL_MS = 200
COMMENTS_GOAL_MS = 300
FORMATS = ("csv", "xlsx", "parquet")
FIELDS = ("dat-dai", "ho-tich", "xay-dung", "tu-phap", "dang-ky-kinh-doanh",
          "lao-dong-xa-hoi", "khac")  # fmt: skip
AGES = ("18-25", "26-35", "36-45", "46-60", "61+")
FLAGGED = '["fast"]'
COPY_COLUMNS = (
    "period_id, unit_id, counter_id, channel, field, submission_key, form_served_at, "
    "submitted_at, answers, extra, status, status_reason, flags, comment_key"
)
# One response in five leaves a comment; "trễ hẹn" is common, "photocopy" rare (1 in
# 2,000 comments), as a unit head's searches would be.
COMMENT_SHARE = 0.2
PHRASES = (
    "Cán bộ nhiệt tình, hướng dẫn chu đáo",
    "Phải chờ lâu, nơi ngồi chờ chật",
    "Trả kết quả trễ hẹn mà không báo trước",
    "Thái độ công chức chưa tốt",
    "Nên mở rộng dịch vụ công trực tuyến",
    "Thủ tục còn rườm rà, phải đi lại nhiều lần",
    "Rất hài lòng với cách phục vụ",
    "Cần thêm máy lấy số thứ tự",
)
RARE = "Máy photocopy hỏng nhiều ngày"


def make_app(schema: str):
    from survey import create_app

    return create_app(
        {
            "DEMO": True,
            "SECRET_KEY": "bench",
            "INTEGRITY_SALT": "bench-salt",
            "SQLALCHEMY_DATABASE_URI": POSTGRES,
            "SQLALCHEMY_ENGINE_OPTIONS": {
                "connect_args": {"options": f"-csearch_path={schema}"}
            },
            "RATELIMIT_ENABLED": False,
            "WTF_CSRF_ENABLED": False,
        }
    )


def logged_in(app, username: str = "admin"):
    client = app.test_client()
    response = client.post(
        "/auth/login", data={"username": username, "password": PASSWORD}
    )
    assert response.status_code == 302, "bench admin could not log in"
    return client


# ---- data ----------------------------------------------------------------------------


def build_province() -> dict:
    """Units, counters, two periods and the admin; returns ids and unit sizes."""
    from survey.extensions import db
    from survey.models import Counter, PeriodStatus, Role, SurveyPeriod, Unit
    from survey.services import accounts
    from survey.services.questionnaires import get_questionnaire, sync_questionnaires

    sync_questionnaires()
    province = Unit(code="BENCH", name="Tỉnh thử tải", level="province")
    units = [Unit(code=f"S{i:02d}", name=f"Sở {i}", level="department", parent=province)
             for i in range(1, 21)]  # fmt: skip
    units += [Unit(code=f"X{i:03d}", name=f"Xã {i}", level="commune", parent=province)
              for i in range(1, 101)]  # fmt: skip
    db.session.add(province)
    db.session.add_all(units)
    for number, unit in enumerate(units):
        for desk in range(1 + number % 3):
            db.session.add(Counter(unit=unit, name=f"Quầy {desk + 1}"))
    questionnaire = get_questionnaire("sipas-2640")
    today = date.today()
    previous = SurveyPeriod(name="Quý trước", starts_on=today - timedelta(days=180),
                            ends_on=today - timedelta(days=91), questionnaire=questionnaire,
                            status=PeriodStatus.CLOSED.value)  # fmt: skip
    current = SurveyPeriod(name="Quý này", starts_on=today - timedelta(days=90),
                           ends_on=today + timedelta(days=1), questionnaire=questionnaire,
                           channels="counter,sample", status=PeriodStatus.OPEN.value)  # fmt: skip
    db.session.add_all([previous, current])
    db.session.commit()
    accounts.create_user("admin", PASSWORD, Role.ADMIN)
    # The head of the busiest unit (the first: unit sizes fall with the order).
    accounts.create_user("head", PASSWORD, Role.UNIT_HEAD, units[0])
    counters = db.session.execute(sa.select(Counter.id, Counter.unit_id)).all()
    return {"previous": previous.id, "current": current.id, "counters": counters,
            "units": [u.id for u in units]}  # fmt: skip


def copy_lines(period_id: int, start: date, days: int, count: int, counters, units,
               rng: np.random.Generator, prefix: str):  # fmt: skip
    """Yield COPY text blocks of synthetic responses in submission order."""
    # Skewed unit sizes (a Sở with a busy one-stop desk, quiet communes): Zipf-like.
    unit_weight = 1 / np.arange(1, len(units) + 1) ** 0.8
    unit_weight = dict(zip(units, unit_weight / unit_weight.sum(), strict=True))
    per_unit = {}
    for counter_id, unit_id in counters:
        per_unit.setdefault(unit_id, []).append(counter_id)
    ids = np.array([c for c, _ in counters])
    weight = np.array([unit_weight[u] / len(per_unit[u]) for _, u in counters])
    unit_of = dict(counters)
    pick = ids[rng.choice(len(ids), size=count, p=weight / weight.sum())]
    # Opening hours 07:30-17:00 Vietnam time, i.e. 00:30-10:00 UTC.
    origin = datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp()
    seconds = np.sort(
        origin + rng.integers(0, days, count) * 86400 + rng.integers(1800, 36000, count)
    ).astype("int64")
    submitted = np.datetime_as_string(seconds.astype("datetime64[s]"), timezone="UTC")
    served = np.datetime_as_string(
        (seconds - rng.integers(90, 400, count)).astype("datetime64[s]"), timezone="UTC"
    )
    digits = rng.choice(np.frombuffer(b"012345", np.uint8), size=(count, 23),
                        p=[0.05, 0.03, 0.07, 0.2, 0.4, 0.25])  # fmt: skip
    digits[:, 22] = rng.choice(np.frombuffer(b"12345", np.uint8), size=count)  # overall
    answers = digits.tobytes().decode()
    sampled = rng.random(count) < 0.1
    excluded = rng.random(count) < 0.02
    flagged = rng.random(count) < 0.03
    fields = rng.integers(0, len(FIELDS), count)
    genders = rng.integers(0, 2, count)
    ages = rng.integers(0, len(AGES), count)
    null = "\\N"  # NULL in COPY's text format
    from survey.textsearch import fold

    extras = [
        [f'{{"gender": "{g}", "age_group": "{a}"' for a in AGES] for g in ("nam", "nu")
    ]
    commented = rng.random(count) < COMMENT_SHARE
    phrase = rng.integers(0, len(PHRASES), count)
    rare = rng.random(count) < 1 / 2000
    texts = [*PHRASES, RARE]
    comments = [f', "suggestion": "{text}"}}' for text in texts]
    keys = [fold(text) for text in texts]
    block = []
    for i in range(count):
        counter = int(pick[i])
        said = len(PHRASES) if rare[i] else int(phrase[i])
        block.append(
            f"{period_id}\t{unit_of[counter]}\t{null if sampled[i] else counter}\t"
            f"{'sample' if sampled[i] else 'counter'}\t{FIELDS[fields[i]]}\t{prefix}{i}\t"
            f"{served[i]}\t{submitted[i]}\t{answers[i * 23 : (i + 1) * 23]}\t"
            f"{extras[genders[i]][ages[i]]}{comments[said] if commented[i] else '}'}\t"
            f"{'excluded' if excluded[i] else 'valid'}\t{'bench' if excluded[i] else null}\t"
            f"{FLAGGED if flagged[i] else '[]'}\t{keys[said] if commented[i] else null}\n"
        )
        if len(block) == 50_000:
            yield "".join(block)
            block = []
    if block:
        yield "".join(block)


def load(schema: str) -> dict:
    """Migrate, build the province and COPY the responses; return ids and timings."""
    from flask_migrate import upgrade

    from survey.extensions import db

    app = make_app(schema)
    rng = np.random.default_rng(2026)
    with app.app_context():
        upgrade()
        setup = build_province()
        started = time.perf_counter()
        today = date.today()
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            with raw.cursor() as cursor:
                for period_id, start, count, prefix in (
                    (setup["previous"], today - timedelta(days=180), SMALL, "p"),
                    (setup["current"], today - timedelta(days=90), BIG, "c"),
                ):
                    copy_sql = f"COPY response ({COPY_COLUMNS}) FROM STDIN"
                    with cursor.copy(copy_sql) as copy:
                        for text in copy_lines(period_id, start, 90, count, setup["counters"],
                                               setup["units"], rng, prefix):  # fmt: skip
                            copy.write(text)
            raw.commit()
        setup["load_s"] = time.perf_counter() - started
        started = time.perf_counter()
        with db.engine.connect().execution_options(
            isolation_level="AUTOCOMMIT"
        ) as conn:
            conn.exec_driver_sql("VACUUM ANALYZE response")
        setup["analyze_s"] = time.perf_counter() - started
        db.engine.dispose()
    return setup


# ---- (a) pages -----------------------------------------------------------------------


def page_cases(schema: str, setup: dict) -> list[tuple[str, str]]:
    """The pages to time: first and deep pages, each filter, and the older period.

    The older period's rows have the lowest ids, under a million newer ones; the day
    filter is timed on the last, a middle and the first day of the period.
    """
    from survey.extensions import db

    app = make_app(schema)
    current, previous = setup["current"], setup["previous"]
    facts = {}
    with app.app_context():
        for period in (current, previous):
            facts[period] = db.session.execute(
                sa.text("SELECT min(id), min(submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date,"
                        " max(submitted_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date "
                        "FROM response WHERE period_id = :p"), {"p": period},
            ).one()  # fmt: skip
            facts[period, "units"] = db.session.execute(
                sa.text("SELECT unit_id, count(*) FROM response WHERE period_id = :p "
                        "GROUP BY unit_id ORDER BY 2 DESC"), {"p": period},
            ).all()  # fmt: skip
        db.engine.dispose()
    first_id, first_day, last_day = facts[current]
    middle_day = first_day + (last_day - first_day) / 2
    (large, large_n), (small, small_n) = (
        facts[current, "units"][0],
        facts[current, "units"][-1],
    )
    old_small, old_small_n = facts[previous, "units"][-1]
    deep = first_id + 1000
    base = f"/admin/responses?period_id={current}"
    old = f"/admin/responses?period_id={previous}"
    notes = f"/admin/periods/{current}/comments"
    comment_cases = [
        ("first page", notes),
        (f"deep page (before={deep:,})", f"{notes}?before={deep}"),
        (f"unit, largest ({large_n:,} responses)", f"{notes}?unit_id={large}"),
        (f"unit, smallest ({small_n:,} responses)", f"{notes}?unit_id={small}"),
        ("search, common words (\"tre hen\")", f"{notes}?q=tre+hen"),
        ("search, rare word (\"photocopy\")", f"{notes}?q=photocopy"),
        ("search, rare word, largest unit", f"{notes}?q=photocopy&unit_id={large}"),
        ("any criterion ≤ 2", f"{notes}?score=2"),
        ("criterion 3.1 = 1", f"{notes}?item=3.1&score=1"),
        ("largest unit, any criterion ≤ 2, \"cho lau\"",
         f"{notes}?unit_id={large}&score=2&q=cho+lau"),
        ("unit head (own subtree), first page", f"{notes}", "head"),
        ("unit head, search \"thai do\"", f"{notes}?q=thai+do", "head"),
        ("older period, first page", f"/admin/periods/{previous}/comments"),
    ]  # fmt: skip
    return comment_cases, [
        ("first page", base),
        (f"deep page (before={deep:,})", f"{base}&before={deep}"),
        (f"unit, largest ({large_n:,} rows)", f"{base}&unit_id={large}"),
        ("unit, largest, deep page", f"{base}&unit_id={large}&before={deep + 5000}"),
        (f"unit, smallest ({small_n:,} rows)", f"{base}&unit_id={small}"),
        ("unit, smallest, deep page", f"{base}&unit_id={small}&before={deep + 5000}"),
        ("status = excluded", f"{base}&status=excluded"),
        ("status = excluded, deep page", f"{base}&status=excluded&before={deep + 20000}"),
        ("flagged", f"{base}&flagged=1"),
        (f"one day, last ({last_day})", f"{base}&day_from={last_day}&day_to={last_day}"),
        (f"one day, middle ({middle_day})",
         f"{base}&day_from={middle_day}&day_to={middle_day}"),
        (f"one day, first ({first_day})",
         f"{base}&day_from={first_day}&day_to={first_day}"),
        ("older period, first page", old),
        (f"older period, unit, smallest ({old_small_n:,} rows)",
         f"{old}&unit_id={old_small}"),
    ]  # fmt: skip


def time_pages(schema: str, cases: list[tuple]) -> list[dict]:
    from survey.extensions import db

    app = make_app(schema)
    clients = {"admin": logged_in(app), "head": logged_in(app, "head")}
    captured: list[tuple[str, dict]] = []
    with app.app_context():
        engine = db.engine

    @sa.event.listens_for(engine, "before_cursor_execute")
    def capture(conn, cursor, statement, parameters, context, executemany):
        # The keyset query of a page (not the comments page's read of the page's rows).
        if (
            "FROM response" in statement
            and "ORDER BY response.id DESC" in statement
            and "JOIN unit" not in statement
        ):
            captured.append((statement, parameters))

    measured = []
    for label, url, *user in cases:
        client = clients[user[0] if user else "admin"]
        for _ in range(WARMUP):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        times = []
        for _ in range(REQUESTS):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        rows = response.get_data(as_text=True).count('href="/admin/responses/')
        statement, parameters = captured[-1]
        with engine.connect() as conn:
            plan = (
                conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters
                )
                .scalars()
                .all()
            )
        times.sort()
        measured.append({
            "label": label, "url": url, "rows": rows, "median": statistics.median(times),
            "p95": times[math.ceil(0.95 * len(times)) - 1], "plan": plan,
        })  # fmt: skip
    sa.event.remove(engine, "before_cursor_execute", capture)
    with app.app_context():
        db.engine.dispose()
    return measured


def plan_summary(plan: list[str]) -> tuple[str, float]:
    text = "\n".join(plan)
    scans = re.findall(r"((?:Index Only Scan|Index Scan|Bitmap Index Scan)(?: Backward)?"
                       r" using \w+|Seq Scan on \w+)", text)  # fmt: skip
    executed = float(re.search(r"Execution Time: ([\d.]+) ms", text).group(1))
    return "; ".join(dict.fromkeys(scans)), executed


def export_plan(schema: str, period_id: int) -> tuple[str, float]:
    """The plan of one keyset chunk of the export (the middle of the period)."""
    from survey.extensions import db
    from survey.models import SurveyPeriod
    from survey.services import exports

    app = make_app(schema)
    captured = []
    with app.app_context():

        @sa.event.listens_for(db.engine, "before_cursor_execute")
        def capture(conn, cursor, statement, parameters, context, executemany):
            if "FROM response" in statement and "ORDER BY response.id" in statement:
                captured.append((statement, parameters))

        rows = exports.export_rows(db.session.get(SurveyPeriod, period_id))
        next(rows)
        rows.close()
        statement, parameters = captured[-1]
        middle = db.session.scalar(
            sa.text("SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM response "
                    "WHERE period_id = :p"), {"p": period_id},
        )  # fmt: skip
        key = next(k for k in parameters if k.startswith("id_"))  # id > last_id
        with db.engine.connect() as conn:
            lines = (
                conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement,
                    parameters | {key: middle},
                )
                .scalars()
                .all()
            )
        sa.event.remove(db.engine, "before_cursor_execute", capture)
        db.engine.dispose()
    return plan_summary(lines)


# ---- (b) exports, each in its own process ---------------------------------------------


def rss_mb(field: str = "VmHWM") -> float:
    """This process's resident memory from /proc: peak (VmHWM) or current (VmRSS).

    Not ``ru_maxrss``: on Linux it keeps the parent's peak at fork across exec (here
    the parent's peak from generating the data) and cannot be reset.
    """
    with open("/proc/self/status") as status:
        line = next(x for x in status if x.startswith(field + ":"))
    return int(line.split()[1]) / 1024


def reset_peak_rss() -> float:
    """Start a new peak from now (Linux: 5 > /proc/self/clear_refs); return the RSS."""
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return rss_mb("VmRSS")


def export_child(schema: str, period_id: int, fmt: str, out: str | None) -> dict:
    """In a fresh process: log in, download one export through the route, measure."""
    app = make_app(schema)
    client = logged_in(app)
    baseline = reset_peak_rss()  # after imports, app and login
    started = time.perf_counter()
    first_byte = None
    size = lines = 0
    target = open(out, "wb") if out else None  # noqa: SIM115
    try:
        response = client.get(
            f"/admin/periods/{period_id}/responses.{fmt}", buffered=False
        )
        assert response.status_code == 200
        for chunk in response.iter_encoded():
            if first_byte is None:
                first_byte = time.perf_counter() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
            if target:
                target.write(chunk)
        response.close()
    finally:
        if target:
            target.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "first_byte": first_byte, "bytes": size,
            "rows": lines - 1 if fmt == "csv" else None,
            "baseline_mb": baseline, "peak_mb": rss_mb()}  # fmt: skip


def analysis_child(path: str) -> dict:
    from analysis.cli import main

    reset_peak_rss()
    started = time.perf_counter()
    code = main(["indices", path, "--out", path + ".indices.csv"])
    seconds = time.perf_counter() - started
    return {"code": code, "seconds": seconds, "peak_mb": rss_mb()}


def in_child(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.responses_scale", *args],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(result.stdout.strip().splitlines()[-1])


def xlsx_rows(path: str) -> int:
    """Data rows of an XLSX file: its sheets' <row> elements less one header each."""
    total = 0
    with zipfile.ZipFile(path) as book:
        for name in book.namelist():
            if name.startswith("xl/worksheets/sheet"):
                carry = b""
                with book.open(name) as sheet:
                    while block := sheet.read(1 << 20):
                        window = carry + block
                        total += window.count(b"<row ") + window.count(b"<row>")
                        carry = block[-4:]
                total -= 1
    return total


def expected_rows(schema: str, period_id: int) -> int:
    engine = sa.create_engine(POSTGRES)
    with engine.connect() as conn:
        count = conn.execute(
            sa.text(f'SELECT count(*) FROM "{schema}".response '
                    "WHERE period_id = :p AND status = 'valid'"), {"p": period_id},
        ).scalar()  # fmt: skip
    engine.dispose()
    return count


# ---- the benchmark -------------------------------------------------------------------


def run() -> dict:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    try:
        setup = load(schema)
        comment_cases, response_cases = page_cases(schema, setup)
        pages = time_pages(schema, response_cases)
        notes = time_pages(schema, comment_cases)
        chunk_scan, chunk_ms = export_plan(schema, setup["current"])
        exported = {}
        with tempfile.TemporaryDirectory() as folder:
            for label, period_id in (
                ("small", setup["previous"]),
                ("big", setup["current"]),
            ):
                for fmt in FORMATS:
                    out = f"{folder}/{label}.{fmt}"
                    figures = in_child("export", schema, str(period_id), fmt, out)
                    if fmt == "xlsx":
                        figures["rows"] = xlsx_rows(out)
                    elif fmt == "parquet":
                        figures["rows"] = pq.ParquetFile(out).metadata.num_rows
                    figures["expected"] = expected_rows(schema, period_id)
                    exported[label, fmt] = figures
            indices = in_child("analysis", f"{folder}/big.csv")
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    body = report(setup, pages, notes, (chunk_scan, chunk_ms), exported, indices)
    write_section("Responses at scale", body, "python -m bench responses")
    return {"pages": pages, "comments": notes, "exports": exported, "indices": indices}


def page_table(pages: list[dict]) -> list[str]:
    lines = [
        "| page | rows | median ms | p95 ms | SQL ms (EXPLAIN ANALYZE) | plan |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for page in pages:
        scans, executed = plan_summary(page["plan"])
        lines.append(
            f"| {page['label']} | {page['rows']} | {page['median']:.1f} | "
            f"{page['p95']:.1f} | {executed:.2f} | {scans} |"
        )
    return lines


def report(setup, pages, notes, chunk_plan, exported, indices) -> str:
    from survey.services.exports import CHUNK

    slowest = max(p["p95"] for p in pages)
    lines = [
        f"PostgreSQL on loopback, one schema: {BIG:,} responses in the open period and "
        f"{SMALL:,} in the previous one, 120 units of skewed size; loaded by COPY in "
        f"{setup['load_s']:.0f} s, VACUUM ANALYZE {setup['analyze_s']:.1f} s.\n",
        f"### Responses browser (GET /admin/responses, admin, {REQUESTS} requests after "
        f"{WARMUP} warm-ups, Flask test client: whole request incl. template)\n",
        *page_table(pages),
    ]
    lines.append(
        f"\nGoal < {GOAL_MS} ms per page: "
        f"{'met' if slowest < GOAL_MS else 'MISSED'} (slowest p95 {slowest:.1f} ms).\n"
    )
    slowest_median = max(p["median"] for p in notes)
    lines += [
        f"### Comments page (GET /admin/periods/<id>/comments, {COMMENT_SHARE:.0%} of "
        "responses commented, admin unless said; the page's SQL is the keyset query, "
        "a capped count runs beside it)\n",
        *page_table(notes),
        f"\nGoal < {COMMENTS_GOAL_MS} ms median per page: "
        f"{'met' if slowest_median < COMMENTS_GOAL_MS else 'MISSED'} "
        f"(slowest median {slowest_median:.1f} ms).\n",
    ]
    lines += [
        "### Raw exports (GET /admin/periods/<id>/responses.<fmt>, valid responses, one "
        "fresh process each, stream read to the end)\n",
        "| rows | format | seconds | first byte s | MB | rows written | RSS before MB "
        "| peak RSS during export MB | growth MB |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for (_, fmt), f in exported.items():
        check = "" if f["rows"] == f["expected"] else f" (expected {f['expected']:,})"
        f["growth"] = f["peak_mb"] - f["baseline_mb"]
        lines.append(
            f"| {f['expected']:,} | {fmt} | {f['seconds']:.1f} | {f['first_byte']:.2f} | "
            f"{f['bytes'] / 1e6:.0f} | {f['rows']:,}{check} | {f['baseline_mb']:.0f} | "
            f"{f['peak_mb']:.0f} | {f['growth']:.1f} |"
        )
    extra = {fmt: exported["big", fmt]["growth"] - exported["small", fmt]["growth"]
             for fmt in FORMATS}  # fmt: skip
    flat = all(abs(mb) < 16 for mb in extra.values())
    lines.append(
        f"\nMemory of the export at {BIG:,} rows against {SMALL:,}: CSV "
        f"{extra['csv']:+.1f} MB, XLSX {extra['xlsx']:+.1f} MB, Parquet "
        f"{extra['parquet']:+.1f} MB: {'constant' if flat else 'GROWS with the rows'}. "
        "The XLSX goes out as it is written (survey.spreadsheet.xlsx_stream); the "
        "Parquet file is complete before its first byte (pyarrow writes a temporary "
        "file, its footer last). One keyset "
        f"chunk of the export reads {chunk_plan[0]} ({chunk_plan[1]:.0f} ms per "
        f"{CHUNK:,} rows).\n"
    )
    lines.append(
        f"`python -m analysis indices` on the {BIG:,}-row CSV: exit {indices['code']}, "
        f"{indices['seconds']:.1f} s, peak RSS {indices['peak_mb']:.0f} MB (pandas holds "
        "the whole file: the analysis itself is not streamed)."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description="child processes of the benchmark")
    sub = parser.add_subparsers(dest="what", required=True)
    export = sub.add_parser("export")
    export.add_argument("schema")
    export.add_argument("period_id", type=int)
    export.add_argument("fmt", choices=FORMATS)
    export.add_argument("out", nargs="?")
    sub.add_parser("analysis").add_argument("path")
    args = parser.parse_args()
    if args.what == "export":
        figures = export_child(args.schema, args.period_id, args.fmt, args.out)
    else:
        figures = analysis_child(args.path)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
