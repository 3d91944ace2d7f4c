"""Configuration: safe defaults, overridden by SIPAS_* environment variables.

Outside tests and the demo the app refuses to start without its secrets: a default
key in the source would let anyone forge a session cookie.
"""

import json
import os
import secrets
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class Config:
    """Defaults for one process on an embedded SQLite database.

    Production sets at least ``SIPAS_SECRET_KEY``, ``SIPAS_INTEGRITY_SALT``,
    ``SIPAS_PUBLIC_BASE_URL`` (checked by `check_production`) and ``DATABASE_URL``
    (PostgreSQL); ``SIPAS_RATELIMIT_STORAGE_URI`` points every process at one Redis
    so that rate limits are shared. ``SIPAS_DEMO=1`` (set by ``make run``) draws
    random secrets once per instance instead.
    """

    DEMO = False
    SECRET_KEY = None
    # Salt of the hashes of networks and devices kept for integrity checks;
    # without it those hashes could be reversed by enumerating addresses.
    INTEGRITY_SALT = None
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'sipas.sqlite'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    QUESTIONNAIRE_DIR = str(Path(__file__).resolve().parent.parent / "questionnaires")
    # Base of the URLs printed on posters and QR codes; required in production, the
    # host of the request in the demo only.
    PUBLIC_BASE_URL = ""
    # Seconds a served survey form stays valid for submission (one working day).
    FORM_MAX_AGE = 12 * 3600
    MAX_CONTENT_LENGTH = 64 * 1024
    # Only the file-upload routes of the workspace, for administrators: a province's
    # register export runs to hundreds of megabytes; werkzeug spools it to disk.
    MAX_UPLOAD_LENGTH = 1024 * 1024 * 1024
    WTF_CSRF_TIME_LIMIT = None  # the signed submission key carries the form's age
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    RATELIMIT_STORAGE_URI = "memory://"
    # Results pages read stored results (services/stored_results.py). A period with
    # fewer responses than this is computed within the page request; a larger one in a
    # background thread of the process (or by `flask refresh-results` from cron).
    RESULTS_SYNC_LIMIT = 20_000
    RESULTS_BACKGROUND = True
    # Redis down: count per process in memory (with a logged warning) instead of
    # refusing every submission; a blackholed Redis costs at most the timeouts.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_STORAGE_OPTIONS: dict = {}
    REDIS_TIMEOUTS = {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    # Limits at the door of the public survey (survey/door.py), each far above what a
    # one-stop centre produces and far below what a script needs.
    # Submissions per client network (/24, /48): a centre's Wi-Fi or a carrier's NAT
    # carries many citizens; a busy provincial centre sees a few a minute.
    SUBMIT_RATE_LIMIT = "120 per minute"
    # Per phone (device cookie): a citizen answers for at most a few dossiers a day.
    SUBMIT_DEVICE_LIMIT = "6 per 10 minutes;20 per day"
    # Per counter (QR poster): one desk serves a citizen every few minutes; a poster
    # for a whole centre, some per minute.
    SUBMIT_COUNTER_LIMIT = "60 per 10 minutes"
    # Forms served (each one a signed key): per network and per phone.
    FORM_NETWORK_LIMIT = "600 per 10 minutes"
    FORM_DEVICE_LIMIT = "30 per 10 minutes"
    # A network that keeps tripping the limits is shut out for longer each time: after
    # 3 refusals in 10 minutes until those 10 minutes end, after 10 in a day until the
    # day ends (Retry-After says how long).
    DOOR_ESCALATION = "3 per 10 minutes;10 per day"
    # A form posted sooner than this after it was served is sent back (answers kept):
    # nobody reads and answers 23 questions in 10 s; a script must wait for each key.
    SUBMIT_MIN_SECONDS = 10
    # Integrity flags (analysis.integrity.Thresholds documents every default and why):
    # a JSON object of overrides, e.g. SIPAS_INTEGRITY_THRESHOLDS='{"device_per_day": 4}'.
    INTEGRITY_THRESHOLDS: dict = {}
    # Opening hours of units without hours of their own (and without a parent that has
    # them): "T2-T6 07:30-17:00; T7 07:30-11:30".
    OPENING_HOURS = "T2-T6 07:30-17:00; T7 07:30-11:30"
    # Unknown invitation codes per client network: a citizen mistypes a few times (and
    # the check character catches most typos before they count); a guesser needs
    # billions of tries.
    INVITATION_GUESS_LIMIT = "20 per 10 minutes"
    # Days an invitation can be answered from the day it is drawn.
    INVITATION_DAYS = 30
    LOGIN_RATE_LIMIT = "10 per minute"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
    SESSION_IDLE_TIMEOUT = 30 * 60  # a workspace left open on a shared computer
    PROXY_COUNT = (
        0  # reverse proxies in front of the app whose X-Forwarded-For to trust
    )
    BABEL_DEFAULT_LOCALE = "vi"
    # Every time a person reads is Vietnam time, whatever the server's zone.
    BABEL_DEFAULT_TIMEZONE = "Asia/Ho_Chi_Minh"
    BABEL_TRANSLATION_DIRECTORIES = str(
        Path(__file__).resolve().parent / "translations"
    )


def database_url_from_env() -> str | None:
    """Return DATABASE_URL with the psycopg 3 driver spelled out, if set."""
    url = os.environ.get("DATABASE_URL")
    if url and url.startswith(("postgres://", "postgresql://")):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


REQUIRED_IN_PRODUCTION = ("SECRET_KEY", "INTEGRITY_SALT", "PUBLIC_BASE_URL")
MIN_SECRET_LENGTH = 16
DEMO_SECRETS = INSTANCE_DIR / "demo-secrets.json"


class UnsafeConfiguration(RuntimeError):
    """The app would run with secrets anyone can read; the message says what to set."""


def check_production(config: dict) -> None:
    """Refuse to run without a secret key, an integrity salt and a public base URL.

    :raise UnsafeConfiguration: naming every missing or too short variable.
    """
    missing = [
        f"SIPAS_{name}" for name in REQUIRED_IN_PRODUCTION if not config.get(name)
    ]
    short = [
        f"SIPAS_{name}"
        for name in ("SECRET_KEY", "INTEGRITY_SALT")
        if config.get(name) and len(str(config[name])) < MIN_SECRET_LENGTH
    ]
    problems = []
    if missing:
        problems.append("not set: " + ", ".join(missing))
    if short:
        problems.append(
            f"shorter than {MIN_SECRET_LENGTH} characters: " + ", ".join(short)
        )
    if problems:
        raise UnsafeConfiguration(
            "Refusing to start with an unsafe configuration ("
            + "; ".join(problems)
            + "). Set them in the environment, or SIPAS_DEMO=1 for a local demo."
        )


def demo_secrets(path: Path = DEMO_SECRETS) -> dict[str, str]:
    """Return this instance's random demo secrets, drawn and stored (0600) the first time."""
    if not path.exists():
        values = {
            "SECRET_KEY": secrets.token_urlsafe(32),
            "INTEGRITY_SALT": secrets.token_urlsafe(32),
        }
        path.parent.mkdir(exist_ok=True)
        try:
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process drew them first
            pass
        else:
            with os.fdopen(handle, "w") as out:
                json.dump(values, out)
    return json.loads(path.read_text())
