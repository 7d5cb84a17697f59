"""Data Pipelines API (``/api/2.0/nessie/pipeline/...``): create, edit, list, status, timeline, pause, resume, cancel.

Enough for a round trip: a created pipeline is listed, reports one succeeded job, and is gone
once cancelled. Nothing is exported anywhere. Parameters are read from the query string, a form
body (Mixpanel's own form) or a JSON object body (what mp-custom-action sends).
"""

from __future__ import annotations

import json
from typing import Any, Callable, Optional

from .auth import SECRET, SERVICE_ACCOUNT, check_basic
from .context import Context, iso, method_not_allowed, segments
from .dates import parse_day
from .messages import APP, Request, Response, error, json_response

__all__ = ["PIPELINE_TYPES", "handle_pipelines"]

RAW_TYPES = ("gcs-raw", "s3-raw", "azure-raw")
SCHEMATIZED_TYPES = ("bigquery", "snowflake", "aws", "azure-blob", "gcs-schema")
PIPELINE_TYPES = RAW_TYPES + SCHEMATIZED_TYPES
_STATES = ("canceled", "retried", "succeeded")


def handle_pipelines(ctx: Context, request: Request) -> Response:
    denied = check_basic(
        request, ctx.keys, (SERVICE_ACCOUNT, SECRET), project_id_param=True, style=APP
    )
    if denied is not None:
        return denied
    parts = segments(request.path, "/api/2.0/nessie")
    route = _ROUTES.get("/".join(parts))
    if route is None:
        known = ", ".join(f"/api/2.0/nessie/{p}" for p in _ROUTES)
        return error(404, f"The sandbox does not emulate {request.path}; it answers {known}", APP)
    method, handler = route
    if request.method != method:
        return method_not_allowed(request, (method,), APP)
    try:
        params = _params(request)
        return handler(ctx, params, request)
    except ValueError as exc:
        return error(400, str(exc), APP)


def _params(request: Request) -> dict[str, Any]:
    params: dict[str, Any] = dict(request.form())
    if request.content_type == "application/json" and request.body:
        try:
            body = json.loads(request.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise ValueError("the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object of parameters")
        params.update(body)
    return params


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("true", "1"))


def _create(ctx: Context, params: dict[str, Any], request: Request) -> Response:
    kind = params.get("type")
    if kind not in PIPELINE_TYPES:
        raise ValueError(f"type must be one of {', '.join(PIPELINE_TYPES)}, got {kind!r}")
    trial = _flag(params.get("trial"))
    frequency = params.get("frequency", "daily")
    if frequency not in ("hourly", "daily"):
        raise ValueError(f"frequency must be hourly or daily, got {frequency!r}")
    sources = ("events",) if kind in RAW_TYPES else ("events", "people")
    data_source = params.get("data_source", "events")
    if data_source not in sources:
        raise ValueError(f"data_source must be one of {', '.join(sources)} for {kind}")
    if trial:
        from_date = iso(ctx.clock() - 86400)[:10]
        to_date = None
    else:
        from_date = parse_day(params.get("from_date"), "from_date").isoformat()
        to_date = params.get("to_date") or None
        if to_date is not None:
            to_date = parse_day(to_date, "to_date").isoformat()
    schema_type = params.get("schema_type", "monoschema")
    if kind in SCHEMATIZED_TYPES and schema_type not in ("monoschema", "multischema"):
        raise ValueError(f"schema_type must be monoschema or multischema, got {schema_type!r}")
    # A trial of a schematized pipeline exports both events and people, as Mixpanel's does.
    chosen = sources if trial else (data_source,)
    suffix = f"-{schema_type}" if kind in SCHEMATIZED_TYPES else ""
    names = [f"{'trial-' if trial else ''}{src}-{frequency}-{kind}{suffix}" for src in chosen]
    with ctx.state.write() as data:
        taken = [n for n in names if n in data.pipelines]
        if taken:
            raise ValueError(f"a pipeline named {taken[0]!r} already exists")
        for name, src in zip(names, chosen):
            data.pipelines[name] = {
                "name": name,
                "type": kind,
                "data_source": src,
                "frequency": frequency,
                "from_date": from_date,
                "to_date": to_date,
                "trial": trial,
                "sync_enabled": True,
                "created": iso(ctx.clock()),
            }
    answer: dict[str, Any] = {"pipeline_names": names}
    if kind == "bigquery":
        answer["bigquery_dataset_name"] = (
            "https://bigquery.cloud.google.com/dataset/sandbox:mixpanel_sandbox"
        )
    return json_response(answer)


def _jobs(ctx: Context, params: dict[str, Any], request: Request) -> Response:
    with ctx.state.read() as data:
        jobs = [
            {
                "name": p["name"],
                "Dispatcher": "backfill",
                "last_dispatched": p["created"].replace("T", " ").replace("Z", " UTC"),
                "frequency": p["frequency"],
                "sync_enabled": "true" if p["sync_enabled"] else "false",
            }
            for p in data.pipelines.values()
        ]
    return json_response({str(ctx.keys.project_id): jobs})


def _named(ctx: Context, params: dict[str, Any]) -> tuple[str, Optional[dict[str, Any]]]:
    name = params.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("'name' is required")
    with ctx.state.read() as data:
        pipeline = data.pipelines.get(name)
        return name, dict(pipeline) if pipeline is not None else None


def _not_found(name: str) -> Response:
    return error(404, f"no pipeline named {name!r}", APP)


def _status(ctx: Context, params: dict[str, Any], request: Request) -> Response:
    name, pipeline = _named(ctx, params)
    if pipeline is None:
        return _not_found(name)
    job = {
        "project_id": ctx.keys.project_id,
        "name": name,
        "state": "succeeded",
        "last_finish": pipeline["created"],
        "run_at": pipeline["created"],
        "from_date": pipeline["from_date"],
        "to_date": pipeline["to_date"] or pipeline["created"][:10],
    }
    wanted = [v for k, v in request.query if k == "status"] or list(_STATES)
    return json_response(
        {state: ([job] if state == "succeeded" else []) for state in _STATES if state in wanted}
    )


def _timeline(ctx: Context, params: dict[str, Any], request: Request) -> Response:
    # ``name`` is optional: without it, the syncs of every pipeline of the project, by day.
    if params.get("name") in (None, ""):
        with ctx.state.read() as data:
            created = sorted(p["created"] for p in data.pipelines.values())
    else:
        name, pipeline = _named(ctx, params)
        if pipeline is None:
            return _not_found(name)
        created = [pipeline["created"]]
    days: dict[str, list[str]] = {}
    for moment in created:
        days.setdefault(moment[:10], []).append(moment)
    return json_response(
        {
            "day_syncs": [
                {"date": day, "sync_times": times, "status": "synced"}
                for day, times in days.items()
            ]
        }
    )


def _set_sync(enabled: Optional[bool]) -> Callable[[Context, dict[str, Any], Request], Response]:
    def handler(ctx: Context, params: dict[str, Any], request: Request) -> Response:
        name, _ = _named(ctx, params)
        with ctx.state.write() as data:
            if name not in data.pipelines:
                return _not_found(name)
            if enabled is None:
                del data.pipelines[name]
            else:
                data.pipelines[name]["sync_enabled"] = enabled
        return json_response({"status": "ok"})

    return handler


def _edit(ctx: Context, params: dict[str, Any], request: Request) -> Response:
    """``edit``: the events exported (``events``, repeated or a JSON list) and the ``where``."""
    name, _ = _named(ctx, params)
    events: Any = [v for k, v in request.form() if k == "events"] or params.get("events")
    if isinstance(events, str):
        events = [events]
    if events is not None and not (
        isinstance(events, list) and all(isinstance(e, str) and e for e in events)
    ):
        raise ValueError("events must be event names (repeat the events field for each)")
    where = params.get("where")
    if where is not None and not isinstance(where, str):
        raise ValueError("where must be a string")
    with ctx.state.write() as data:
        pipeline = data.pipelines.get(name)
        if pipeline is None:
            return _not_found(name)
        if events is not None:
            pipeline["events"] = events
        if where is not None:
            pipeline["where"] = where
    return json_response({"status": "ok"})


_Handler = Callable[[Context, dict[str, Any], Request], Response]
_ROUTES: dict[str, tuple[str, _Handler]] = {
    "pipeline/create": ("POST", _create),
    "pipeline/edit": ("POST", _edit),
    "pipeline/jobs": ("GET", _jobs),
    "pipeline/status": ("GET", _status),
    "pipeline/timeline": ("GET", _timeline),
    "pipeline/pause": ("POST", _set_sync(False)),
    "pipeline/resume": ("POST", _set_sync(True)),
    "pipeline/cancel": ("POST", _set_sync(None)),
}
