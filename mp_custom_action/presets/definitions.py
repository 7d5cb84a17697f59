"""Preset definitions from plugins: untrusted data, checked before it becomes a Preset.

A definition is a plain dict (or a :class:`~.presets.Preset`, turned back into one) offered by a
plugin's ``mp_custom_action_presets`` hook. :func:`preset_from_definition` refuses an unsafe path
template, an unknown API, a method outside the five, a schema that is not valid JSON Schema, or an
example its own schema refuses, with a :class:`PresetDefinitionError` the plugin manager turns
into a warning naming the plugin. The built-in presets go through the same checks.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

from ..errors import InputError
from .schemas import schema_problem, show

if TYPE_CHECKING:
    from ..core.apis import ApiRegistry
    from .model import Preset

__all__ = [
    "BODY_KEY",
    "DEFINITION_FIELDS",
    "QUERY_KEY",
    "PresetDefinitionError",
    "parse_path_template",
    "preset_from_definition",
]

#: The keys of a preset definition given as a dict (what ``presets show`` prints, plus extras).
DEFINITION_FIELDS = (
    "name",
    "api",
    "method",
    "path",
    "summary",
    "input_schema",
    "example",
    "description",
    "responses",
    "media_type",
)
_REQUIRED_FIELDS = ("name", "api", "method", "path", "input_schema")

#: Where the body and the query parameters go in a preset's input; other keys are path values.
BODY_KEY = "body"
QUERY_KEY = "query"

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# What a template's literal text may hold: RFC 3986 path characters without "%" (a template
# spells its text plainly), "@" (userinfo tricks) and "?"/"#" (queries go under ``query``).
_LITERAL = re.compile(r"^[A-Za-z0-9._~!$&'()*+,;=:/-]*$")


class PresetDefinitionError(ValueError):
    """A preset definition is unusable; the plugin manager turns this into a warning naming the plugin."""


def parse_path_template(path: object) -> tuple[str, ...]:
    """Check a path template and return its placeholder names, in order.

    >>> parse_path_template("/projects/{projectId}/warehouse-sources/{sourceId}")
    ('projectId', 'sourceId')
    """
    if not isinstance(path, str) or not path:
        raise PresetDefinitionError(f"path must be a non-empty string, got {show(path)}")
    if not path.startswith("/"):
        raise PresetDefinitionError(
            f"path must be relative to the API's base URL and start with '/', got {show(path)}"
        )
    if "//" in path:
        raise PresetDefinitionError(f"path must not contain '//' (another host), got {show(path)}")
    names: list[str] = []
    for name in _PLACEHOLDER.findall(path):
        if not _PARAM_NAME.match(name) or name in (BODY_KEY, QUERY_KEY):
            raise PresetDefinitionError(
                f"path placeholder {{{name}}} is not a valid parameter name"
            )
        if name in names:
            raise PresetDefinitionError(f"path placeholder {{{name}}} appears twice")
        names.append(name)
    literal = _PLACEHOLDER.sub("x", path)
    if not _LITERAL.match(literal):
        raise PresetDefinitionError(
            f"path {show(path)} may hold only plain path characters and {{name}} placeholders "
            "(no '%', '@', '?', '#', '\\', braces or spaces)"
        )
    for segment in path.split("/"):
        if segment in (".", ".."):
            raise PresetDefinitionError(
                f"path must not contain '.' or '..' segments, got {show(path)}"
            )
    return tuple(names)


def preset_from_definition(
    definition: Union[Preset, Mapping[str, Any]],
    *,
    plugin: str,
    apis: ApiRegistry,
    trusted: bool = False,
) -> Preset:
    """Check a plugin's preset definition and build the :class:`Preset`.

    Raises :class:`PresetDefinitionError` saying what is wrong; the caller names the plugin.
    ``trusted`` (only for the definitions mp-custom-action ships) skips checking the schemas
    against the JSON Schema metaschema, which the test suite does for them once; every other
    check still runs.
    """
    from .model import Preset  # presets imports this module for parse_path_template

    if isinstance(definition, Preset):
        definition = definition.to_definition()
    if not isinstance(definition, Mapping):
        raise PresetDefinitionError(f"expected a Preset or a dict, got {type(definition).__name__}")
    unknown = [k for k in definition if k not in DEFINITION_FIELDS]
    if unknown:
        raise PresetDefinitionError(
            f"unknown field(s) {', '.join(map(repr, unknown))}; accepted: {', '.join(DEFINITION_FIELDS)}"
        )
    missing = [k for k in _REQUIRED_FIELDS if definition.get(k) is None]
    name = definition.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise PresetDefinitionError(
            f"name must be letters, digits, '_', '.' or '-' starting with a letter, got {show(name)}"
        )
    if missing:
        raise PresetDefinitionError(f"preset {name!r} lacks {', '.join(missing)}")
    where = f"preset {name!r}"

    try:
        api = apis.get(definition["api"]).name
    except InputError:
        choices = ", ".join(sorted(spec.name for spec in apis))
        raise PresetDefinitionError(
            f"{where}: unknown API {show(definition['api'])} (known: {choices})"
        ) from None

    from ..core.inputs import normalize_method

    try:
        method = normalize_method(definition["method"])
    except InputError:
        raise PresetDefinitionError(
            f"{where}: method must be GET, POST, PUT, PATCH or DELETE, got {show(definition['method'])}"
        ) from None

    try:
        params = parse_path_template(definition["path"])
    except PresetDefinitionError as exc:
        raise PresetDefinitionError(f"{where}: {exc}") from None

    schema = _check_schema(definition["input_schema"], f"{where}: input_schema", trusted)
    if schema.get("type") != "object":
        raise PresetDefinitionError(f'{where}: input_schema must have "type": "object"')
    props = schema.get("properties", {})
    for param in params:
        if not isinstance(props, Mapping) or param not in props:
            raise PresetDefinitionError(
                f"{where}: path placeholder {{{param}}} is not a property of input_schema"
            )

    responses: dict[str, Mapping[str, Any]] = {}
    raw_responses = definition.get("responses") or {}
    if not isinstance(raw_responses, Mapping):
        raise PresetDefinitionError(f"{where}: responses must map a status to a JSON Schema")
    for status, response_schema in raw_responses.items():
        if not isinstance(status, str) or not re.match(r"^([1-5][0-9X]{2}|default)$", status):
            raise PresetDefinitionError(f"{where}: responses key {show(status)} is not a status")
        responses[status] = _check_schema(response_schema, f"{where}: responses[{status}]", trusted)

    texts = {}
    for key in ("summary", "description", "media_type"):
        value = definition.get(key) or ""
        if not isinstance(value, str):
            raise PresetDefinitionError(f"{where}: {key} must be a string")
        texts[key] = value

    example = definition.get("example")
    preset = Preset(
        name=name,
        api=api,
        method=method,
        path=definition["path"],
        summary=texts["summary"],
        input_schema=schema,
        example=None,
        description=texts["description"],
        responses=responses,
        media_type=texts["media_type"],
        plugin=plugin,
    )
    if example is not None:
        if not isinstance(example, Mapping):
            raise PresetDefinitionError(f"{where}: example must be an object")
        try:
            preset.to_inputs(example)
        except InputError as exc:
            raise PresetDefinitionError(f"{where}: example does not fit: {exc}") from None
        object.__setattr__(preset, "example", copy.deepcopy(dict(example)))
    return preset


def _check_schema(schema: object, where: str, trusted: bool) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise PresetDefinitionError(f"{where} must be a JSON Schema object")
    schema = copy.deepcopy(dict(schema))
    problem = schema_problem(schema, metaschema=not trusted)
    if problem is not None:
        raise PresetDefinitionError(f"{where} {problem}")
    return schema
