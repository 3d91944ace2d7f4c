"""Recompute at national size: 1,000,000 responses from PostgreSQL to stored results.

PostgreSQL on loopback, the province of `python -m bench responses` (120 units,
1,000,000 responses in the open period, 100,000 in the previous one) plus a register
of 1,000,000 dossiers returned in the open period. Each measurement runs in a fresh
process, so that its peak RSS (VmHWM, reset after start-up) is its own:

- the flag pass (it runs inside the background refresh, never in a page request);
- compute + store for no weighting, register-volume weighting and raking to
  unit × gender and unit × age margins, with the time split of the steps;
- GET of the dashboard, results, unit and public results pages through the Flask test
  client (median and p95 of 20 requests after 3 warm-ups, after the first computation);
- what the database alone needs for the period: sending its rows, and summing them
  first per (unit, PSU) for every criterion (the aggregation a database-side
  computation would need);
- publish and verify of the closed period;
- 10,000,000 responses (a copy of the open period ten times over, made in SQL with
  ``INSERT ... SELECT generate_series``): compute time and peak memory.

``SIPAS_BENCH_SCHEMA=name`` reuses (and keeps) a schema built before (its open period,
which the last run published, is reopened and its publication removed);
``SIPAS_BENCH_RESPONSES`` scales the province down for a quick check;
``SIPAS_BENCH_SKIP_10M=1`` leaves the 10,000,000 run out.
"""

import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import date, timedelta

import numpy as np
import sqlalchemy as sa

from bench.responses_scale import (
    AGES,
    BIG,
    FIELDS,
    POSTGRES,
    ROOT,
    load,
    logged_in,
    make_app,
    reset_peak_rss,
    rss_mb,
)
from bench.results import write_section

REQUESTS, WARMUP = 20, 3
COUNTER = {"channel": "counter"}
TEN = 11


def margins(schema: str) -> tuple[str, str]:
    """Unit × gender and unit × age margins: each unit's dossiers split by a known share."""
    from survey.extensions import db
    from survey.models import Dossier, Unit

    app = make_app(schema)
    with app.app_context():
        rows = db.session.execute(
            sa.select(Unit.code, sa.func.count(Dossier.id))
            .join(Dossier, Dossier.unit_id == Unit.id)
            .group_by(Unit.code)
        ).all()
        db.engine.dispose()
    gender = ["unit,gender,population"]
    age = ["unit,age_group,population"]
    share = np.array([0.1, 0.3, 0.25, 0.25, 0.1])
    for code, count in rows:  # each margin sums to the unit's dossiers exactly
        men = round(count * 0.45)
        gender += [f"{code},nam,{men}", f"{code},nu,{count - men}"]
        parts = [round(count * s) for s in share[:-1]]
        parts.append(count - sum(parts))
        age += [f"{code},{a},{n}" for a, n in zip(AGES, parts, strict=True)]
    return "\n".join(gender) + "\n", "\n".join(age) + "\n"


def settings_for(weighting: str, schema: str):
    from survey.services import indices

    if weighting == "rake":
        return indices.Settings(weighting="rake", margins=margins(schema), **COUNTER)
    return indices.Settings(weighting=weighting, **COUNTER)


def add_register(schema: str, period_id: int, count: int) -> float:
    """COPY `count` dossiers returned in the open period, spread like the responses."""
    from survey.extensions import db

    app = make_app(schema)
    rng = np.random.default_rng(7)
    started = time.perf_counter()
    with app.app_context():
        units = [u for (u,) in db.session.execute(sa.text("SELECT id FROM unit"))]
        units = [u for u in units if u != min(units)]  # not the province itself
        weight = 1 / np.arange(1, len(units) + 1) ** 0.8
        unit = np.array(units)[rng.choice(len(units), count, p=weight / weight.sum())]
        field = rng.integers(0, len(FIELDS), count)
        today = date.today()
        returned = rng.integers(0, 88, count)
        with db.engine.connect() as conn:
            raw = conn.connection.driver_connection
            with (
                raw.cursor() as cursor,
                cursor.copy(
                    "COPY dossier (code, unit_id, field, received_on, returned_on, "
                    "is_late) FROM STDIN"
                ) as copy,
            ):
                for start in range(0, count, 100_000):
                    lines = []
                    for i in range(start, min(start + 100_000, count)):
                        back = today - timedelta(days=int(returned[i]))
                        lines.append(
                            f"R{period_id}-{i}\t{unit[i]}\t{FIELDS[field[i]]}\t"
                            f"{back - timedelta(days=5)}\t{back}\tf\n"
                        )
                    copy.write("".join(lines))
            raw.commit()
            # As the register import does after writing (import_register).
            conn.exec_driver_sql("ANALYZE dossier")
            conn.commit()
        db.engine.dispose()
    return time.perf_counter() - started


# ---- children: each measurement in a fresh process --------------------------------------


def child_flags(schema: str, period_id: str) -> dict:
    from survey.extensions import db
    from survey.models import SurveyPeriod
    from survey.services import flagging

    app = make_app(schema)
    with app.app_context():
        period = db.session.get(SurveyPeriod, int(period_id))
        reset_peak_rss()
        started = time.perf_counter()
        flagging.flag_period(period)
        return {"seconds": time.perf_counter() - started, "peak_mb": rss_mb()}


def child_compute(schema: str, period_id: str, weighting: str) -> dict:
    from survey.extensions import db
    from survey.models import SurveyPeriod
    from survey.services import stored_results
    from survey.services.steps import time_split

    app = make_app(schema)
    settings = settings_for(weighting, schema)
    with app.app_context():
        period = db.session.get(SurveyPeriod, int(period_id))
        db.session.execute(sa.text("SELECT 1"))
        baseline = reset_peak_rss()
        with time_split() as split:
            started = time.perf_counter()
            results = stored_results.compute(period, settings)
            stored_results.store(period, settings, results, 0.0)
            seconds = time.perf_counter() - started
        return {"seconds": seconds, "split": split, "peak_mb": rss_mb(),
                "baseline_mb": baseline, "rows": len(results.response_ids)}  # fmt: skip


def timed_gets(client, url: str, requests: int = REQUESTS) -> dict:
    for _ in range(WARMUP):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        response = client.get(url)
        times.append(1000 * (time.perf_counter() - started))
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return {"median_ms": statistics.median(times), "requests": requests,
            "p95_ms": times[max(0, round(0.95 * len(times)) - 1)],
            "bytes": len(response.data)}  # fmt: skip


def wait_until_current(app, period_id: int, settings, timeout: float = 900) -> float:
    """Seconds until the stored results of (period, settings) are current."""
    from survey.extensions import db
    from survey.models import SurveyPeriod
    from survey.services import stored_results

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        with app.app_context():
            period = db.session.get(SurveyPeriod, period_id)
            if stored_results.lookup(period, settings).state == "current":
                return time.perf_counter() - started
        time.sleep(0.5)
    raise TimeoutError("stored results never became current")


def child_pages(schema: str, current: str, previous: str) -> dict:
    from survey.services import indices

    app = make_app(schema)
    client = logged_in(app)
    settings = indices.Settings(**COUNTER)
    first = time.perf_counter()
    page = client.get(f"/admin/periods/{current}/results?channel=counter")
    first_ms = 1000 * (time.perf_counter() - first)
    waited = wait_until_current(app, int(current), settings)
    # The unit page compares with the previous period: its results are computed
    # once in the background too.
    client.get(f"/admin/periods/{current}/results/units/S01?channel=counter")
    wait_until_current(app, int(previous), settings)
    out = {
        "first_get_ms": first_ms,
        "first_state": "computing"
        if "Đang tính" in page.get_data(as_text=True)
        else "?",
        "background_s": waited,
    }
    for name, url, requests in (
        ("dashboard", f"/admin/?period_id={current}", REQUESTS),
        ("results", f"/admin/periods/{current}/results?channel=counter", REQUESTS),
        (
            "unit",
            f"/admin/periods/{current}/results/units/S01?channel=counter",
            REQUESTS,
        ),
    ):
        out[name] = timed_gets(client, url, requests)
    return out


def child_publish(schema: str, period_id: str) -> dict:
    from survey.extensions import db
    from survey.models import PeriodStatus, SurveyPeriod, User
    from survey.services import indices, publications

    app = make_app(schema)
    with app.app_context():
        period = db.session.get(SurveyPeriod, int(period_id))
        period.status = PeriodStatus.CLOSED.value
        db.session.commit()
        admin = db.session.scalar(sa.select(User).filter_by(username="admin"))
        reset_peak_rss()
        started = time.perf_counter()
        publication = publications.publish(
            period, indices.Settings(**COUNTER), by=admin
        )
        publish_s = time.perf_counter() - started
        publish_mb = rss_mb()
        size = len(publication.used_responses)
        reset_peak_rss()
        started = time.perf_counter()
        found = publications.verify(publication)
        verify_s = time.perf_counter() - started
        out = {"publish_s": publish_s, "publish_mb": publish_mb, "verify_s": verify_s,
               "verify_mb": rss_mb(), "ok": bool(found), "checked": found.checked,
               "differences": found.differences[:3], "id_bytes": size,
               "ids": len(publications.used_ids(publication))}  # fmt: skip
    client = app.test_client()
    out["public"] = timed_gets(client, f"/results/{period_id}")
    out["public_list"] = timed_gets(client, "/results/")
    return out


def child_floors(schema: str, period_id: str) -> dict:
    """What the database alone needs for the period the computation reads, drained
    without parsing: sending its rows (the SELECT of response_frame), and summing
    them first per (unit, PSU), the satisfied and answered count of every criterion
    (what the estimates and the Taylor variances would need if the database
    aggregated), with PostgreSQL's parallel workers. Best of three each."""
    from survey.extensions import db
    from survey.models import SurveyPeriod, SurveyResponse
    from survey.services import reading
    from survey.services.questionnaires import definition_of

    app = make_app(schema)
    with app.app_context():
        period = db.session.get(SurveyPeriod, int(period_id))
        structure = definition_of(period.questionnaire).structure
        items = definition_of(period.questionnaire).scale_items
        _, ordered = reading.response_query(period, extras=False)
        ordered = ordered.where(SurveyResponse.channel == "counter")
        rows = ordered.order_by(None).subquery()
        lowest = str(min(structure.satisfied))
        sums = []
        for position, code in enumerate(items, start=1):
            if code not in structure.criteria:
                continue
            digit = sa.func.substr(rows.c.answers, position, 1)
            sums += [sa.func.sum(sa.case((digit >= lowest, 1), else_=0)),
                     sa.func.sum(sa.case((digit != "0", 1), else_=0))]  # fmt: skip
        cells = sa.select(rows.c.unit_id, rows.c.psu, sa.func.count(), *sums).group_by(
            rows.c.unit_id, rows.c.psu
        )
        out = {}
        for name, query in (("send_rows", ordered), ("aggregate", cells)):
            sql = str(query.compile(dialect=db.engine.dialect,
                                    compile_kwargs={"literal_binds": True}))  # fmt: skip
            times, size = [], 0
            for _ in range(3):
                with db.engine.connect() as conn:
                    raw = conn.connection.driver_connection
                    started = time.perf_counter()
                    size = sum(len(b) for b in reading._copy_out(raw, sql))
                    times.append(time.perf_counter() - started)
            out[name] = {"seconds": min(times), "bytes": size,
                         "criteria": len(sums) // 2}  # fmt: skip
        return out


TEN_NAME = "Mười năm"


def child_ten(schema: str, period_id: str) -> dict:
    """Build a period of TEN copies of the open period's responses in SQL (a kept
    schema keeps it for the next run); compute it."""
    from survey.extensions import db
    from survey.models import SurveyPeriod
    from survey.services import indices
    from survey.services.steps import time_split

    app = make_app(schema)
    with app.app_context():
        big = db.session.scalar(sa.select(SurveyPeriod).filter_by(name=TEN_NAME))
        insert_s = None
        if big is None:
            big, insert_s = build_ten(db.session.get(SurveyPeriod, int(period_id)))
        reset_peak_rss()
        with time_split() as split:
            started = time.perf_counter()
            results = indices.compute(big, indices.Settings(**COUNTER))
            seconds = time.perf_counter() - started
        return {"insert_s": insert_s, "seconds": seconds, "split": split,
                "peak_mb": rss_mb(), "rows": len(results.response_ids)}  # fmt: skip


def build_ten(source):
    """The period of TEN copies and the seconds its INSERT took."""
    from survey.extensions import db
    from survey.models import SurveyPeriod
    from survey.services import flagging

    big = SurveyPeriod(name=TEN_NAME, starts_on=source.starts_on,
                       ends_on=source.ends_on, questionnaire=source.questionnaire,
                       channels="counter", status="closed")  # fmt: skip
    db.session.add(big)
    db.session.commit()
    started = time.perf_counter()
    db.session.execute(
        sa.text(
            "INSERT INTO response (period_id, unit_id, counter_id, channel, field, "
            "submission_key, form_served_at, submitted_at, answers, extra, status, "
            "status_reason, flags) "
            "SELECT :big, unit_id, counter_id, 'counter', field, "
            "submission_key || 'x' || g, form_served_at, submitted_at, "
            # Shift the digits so the copies are not identical.
            "translate(answers, '12345', substr('1234512345', 1 + g % 5, 5)), "
            "extra, status, status_reason, flags "
            "FROM response, generate_series(1, :ten) AS g "
            "WHERE period_id = :source AND counter_id IS NOT NULL"
        ),
        {"big": big.id, "ten": TEN, "source": source.id},
    )
    db.session.commit()
    insert_s = time.perf_counter() - started
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE response")
    # The flag pass is another step (background refresh): mark it done.
    flagging_version = flagging.data_version(big)
    db.session.add(flagging.FlagPass(period_id=big.id, data_version=flagging_version))
    db.session.commit()
    return big, insert_s


CHILDREN = {
    "flags": child_flags,
    "compute": child_compute,
    "pages": child_pages,
    "publish": child_publish,
    "ten": child_ten,
    "floors": child_floors,
}


def in_child(*args: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-m", "bench.recompute", *args],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode:
        raise RuntimeError(f"{args}: {result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


# ---- the run -----------------------------------------------------------------------------


def run() -> dict:
    kept = os.environ.get("SIPAS_BENCH_SCHEMA")
    schema = kept or f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES)
    figures: dict = {"responses": BIG, "load": os.getloadavg()[0]}
    try:
        if kept:
            with engine.begin() as conn:
                conn.execute(sa.text(f'SET search_path TO "{schema}"'))
                ids = dict(conn.execute(sa.text(
                    "SELECT name, id FROM survey_period")).all())  # fmt: skip
                dossiers = conn.execute(
                    sa.text("SELECT count(*) FROM dossier")
                ).scalar()
            current, previous = ids["Quý này"], ids["Quý trước"]
            with engine.begin() as conn:  # a run before published it: start again
                conn.execute(sa.text(f'DELETE FROM "{schema}".publication'))
                conn.execute(sa.text(
                    f"UPDATE \"{schema}\".survey_period SET status = 'open' "
                    "WHERE id = :id"), {"id": current})  # fmt: skip
        else:
            with engine.begin() as conn:
                conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            setup = load(schema)
            figures["load_s"] = setup["load_s"]
            current, previous, dossiers = setup["current"], setup["previous"], 0
        if not dossiers:
            figures["register_s"] = add_register(schema, current, BIG)
        subprocess.run(
            [sys.executable, "-c", "from bench.recompute import upgrade; upgrade()",
             schema], cwd=ROOT, check=True, capture_output=True)  # fmt: skip
        figures["flags"] = in_child("flags", schema, str(current))
        in_child("flags", schema, str(previous))
        figures["floors"] = in_child("floors", schema, str(current))
        for weighting in ("none", "volume", "rake"):
            figures[weighting] = in_child("compute", schema, str(current), weighting)
        # Pages start from nothing stored for the page's own settings.
        with engine.begin() as conn:
            conn.execute(sa.text(f'DELETE FROM "{schema}".stored_result'))
        figures["pages"] = in_child("pages", schema, str(current), str(previous))
        figures["publish"] = in_child("publish", schema, str(current))
        if not os.environ.get("SIPAS_BENCH_SKIP_10M"):
            try:
                figures["ten"] = in_child("ten", schema, str(current))
            except RuntimeError as exc:  # keep the other figures: say why it failed
                figures["ten_error"] = str(exc)[-500:]
    finally:
        if not kept:
            with engine.begin() as conn:
                conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    write_section(
        "Recompute at national size", report(figures), "python -m bench recompute"
    )
    return figures


def upgrade() -> None:
    """Bring a kept schema to the current migrations (argv[1] is the schema)."""
    from flask_migrate import upgrade as migrate

    with make_app(sys.argv[1]).app_context():
        migrate()


STEPS = ("flag pass", "read", "decode", "weights", "estimates", "comparisons and ranks",
         "effect of flags", "weaknesses", "storing")  # fmt: skip


#: The issue's goals: compute + store at 1M (s, MB), pages (median, p95 ms),
#: publish and verify (s), compute at 10M (s).
GOALS = {"compute_s": 3, "compute_mb": 1000, "median_ms": 300, "p95_ms": 1000,
         "publish_s": 10, "ten_s": 30}  # fmt: skip


def largest(compute: dict, goal: float) -> str:
    """The steps that take the most of a computation over its goal, in words."""
    if compute["seconds"] < goal:
        return ""
    steps = sorted(compute["split"].items(), key=lambda item: -item[1])[:3]
    named = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in steps)
    return f" (largest steps, no weighting: {named})"


def against_goals(f: dict) -> str:
    """One sentence per goal: met or not, with the figures."""

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    computes = [f[w] for w in ("none", "volume", "rake")]
    seconds = "/".join(f"{c['seconds']:.1f}" for c in computes)
    peaks = "/".join(f"{c['peak_mb']:.0f}" for c in computes)
    pages = [f["pages"][k] for k in ("dashboard", "results", "unit")]
    pages += [f["publish"]["public"]]
    worst_median = max(p["median_ms"] for p in pages)
    worst_p95 = max(p["p95_ms"] for p in pages)
    pub = f["publish"]
    sentences = [
        f"Against the goals (load average {f['load']:.1f} when the run started): "
        f"compute + store at {f['responses']:,} responses ({computes[0]['rows']:,} "
        f"of the counter) {seconds} s for none/volume/rake against "
        f"{GOALS['compute_s']} s: "
        f"{verdict(max(c['seconds'] for c in computes) < GOALS['compute_s'])}"
        f"{largest(computes[0], GOALS['compute_s'])}; "
        f"peak {peaks} MB against {GOALS['compute_mb']} MB: "
        f"{verdict(max(c['peak_mb'] for c in computes) < GOALS['compute_mb'])}",
        f"pages: worst median {worst_median:.0f} ms, worst p95 {worst_p95:.0f} ms: "
        f"{verdict(worst_median < GOALS['median_ms'] and worst_p95 < GOALS['p95_ms'])}",
        f"publish {pub['publish_s']:.1f} s and verify {pub['verify_s']:.1f} s: "
        f"{verdict(max(pub['publish_s'], pub['verify_s']) < GOALS['publish_s'])}",
    ]
    if "ten" in f:
        ten = f["ten"]["seconds"]
        sentences.append(
            f"{f['ten']['rows']:,} responses {ten:.1f} s against {GOALS['ten_s']} s: "
            f"{verdict(ten < GOALS['ten_s'])}{largest(f['ten'], GOALS['ten_s'])}"
        )
    return "; ".join(sentences) + "."


def report(f: dict) -> str:
    n = f"{f['responses']:,}"
    lines = [
        f"PostgreSQL on loopback, the province of `bench responses` ({n} responses in "
        "the open period, 120 units) and a register of "
        f"{f['responses']:,} dossiers. Counter channel. Each row is a fresh process; "
        "peak RSS is its VmHWM after start-up (reset), data included.",
        "",
        "| compute + store | rows | seconds | peak RSS MB | "
        + " | ".join(STEPS[1:])
        + " |",
        "|---|---:|---:|---:|" + "---:|" * (len(STEPS) - 1),
    ]
    for weighting in ("none", "volume", "rake"):
        c = f[weighting]
        split = " | ".join(f"{c['split'].get(s, 0):.2f}" for s in STEPS[1:])
        lines.append(f"| {weighting} | {c['rows']:,} | {c['seconds']:.2f} | "
                     f"{c['peak_mb']:.0f} | {split} |")  # fmt: skip
    lines += [
        "",
        f"Flag pass of the open period (runs in the background refresh, before the "
        f"computation, only when the data changed): {f['flags']['seconds']:.1f} s, "
        f"peak {f['flags']['peak_mb']:.0f} MB.",
        "",
    ]
    p = f["pages"]
    lines += [
        f"First GET of the results page with nothing stored: {p['first_get_ms']:.0f} ms "
        f'(answers "being computed"); the background computation was stored after '
        f"{p['background_s']:.1f} s.",
        "",
        "| page (test client, after the first computation) | requests | median ms "
        "| p95 ms | bytes |",
        "|---|---:|---:|---:|---:|",
    ]
    pub = f["publish"]
    for name, figures in (("dashboard", p["dashboard"]), ("results", p["results"]),
                          ("unit S01", p["unit"]), ("public results", pub["public"]),
                          ("public list", pub["public_list"])):  # fmt: skip
        lines.append(f"| {name} | {figures['requests']} | {figures['median_ms']:.0f} "
                     f"| {figures['p95_ms']:.0f} | {figures['bytes']:,} |")  # fmt: skip
    lines += [
        "",
        f"Publish: {pub['publish_s']:.1f} s (peak {pub['publish_mb']:.0f} MB), "
        f"{pub['ids']:,} response ids kept in {pub['id_bytes']:,} bytes. "
        f"Verify: {pub['verify_s']:.1f} s (peak {pub['verify_mb']:.0f} MB), "
        f"{'ok' if pub['ok'] else 'FAILED ' + str(pub['differences'])}, "
        f"{pub['checked']:,} numbers compared.",
    ]
    if "floors" in f:
        fl = f["floors"]
        none = f["none"]["split"]
        python = none.get("decode", 0) + none.get("estimates", 0)
        lines += [
            "",
            f"The database alone, for the {f['none']['rows']:,} counter rows the "
            "computation reads (best of 3, drained without parsing): sending them "
            f"{fl['send_rows']['seconds']:.2f} s ({fl['send_rows']['bytes'] / 1e6:.0f} "
            "MB of CSV); summing them first per (unit, PSU), satisfied and answered for "
            f"each of the {fl['aggregate']['criteria']} criteria, "
            f"{fl['aggregate']['seconds']:.2f} s with its parallel workers. Letting the "
            "database aggregate is slower than receiving the rows and summing them in "
            f"numpy (decode + estimates: {python:.2f} s, variances included).",
        ]
    lines += ["", against_goals(f)]
    if "ten_error" in f:
        lines += ["", f"The 10,000,000 run failed: `{f['ten_error']}`"]
    if "ten" in f:
        t = f["ten"]
        split = ", ".join(f"{s} {t['split'].get(s, 0):.1f} s" for s in STEPS[1:]
                          if s in t["split"])  # fmt: skip
        built = (
            f"{t['insert_s']:.0f} s" if t["insert_s"] is not None else "built before"
        )
        lines += [
            "",
            f"{t['rows']:,} responses (the open period copied {TEN} times in SQL, "
            f"{built}): compute {t['seconds']:.1f} s, peak "
            f"{t['peak_mb']:,.0f} MB ({split}).",
        ]
    return "\n".join(lines)


if __name__ == "__main__":
    name, *args = sys.argv[1:]
    print(json.dumps(CHILDREN[name](*args), default=str))
