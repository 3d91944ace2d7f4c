"""Seconds per step of a computation, collected when a benchmark asks for them."""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

#: Seconds per step of the computation running under `time_split()` (benchmarks).
_split: ContextVar[dict | None] = ContextVar("split", default=None)
_in_step: ContextVar[bool] = ContextVar("in_step", default=False)


@contextmanager
def time_split() -> Iterator[dict]:
    """Collect the seconds spent in each step of the computations run inside."""
    found: dict[str, float] = {}
    token = _split.set(found)
    try:
        yield found
    finally:
        _split.reset(token)


@contextmanager
def step(name: str) -> Iterator[None]:
    """Count the time of a block under `name` when a `time_split()` is active.

    A step inside another counts as the outer one (the split adds up to the total).
    """
    found = _split.get()
    if found is None or _in_step.get():
        yield
        return
    started = time.perf_counter()
    token = _in_step.set(True)
    try:
        yield
    finally:
        _in_step.reset(token)
        found[name] = found.get(name, 0.0) + time.perf_counter() - started
