"""Day arithmetic shared by Export and Query: ``YYYY-MM-DD`` parameters, UTC days of event times."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import Optional

__all__ = ["day_of", "days", "parse_day", "parse_range"]

_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_UTC = dt.timezone.utc


def parse_day(value: object, name: str) -> dt.date:
    """A ``YYYY-MM-DD`` query parameter; ``ValueError`` names the parameter."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{name}' is required, as YYYY-MM-DD")
    if not _DAY.match(value):
        raise ValueError(f"'{name}' must be a date as YYYY-MM-DD, got {value!r}")
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"'{name}' is not a real date: {value!r}") from None


def parse_range(from_value: object, to_value: object) -> tuple[dt.date, dt.date]:
    start = parse_day(from_value, "from_date")
    end = parse_day(to_value, "to_date")
    if start > end:
        raise ValueError("'from_date' must not be after 'to_date'")
    return start, end


def day_of(seconds: Optional[float]) -> Optional[dt.date]:
    """The UTC day of a Unix time (the sandbox's project timezone is UTC); ``None`` if out of range."""
    if seconds is None:
        return None
    try:
        return dt.datetime.fromtimestamp(seconds, tz=_UTC).date()
    except (OverflowError, OSError, ValueError):
        return None


def days(start: dt.date, end: dt.date) -> Iterator[dt.date]:
    day = start
    while day <= end:
        yield day
        day += dt.timedelta(days=1)
