"""Query API (``/api/2.0/...``, ``/api/query/...``): event names, a segmentation count, and profiles.

Only what stored data can answer truthfully is emulated. A parameter the sandbox cannot honour
(``where``, ``on``, cohorts) gets a 400 that says so, instead of an answer that ignores it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from typing import Any, Callable, Optional

from .auth import SECRET, SERVICE_ACCOUNT, check_basic
from .context import Context
from .dates import day_of, days, parse_range
from .messages import Request, Response, error, json_response
from .state import event_seconds

__all__ = ["EMULATED", "handle_query"]

EMULATED = ("/api/2.0/events/names", "/api/2.0/segmentation", "/api/2.0/engage")
_MAX_DAYS = 3660
_UNSUPPORTED_SEGMENTATION = ("on", "where", "interval")
_UNSUPPORTED_ENGAGE = ("where", "behaviors", "filter_by_cohort", "as_of_timestamp")


def handle_query(ctx: Context, request: Request) -> Response:
    denied = check_basic(request, ctx.keys, (SERVICE_ACCOUNT, SECRET), project_id_param=True)
    if denied is not None:
        return denied
    path = request.path.rstrip("/")
    handler = _ROUTES.get(path)
    if handler is None:
        return error(
            404,
            f"The sandbox does not emulate {path}; it answers {', '.join(EMULATED)} "
            "(see docs/sandbox.md)",
        )
    methods = ("GET", "POST")
    if request.method not in methods:
        return error(405, f"{request.method} is not allowed here; use GET or POST")
    params = dict(request.form())
    try:
        return handler(ctx, params)
    except ValueError as exc:
        return error(400, str(exc))


def _events_names(ctx: Context, params: dict[str, str]) -> Response:
    limit = _int(params.get("limit"), "limit", default=255, minimum=1)
    with ctx.state.read() as data:
        counts = Counter(str(e.get("event")) for e in data.events)
    # Most frequent first, as "top events"; ties by name so the answer is stable.
    names = sorted(counts, key=lambda n: (-counts[n], n))
    return json_response(names[:limit])


def _segmentation(ctx: Context, params: dict[str, str]) -> Response:
    _refuse(params, _UNSUPPORTED_SEGMENTATION, "segmentation")
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

    def bucket(day: dt.date) -> str:
        return (day.replace(day=1) if unit == "month" else day).isoformat()

    series = list(dict.fromkeys(bucket(d) for d in days(start, end)))
    counts: dict[str, int] = dict.fromkeys(series, 0)
    seen: dict[str, set[str]] = {s: set() for s in series}
    with ctx.state.read() as data:
        for event in data.events:
            if event.get("event") != name:
                continue
            day = day_of(event_seconds(event))
            if day is None or not start <= day <= end:
                continue
            key = bucket(day)
            if kind == "unique":
                seen[key].add(str((event.get("properties") or {}).get("distinct_id", "")))
            else:
                counts[key] += 1
    if kind == "unique":
        counts = {k: len(v) for k, v in seen.items()}
    return json_response({"data": {"series": series, "values": {name: counts}}, "legend_size": 1})


def _engage(ctx: Context, params: dict[str, str]) -> Response:
    _refuse(params, _UNSUPPORTED_ENGAGE, "engage")
    page = _int(params.get("page"), "page", default=0, minimum=0)
    page_size = _int(params.get("page_size"), "page_size", default=1000, minimum=1)
    wanted = _id_filter(params)
    output = _json_list(params.get("output_properties"), "output_properties")
    group_key = params.get("data_group_id")
    with ctx.state.read() as data:
        table = data.groups.get(group_key, {}) if group_key else data.profiles
        ids = sorted(k for k in table if wanted is None or k in wanted)
        window = ids[page * page_size : (page + 1) * page_size]
        results = [
            {
                "$distinct_id": key,
                "$properties": {
                    k: v for k, v in table[key].items() if output is None or k in output
                },
            }
            for key in window
        ]
        results = json.loads(json.dumps(results))  # a copy, made under the lock
    return json_response(
        {
            "page": page,
            "page_size": page_size,
            "session_id": "sandbox-session",
            "status": "ok",
            "total": len(ids),
            "results": results,
        }
    )


def _id_filter(params: dict[str, str]) -> Optional[set[str]]:
    if params.get("distinct_id"):
        return {params["distinct_id"]}
    ids = _json_list(params.get("distinct_ids"), "distinct_ids")
    return None if ids is None else {str(i) for i in ids}


def _json_list(value: Optional[str], name: str) -> Optional[list[Any]]:
    if value is None or value == "":
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValueError(f"'{name}' must be a JSON array") from None
    if not isinstance(parsed, list):
        raise ValueError(f"'{name}' must be a JSON array")
    return parsed


def _int(value: Optional[str], name: str, *, default: int, minimum: int) -> int:
    if value is None or value == "":
        return default
    if not value.strip().isdigit():
        raise ValueError(f"'{name}' must be an integer, got {value!r}")
    number = int(value)
    if number < minimum:
        raise ValueError(f"'{name}' must be at least {minimum}")
    return number


def _refuse(params: dict[str, str], names: tuple[str, ...], what: str) -> None:
    given = [n for n in names if params.get(n)]
    if given:
        raise ValueError(
            f"the sandbox does not emulate {', '.join(given)} for {what} (see docs/sandbox.md)"
        )


_ROUTES: dict[str, Callable[[Context, dict[str, str]], Response]] = {
    "/api/2.0/events/names": _events_names,
    "/api/2.0/segmentation": _segmentation,
    "/api/2.0/engage": _engage,
}
