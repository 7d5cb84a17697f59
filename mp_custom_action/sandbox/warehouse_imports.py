"""Warehouse Connectors, the published operations (``.../warehouse-sources/imports...``).

Beside the seed's sources model (warehouse_sources.py), with one state: an import belongs to a
source (``warehouse_source_id`` is the source's number, 1 for the first source created, or its
id), deleting the source deletes its imports, and a ``manual-sync`` counts against the same
limit of 5 API-triggered runs an hour as a source's runs. A run is ``RUNNING`` when triggered and
``SUCCEEDED`` the next time the import or its history is read, having imported the row count of
the source's table named in ``table_params.table_name`` (0 when there is none). Nothing is read
from any warehouse; ``delete_data`` is checked and acknowledged, as there is no imported data.
"""

from __future__ import annotations

import json
import math
from typing import Any, Optional

from .context import Context, method_not_allowed
from .messages import APP, Request, Response, error, json_response
from .state import Data

__all__ = ["TRIGGERS_PER_HOUR", "handle_imports", "spend_trigger"]

TRIGGERS_PER_HOUR = 5
SYNC_MODES = ("time_based", "mirror_mode", "full_sync", "one_time")
RUN_EVERY = (0, 3600_000_000_000, 86400_000_000_000, 604800_000_000_000)
#: path segment -> (import_type, required fields besides the common ones)
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "event-stream": ("event_stream", ("time_column_name",)),
    "people": ("people", ("user_column_name",)),
    "groups": ("groups", ("group_key", "group_id_column")),
    "lookup-table": ("lookup_table", ("mixpanel_property", "property_key_column_name")),
}
_COMMON = ("import_type", "warehouse_source_id", "table_params", "sync_mode")
_SUMMARY = (
    "id",
    "import_type",
    "sync_mode",
    "created",
    "creator_id",
    "creator_name",
    "creator_email",
    "warehouse_source_id",
    "table_params",
    "paused",
    "run_every",
    "last_dispatch",
    "is_deleted",
)
_DETAIL_EXTRA = (
    "event_name",
    "event_column_name",
    "time_column_name",
    "user_column_name",
    "insert_time_column_name",
    "property_mappings",
    "group_key",
    "group_id_column",
    "databricks_params",
)


def handle_imports(ctx: Context, request: Request, parts: list[str]) -> Response:
    """``parts``: the path segments after ``warehouse-sources/imports``."""
    if not parts:
        if request.method != "GET":
            return method_not_allowed(request, ("GET",), APP)
        return _list(ctx)
    if len(parts) == 1 and parts[0] in KINDS:
        if request.method != "POST":
            return method_not_allowed(request, ("POST",), APP)
        return _create(ctx, request, parts[0])
    if not parts[0].isdigit():
        return error(404, f"Not found: no warehouse import {parts[0]!r}", APP)
    import_id = parts[0]
    if len(parts) == 1:
        if request.method == "GET":
            return _get(ctx, import_id)
        if request.method in ("PATCH", "DELETE"):
            return _change(ctx, request, import_id)
        return method_not_allowed(request, ("GET", "PATCH", "DELETE"), APP)
    if len(parts) == 2 and parts[1] == "manual-sync":
        if request.method != "PUT":
            return method_not_allowed(request, ("PUT",), APP)
        return _manual_sync(ctx, import_id)
    if len(parts) == 2 and parts[1] == "history":
        if request.method != "GET":
            return method_not_allowed(request, ("GET",), APP)
        return _history(ctx, import_id)
    return error(404, "Not found: no such warehouse-sources/imports path", APP)


def _ok(results: Any = None) -> Response:
    return json_response(
        {"status": "ok"} if results is None else {"status": "ok", "results": results}
    )


def _summary(item: dict[str, Any]) -> dict[str, Any]:
    return {key: item.get(key) for key in _SUMMARY}


def _detail(item: dict[str, Any]) -> dict[str, Any]:
    return {**_summary(item), **{key: item.get(key) for key in _DETAIL_EXTRA}}


def _not_found(import_id: str) -> Response:
    return error(404, f"Warehouse import {import_id} not found", APP)


def _list(ctx: Context) -> Response:
    _settle(ctx)
    with ctx.state.read() as data:
        return _ok([_summary(i) for i in data.imports.values()])


def _get(ctx: Context, import_id: str) -> Response:
    _settle(ctx)
    with ctx.state.read() as data:
        item = data.imports.get(import_id)
        return _not_found(import_id) if item is None else _ok(_detail(item))


def _body(request: Request, *, required: bool) -> dict[str, Any]:
    if not request.body.strip():
        if required:
            raise ValueError("the body must be a JSON object")
        return {}
    try:
        body = json.loads(request.body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ValueError("the body must be a JSON object") from None
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


def _source_id(data: Data, value: Any) -> Optional[str]:
    """The source a ``warehouse_source_id`` names: its number (an integer) or its id."""
    for source_id, source in data.sources.items():
        if value == source_id or (
            isinstance(value, int) and not isinstance(value, bool) and source.get("number") == value
        ):
            return source_id
    return None


def _schedule_problem(body: dict[str, Any]) -> Optional[str]:
    if "run_every" in body and body["run_every"] not in RUN_EVERY:
        return f"run_every must be one of {', '.join(map(str, RUN_EVERY))} (nanoseconds)"
    params = body.get("databricks_params")
    if params is not None and not isinstance(params, dict):
        return "databricks_params must be an object or null"
    return None


def _create_problem(body: dict[str, Any], kind: str) -> Optional[str]:
    import_type, required = KINDS[kind]
    missing = [k for k in (*_COMMON, *required) if k not in body]
    if missing:
        return f"missing required fields: {', '.join(missing)}"
    if body["import_type"] != import_type:
        return f"import_type must be {import_type!r} on /imports/{kind}"
    if body["sync_mode"] not in SYNC_MODES:
        return f"sync_mode must be one of {', '.join(SYNC_MODES)}"
    if not isinstance(body["table_params"], dict):
        return "table_params must be an object"
    if kind == "event-stream" and not (body.get("event_name") or body.get("event_column_name")):
        return "an event stream import needs event_name or event_column_name"
    return _schedule_problem(body)


def _create(ctx: Context, request: Request, kind: str) -> Response:
    try:
        body = _body(request, required=True)
    except ValueError as exc:
        return error(400, str(exc), APP)
    problem = _create_problem(body, kind)
    if problem is not None:
        return error(400, problem, APP)
    with ctx.state.write() as data:
        source_id = _source_id(data, body["warehouse_source_id"])
        if source_id is None:
            return error(400, f"warehouse source {body['warehouse_source_id']!r} not found", APP)
        number = data.next_number("import")
        item = {key: body.get(key) for key in _DETAIL_EXTRA}
        item.update(
            id=number,
            import_type=body["import_type"],
            sync_mode=body["sync_mode"],
            created=ctx.now_iso(),
            creator_id=1,
            creator_name="Sandbox Service Account",
            creator_email="sandbox-sa.demo@example.invalid",
            warehouse_source_id=data.sources[source_id].get("number", 0),
            source=source_id,
            table_params=body["table_params"],
            paused=False,
            run_every=body.get("run_every", 0),
            last_dispatch=None,
            is_deleted=False,
            runs=[],
        )
        data.imports[str(number)] = item
        return _ok(_detail(item))


def _change(ctx: Context, request: Request, import_id: str) -> Response:
    try:
        body = _body(request, required=request.method == "PATCH")
    except ValueError as exc:
        return error(400, str(exc), APP)
    if request.method == "PATCH":
        problem = _patch_problem(body)
    else:
        extra = sorted(set(body) - {"delete_data"})
        problem = f"unknown fields {extra}; expected delete_data" if extra else None
        if problem is None and not isinstance(body.get("delete_data", False), bool):
            problem = "delete_data must be true or false"
    if problem is not None:
        return error(400, problem, APP)
    with ctx.state.write() as data:
        item = data.imports.get(import_id)
        if item is None:
            return _not_found(import_id)
        if request.method == "DELETE":
            del data.imports[import_id]
            return _ok()
        item["paused"] = body["paused"]
        item["run_every"] = body["run_every"]
        if "databricks_params" in body:
            item["databricks_params"] = body["databricks_params"]
        return _ok(_detail(item))


def _patch_problem(body: dict[str, Any]) -> Optional[str]:
    extra = sorted(set(body) - {"paused", "run_every", "databricks_params"})
    if extra:
        return f"unknown fields {extra}; an update may change paused, run_every, databricks_params"
    missing = [k for k in ("paused", "run_every") if k not in body]
    if missing:
        return f"missing required fields: {', '.join(missing)}"
    if not isinstance(body["paused"], bool):
        return "paused must be true or false"
    return _schedule_problem(body)


def spend_trigger(data: Data, now: float) -> Optional[Response]:
    """Count one API-triggered run against the project's hourly limit, or the 429 if it is spent.

    One limit per project, over the last hour, shared by the seed model's runs
    (warehouse_sources.py) and the published imports' manual syncs; only runs that start count.
    """
    data.triggers = [t for t in data.triggers if now - t < 3600]
    if len(data.triggers) >= TRIGGERS_PER_HOUR:
        answer = error(
            429,
            f"Rate limit exceeded: at most {TRIGGERS_PER_HOUR} API-triggered runs an hour "
            "per project",
            APP,
        )
        wait = max(1, math.ceil(data.triggers[0] + 3600 - now))
        answer.headers.append(("Retry-After", str(wait)))
        return answer
    data.triggers.append(now)
    return None


def _manual_sync(ctx: Context, import_id: str) -> Response:
    now = ctx.clock()
    with ctx.state.write() as data:
        item = data.imports.get(import_id)
        if item is None:
            return _not_found(import_id)
        refused = spend_trigger(data, now)
        if refused is not None:
            return refused
        run_id = f"sandbox-run-{data.next_number('import-run')}"
        item["runs"].append(
            {
                "run_id": run_id,
                "status": "RUNNING",
                "start_time": int(now),
                "end_time": None,
                "num_events_imported": None,
            }
        )
        item["last_dispatch"] = int(now)
        return _ok({"run_id": run_id})


def _history(ctx: Context, import_id: str) -> Response:
    _settle(ctx)
    with ctx.state.read() as data:
        item = data.imports.get(import_id)
        if item is None:
            return _not_found(import_id)
        runs = [{k: v for k, v in run.items() if k != "run_id"} for run in reversed(item["runs"])]
    return _ok({"runs": runs})


def _settle(ctx: Context) -> None:
    with ctx.state.read() as data:
        pending = any(r["status"] == "RUNNING" for i in data.imports.values() for r in i["runs"])
    if not pending:
        return
    with ctx.state.write() as data:
        for item in data.imports.values():
            source = data.sources.get(item.get("source", ""), {})
            wanted = (item.get("table_params") or {}).get("table_name")
            rows = sum(t["rowCount"] for t in source.get("tables", []) if t["tableName"] == wanted)
            for run in item["runs"]:
                if run["status"] == "RUNNING":
                    run.update(
                        status="SUCCEEDED", end_time=int(ctx.clock()), num_events_imported=rows
                    )
