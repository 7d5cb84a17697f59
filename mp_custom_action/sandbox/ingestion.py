"""Ingestion API events: ``/track`` (project token in the data) and ``/import`` (Basic auth, strict mode)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any, Optional

from .auth import SECRET, SERVICE_ACCOUNT, TOKEN, check_basic
from .context import Context, method_not_allowed
from .messages import BodyTooLarge, Request, Response, dumps, error, json_response

__all__ = [
    "IMPORT_MAX_BYTES",
    "IMPORT_MAX_EVENTS",
    "handle_import",
    "handle_track",
    "parse_records",
]

IMPORT_MAX_EVENTS = 2000
IMPORT_MAX_BYTES = 10 * 1024 * 1024
EVENT_MAX_BYTES = 1024 * 1024
MAX_PROPERTIES = 255
_INSERT_ID = re.compile(r"^[A-Za-z0-9-]{1,36}$")


def parse_records(request: Request, body: bytes) -> list[Any]:
    """The records of an ingestion request: a JSON array or object, NDJSON, or a ``data=`` field.

    ``data=`` (query or form) is the older form of /track and /engage; its value is JSON or
    base64 of JSON. Raises ``ValueError`` with a message for the client.
    """
    if request.content_type == "application/x-www-form-urlencoded" or (
        not body and request.param("data")
    ):
        data = dict(request.form()).get("data")
        if data is None:
            raise ValueError("expected the records in a 'data' field")
        return _as_list(_json_or_base64(data))
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    if request.content_type == "application/x-ndjson":
        records = []
        for number, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except ValueError as exc:
                    raise ValueError(f"line {number} is not valid JSON ({exc})") from None
        return records
    if not text.strip():
        raise ValueError("the body is empty; expected a JSON array of records")
    try:
        return _as_list(json.loads(text))
    except ValueError as exc:
        raise ValueError(f"the body is not valid JSON ({exc})") from None


def _json_or_base64(value: str) -> Any:
    try:
        return json.loads(value)
    except ValueError:
        pass
    padded = value.strip() + "=" * (-len(value.strip()) % 4)
    for altchars in (None, b"-_"):
        try:
            return json.loads(base64.b64decode(padded, altchars=altchars, validate=True))
        except (binascii.Error, ValueError):
            continue
    raise ValueError("the 'data' field is neither JSON nor base64-encoded JSON")


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def handle_track(ctx: Context, request: Request) -> Response:
    """``/track``: ``1`` if any event was accepted, else ``0``; JSON with ``verbose=1``."""
    if request.method not in ("GET", "POST"):
        return method_not_allowed(request, ("GET", "POST"), "classic")
    verbose = is_verbose(request)
    try:
        body = request.decoded_body(IMPORT_MAX_BYTES)
        records = parse_records(request, body)
    except BodyTooLarge as exc:
        return error(413, str(exc))
    except ValueError as exc:
        return _track_answer(False, str(exc), verbose)
    if len(records) > IMPORT_MAX_EVENTS:
        return error(413, f"request exceeds max limit of {IMPORT_MAX_EVENTS} events")
    denied = _check_tokens(ctx, request, records)
    if denied is not None:
        return denied
    now = ctx.clock()
    accepted = []
    problem = None
    for record in records:
        reason = _track_problem(record)
        if reason is None:
            accepted.append(_stored(record, now))
        else:
            problem = problem or reason
    if accepted:
        with ctx.state.write() as data:
            for event in accepted:
                data.add_event(event)
    return _track_answer(bool(accepted), None if accepted else problem, verbose)


def is_verbose(request: Request) -> bool:
    """``verbose=1`` in the query string or the form body (the official SDKs put it in the form)."""
    return request.value("verbose") == "1"


def _track_answer(ok: bool, problem: Optional[str], verbose: bool) -> Response:
    if verbose:
        return json_response({"error": None if ok else problem, "status": 1 if ok else 0})
    return Response(200, b"1" if ok else b"0", "text/plain")


def _check_tokens(ctx: Context, request: Request, records: list[Any]) -> Optional[Response]:
    # /track takes the project token inside each event, never from Authorization.
    for index, record in enumerate(records):
        props = record.get("properties") if isinstance(record, dict) else None
        token = props.get("token") if isinstance(props, dict) else None
        if not token:
            hint = (
                "; Authorization is not read on /track" if request.header("authorization") else ""
            )
            request.notes["auth"] = "refused: no token"
            return error(401, f"token, missing or empty in record {index} (properties.token){hint}")
        if not ctx.keys.is_token(token):
            request.notes["auth"] = "refused: invalid token"
            return error(401, f"Invalid token in record {index}")
    request.notes["auth"] = "token"
    return None


def _track_problem(record: Any) -> Optional[str]:
    if not isinstance(record, dict):
        return "each event must be a JSON object"
    if not isinstance(record.get("event"), str) or not record["event"]:
        return "'event' must be a non-empty string"
    if not isinstance(record.get("properties"), dict):
        return "'properties' must be a JSON object"
    return None


def _stored(record: dict[str, Any], now: float) -> dict[str, Any]:
    # The token is a credential of the request, not data: Mixpanel's export does not show it.
    props = {k: v for k, v in record["properties"].items() if k != "token"}
    time_value = props.get("time")
    if isinstance(time_value, bool) or not isinstance(time_value, (int, float)):
        props["time"] = int(now)
    elif (time_value / 1000 if time_value > 1e11 else time_value) > now:
        props["time"] = int(now)  # Mixpanel moves a future time to the time of ingestion
    props["mp_processing_time_ms"] = int(now * 1000)
    return {"event": record["event"], "properties": props}


def handle_import(ctx: Context, request: Request) -> Response:
    """``/import``: a batch, all-or-nothing per record; ``strict=1`` reports each failed record."""
    if request.method != "POST":
        return method_not_allowed(request, ("POST",), "classic")
    denied = check_basic(request, ctx.keys, (SERVICE_ACCOUNT, SECRET, TOKEN), project_id_param=True)
    if denied is not None:
        return denied
    strict = request.value("strict") == "1"
    verbose = is_verbose(request)
    try:
        records = parse_records(request, request.decoded_body(IMPORT_MAX_BYTES))
    except BodyTooLarge as exc:
        return error(413, str(exc))
    except ValueError as exc:
        return error(400, str(exc))
    if len(records) > IMPORT_MAX_EVENTS:
        return error(413, f"request exceeds max limit of {IMPORT_MAX_EVENTS} events")
    now = ctx.clock()
    accepted: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        problem = _import_problem(record, strict)
        if problem is None:
            accepted.append(_stored(record, now))
        else:
            field, message = problem
            entry: dict[str, Any] = {"index": index, "field": field, "message": message}
            insert_id = _insert_id(record)
            if insert_id is not None:
                entry["insert_id"] = insert_id
            failed.append(entry)
    if accepted:
        with ctx.state.write() as data:
            for event in accepted:
                data.add_event(event)
    if failed and strict:
        # A partial success: the valid records are stored; clients must not retry a 400.
        return error(
            400,
            "some data points in the request failed validation",
            extra={"num_records_imported": len(accepted), "failed_records": failed},
        )
    if verbose:
        # The official SDKs post ``verbose=1`` and require ``status`` 1 and an ``error`` key.
        failure = None if not failed else f"{len(failed)} records failed validation"
        return json_response(
            {
                "code": 200,
                "error": failure,
                "num_records_imported": len(accepted),
                "status": 0 if failed else 1,
            }
        )
    return json_response({"code": 200, "num_records_imported": len(accepted), "status": "OK"})


def _insert_id(record: Any) -> Optional[str]:
    props = record.get("properties") if isinstance(record, dict) else None
    value = props.get("$insert_id") if isinstance(props, dict) else None
    return value if isinstance(value, str) else None


def _import_problem(record: Any, strict: bool) -> Optional[tuple[str, str]]:
    if not isinstance(record, dict):
        return "", "each event must be a JSON object"
    if not isinstance(record.get("event"), str) or not record["event"]:
        return "event", "'event' must be a non-empty string"
    props = record.get("properties")
    if not isinstance(props, dict):
        return "properties", "'properties' must be a JSON object"
    if len(props) > MAX_PROPERTIES:
        return "properties", f"an event may have at most {MAX_PROPERTIES} properties"
    if len(dumps(record)) > EVENT_MAX_BYTES:
        return "", f"an event must be under {EVENT_MAX_BYTES} bytes"
    if record["event"] == "$merge":
        # Identity merge (Mixpanel's identity reference): two distinct_ids, no time needed.
        ids = props.get("$distinct_ids")
        if not (isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids)):
            return "properties.$distinct_ids", "'$distinct_ids' must be a list of 2 strings"
        return None
    time_value = props.get("time")
    if isinstance(time_value, bool) or not isinstance(time_value, (int, float)) or time_value < 0:
        return (
            "properties.time",
            "'properties.time' is invalid: must be specified as seconds since epoch",
        )
    distinct_id = props.get("distinct_id")
    if distinct_id is None:
        if strict:
            return "properties.distinct_id", "'properties.distinct_id' is required"
    elif isinstance(distinct_id, bool) or not isinstance(distinct_id, (str, int)):
        return "properties.distinct_id", "'properties.distinct_id' must be a string"
    insert_id = props.get("$insert_id")
    if insert_id is None:
        if strict:
            return "properties.$insert_id", "'properties.$insert_id' is required"
    elif not isinstance(insert_id, str) or not _INSERT_ID.match(insert_id):
        return (
            "properties.$insert_id",
            "'properties.$insert_id' must be 1-36 letters, digits or '-'",
        )
    return None
