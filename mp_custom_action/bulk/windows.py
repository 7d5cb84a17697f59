"""Export windows: a date range cut into pieces the Raw Data Export API can be asked for one by one.

Export takes whole days (``from_date``/``to_date``, both inclusive). A window of a day or more is
sent as its days. A window under a day cannot be asked for as such: it is sent as its whole day,
and only the events whose ``properties.time`` falls inside it are kept (Mixpanel's filter language
has no documented selector of the event time, and a guess that matched nothing would lose data
silently). Such windows never cross midnight UTC, and each one downloads its day: they buy smaller
units of work to resume, not less traffic.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Union

from ..errors import InputError

__all__ = ["MAX_RANGE_DAYS", "Window", "parse_date", "parse_window", "plan_windows"]

#: The longest range one export may cover (two years, a leap day included).
MAX_RANGE_DAYS = 731
_DAY = dt.timedelta(days=1)
_HOUR = dt.timedelta(hours=1)

DateLike = Union[str, dt.date]


@dataclass(frozen=True)
class Window:
    """One piece of the range: ``start`` inclusive, ``end`` exclusive, both midnight-based UTC."""

    index: int
    start: dt.datetime
    end: dt.datetime

    @property
    def whole_days(self) -> bool:
        return self.start.time() == dt.time(0) and self.end.time() == dt.time(0)

    @property
    def from_date(self) -> str:
        return self.start.date().isoformat()

    @property
    def to_date(self) -> str:
        if self.whole_days:
            return (self.end - _DAY).date().isoformat()
        return self.start.date().isoformat()

    @property
    def name(self) -> str:
        """``2024-01-05``, ``2024-01-05_2024-01-06`` or ``2024-01-05T06-12`` (a file name)."""
        if not self.whole_days:
            end_hour = 24 if self.end.time() == dt.time(0) else self.end.hour
            return f"{self.from_date}T{self.start.hour:02d}-{end_hour:02d}"
        if self.from_date == self.to_date:
            return self.from_date
        return f"{self.from_date}_{self.to_date}"

    def holds(self, seconds: float) -> bool:
        """Is an event at ``seconds`` (unix time) inside this window?"""
        start = self.start.replace(tzinfo=dt.timezone.utc).timestamp()
        end = self.end.replace(tzinfo=dt.timezone.utc).timestamp()
        return start <= seconds < end


def parse_date(value: DateLike, *, field: str) -> dt.date:
    """A ``YYYY-MM-DD`` string or a date; anything else is an error naming ``field``."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
        try:
            return dt.date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise InputError(f"expected a date as YYYY-MM-DD, got {value!r}", field=field)


def parse_window(value: object) -> dt.timedelta:
    """``1d`` (the default), ``2d``, ``6h``...: whole hours, at least one."""
    text = value.strip().lower() if isinstance(value, str) else ""
    found = re.fullmatch(r"(\d{1,5})\s*([dh])", text)
    if found is None:
        if re.fullmatch(r"\d+\s*(m|min|s)", text):
            raise InputError(f"a window is at least 1 hour, got {value!r}", field="window")
        raise InputError(
            f"expected a number of days or hours such as 1d or 6h, got {value!r}", field="window"
        )
    size = int(found.group(1)) * (_DAY if found.group(2) == "d" else _HOUR)
    if size < _HOUR:
        raise InputError(f"a window is at least 1 hour, got {value!r}", field="window")
    if size < _DAY and _DAY % size:
        raise InputError(
            f"a window under a day must divide it (1, 2, 3, 4, 6, 8 or 12 hours), got {value!r}",
            field="window",
        )
    return size


def plan_windows(from_date: DateLike, to_date: DateLike, window: object = "1d") -> list[Window]:
    """The windows of ``from_date``..``to_date`` (both inclusive), in date order."""
    first = parse_date(from_date, field="from_date")
    last = parse_date(to_date, field="to_date")
    size = parse_window(window)
    if last < first:
        raise InputError(
            f"the range runs backwards: to_date {last} is before from_date {first}",
            field="to_date",
        )
    days = (last - first).days + 1
    if days > MAX_RANGE_DAYS:
        raise InputError(
            f"the range spans {days} days, more than 2 years ({MAX_RANGE_DAYS} days); "
            "export it in pieces",
            field="to_date",
        )
    start = dt.datetime.combine(first, dt.time(0))
    stop = dt.datetime.combine(last, dt.time(0)) + _DAY
    windows: list[Window] = []
    while start < stop:
        end = min(start + size, stop)
        windows.append(Window(len(windows), start, end))
        start = end
    return windows
