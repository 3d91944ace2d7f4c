"""Submission throughput on loopback: gunicorn + PostgreSQL, measured with wrk.

Forms are prepared first (session cookie, CSRF token, signed one-time key: exactly what
the server hands a phone), then wrk posts each one once from many connections. The
trivial endpoint /healthz of the same server, under the same load, is the ceiling.
Rows are counted afterwards: accepted submissions must equal stored responses.
"""

import os
import re
import runpy
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path
from urllib.parse import urlencode

import sqlalchemy as sa

from bench.results import write_section

ROOT = Path(__file__).resolve().parent.parent
POSTGRES = os.environ.get(
    "SIPAS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
SECRET = "bench-secret-not-for-production"
PORT = 8765


def server_env(schema: str) -> dict:
    return os.environ | {
        "DATABASE_URL": f"{POSTGRES}?options=-csearch_path%3D{schema}",
        "SIPAS_SECRET_KEY": SECRET,
        "SIPAS_INTEGRITY_SALT": "bench-salt-of-some-length",
        "SIPAS_PUBLIC_BASE_URL": f"http://127.0.0.1:{PORT}",
        "SIPAS_RATELIMIT_ENABLED": "false",
    }


def prepare(env: dict, count: int, path: Path) -> int:
    """Migrate, seed a province, write `count` ready-to-post submissions.

    Return the number of answers a complete sheet stores.
    """
    os.environ.update(env)
    from flask import session
    from flask_migrate import upgrade
    from flask_wtf.csrf import generate_csrf

    from survey import create_app, integrity, tokens
    from survey.extensions import db
    from survey.services import demo, responses, units
    from survey.services.questionnaires import definition_of
    from tests.helpers import field_name

    app = create_app()
    with app.app_context():
        upgrade()
        period = demo.seed_demo(responses=0)
        counters = units.counters_with_units()
        paths = [f"/s/{units.counter_token(c)}" for c in counters]
        keys = [(c.id, period.id) for c in counters]
        # A complete answer sheet of the open period's questionnaire.
        definition = definition_of(period.questionnaire)
        items = list(definition.structure.criteria)
        body = {field_name(code): "4" for code in items}
        for code, value in (("overall", "4"), ("field", "ho-tich")):
            if definition.question(code) is not None:
                body[field_name(code)] = value
        answer_length = len(items) + (definition.question("overall") is not None)
        db.engine.dispose()
    phones = []
    for number in range(64):
        with app.test_request_context():
            csrf = generate_csrf()
            cookie = app.session_interface.get_signing_serializer(app).dumps(
                dict(session)
            )
            device = f"bench-phone-{number}"
            phones.append(
                (
                    f"session={cookie}; sipas_device={device}",
                    csrf,
                    integrity.device_tag(env["SIPAS_INTEGRITY_SALT"], device),
                )
            )
    with path.open("w") as out:
        for i in range(count):
            cookie, csrf, device = phones[i % len(phones)]
            counter_id, period_id = keys[i % len(keys)]
            # Bound to the phone's cookie, as the server binds the forms it serves.
            key = tokens.issue_submission_key(
                SECRET, counter_id, period_id, device=device
            )
            data = urlencode(body | {"k": key, "csrf_token": csrf}, doseq=True)
            out.write(f"{paths[i % len(paths)]}\t{cookie}\t{data}\n")
    _ = responses  # imported for the models' registration
    return answer_length


def wrk(script: str, url: str, seconds: int, connections: int, env: dict) -> dict:
    threads = 2
    result = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--timeout",
            "10s",
            "-s",
            str(ROOT / "bench" / script),
            url,
        ],
        capture_output=True,
        text=True,
        env=env | {"WRK_THREADS": str(threads)},
        check=True,
    )
    line = next(x for x in result.stdout.splitlines() if x.startswith("RESULT"))
    values = dict(pair.split("=") for pair in line.split()[1:])
    rate = re.search(r"Requests/sec:\s+([\d.]+)", result.stdout)
    values["rate"] = float(rate.group(1)) if rate else 0.0
    return {k: float(v) for k, v in values.items()}


def run(seconds: int = 30, connections: int = 32) -> dict:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(POSTGRES)
    with engine.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    env = server_env(schema)
    server = None
    try:
        with tempfile.TemporaryDirectory() as folder:
            submissions = Path(folder) / "submissions.tsv"
            length = prepare(env, count=1500 * seconds, path=submissions)
            # The production settings (gunicorn.conf.py), on a loopback port.
            server = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "--config",
                    "gunicorn.conf.py",
                    "--bind",
                    f"127.0.0.1:{PORT}",
                    "--log-level",
                    "warning",
                    "wsgi:app",
                ],
                cwd=ROOT,
                env=env,
            )
            wait_until_up(f"http://127.0.0.1:{PORT}/healthz")
            base = f"http://127.0.0.1:{PORT}"
            ceiling = wrk("trivial.lua", base + "/healthz", 10, connections, env)
            submit = wrk(
                "submit.lua",
                base,
                seconds,
                connections,
                env | {"SUBMISSIONS": str(submissions)},
            )
            # Let gunicorn finish the requests still in flight before counting rows.
            server.terminate()
            server.wait(30)
        with engine.connect() as conn:
            stored, keys, answers = conn.execute(
                sa.text(
                    "SELECT count(*), count(DISTINCT submission_key), "
                    f"count(*) FILTER (WHERE length(answers) = {length}) "
                    f'FROM "{schema}".response'
                )
            ).one()
    finally:
        if server and server.poll() is None:
            server.terminate()
            server.wait(10)
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()
    accepted = int(submit["accepted"])
    per_second = accepted / seconds
    figures = {
        "accepted": accepted,
        "stored": stored,
        "distinct_keys": keys,
        "answers": answers,
        "per_second": per_second,
        "ceiling": ceiling["rate"],
        "other": int(submit["other"]),
    }
    ms = lambda us: f"{us / 1000:.1f}"  # noqa: E731
    body = (
        f"gunicorn with gunicorn.conf.py ({settings()}) + PostgreSQL on loopback, "
        f"wrk {connections} connections, 2 threads; submissions {seconds} s, ceiling 10 s.\n\n"
        "| endpoint | per second | p50 ms | p95 ms | p99 ms | max ms |\n"
        "|---|---:|---:|---:|---:|---:|\n"
        f"| POST /s/<token> (stored responses) | **{per_second:,.0f}** | {ms(submit['p50'])} | "
        f"{ms(submit['p95'])} | {ms(submit['p99'])} | {ms(submit['max'])} |\n"
        f"| GET /healthz (ceiling) | {ceiling['rate']:,.0f} | {ms(ceiling['p50'])} | "
        f"{ms(ceiling['p95'])} | {ms(ceiling['p99'])} | {ms(ceiling['max'])} |\n\n"
        f"Share of the ceiling: **{per_second / ceiling['rate']:.0%}** (goal ≥ 40 %); "
        "goal ≥ 300/s: "
        f"{'met' if per_second >= 300 else 'MISSED'}.\n"
        f"Accepted (303) {accepted:,}, other statuses {figures['other']}, rows stored {stored:,}, "
        f"distinct keys {keys:,}, rows with all {length} answers {answers:,}. "
        f"Lost: {max(accepted - stored, 0)}; doubled: {stored - keys}. Rows beyond the "
        "accepted count were in flight when wrk stopped: the server finished them before "
        "the count."
    )
    write_section("Submission throughput", body, "python -m bench submit")
    return figures


def settings() -> str:
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    return (
        f"{config['workers']} {config['worker_class']} workers × {config['threads']} "
        f"threads, reuse_port={config['reuse_port']}"
    )


def wait_until_up(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} did not start")
