"""Raw Data Export (``/api/2.0/export``): stored events of a date range, streamed as JSONL text.

The answer is streamed chunk by chunk (the server sends it chunked), never built as one string:
an export can be as large as everything the sandbox holds.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Optional

from .auth import SECRET, SERVICE_ACCOUNT, check_basic
from .context import Context, method_not_allowed
from .dates import day_of, parse_range
from .messages import Request, Response, dumps, error
from .state import event_seconds

__all__ = ["handle_export"]

MAX_LIMIT = 100_000
_CHUNK = 64 * 1024


def handle_export(ctx: Context, request: Request) -> Response:
    if request.path.rstrip("/") != "/api/2.0/export":
        return error(404, "Not found: the Export API answers /api/2.0/export")
    if request.method not in ("GET", "POST"):
        return method_not_allowed(request, ("GET", "POST"), "classic")
    denied = check_basic(request, ctx.keys, (SERVICE_ACCOUNT, SECRET), project_id_param=True)
    if denied is not None:
        return denied
    params = dict(request.form())
    try:
        if params.get("where"):
            raise ValueError(
                "the sandbox does not emulate 'where' for export (see docs/sandbox.md)"
            )
        start, end = parse_range(params.get("from_date"), params.get("to_date"))
        names = _names(params.get("event"))
        limit = _limit(params.get("limit"))
    except ValueError as exc:
        return error(400, str(exc))
    in_ms = params.get("time_in_ms", "").lower() == "true"
    with ctx.state.read() as data:
        # Stored events are never changed in place (a duplicate replaces its slot), so a copy
        # of the list is a consistent snapshot to stream from outside the lock.
        events = list(data.events)

    def lines() -> Iterator[bytes]:
        buffer = bytearray()
        sent = 0
        for event in events:
            if limit is not None and sent >= limit:
                break
            if names is not None and event.get("event") not in names:
                continue
            seconds = event_seconds(event)
            day = day_of(seconds)
            if day is None or not start <= day <= end:
                continue
            buffer += dumps(_shown(event, seconds, in_ms)) + b"\n"
            sent += 1
            if len(buffer) >= _CHUNK:
                yield bytes(buffer)
                buffer.clear()
        if buffer:
            yield bytes(buffer)

    return Response(200, lines(), "text/plain; charset=utf-8")


def _shown(event: dict[str, Any], seconds: Optional[float], in_ms: bool) -> dict[str, Any]:
    props = dict(event.get("properties") or {})
    if seconds is not None:
        props["time"] = round(seconds * 1000) if in_ms else int(seconds)
    return {"event": event.get("event"), "properties": props}


def _names(value: Optional[str]) -> Optional[set[str]]:
    if not value:
        return None
    try:
        parsed = json.loads(value)
    except ValueError:
        raise ValueError("'event' must be a JSON array of event names") from None
    if not isinstance(parsed, list) or not all(isinstance(n, str) for n in parsed):
        raise ValueError("'event' must be a JSON array of event names")
    return set(parsed)


def _limit(value: Optional[str]) -> Optional[int]:
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_LIMIT:
        raise ValueError(f"'limit' must be an integer from 1 to {MAX_LIMIT}")
    return int(value)
