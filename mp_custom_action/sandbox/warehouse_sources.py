"""Warehouse Connectors API (``/api/app/projects/{projectId}/warehouse-sources...``): the seed's eight operations.

Sources are created, read, updated and deleted; each lists its tables with row counts; a triggered
run is ``running`` when created and ``completed`` the next time the source, its tables or its runs
are read (``failed`` when it has no tables). Mixpanel allows 5 API-triggered runs an hour per
project: the sixth within the hour answers 429.

``connectionDetails`` hold warehouse credentials: the sandbox keeps only their key names, so no
password a user rehearses with ever reaches the state file or an answer.
"""

from __future__ import annotations

import json
import uuid
import zlib
from typing import Any, Optional
from urllib.parse import unquote

from .context import Context, iso, method_not_allowed
from .messages import APP, Request, Response, error, json_response
from .state import Data
from .warehouse_imports import handle_imports, spend_trigger

__all__ = ["handle_sources"]
WAREHOUSE_TYPES = ("bigquery", "snowflake", "redshift", "databricks", "postgresql")
SCHEDULES = ("hourly", "daily", "weekly")
IMPORT_TYPES = ("event", "user", "group", "lookup_table")
_CREATE_KEYS = frozenset({"name", "type", "schedule", "connectionDetails", "tables"})
_UPDATE_KEYS = frozenset({"name", "schedule", "tables"})
_TABLE_KEYS = frozenset(
    {"tableName", "importType", "eventNameColumn", "distinctIdColumn", "timeColumn"}
)
_PUBLIC = ("id", "name", "type", "status", "schedule", "createdAt", "lastRunAt")
# A fixed namespace makes ids repeatable: the n-th source of every sandbox has the same id.
_IDS = uuid.UUID("6d9b6f1e-2c1a-4e57-9a53-53616e64626f")


def handle_sources(ctx: Context, request: Request, parts: list[str]) -> Response:
    """``parts``: the path segments after ``warehouse-sources``."""
    parts = [unquote(p) for p in parts]
    if not parts:
        return _collection(ctx, request)
    if parts[0] == "imports":
        return handle_imports(ctx, request, parts[1:])
    if len(parts) == 1:
        return _one(ctx, request, parts[0])
    if len(parts) == 2 and parts[1] == "tables":
        if request.method != "GET":
            return method_not_allowed(request, ("GET",), APP)
        return _tables(ctx, parts[0])
    if len(parts) == 2 and parts[1] == "runs":
        if request.method == "GET":
            return _runs(ctx, parts[0])
        if request.method == "POST":
            return _trigger(ctx, parts[0])
        return method_not_allowed(request, ("GET", "POST"), APP)
    return error(404, "Not found: no such warehouse-sources path", APP)


def _collection(ctx: Context, request: Request) -> Response:
    if request.method == "GET":
        _settle_pending(ctx)
        with ctx.state.read() as data:
            results = [_public(s) for s in data.sources.values()]
        return json_response({"results": results})
    if request.method != "POST":
        return method_not_allowed(request, ("GET", "POST"), APP)
    body, problem = _json_object(request)
    if problem is None:
        problem = _create_problem(body)
    if problem is not None:
        return error(400, problem, APP)
    now = ctx.now_iso()
    with ctx.state.write() as data:
        number = data.next_number("source")
        source_id = str(uuid.uuid5(_IDS, f"source-{number}"))
        source = {
            "id": source_id,
            "number": number,  # what the published imports call warehouse_source_id
            "name": body["name"],
            "type": body["type"],
            "status": "active",
            "schedule": body.get("schedule", "daily"),
            "createdAt": now,
            "lastRunAt": None,
            "connectionDetailKeys": sorted(body["connectionDetails"]),
            "tables": [_table(t) for t in body.get("tables", [])],
        }
        data.sources[source_id] = source
        data.runs[source_id] = []
        return json_response(_public(source))


def _one(ctx: Context, request: Request, source_id: str) -> Response:
    if request.method not in ("GET", "PATCH", "DELETE"):
        return method_not_allowed(request, ("GET", "PATCH", "DELETE"), APP)
    body: dict[str, Any] = {}
    if request.method == "PATCH":
        body, problem = _json_object(request)
        if problem is None:
            problem = _update_problem(body)
        if problem is not None:
            return error(400, problem, APP)
    if request.method == "GET":
        _settle_pending(ctx, source_id)
        with ctx.state.read() as data:
            source = data.sources.get(source_id)
            return _not_found(source_id) if source is None else json_response(_public(source))
    with ctx.state.write() as data:
        source = data.sources.get(source_id)
        if source is None:
            return _not_found(source_id)
        if request.method == "DELETE":
            del data.sources[source_id]
            data.runs.pop(source_id, None)
            for key in [k for k, i in data.imports.items() if i.get("source") == source_id]:
                del data.imports[key]
            return json_response({"status": "ok"})
        if request.method == "PATCH":
            for key in ("name", "schedule"):
                if key in body:
                    source[key] = body[key]
            if "tables" in body:
                source["tables"] = [_table(t) for t in body["tables"]]
        return json_response(_public(source))


def _tables(ctx: Context, source_id: str) -> Response:
    _settle_pending(ctx, source_id)
    with ctx.state.read() as data:
        if source_id not in data.sources:
            return _not_found(source_id)
        tables = [
            _present(
                {
                    "tableName": t["tableName"],
                    "importType": t["importType"],
                    "rowCount": t["rowCount"],
                    "lastImportedAt": t.get("lastImportedAt"),
                }
            )
            for t in data.sources[source_id]["tables"]
        ]
    return json_response({"results": tables})


def _runs(ctx: Context, source_id: str) -> Response:
    _settle_pending(ctx, source_id)
    with ctx.state.read() as data:
        if source_id not in data.sources:
            return _not_found(source_id)
        runs = [_present(r) for r in reversed(data.runs.get(source_id, []))]  # newest first
    return json_response({"results": runs})


def _trigger(ctx: Context, source_id: str) -> Response:
    now = ctx.clock()
    with ctx.state.write() as data:
        source = data.sources.get(source_id)
        if source is None:
            return _not_found(source_id)
        refused = spend_trigger(data, now)
        if refused is not None:
            return refused
        run: dict[str, Any] = {
            "id": str(uuid.uuid5(_IDS, f"run-{data.next_number('run')}")),
            "status": "running",
            "startTime": iso(now),
            "endTime": None,
            "recordsImported": 0,
            "errors": [],
        }
        data.runs.setdefault(source_id, []).append(run)
        source["lastRunAt"] = run["startTime"]
        return json_response(_present(run))


def _settle_pending(ctx: Context, source_id: Optional[str] = None) -> None:
    """Finish running runs (of one source, or all): the sandbox's warehouse imports instantly.

    Checked under the read lock first, so that a read with nothing to finish writes no file.
    """
    with ctx.state.read() as data:
        ids = [source_id] if source_id is not None else list(data.sources)
        pending = [i for i in ids if i in data.sources and _running(data, i)]
    if not pending:
        return
    with ctx.state.write() as data:
        for pending_id in pending:
            if pending_id in data.sources:
                _settle(ctx, data, pending_id)


def _running(data: Data, source_id: str) -> bool:
    return any(run["status"] == "running" for run in data.runs.get(source_id, []))


def _settle(ctx: Context, data: Data, source_id: str) -> None:
    source = data.sources[source_id]
    for run in data.runs.get(source_id, []):
        if run["status"] != "running":
            continue
        end = ctx.now_iso()
        run["endTime"] = end
        if not source["tables"]:
            run["status"] = "failed"
            run["errors"] = ["no tables are configured for this source"]
            continue
        run["status"] = "completed"
        run["recordsImported"] = sum(t["rowCount"] for t in source["tables"])
        for table in source["tables"]:
            table["lastImportedAt"] = end


def _public(source: dict[str, Any]) -> dict[str, Any]:
    return _present({key: source.get(key) for key in _PUBLIC})


def _present(item: dict[str, Any]) -> dict[str, Any]:
    # The seed types lastRunAt, endTime and lastImportedAt as date-time strings, never null:
    # a time that has not happened yet is left out, not sent as null.
    return {key: value for key, value in item.items() if value is not None}


def _table(config: dict[str, Any]) -> dict[str, Any]:
    table = dict(config)
    # A stable, made-up row count: the same table name always "holds" the same number of rows.
    table["rowCount"] = 1000 + zlib.crc32(config["tableName"].encode("utf-8")) % 9000
    table["lastImportedAt"] = None
    return table


def _not_found(source_id: str) -> Response:
    return error(404, f"Source not found: {source_id!r}", APP)


def _json_object(request: Request) -> tuple[dict[str, Any], Optional[str]]:
    try:
        body = json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return {}, "the body must be a JSON object"
    if not isinstance(body, dict):
        return {}, "the body must be a JSON object"
    return body, None


def _create_problem(body: dict[str, Any]) -> Optional[str]:
    missing = [k for k in ("name", "type", "connectionDetails") if k not in body]
    if missing:
        return f"missing required fields: {', '.join(missing)}"
    extra = sorted(set(body) - _CREATE_KEYS)
    if extra:
        return f"unknown fields {extra}; expected {', '.join(sorted(_CREATE_KEYS))}"
    if not isinstance(body["name"], str) or not body["name"].strip():
        return "name must be a non-empty string"
    if body["type"] not in WAREHOUSE_TYPES:
        return f"type must be one of {', '.join(WAREHOUSE_TYPES)}, got {body['type']!r}"
    if not isinstance(body["connectionDetails"], dict):
        return "connectionDetails must be an object"
    return _common_problem(body)


def _update_problem(body: dict[str, Any]) -> Optional[str]:
    extra = sorted(set(body) - _UPDATE_KEYS)
    if extra:
        return f"unknown or read-only fields {extra}; an update may change name, schedule, tables"
    if "name" in body and (not isinstance(body["name"], str) or not body["name"].strip()):
        return "name must be a non-empty string"
    return _common_problem(body)


def _common_problem(body: dict[str, Any]) -> Optional[str]:
    if "schedule" in body and body["schedule"] not in SCHEDULES:
        return f"schedule must be one of {', '.join(SCHEDULES)}, got {body['schedule']!r}"
    tables = body.get("tables", [])
    if not isinstance(tables, list):
        return "tables must be an array"
    for index, table in enumerate(tables):
        where = f"tables[{index}]"
        if not isinstance(table, dict):
            return f"{where} must be an object"
        extra = sorted(set(table) - _TABLE_KEYS)
        if extra:
            return f"{where} has unknown fields {extra}"
        if not isinstance(table.get("tableName"), str) or not table["tableName"]:
            return f"{where}.tableName must be a non-empty string"
        if table.get("importType") not in IMPORT_TYPES:
            return f"{where}.importType must be one of {', '.join(IMPORT_TYPES)}"
        for key in ("eventNameColumn", "distinctIdColumn", "timeColumn"):
            if key in table and not isinstance(table[key], str):
                return f"{where}.{key} must be a string"
    return None
