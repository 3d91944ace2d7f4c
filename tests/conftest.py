"""Fixtures: the app on SQLite and on PostgreSQL, migrated by Alembic, seeded per test.

PostgreSQL tests skip when no server answers, except when SIPAS_REQUIRE_SERVICES=1
(set by .ci/run), where a missing service fails the run instead.
"""

import os
import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from survey import clock, create_app
from survey.extensions import db
from tests import seed as seed_data

POSTGRES_URL = os.environ.get(
    "SIPAS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
BACKENDS = ("sqlite", "postgresql")


def require_services() -> bool:
    return os.environ.get("SIPAS_REQUIRE_SERVICES") == "1"


def skip_or_fail(reason: str):
    if require_services():
        pytest.fail(
            f"{reason} (SIPAS_REQUIRE_SERVICES=1: required services must be present)"
        )
    pytest.skip(reason)


@pytest.fixture(scope="session", autouse=True)
def clock_start():
    """SIPAS_TEST_START=2026-03-01T16:59:50+00:00 runs the suite on a clock that starts
    there and ticks (here: ten seconds before midnight in Vietnam), so that no test
    depends on the hour it happens to run at.
    """
    start = os.environ.get("SIPAS_TEST_START")
    if not start:
        yield
        return
    offset = datetime.fromisoformat(start) - datetime.now(UTC)
    with clock.travel(lambda: datetime.now(UTC) + offset):
        yield


@pytest.fixture(scope="session")
def database_urls(tmp_path_factory):
    """Create one throwaway database per backend for the whole run."""
    urls = {
        "sqlite": (f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.sqlite'}", {})
    }
    schema = f"test_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(POSTGRES_URL)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
        options = {"connect_args": {"options": f"-csearch_path={schema}"}}
        urls["postgresql"] = (POSTGRES_URL, options)
    except sa.exc.OperationalError as exc:
        urls["postgresql"] = exc
    migrated: set[str] = set()
    yield urls, migrated
    if "postgresql" in migrated or not isinstance(urls["postgresql"], Exception):
        with engine.begin() as conn:
            conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


def create_test_app(backend: str, database_urls, **config):
    urls, migrated = database_urls
    target = urls[backend]
    if isinstance(target, Exception):
        skip_or_fail(f"PostgreSQL is not reachable at {POSTGRES_URL}: {target}")
    url, engine_options = target
    app = create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "test",
            "INTEGRITY_SALT": "test-salt",
            "SQLALCHEMY_DATABASE_URI": url,
            "SQLALCHEMY_ENGINE_OPTIONS": engine_options,
            "WTF_CSRF_ENABLED": False,
            "RATELIMIT_ENABLED": False,
            "SERVER_NAME": "sipas.test",
            **config,
        }
    )
    with app.app_context():
        if backend not in migrated:
            upgrade()
            migrated.add(backend)
        empty_all_tables()
        seed_data.seed()
    return app


def empty_all_tables() -> None:
    """Empty every table and restart ids at 1, so seeded ids are the constants of seed.py."""
    tables = db.metadata.sorted_tables
    with db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            names = ", ".join(f'"{table.name}"' for table in tables)
            conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:  # SQLite reuses max(rowid) + 1, which is 1 in an empty table
            for table in reversed(tables):
                conn.execute(table.delete())


@pytest.fixture(params=BACKENDS)
def backend(request) -> str:
    return request.param


@pytest.fixture
def make_app(backend, database_urls):
    """Return a factory of seeded apps on this test's backend; their engines close after."""
    apps = []

    def factory(**config):
        apps.append(create_test_app(backend, database_urls, **config))
        return apps[-1]

    yield factory
    for made in apps:
        with made.app_context():
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


class AuthActions:
    """Log the test client in and out as one of the seeded users (flaskr's `auth`)."""

    def __init__(self, client):
        self._client = client

    def login(self, username: str = "admin", password: str = seed_data.PASSWORD):
        return self._client.post(
            "/auth/login", data={"username": username, "password": password}
        )

    def logout(self):
        return self._client.post("/auth/logout")


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def admin_client(client, auth):
    auth.login()
    return client


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app
