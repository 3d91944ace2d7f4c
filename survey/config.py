"""Configuration: defaults for the embedded demo, overridden by SIPAS_* environment variables."""

import os
from pathlib import Path

INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class Config:
    """Defaults for one process on an embedded SQLite database.

    Production sets at least ``SIPAS_SECRET_KEY``, ``SIPAS_INTEGRITY_SALT`` and
    ``DATABASE_URL`` (PostgreSQL); ``SIPAS_RATELIMIT_STORAGE_URI`` points every
    process at one Redis so that rate limits are shared.
    """

    SECRET_KEY = "dev-only-change-me"
    # Salt of the hashes of networks and devices kept for integrity checks;
    # without it those hashes could be reversed by enumerating addresses.
    INTEGRITY_SALT = "dev-only-salt"
    SQLALCHEMY_DATABASE_URI = f"sqlite:///{INSTANCE_DIR / 'sipas.sqlite'}"
    SQLALCHEMY_ENGINE_OPTIONS: dict = {"pool_pre_ping": True}
    QUESTIONNAIRE_DIR = str(Path(__file__).resolve().parent.parent / "questionnaires")
    # Base of the URLs printed on posters and QR codes; empty = the host of the request.
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
    RATELIMIT_ENABLED = True
    RATELIMIT_HEADERS_ENABLED = False
    # Per client network; a one-stop centre's Wi-Fi shares one address.
    SUBMIT_RATE_LIMIT = "120 per minute"
    # Unknown invitation codes per client network: a citizen mistypes a few times (and
    # the check character catches most typos before they count); a guesser needs
    # billions of tries.
    INVITATION_GUESS_LIMIT = "20 per 10 minutes"
    # Days an invitation can be answered from the day it is drawn.
    INVITATION_DAYS = 30
    LOGIN_RATE_LIMIT = "10 per minute"
    PERMANENT_SESSION_LIFETIME = 8 * 3600
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
