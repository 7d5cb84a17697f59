"""OpenAPI 3.1 document -> preset definitions: one per operation, named by its operationId.

The definitions are plain dicts (the shape a plugin's ``mp_custom_action_presets`` hook returns),
so built-in presets go through exactly the checks a third-party plugin's do. For each operation:

* path parameters become top-level input properties, query parameters the ``query`` object, and
  the JSON request body ``body``; the input object accepts nothing else;
* every local ``$ref`` is inlined, so ``input_schema`` is self-contained (what ``presets show``
  prints for a form to render);
* the example is assembled from the parameters' and the request body's ``example`` values;
* ``x-mp-api`` (on the document, or on one operation) names the API selector.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any, Optional

__all__ = ["SCHEMA_DIALECT", "definitions_from_openapi", "inline_refs"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_METHODS = ("get", "post", "put", "patch", "delete")
_NOT_METHODS = frozenset({"parameters", "summary", "description", "servers", "$ref"})


def definitions_from_openapi(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The preset definitions of every operation in ``document``, in document order.

    Raises ``ValueError`` for what this converter does not handle (header or cookie parameters,
    a non-JSON request body, a remote ``$ref``), rather than building a preset that cannot work.
    """
    if not str(document.get("openapi", "")).startswith("3.1"):
        raise ValueError("expected an OpenAPI 3.1 document")
    default_api = document.get("x-mp-api")
    out = []
    for path, item in (document.get("paths") or {}).items():
        item = _resolve(document, item)
        shared = item.get("parameters", [])
        for key, operation in item.items():
            if key in _NOT_METHODS or key.startswith("x-"):
                continue
            if key not in _METHODS:
                raise ValueError(f"{path}: method {key!r} is not one a preset can use")
            out.append(_definition(document, path, key, operation, shared, default_api))
    return out


def _definition(
    document: Mapping[str, Any],
    path: str,
    method: str,
    operation: Mapping[str, Any],
    shared: list[Any],
    default_api: Any,
) -> dict[str, Any]:
    name = operation.get("operationId")
    if not name:
        raise ValueError(f"{method.upper()} {path}: operationId is required (it names the preset)")
    where = f"{name} ({method.upper()} {path})"
    raw_params = [*shared, *operation.get("parameters", [])]
    properties, required, example, query = _parameters(document, where, raw_params)
    _request_body(document, where, operation.get("requestBody"), properties, required, example)
    if query is not None:  # after the body, as the input's keys read: path values, body, query
        query_schema, query_example = query
        if query_schema.get("required"):
            required.append("query")
        properties["query"] = query_schema
        if query_example:
            example["query"] = query_example
    input_schema = {
        "$schema": SCHEMA_DIALECT,
        "title": f"{name} input",
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    definition: dict[str, Any] = {
        "name": name,
        "api": operation.get("x-mp-api", default_api),
        "method": method.upper(),
        "path": path,
        "summary": operation.get("summary", ""),
        "description": operation.get("description", ""),
        "input_schema": input_schema,
        "responses": _responses(document, operation.get("responses") or {}),
        "media_type": "application/json" if "body" in properties else "",
    }
    # An example that lacks a required part would be refused as not fitting its own schema;
    # better no example than a preset lost to a missing one.
    if example and all(key in example for key in required):
        definition["example"] = example
    return definition


def _parameters(
    document: Mapping[str, Any], where: str, raw_params: list[Any]
) -> tuple[
    dict[str, Any], list[str], dict[str, Any], Optional[tuple[dict[str, Any], dict[str, Any]]]
]:
    """Path parameters become top-level input properties; query parameters the ``query`` schema.

    Returns the path properties, their required names and example, and (schema, example) of
    ``query`` when there are query parameters.
    """
    # Operation parameters override path-item ones with the same name and location.
    params: dict[tuple[str, str], Mapping[str, Any]] = {}
    for raw in raw_params:
        param = _resolve(document, raw)
        params[(param["name"], param["in"])] = param
    properties: dict[str, Any] = {}
    required: list[str] = []
    example: dict[str, Any] = {}
    query_props: dict[str, Any] = {}
    query_required: list[str] = []
    query_example: dict[str, Any] = {}
    for (pname, location), param in params.items():
        schema = _schema_with_description(document, param)
        if location == "path":
            properties[pname] = schema
            required.append(pname)
            if "example" in param:
                example[pname] = param["example"]
        elif location == "query":
            query_props[pname] = schema
            if param.get("required"):
                query_required.append(pname)
            if "example" in param:
                query_example[pname] = param["example"]
        else:
            raise ValueError(f"{where}: {location} parameters are not supported ({pname})")
    if not query_props:
        return properties, required, example, None
    query_schema: dict[str, Any] = {
        "type": "object",
        "properties": query_props,
        "additionalProperties": False,
    }
    if query_required:
        query_schema["required"] = query_required
    return properties, required, example, (query_schema, query_example)


def _request_body(
    document: Mapping[str, Any],
    where: str,
    body: Any,
    properties: dict[str, Any],
    required: list[str],
    example: dict[str, Any],
) -> None:
    """The JSON request body becomes the ``body`` input property (added in place)."""
    if body is None:
        return
    body = _resolve(document, body)
    media = (body.get("content") or {}).get("application/json")
    if media is None:
        raise ValueError(f"{where}: only application/json request bodies are supported")
    schema = _inline(document, media.get("schema", {}))
    if body.get("description"):
        schema.setdefault("description", body["description"])
    properties["body"] = schema
    if body.get("required"):
        required.append("body")
    if "example" in media:
        example["body"] = copy.deepcopy(media["example"])


def _responses(document: Mapping[str, Any], declared: Mapping[Any, Any]) -> dict[str, Any]:
    """The JSON body schema of each declared status."""
    responses = {}
    for status, response in declared.items():
        response = _resolve(document, response)
        media = (response.get("content") or {}).get("application/json")
        if media and "schema" in media:
            responses[str(status)] = {
                "$schema": SCHEMA_DIALECT,
                **_inline(document, media["schema"]),
            }
    return responses


def _schema_with_description(
    document: Mapping[str, Any], param: Mapping[str, Any]
) -> dict[str, Any]:
    schema: dict[str, Any] = _inline(document, param.get("schema", {}))
    if param.get("description"):
        schema.setdefault("description", param["description"])
    return schema


def _resolve(document: Mapping[str, Any], node: Any) -> Any:
    """Follow a ``$ref`` on a parameter, request body or response object (not inlined further)."""
    seen = set()
    while isinstance(node, Mapping) and "$ref" in node:
        ref = node["$ref"]
        if ref in seen:
            raise ValueError(f"$ref cycle at {ref!r}")
        seen.add(ref)
        node = _lookup(document, ref)
    return node


def inline_refs(document: Mapping[str, Any], schema: Any) -> Any:
    """A copy of ``schema`` with every local ``$ref`` (``#/...`` into ``document``) inlined."""
    return _inline(document, schema)


def _inline(document: Mapping[str, Any], schema: Any, stack: tuple[str, ...] = ()) -> Any:
    """A copy of ``schema`` with every ``$ref`` replaced by what it points to.

    Keywords beside a ``$ref`` (a ``description``) win over the target's, as in JSON Schema 2020-12.
    """
    if isinstance(schema, list):
        return [_inline(document, item, stack) for item in schema]
    if not isinstance(schema, Mapping):
        return schema
    if "$ref" in schema:
        ref = schema["$ref"]
        if ref in stack:
            raise ValueError(f"recursive $ref {ref!r} cannot be inlined")
        target = _inline(document, _lookup(document, ref), (*stack, ref))
        siblings = {k: _inline(document, v, stack) for k, v in schema.items() if k != "$ref"}
        return {**target, **siblings}
    return {k: _inline(document, v, stack) for k, v in schema.items()}


def _lookup(document: Mapping[str, Any], ref: object) -> Any:
    if not isinstance(ref, str) or not ref.startswith("#/"):
        raise ValueError(f"only local $refs ('#/...') are supported, got {ref!r}")
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, Mapping) or part not in node:
            raise ValueError(f"$ref {ref!r} points nowhere")
        node = node[part]
    return copy.deepcopy(node)
