"""Limits at the door of the public survey: a script pays, a one-stop centre does not.

Forms served and submissions are counted per network (/24 or /48: a centre's Wi-Fi, a
carrier's NAT), per phone (the device cookie) and per counter (the QR poster), each
limit far above what a centre's citizens produce (config.py says why). A network that
keeps tripping them is shut out for longer each time (`DOOR_ESCALATION`), and every
refusal says when to come back (Retry-After). The counts live in the limiter's storage:
Redis when `RATELIMIT_STORAGE_URI` points at it, so every process shares them.
"""

import time

from flask import current_app, request
from flask_limiter import MetaLimit

from . import integrity, tokens
from .extensions import limiter

DEVICE_COOKIE = "sipas_device"


def network_key() -> str:
    return "net:" + integrity.network_of(request.remote_addr)


def device_key() -> str:
    """The phone's cookie; a first visit without one counts against its network."""
    device = request.cookies.get(DEVICE_COOKIE)
    return "dev:" + device[:64] if device else network_key()


def counter_key() -> str:
    token = (request.view_args or {}).get("token", "")
    return f"counter:{tokens.counter_id_from_token(token)}"


def _setting(name: str):
    return lambda: current_app.config[name]


# (setting, key, methods): the network's submission limit is SUBMIT_RATE_LIMIT, as before.
LIMITS = (
    ("SUBMIT_RATE_LIMIT", network_key, ["POST"]),
    ("SUBMIT_DEVICE_LIMIT", device_key, ["POST"]),
    ("SUBMIT_COUNTER_LIMIT", counter_key, ["POST"]),
    ("FORM_NETWORK_LIMIT", network_key, ["GET"]),
    ("FORM_DEVICE_LIMIT", device_key, ["GET"]),
)


def guarded(view):
    """Apply every limit of the door to a public survey view."""
    escalation = [
        MetaLimit(_setting("DOOR_ESCALATION"), key_function=network_key)  # type: ignore[arg-type]
    ]
    for setting, key, methods in LIMITS:
        view = limiter.limit(
            _setting(setting),
            key_func=key,
            methods=methods,
            scope=setting.lower(),
            meta_limits=escalation,
        )(view)
    return view


def retry_after() -> int | None:
    """Seconds until the limit that refused this request lets the client in again."""
    refused = limiter.current_limit
    if refused is None or not refused.breached:
        return None
    return max(1, int(refused.reset_at - time.time()))
