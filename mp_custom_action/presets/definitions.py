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
from .model import DEFINITION_FIELDS, Preset, PresetDefinitionError, parse_path_template
from .schemas import schema_problem, show

if TYPE_CHECKING:
    from ..core.apis import ApiRegistry

__all__ = ["preset_from_definition"]

_REQUIRED_FIELDS = ("name", "api", "method", "path", "input_schema")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,99}$")


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
    against the JSON Schema metaschema and the example against its schema, which the test suite
    does for them once (98 presets would otherwise cost every command that loads them); every
    other check still runs.
    """
    if isinstance(definition, Preset):
        definition = definition.to_definition()
    name = _checked_name(definition)
    where = f"preset {name!r}"
    api = _checked_api(definition["api"], where, apis)
    method = _checked_method(definition["method"], where)
    params = _checked_path(definition["path"], where)
    schema = _check_schema(definition["input_schema"], f"{where}: input_schema", trusted)
    if schema.get("type") != "object":
        raise PresetDefinitionError(f'{where}: input_schema must have "type": "object"')
    props = schema.get("properties", {})
    for param in params:
        if not isinstance(props, Mapping) or param not in props:
            raise PresetDefinitionError(
                f"{where}: path placeholder {{{param}}} is not a property of input_schema"
            )
    responses = _responses(definition.get("responses") or {}, where, trusted)
    texts = _texts(definition, where)
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
    example = definition.get("example")
    if example is not None:
        if not isinstance(example, Mapping):
            raise PresetDefinitionError(f"{where}: example must be an object")
        try:
            if not trusted:
                preset.to_inputs(example)
        except InputError as exc:
            raise PresetDefinitionError(f"{where}: example does not fit: {exc}") from None
        object.__setattr__(preset, "example", copy.deepcopy(dict(example)))
    return preset


def _checked_name(definition: object) -> str:
    """The definition is a mapping of known fields, with the required ones and a good name."""
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
    return name


def _checked_api(api: object, where: str, apis: ApiRegistry) -> str:
    try:
        return apis.get(api).name
    except InputError:
        choices = ", ".join(sorted(spec.name for spec in apis))
        raise PresetDefinitionError(
            f"{where}: unknown API {show(api)} (known: {choices})"
        ) from None


def _checked_method(method: object, where: str) -> str:
    from ..core.inputs import normalize_method

    try:
        return normalize_method(method)
    except InputError:
        raise PresetDefinitionError(
            f"{where}: method must be GET, POST, PUT, PATCH or DELETE, got {show(method)}"
        ) from None


def _checked_path(path: object, where: str) -> tuple[str, ...]:
    try:
        return parse_path_template(path)
    except PresetDefinitionError as exc:
        raise PresetDefinitionError(f"{where}: {exc}") from None


def _responses(raw: object, where: str, trusted: bool) -> dict[str, Mapping[str, Any]]:
    if not isinstance(raw, Mapping):
        raise PresetDefinitionError(f"{where}: responses must map a status to a JSON Schema")
    responses: dict[str, Mapping[str, Any]] = {}
    for status, response_schema in raw.items():
        if not isinstance(status, str) or not re.match(r"^([1-5][0-9X]{2}|default)$", status):
            raise PresetDefinitionError(f"{where}: responses key {show(status)} is not a status")
        responses[status] = _check_schema(response_schema, f"{where}: responses[{status}]", trusted)
    return responses


def _texts(definition: Mapping[str, Any], where: str) -> dict[str, str]:
    texts = {}
    for key in ("summary", "description", "media_type"):
        value = definition.get(key) or ""
        if not isinstance(value, str):
            raise PresetDefinitionError(f"{where}: {key} must be a string")
        texts[key] = value
    return texts


def _check_schema(schema: object, where: str, trusted: bool) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        raise PresetDefinitionError(f"{where} must be a JSON Schema object")
    schema = copy.deepcopy(dict(schema))
    problem = schema_problem(schema, metaschema=not trusted)
    if problem is not None:
        raise PresetDefinitionError(f"{where} {problem}")
    return schema
