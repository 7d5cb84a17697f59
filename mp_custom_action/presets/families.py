"""Our compact preset file (``actions/*.presets.json``) -> preset definitions, one family a file.

A family file is written for mp-custom-action from Mixpanel's reference (never a copy of it)::

    {"family": "query", "title": "Query API", "api": "query", "reference": "https://...",
     "shared": {"from_date": {"type": "string", "format": "date"}},
     "presets": [
       {"name": "segmentation-query", "method": "GET", "path": "/query/segmentation",
        "summary": "...", "query": {"event": {"type": "string"},
                                    "from_date": {"$ref": "#/shared/from_date"}},
        "required_query": ["event", "from_date"], "example": {"query": {...}}}]}

Each preset names its parts the way a preset's input holds them: ``path_params`` (each one
required: it fills a ``{placeholder}``), ``query`` (with ``required_query``) and ``body`` (with
``body_required``). :func:`definitions_from_family` assembles the closed ``input_schema`` a
plugin would give, inlines ``{"$ref": "#/shared/..."}``, takes ``api`` from the family unless a
preset names its own, and gives ``media_type`` its default (``application/json`` for a body).
The result goes through :func:`~.definitions.preset_from_definition` like any plugin's.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from .openapi import SCHEMA_DIALECT, inline_refs

__all__ = [
    "BUILTIN_PLUGINS",
    "FAMILY_FIELDS",
    "FAMILY_NAMES",
    "PRESET_FIELDS",
    "definitions_from_family",
    "family_attribute",
]

#: The families of Mixpanel's reference, in its order: each is ``actions/<name>.presets.json``
#: and the built-in plugin ``builtin.<name>`` (``presets.builtin:<family_attribute(name)>``).
FAMILY_NAMES = (
    "ingestion", "identity", "query", "export", "lexicon-schemas", "annotations",
    "data-pipelines", "warehouse-connectors", "service-accounts", "feature-flags", "gdpr",
)  # fmt: skip

#: The keys of a family file, and of one preset in it.
FAMILY_FIELDS = ("family", "title", "api", "about", "reference", "shared", "presets")
PRESET_FIELDS = (
    "name",
    "api",
    "method",
    "path",
    "summary",
    "description",
    "media_type",
    "path_params",
    "query",
    "required_query",
    "body",
    "body_required",
    "example",
)
JSON = "application/json"


def family_attribute(name: str) -> str:
    """The attribute of :mod:`.builtin` that is the family's plugin (``data-pipelines`` ->
    ``data_pipelines``)."""
    return name.replace("-", "_")


_BUILTIN = "mp_custom_action.presets.builtin"
#: The built-in plugins, name -> ``module`` or ``module:attribute`` (an entry point's form):
#: ``builtin``, the seed's warehouse-source presets, and ``builtin.<family>`` for each family.
BUILTIN_PLUGINS: Mapping[str, str] = {
    "builtin": _BUILTIN,
    **{f"builtin.{name}": f"{_BUILTIN}:{family_attribute(name)}" for name in FAMILY_NAMES},
}


def definitions_from_family(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The preset definitions of one family file, in file order.

    Raises ``ValueError`` naming the preset and the key for what the format does not have (an
    unknown key, a required query field that is not a field), rather than guess.
    """
    _known(document, FAMILY_FIELDS, f"family {document.get('family')!r}")
    presets = document.get("presets")
    if not isinstance(presets, list) or not presets:
        raise ValueError("a family file lists its presets under 'presets'")
    resolved = inline_refs(document, presets)
    return [_definition(document, entry) for entry in resolved]


def _definition(family: Mapping[str, Any], entry: Mapping[str, Any]) -> dict[str, Any]:
    name = entry.get("name")
    where = f"preset {name!r}"
    _known(entry, PRESET_FIELDS, where)
    properties: dict[str, Any] = {}
    required: list[str] = []
    for param, schema in (entry.get("path_params") or {}).items():
        properties[param] = schema
        required.append(param)

    query = entry.get("query") or {}
    required_query = list(entry.get("required_query") or [])
    stray = [q for q in required_query if q not in query]
    if stray:
        raise ValueError(f"{where}: required_query names {stray}, which are not query fields")
    if query:
        query_schema: dict[str, Any] = {
            "type": "object",
            "properties": query,
            "additionalProperties": False,
        }
        if required_query:
            query_schema["required"] = required_query
            required.append("query")
        properties["query"] = query_schema

    body = entry.get("body")
    if body is not None:
        properties["body"] = body
        if entry.get("body_required", True):
            required.append("body")

    definition: dict[str, Any] = {
        "name": name,
        "api": entry.get("api", family.get("api")),
        "method": entry.get("method"),
        "path": entry.get("path"),
        "summary": entry.get("summary", ""),
        "description": entry.get("description", ""),
        "media_type": entry.get("media_type", JSON if body is not None else ""),
        "input_schema": {
            "$schema": SCHEMA_DIALECT,
            "title": f"{name} input",
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": False,
        },
    }
    if "example" in entry:
        definition["example"] = copy.deepcopy(entry["example"])
    return definition


def _known(mapping: Mapping[str, Any], fields: tuple[str, ...], where: str) -> None:
    unknown = [key for key in mapping if key not in fields]
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; accepted: {', '.join(fields)}")
