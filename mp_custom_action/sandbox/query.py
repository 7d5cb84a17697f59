"""Query API (``/api/query/...``, Mixpanel's documented path, and ``/api/2.0/...``): event names,
a segmentation count, profiles (with the common ``where`` expressions) and a subset of JQL.

Only what stored data can answer truthfully is emulated. A parameter the sandbox cannot honour
(an ``on`` expression beyond one property, cohorts, behaviors) gets a 400 that says so, instead of an answer that
ignores it. Parameters are read from the query string and from a form body alike.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Callable, Optional

from .auth import SECRET, SERVICE_ACCOUNT, check_basic
from .context import Context
from .jql import run_jql
from .messages import Request, Response, error, json_response
from .segmentation import segmentation
from .where import parse_where

__all__ = ["EMULATED", "PREFIXES", "handle_query"]

#: Query's two documented prefixes: ``/api/query`` (the reference's) and ``/api/2.0``.
PREFIXES = ("/api/query", "/api/2.0")
EMULATED = ("events/names", "segmentation", "engage", "jql")
_UNSUPPORTED_ENGAGE = ("behaviors", "filter_by_cohort", "as_of_timestamp")


def _operation(path: str) -> str:
    for prefix in PREFIXES:
        if path.startswith(prefix + "/"):
            return path[len(prefix) + 1 :].rstrip("/")
    return ""


def handle_query(ctx: Context, request: Request) -> Response:
    path = request.path.rstrip("/")
    handler = _ROUTES.get(_operation(path))
    if handler is None:
        known = ", ".join(f"/api/query/{name}" for name in EMULATED)
        return error(
            404,
            f"Not emulated: the sandbox does not emulate {path}; of the Query API it answers "
            f"{known} (also under /api/2.0; see docs/sandbox.md)",
        )
    denied = check_basic(request, ctx.keys, (SERVICE_ACCOUNT, SECRET), project_id_param=True)
    if denied is not None:
        return denied
    if request.method not in ("GET", "POST"):
        return error(405, f"{request.method} is not allowed here; use GET or POST")
    try:
        return handler(ctx, _params(request))
    except ValueError as exc:
        return error(400, str(exc))


def _params(request: Request) -> dict[str, str]:
    """Query string, then a form body or a JSON object body (what some clients post)."""
    params = dict(request.form())
    if request.content_type == "application/json" and request.body.strip():
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ValueError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValueError("a JSON body must be an object of parameters")
        for key, value in body.items():
            params[str(key)] = value if isinstance(value, str) else json.dumps(value)
    return params


def _events_names(ctx: Context, params: dict[str, str]) -> Response:
    limit = _int(params.get("limit"), "limit", default=255, minimum=1)
    with ctx.state.read() as data:
        counts = Counter(str(e.get("event")) for e in data.events)
    # Most frequent first, as "top events"; ties by name so the answer is stable.
    names = sorted(counts, key=lambda n: (-counts[n], n))
    return json_response(names[:limit])


def _segmentation(ctx: Context, params: dict[str, str]) -> Response:
    with ctx.state.read() as data:
        return json_response(segmentation(data, params))


def _engage(ctx: Context, params: dict[str, str]) -> Response:
    _refuse(params, _UNSUPPORTED_ENGAGE, "engage")
    page = _int(params.get("page"), "page", default=0, minimum=0)
    page_size = _int(params.get("page_size"), "page_size", default=1000, minimum=1)
    wanted = _id_filter(params)
    output = _json_list(params.get("output_properties"), "output_properties")
    where = parse_where(params["where"]) if params.get("where") else None
    group_key = params.get("data_group_id")
    with ctx.state.read() as data:
        table = data.groups.get(group_key, {}) if group_key else data.profiles
        ids = sorted(
            k
            for k in table
            if (wanted is None or k in wanted) and (where is None or where(table[k]))
        )
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


def _jql(ctx: Context, params: dict[str, str]) -> Response:
    if params.get("format", "json") != "json":
        raise ValueError("the sandbox emulates JQL with format=json only")
    script = params.get("script")
    if not script:
        raise ValueError("'script' is required")
    with ctx.state.read() as data:
        rows = run_jql(script, params.get("params", ""), data)
        rows = json.loads(json.dumps(rows))  # a copy, made under the lock
    return json_response(rows)


_ROUTES: dict[str, Callable[[Context, dict[str, str]], Response]] = {
    "events/names": _events_names,
    "segmentation": _segmentation,
    "engage": _engage,
    "jql": _jql,
}
