"""Shared column helpers."""

from __future__ import annotations

import contextlib
import datetime as dt

from sqlalchemy import JSON
from sqlalchemy.dialects.postgresql import JSONB

JSONType = JSON().with_variant(JSONB(), "postgresql")


_simulated_now: dt.datetime | None = None
_clock_offset = dt.timedelta(0)


def utcnow() -> dt.datetime:
    """Naive UTC, microseconds kept: stored the same way on SQLite and PostgreSQL. The app's one
    clock: every "now" and "today" of the application comes from here."""
    if _simulated_now is not None:
        return _simulated_now
    return dt.datetime.now(dt.UTC).replace(tzinfo=None) + _clock_offset


def set_clock_offset(days: int) -> None:
    """Development and tests only (CLOCK_OFFSET_DAYS): the process runs as if it were `days` later."""
    global _clock_offset
    _clock_offset = dt.timedelta(days=days)


@contextlib.contextmanager
def simulated_clock(start: dt.datetime):
    """Demo data only: lets the demo story happen over weeks, as a real 8D does. Yields a
    function that moves the clock forward."""
    global _simulated_now
    _simulated_now = start

    def advance(**delta) -> dt.datetime:
        global _simulated_now
        _simulated_now = _simulated_now + dt.timedelta(**delta)
        return _simulated_now

    try:
        yield advance
    finally:
        _simulated_now = None


def iso(value: dt.datetime | dt.date | None) -> str | None:
    """ISO 8601 as docs/api.md wants it: times in UTC with a Z, dates YYYY-MM-DD."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(microsecond=0).isoformat() + "Z"
    return value.isoformat()


MAX_ID = 2**31 - 1  # ids are 32-bit integers in both databases


def is_id(value) -> bool:
    """A value that can be a row id: an int (not a bool) within the column's range. Anything
    else is simply not found - it must never reach SQL, where it would fail."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID
