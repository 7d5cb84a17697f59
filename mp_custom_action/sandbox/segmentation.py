"""Query segmentation (``/api/query/segmentation``): an event's count by day or month, over stored events.

Emulated: ``type`` general or unique, ``unit`` day or month, ``where`` (the expressions of
where.py, over the event's properties) and ``on`` of one property (``properties["name"]``),
which splits the counts by that property's value (events without it are left out, as
Mixpanel does). Anything else is a 400 that says it is not emulated.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Optional

from .dates import day_of, days, parse_range
from .state import Data, event_seconds
from .where import Predicate, parse_where

__all__ = ["segmentation"]

_MAX_DAYS = 3660
_ON = re.compile(r"""^\s*(?:properties|user)\[\s*(?:"([^"\\]+)"|'([^'\\]+)')\s*\]\s*$""")


def _on_property(value: Optional[str]) -> Optional[str]:
    if not value:
        return None
    match = _ON.match(value)
    if match is None:
        raise ValueError(
            "the sandbox emulates 'on' of one property, properties[\"name\"], not " + repr(value)
        )
    return match.group(1) or match.group(2)


def _options(params: dict[str, str]) -> tuple[str, dt.date, dt.date, str, str]:
    if params.get("interval"):
        raise ValueError("the sandbox does not emulate interval for segmentation")
    name = params.get("event")
    if not name:
        raise ValueError("'event' is required")
    start, end = parse_range(params.get("from_date"), params.get("to_date"))
    if (end - start).days >= _MAX_DAYS:
        raise ValueError(f"the sandbox answers at most {_MAX_DAYS} days")
    unit = params.get("unit", "day")
    if unit not in ("day", "month"):
        raise ValueError(f"the sandbox supports unit=day or unit=month, not {unit!r}")
    kind = params.get("type", "general")
    if kind not in ("general", "unique"):
        raise ValueError(f"the sandbox supports type=general or type=unique, not {kind!r}")
    return name, start, end, unit, kind


def segmentation(data: Data, params: dict[str, str]) -> dict[str, Any]:
    """The answer's JSON; ``ValueError`` for what is not emulated (the caller answers 400)."""
    name, start, end, unit, kind = _options(params)
    on = _on_property(params.get("on"))
    where: Optional[Predicate] = parse_where(params["where"]) if params.get("where") else None

    def bucket(day: dt.date) -> str:
        return (day.replace(day=1) if unit == "month" else day).isoformat()

    series = list(dict.fromkeys(bucket(d) for d in days(start, end)))
    seen: dict[str, dict[str, list[str]]] = {}
    for event in data.events:
        if event.get("event") != name:
            continue
        props = event.get("properties") or {}
        day = day_of(event_seconds(event))
        if day is None or not start <= day <= end or (where is not None and not where(props)):
            continue
        if on is not None and on not in props:
            continue
        segment = name if on is None else _label(props[on])
        seen.setdefault(segment, {}).setdefault(bucket(day), []).append(
            str(props.get("distinct_id", ""))
        )
    if on is None:
        seen.setdefault(name, {})
    values = {
        segment: {
            s: (len(set(by_day.get(s, []))) if kind == "unique" else len(by_day.get(s, [])))
            for s in series
        }
        for segment, by_day in sorted(seen.items())
    }
    return {"data": {"series": series, "values": values}, "legend_size": len(values)}


def _label(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
