"""One clock: instants stored in UTC, every date a person sees or a rule uses in Vietnam.

A one-stop centre opens at 07:30 Vietnam time, which is 00:30 UTC: "today" must never
be the server's date. Everything that needs the time asks this module, which also
gives tests and simulators one seam to move time (`travel`).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")

_source: Callable[[], datetime] = lambda: datetime.now(UTC)  # noqa: E731


def now() -> datetime:
    """Return the current instant, timezone-aware, in UTC."""
    return _source().astimezone(UTC)


def local_now() -> datetime:
    """Return the current instant in Vietnam time."""
    return now().astimezone(VIETNAM)


def today() -> date:
    """Return today's date in Vietnam."""
    return local_now().date()


def local(moment: datetime) -> datetime:
    """Return an instant in Vietnam time (a naive value is taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(VIETNAM)


def day_start(day: date) -> datetime:
    """Return the instant (UTC) at which a Vietnamese calendar day begins."""
    return datetime.combine(day, time(), VIETNAM).astimezone(UTC)


def day_end(day: date) -> datetime:
    """Return the instant (UTC) at which a Vietnamese calendar day ends (exclusive)."""
    return day_start(day + timedelta(days=1))


@contextmanager
def travel(moment: datetime | Callable[[], datetime]) -> Iterator[None]:
    """Run a block at a fixed instant, or with a callable as the time source.

    For tests and simulators; an aware instant is required, so that no one fakes a
    time in the wrong zone.
    """
    global _source
    if callable(moment):
        source = moment
    else:
        if moment.tzinfo is None:
            raise ValueError("travel() needs a timezone-aware instant")
        source = lambda: moment  # noqa: E731
    previous, _source = _source, source
    try:
        yield
    finally:
        _source = previous


class UtcDateTime(sa.types.TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware in UTC.

    PostgreSQL keeps the zone (timestamptz); SQLite keeps none, so values are
    converted to UTC before they are written and read back as UTC. Comparisons with
    bound parameters go through the same conversion, so a Vietnamese midnight
    compares correctly on both databases.
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime: give instants with their time zone")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
