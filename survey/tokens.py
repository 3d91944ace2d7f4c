"""Signed tokens: counter QR tokens and one-time submission keys."""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from itsdangerous import BadSignature, URLSafeTimedSerializer

from .boundary import MAX_ID


def _mac(secret: str, message: str, length: int = 12) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode()[:length]


def counter_token(secret: str, counter_id: int, nonce: str) -> str:
    """Return the short token printed in a counter's QR URL: `<id base 36>-<mac>`."""
    return f"{_base36(counter_id)}-{_mac(secret, f'counter:{counter_id}:{nonce}')}"


def counter_id_from_token(token: str) -> int | None:
    """Return the counter id a token claims, or None if it is malformed."""
    head, _, mac = token.partition("-")
    if not head or len(mac) != 12 or len(head) > 8:
        return None
    try:
        counter_id = int(head, 36)
    except ValueError:
        return None
    return counter_id if counter_id <= MAX_ID else None


def token_matches(secret: str, token: str, counter_id: int, nonce: str) -> bool:
    return hmac.compare_digest(token, counter_token(secret, counter_id, nonce))


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out


@dataclass(frozen=True)
class SubmissionKey:
    nonce: str
    counter_id: int
    period_id: int
    served_at: datetime


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="submission-key")


def issue_submission_key(
    secret: str, counter_id: int, period_id: int, served_at: datetime | None = None
) -> str:
    """Return a signed one-time key for one served form, stamped with when it was served.

    The stamp comes from the caller's clock (survey.clock), so a form's age is
    measured on the same clock as its submission.
    """
    served_at = served_at or datetime.now(UTC)
    payload = [secrets.token_urlsafe(16), counter_id, period_id, served_at.timestamp()]
    return _serializer(secret).dumps(payload)


def read_submission_key(
    secret: str, key: str, max_age: int, now: datetime | None = None
) -> SubmissionKey | None:
    """Return the key's content, or None if forged, malformed or older than max_age."""
    try:
        payload, signed_at = _serializer(secret).loads(key, return_timestamp=True)
    except (BadSignature, ValueError, TypeError):
        return None
    if not (isinstance(payload, list) and len(payload) in (3, 4)):
        return None
    if len(payload) == 4:  # keys served before the stamp was added carry none
        try:
            signed_at = datetime.fromtimestamp(float(payload.pop()), UTC)
        except (TypeError, ValueError, OverflowError):
            return None
    nonce, counter_id, period_id = payload
    served_at = signed_at.astimezone(UTC)
    age = ((now or datetime.now(UTC)) - served_at).total_seconds()
    if age > max_age:
        return None
    return SubmissionKey(nonce, counter_id, period_id, served_at)
