"""Submission rate limits per client network: in memory, and shared through Redis."""

import ipaddress
import uuid

import pytest
import redis
import sqlalchemy as sa

from survey.extensions import db
from survey.models import SurveyResponse
from tests.conftest import skip_or_fail
from tests.helpers import complete_answers, counter_path, served_form
from tests.seed import OPEN_COUNTER_ID

PATH = counter_path(OPEN_COUNTER_ID)
REDIS_URL = "redis://127.0.0.1:6379/0"


def post(client, address: str = "127.0.0.1"):
    return client.post(
        PATH,
        data=complete_answers() | served_form(client, PATH),
        environ_base={"REMOTE_ADDR": address},
    )


def stored(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(SurveyResponse.id)))


def test_too_many_submissions_get_a_vietnamese_429(make_app):
    app = make_app(RATELIMIT_ENABLED=True, SUBMIT_RATE_LIMIT="3 per minute")
    # Three phones on one network, then a fourth.
    assert [post(app.test_client()).status_code for _ in range(3)] == [303, 303, 303]
    refused = post(app.test_client())
    assert refused.status_code == 429
    assert "Quá nhiều yêu cầu" in refused.get_data(as_text=True)
    assert 0 < int(refused.headers["Retry-After"]) <= 60
    assert stored(app) == 3
    # Reading the form has its own, higher limit.
    assert app.test_client().get(PATH).status_code == 200


@pytest.fixture
def redis_url():
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        skip_or_fail(f"Redis is not reachable at {REDIS_URL}: {exc}")
    return REDIS_URL


def test_limits_are_shared_between_processes_through_redis(make_app, redis_url):
    config = dict(
        RATELIMIT_ENABLED=True,
        SUBMIT_RATE_LIMIT="3 per minute",
        RATELIMIT_STORAGE_URI=redis_url,
    )
    first, second = (
        make_app(**config),
        make_app(**config),
    )  # two app processes, one Redis
    # A network of this test alone: other runs may share the Redis server.
    address = str(ipaddress.IPv6Address(uuid.uuid4().int))
    assert post(first.test_client(), address).status_code == 303
    assert post(second.test_client(), address).status_code == 303
    assert post(first.test_client(), address).status_code == 303
    assert post(second.test_client(), address).status_code == 429
