"""Lexicon Schemas API (``/api/app/projects/{projectId}/schemas[/{entityType}[/{name}]]``).

Schemas are kept per entity type and name. Uploads are checked against the shapes of Mixpanel's
Lexicon Schemas reference before anything is stored: a batch with one bad entry stores nothing.
"""

from __future__ import annotations

import json
from typing import Any, Optional
from urllib.parse import unquote

from .context import Context, method_not_allowed
from .messages import APP, Request, Response, error, json_response

__all__ = ["ENTITY_TYPES", "handle_schemas"]

ENTITY_TYPES = ("event", "profile")
_PROPERTY_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")
_ENTRY_KEYS = frozenset({"entityType", "name", "schemaJson"})
_SCHEMA_KEYS = frozenset({"description", "properties", "metadata"})
_PROPERTY_KEYS = frozenset({"type", "description", "metadata"})
# key -> expected type, for the "com.mixpanel" metadata of an entity and of a property.
_ENTITY_META = {
    "$source": str, "displayName": str, "tags": list, "hidden": bool, "dropped": bool,
    "contacts": list, "teamContacts": list,
}  # fmt: skip
_PROPERTY_META = {"displayName": str, "hidden": bool, "dropped": bool}


def handle_schemas(ctx: Context, request: Request, parts: list[str]) -> Response:
    """``parts``: the path segments after ``schemas`` (entity type, then name)."""
    names = [unquote(p) for p in parts]
    if len(names) > 2:
        return error(
            404, "Not found: use schemas, schemas/{entityType} or schemas/{entityType}/{name}", APP
        )
    if names and names[0] not in ENTITY_TYPES:
        return error(
            400, f"entityType must be one of {', '.join(ENTITY_TYPES)}, got {names[0]!r}", APP
        )
    allowed = {0: ("GET", "POST", "DELETE"), 1: ("GET", "DELETE"), 2: ("GET", "POST", "DELETE")}[
        len(names)
    ]
    if request.method not in allowed:
        return method_not_allowed(request, allowed, APP)
    entity_type = names[0] if names else None
    name = names[1] if len(names) == 2 else request.param("entity_name") or None
    if request.method == "GET":
        return _get(ctx, entity_type, name, single=len(names) == 2)
    if request.method == "DELETE":
        return _delete(ctx, entity_type, name)
    try:
        body = json.loads(request.body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError):
        return error(400, "the body must be JSON", APP)
    if len(names) == 2:
        return _post_one(ctx, names[0], names[1], body)
    return _post_many(ctx, body)


def _get(
    ctx: Context, entity_type: Optional[str], name: Optional[str], *, single: bool
) -> Response:
    with ctx.state.read() as data:
        if single:
            assert entity_type is not None and name is not None
            schema = data.schemas.get(entity_type, {}).get(name)
            if schema is None:
                return error(404, f"no schema for {entity_type} {name!r}", APP)
            return json_response(schema)
        results = [
            {"entityType": kind, "name": key, "schemaJson": schema}
            for kind in sorted(data.schemas)
            if entity_type in (None, kind)
            for key, schema in sorted(data.schemas[kind].items())
            if name in (None, key)
        ]
        return json_response({"results": results, "status": "ok"})


def _delete(ctx: Context, entity_type: Optional[str], name: Optional[str]) -> Response:
    count = 0
    with ctx.state.write() as data:
        for kind in list(data.schemas):
            if entity_type not in (None, kind):
                continue
            for key in list(data.schemas[kind]):
                if name in (None, key):
                    del data.schemas[kind][key]
                    count += 1
            if not data.schemas[kind]:
                del data.schemas[kind]
    return json_response({"results": {"delete_count": count}, "status": "ok"})


def _post_one(ctx: Context, entity_type: str, name: str, body: Any) -> Response:
    problem = _schema_problem(body, "body")
    if problem:
        return error(400, problem, APP)
    with ctx.state.write() as data:
        data.schemas.setdefault(entity_type, {})[name] = body
    return json_response({"status": "ok"})


def _post_many(ctx: Context, body: Any) -> Response:
    if not isinstance(body, dict) or not isinstance(body.get("entries"), list):
        return error(400, 'expected {"entries": [...], "truncate": false}', APP)
    extra = sorted(set(body) - {"entries", "truncate"})
    if extra:
        return error(400, f"unknown fields {extra}; expected entries and truncate", APP)
    truncate = body.get("truncate", False)
    if not isinstance(truncate, bool):
        return error(400, "truncate must be true or false", APP)
    for index, entry in enumerate(body["entries"]):
        problem = _entry_problem(entry, f"entries[{index}]")
        if problem:
            return error(400, problem, APP)
    deleted = 0
    with ctx.state.write() as data:
        if truncate:
            deleted = sum(len(v) for v in data.schemas.values())
            data.schemas.clear()
        for entry in body["entries"]:
            data.schemas.setdefault(entry["entityType"], {})[entry["name"]] = entry["schemaJson"]
    return json_response(
        {"results": {"added": len(body["entries"]), "deleted": deleted}, "status": "ok"}
    )


def _entry_problem(entry: Any, where: str) -> Optional[str]:
    if not isinstance(entry, dict):
        return f"{where} must be an object"
    missing = sorted(_ENTRY_KEYS - set(entry))
    if missing:
        return f"{where} lacks {', '.join(missing)}"
    extra = sorted(set(entry) - _ENTRY_KEYS)
    if extra:
        return f"{where} has unknown fields {extra}"
    if entry["entityType"] not in ENTITY_TYPES:
        return f"{where}.entityType must be one of {', '.join(ENTITY_TYPES)}"
    if not isinstance(entry["name"], str) or not entry["name"]:
        return f"{where}.name must be a non-empty string"
    return _schema_problem(entry["schemaJson"], f"{where}.schemaJson")


def _schema_problem(schema: Any, where: str) -> Optional[str]:
    if not isinstance(schema, dict):
        return f"{where} must be an object"
    extra = sorted(set(schema) - _SCHEMA_KEYS)
    if extra:
        return f"{where} has unknown fields {extra}"
    if "description" in schema and not isinstance(schema["description"], str):
        return f"{where}.description must be a string"
    problem = _meta_problem(schema.get("metadata"), _ENTITY_META, f"{where}.metadata")
    if problem:
        return problem
    properties = schema.get("properties", {})
    if not isinstance(properties, dict):
        return f"{where}.properties must be an object"
    for prop_name, definition in properties.items():
        at = f"{where}.properties.{prop_name}"
        if not isinstance(definition, dict):
            return f"{at} must be an object"
        extra = sorted(set(definition) - _PROPERTY_KEYS)
        if extra:
            return f"{at} has unknown fields {extra}"
        if definition.get("type") not in _PROPERTY_TYPES:
            return f"{at}.type must be one of {', '.join(_PROPERTY_TYPES)}"
        if "description" in definition and not isinstance(definition["description"], str):
            return f"{at}.description must be a string"
        problem = _meta_problem(definition.get("metadata"), _PROPERTY_META, f"{at}.metadata")
        if problem:
            return problem
    return None


def _meta_problem(meta: Any, allowed: dict[str, type], where: str) -> Optional[str]:
    if meta is None:
        return None
    if not isinstance(meta, dict) or set(meta) - {"com.mixpanel"}:
        return f'{where} must be an object with only "com.mixpanel"'
    inner = meta.get("com.mixpanel", {})
    if not isinstance(inner, dict):
        return f'{where}."com.mixpanel" must be an object'
    for key, value in inner.items():
        kind = allowed.get(key)
        if kind is None:
            return f'{where}."com.mixpanel" has unknown field {key!r}'
        if not isinstance(value, kind):
            return f'{where}."com.mixpanel".{key} must be a {kind.__name__}'
    return None
