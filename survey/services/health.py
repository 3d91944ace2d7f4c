"""Health of the dependencies, for load balancers (status code) and people (JSON)."""

import logging

import sqlalchemy as sa
from flask import current_app

from ..extensions import db, limiter

log = logging.getLogger(__name__)


def report() -> tuple[dict[str, str], int]:
    """Return the state of the database and the rate-limit storage, and a status code.

    The database is required (503 without it); shared rate limits are not: without
    Redis every process counts on its own ("degraded", still 200 so that a load
    balancer keeps sending citizens to a process that can store their answers).
    """
    state = {"database": _database(), "rate_limits": _rate_limits()}
    if state["database"] != "ok":
        state["status"] = "down"
        return state, 503
    state["status"] = (
        "ok" if state["rate_limits"] in ("ok", "memory", "off") else "degraded"
    )
    return state, 200


def _database() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        log.warning("health check: database unreachable: %s", exc)
        db.session.rollback()
        return "unreachable"
    return "ok"


def _rate_limits() -> str:
    """Return "off", "memory" (per process), "ok" (shared storage answers) or the fallback."""
    config = current_app.config
    if not config["RATELIMIT_ENABLED"]:
        return "off"
    if str(config["RATELIMIT_STORAGE_URI"]).startswith("memory"):
        return "memory"
    try:
        alive = limiter.storage.check()
    except Exception as exc:  # any client error means: not answering
        log.warning("health check: rate-limit storage unreachable: %s", exc)
        alive = False
    return "ok" if alive else "unreachable: per-process memory fallback"
