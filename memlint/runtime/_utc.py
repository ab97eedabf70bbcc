"""Timezone-aware UTC time for the runtime, from a clock that tests can replace.

Every timestamp the runtime records comes from a ``Clock``: a callable returning an aware
``datetime``. A naive value is refused rather than guessed at, because mixing naive local
times with UTC ones is exactly how age-based cleanup deletes the wrong records.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Optional

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    """The current time as an aware UTC ``datetime``."""
    return datetime.now(timezone.utc)


def resolve_clock(clock: Optional[Clock]) -> Clock:
    """``clock`` itself, or the system clock when it is ``None``."""
    if clock is None:
        return system_clock
    if not callable(clock):
        raise TypeError(f"clock must be a callable returning an aware datetime, not {type(clock).__name__}")
    return clock


def now_utc(clock: Clock) -> datetime:
    """Call ``clock`` and return its value converted to UTC; refuse naive or non-datetime values."""
    value = clock()
    if not isinstance(value, datetime):
        raise TypeError(f"clock returned {type(value).__name__}, expected an aware datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("clock returned a naive datetime; return an aware one, e.g. datetime.now(timezone.utc)")
    return value.astimezone(timezone.utc)


def iso_utc(moment: datetime) -> str:
    """Fixed-width ISO 8601 with microseconds and ``+00:00``, so string order is time order."""
    return moment.astimezone(timezone.utc).isoformat(timespec="microseconds")


def parse_utc(text: str) -> datetime:
    """Parse an ISO 8601 timestamp written by this package (always with an offset) as UTC."""
    value = datetime.fromisoformat(text)
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"timestamp {text!r} has no UTC offset")
    return value.astimezone(timezone.utc)
