"""JSON Schema, compiled once: validators, schema checks, and errors a person can read.

``jsonschema`` is imported only inside these functions, so importing this module stays cheap.
Errors are reported the way the rest of mp-custom-action reports input errors: a dotted JSON
path (``body.tables[0].importType``) and what was expected there::

    body.type: expected one of bigquery, snowflake, redshift, databricks, postgresql; got 'oracle'
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

if TYPE_CHECKING:
    from jsonschema.exceptions import ValidationError
    from jsonschema.protocols import Validator

__all__ = [
    "all_errors",
    "best_error",
    "compile_schema",
    "dotted",
    "json_type",
    "schema_problem",
    "show",
]

_MAX_SHOWN = 60


def compile_schema(schema: Mapping[str, Any]) -> Validator:
    """One validator for ``schema``, with format checking; build it once and reuse it.

    ``jsonschema.validate()`` re-checks the schema and rebuilds the validator on every call,
    about fifty times slower than reusing one.
    """
    from jsonschema.validators import validator_for

    cls = validator_for(schema, default=_default_validator())
    validator: Validator = cls(schema, format_checker=cls.FORMAT_CHECKER)
    return validator


def schema_problem(schema: Mapping[str, Any], *, metaschema: bool = True) -> Optional[str]:
    """What makes ``schema`` unusable (not valid JSON Schema, or a remote ``$ref``), or ``None``.

    ``metaschema=False`` skips checking it against its draft's metaschema, the costly part
    (about 5 ms a schema), for schemas known to pass it.
    """
    remote = _remote_ref(schema)
    if remote is not None:
        # A validator would try to fetch it at call time; a schema must be self-contained.
        return f"refers to $ref {remote!r}, which is not local (use $defs and '#/...')"
    if not metaschema:
        return None
    from jsonschema.exceptions import SchemaError
    from jsonschema.validators import validator_for

    try:
        validator_for(schema, default=_default_validator()).check_schema(schema)
    except SchemaError as exc:
        return f"is not valid JSON Schema at {dotted(exc.absolute_path) or '(root)'}: {exc.message}"
    return None


def best_error(
    validator: Validator, instance: Any, *, required_hints: Optional[Mapping[str, str]] = None
) -> Optional[tuple[str, str]]:
    """``(json path, message)`` of the most relevant error in ``instance``, or ``None`` if valid.

    ``required_hints`` adds a word to "is required" for some keys (how else to give them).
    """
    if validator.is_valid(instance):
        return None
    from jsonschema.exceptions import best_match

    errors = list(validator.iter_errors(instance))
    error = best_match(errors)
    if error is None:  # pragma: no cover - is_valid said there is one
        return None
    suffix, message = _explain(error)
    if error.validator == "required" and suffix:
        message += (required_hints or {}).get(suffix[0], "")
        # "sourceid" given where "sourceId" is required: say so, not just "is required".
        given = _unexpected_keys(errors).get(dotted(error.absolute_path), [])
        # A Python caller's input may hold keys that are not strings; difflib compares only text.
        given = [key for key in given if isinstance(key, str)]
        close = difflib.get_close_matches(suffix[0], given, n=1, cutoff=0.6)
        if close:
            message += f" (got {close[0]!r}: misspelt?)"
    return dotted([*error.absolute_path, *suffix]), message


def all_errors(validator: Validator, instance: Any, *, root: str, limit: int = 10) -> list[str]:
    """Every error in ``instance`` as ``"path: message"`` (paths start at ``root``), in path order."""
    errors = sorted(validator.iter_errors(instance), key=lambda e: dotted(e.absolute_path))
    out = []
    for error in errors[:limit]:
        suffix, message = _explain(error)
        out.append(f"{dotted([*error.absolute_path, *suffix], root)}: {message}")
    return out


def _remote_ref(node: Any) -> Optional[str]:
    if isinstance(node, Mapping):
        ref = node.get("$ref")
        if isinstance(ref, str) and not ref.startswith("#"):
            return ref
        for value in node.values():
            found = _remote_ref(value)
            if found is not None:
                return found
    elif isinstance(node, list):
        for item in node:
            found = _remote_ref(item)
            if found is not None:
                return found
    return None


def _default_validator() -> Any:
    from jsonschema import Draft202012Validator

    return Draft202012Validator


def _unexpected_keys(errors: Sequence[ValidationError]) -> dict[str, list[str]]:
    """Keys refused by ``additionalProperties``, by the dotted path of their object."""
    out: dict[str, list[str]] = {}
    for error in errors:
        if error.validator == "additionalProperties" and isinstance(error.instance, Mapping):
            extras = [k for k in error.instance if k not in _props(error)]
            out.setdefault(dotted(error.absolute_path), []).extend(extras)
    return out


def _props(error: ValidationError) -> Mapping[str, Any]:
    schema = error.schema
    props = schema.get("properties", {}) if isinstance(schema, Mapping) else {}
    return props if isinstance(props, Mapping) else {}


def _explain(error: ValidationError) -> tuple[list[str], str]:
    """A readable message for one error, and the key it is about when that is deeper than the path."""
    kind = error.validator
    value = error.validator_value
    instance = error.instance
    if kind == "required" and isinstance(instance, Mapping) and isinstance(value, list):
        missing = [k for k in value if k not in instance]
        if missing:
            return [missing[0]], "is required"
    if kind == "enum" and isinstance(value, list):
        allowed = ", ".join(_plain(v) for v in value)
        return [], f"expected one of {allowed}; got {show(instance)}"
    if kind == "const":
        return [], f"expected {_plain(value)}; got {show(instance)}"
    if kind == "not" and isinstance(value, Mapping) and value.get("description"):
        # A refused value may say why (a seed path parameter that would reach another route).
        return [], f"must not be {show(instance)}: {value['description']}"
    if kind == "type":
        wanted = " or ".join(value) if isinstance(value, list) else str(value)
        return [], f"expected {_article(wanted)}, got {json_type(instance)} {show(instance)}"
    if kind == "additionalProperties" and isinstance(instance, Mapping):
        props = error.schema.get("properties", {}) if isinstance(error.schema, Mapping) else {}
        patterns = (
            error.schema.get("patternProperties", {}) if isinstance(error.schema, Mapping) else {}
        )
        extras = [
            k for k in instance if k not in props and not any(re.search(p, k) for p in patterns)
        ]
        if extras:
            accepted = ", ".join(props) if props else "none"
            return [extras[0]], f"is not an accepted field (accepted: {accepted})"
    if kind == "minLength" and value == 1:
        return [], "must not be empty"
    if kind in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        op = {"minimum": ">=", "exclusiveMinimum": ">", "maximum": "<=", "exclusiveMaximum": "<"}
        return [], f"expected a number {op[kind]} {value}, got {show(instance)}"
    return [], error.message


def dotted(path: Sequence[Any], first: str = "") -> str:
    """``["body", "tables", 0, "importType"]`` -> ``body.tables[0].importType``."""
    out = first
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, (list, tuple)):
        return "array"
    return type(value).__name__


def _article(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _plain(value: object) -> str:
    return value if isinstance(value, str) else repr(value)


def show(value: object) -> str:
    # JSON spelling for JSON's own constants: the input was JSON, not Python.
    if value is None or isinstance(value, bool):
        return "null" if value is None else str(value).lower()
    text = repr(value)
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."
