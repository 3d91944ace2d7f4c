"""/healthz and rate limits when Redis does not answer: degrade, never a 500."""

import logging
import socket

import pytest

from survey import create_app
from survey.extensions import limiter
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID, PASSWORD

PATH = counter_path(OPEN_COUNTER_ID)


@pytest.fixture
def silent_redis():
    """A port that accepts connections and never answers (a hung Redis)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


@pytest.fixture
def closed_redis():
    """A port nobody listens on (Redis stopped)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return f"redis://127.0.0.1:{port}/0"


def test_healthz_reports_database_and_memory_limits(make_app):
    response = make_app(RATELIMIT_ENABLED=True).test_client().get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {
        "status": "ok",
        "database": "ok",
        "rate_limits": "memory",
    }


@pytest.mark.parametrize("redis_fixture", ["silent_redis", "closed_redis"])
def test_submissions_and_logins_survive_a_dead_redis(
    make_app, request, caplog, monkeypatch, redis_fixture
):
    url = request.getfixturevalue(redis_fixture)
    # The limiter is one module-level object shared by every app of this process:
    # start from a live storage so that the fall-back (and its warning) happen here.
    monkeypatch.setattr(limiter, "_storage_dead", False)
    app = make_app(
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI=url,
        SUBMIT_RATE_LIMIT="3 per minute",
    )
    client = app.test_client()
    with caplog.at_level(logging.WARNING):
        statuses = [
            client.post(PATH, data=complete_answers() | served_form(client, PATH))
            for _ in range(4)
        ]
    assert [r.status_code for r in statuses] == [303, 303, 303, 429]
    assert "falling back to in-memory storage" in caplog.text
    login = client.post("/auth/login", data={"username": "admin", "password": PASSWORD})
    assert login.status_code == 302
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.get_json()["status"] == "degraded"
    assert health.get_json()["rate_limits"].startswith("unreachable")


def test_healthz_is_503_without_the_database():
    down = create_app(
        {
            "TESTING": True,
            "RATELIMIT_ENABLED": True,
            "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/x",
        }
    )
    response = down.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json() == {
        "status": "down",
        "database": "unreachable",
        "rate_limits": "memory",
    }
