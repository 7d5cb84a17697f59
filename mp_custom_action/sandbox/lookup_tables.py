"""Ingestion API lookup tables: list (``GET /lookup-tables``) and replace (``PUT /lookup-tables/{id}``, CSV)."""

from __future__ import annotations

import csv
import io
from typing import Any
from urllib.parse import unquote

from .auth import SECRET, SERVICE_ACCOUNT, check_basic
from .context import Context, method_not_allowed, segments
from .messages import BodyTooLarge, Request, Response, error, json_response

__all__ = ["handle_lookup_tables"]

#: Mixpanel takes lookup tables up to 100 MB; the sandbox's own body limit is lower (server.py).
MAX_CSV_BYTES = 100 * 1024 * 1024


def handle_lookup_tables(ctx: Context, request: Request) -> Response:
    parts = segments(request.path, "/lookup-tables")
    if not parts:
        if request.method != "GET":
            return method_not_allowed(request, ("GET",), "classic")
        # Listing takes a service account only; replacing also takes the project secret.
        denied = check_basic(request, ctx.keys, (SERVICE_ACCOUNT,), project_id_param=True)
        if denied is not None:
            return denied
        with ctx.state.read() as data:
            results = [{"id": t["id"], "name": t["name"]} for t in data.lookup_tables.values()]
        return json_response({"code": 200, "status": "OK", "results": results})
    if len(parts) != 1:
        return error(404, "Not found: use /lookup-tables or /lookup-tables/{id}")
    if request.method != "PUT":
        return method_not_allowed(request, ("PUT",), "classic")
    denied = check_basic(request, ctx.keys, (SERVICE_ACCOUNT, SECRET), project_id_param=True)
    if denied is not None:
        return denied
    return _replace(ctx, request, unquote(parts[0]))


def _replace(ctx: Context, request: Request, table_id: str) -> Response:
    with ctx.state.read() as data:
        if table_id not in data.lookup_tables:
            return error(404, f"Lookup table with id '{table_id}' was not found.")
    if request.content_type != "text/csv":
        return error(400, "Content-Type must be text/csv")
    try:
        text = request.decoded_body(MAX_CSV_BYTES).decode("utf-8-sig")
    except BodyTooLarge as exc:
        return error(413, str(exc))
    except (ValueError, UnicodeDecodeError) as exc:
        return error(400, f"the body is not UTF-8 CSV ({exc})")
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        return error(400, f"the body is not valid CSV ({exc})")
    if not rows or not any(cell.strip() for cell in rows[0]):
        return error(400, "the CSV is empty; its first row names the columns")
    header, body = rows[0], [r for r in rows[1:] if r]
    failed: list[dict[str, Any]] = []
    for index, row in enumerate(body):
        if len(row) != len(header):
            failed.append({"index": index, "message": "invalid row: wrong number of fields"})
        elif not row[0].strip():
            failed.append(
                {"index": index, "message": "primary key is required and cannot be blank"}
            )
    if failed:
        return error(
            400,
            "Some data points in the request failed validation.",
            extra={"failed_records": failed},
        )
    with ctx.state.write() as data:
        table = data.lookup_tables.get(table_id)
        if table is not None:  # (a reset may have run since the check above)
            table["header"] = header
            table["rows"] = body
    if table is None:
        return error(404, f"Lookup table with id '{table_id}' was not found.")
    return json_response({"code": 200, "status": "OK"})
