"""A fast yes for valid input: JSON Schema compiled into plain Python checks, for the common subset.

``jsonschema`` is exact and explains every error, but even a validator built once walks a schema
keyword by keyword, making a new validator object at every level: about 80 microseconds for a
preset's input, a third of a whole call on loopback. Inputs are almost always valid, so the fast
path only has to say "valid"; when it says anything else, ``jsonschema`` decides and explains::

    check = compile_check(schema)           # None: the schema uses something not covered here
    if not (check and check(data)) and not validator.is_valid(data):
        ... report best_match(validator.iter_errors(data)) ...

The one rule: ``check(x)`` is True only when ``jsonschema`` finds ``x`` valid. It may be stricter
(then ``jsonschema`` is asked), never looser. So it covers exactly the keywords below, with
``jsonschema``'s own semantics (an integer may be ``1.0``, ``True`` is not a number, an array is a
``list`` and an object a ``dict``), and refuses to compile a schema holding any other keyword,
a remote ``$ref``, or a draft older than 6. ``format`` is asked of ``jsonschema``'s own format
checker for the schema's draft, the one :func:`~.schemas.compile_schema` uses.
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping
from typing import Any, Callable, Optional

__all__ = ["compile_check"]

Check = Callable[[Any], bool]

_DRAFTS = {
    None,
    "https://json-schema.org/draft/2020-12/schema",
    "https://json-schema.org/draft/2019-09/schema",
    "http://json-schema.org/draft-07/schema#",
    "http://json-schema.org/draft-07/schema",
    "http://json-schema.org/draft-06/schema#",
    "http://json-schema.org/draft-06/schema",
}
# Drafts where "$ref" is applied together with its sibling keywords (before 2019-09 it replaced them).
_REF_WITH_SIBLINGS = {
    None,
    "https://json-schema.org/draft/2020-12/schema",
    "https://json-schema.org/draft/2019-09/schema",
}
# Keywords that never make an instance invalid.
_ANNOTATIONS = frozenset(
    {
        "$schema", "$id", "$comment", "$defs", "definitions", "title", "description",
        "examples", "default", "deprecated", "readOnly", "writeOnly",
        "contentMediaType", "contentEncoding", "contentSchema",
    }
)  # fmt: skip
# Keywords whose checks give exactly jsonschema's answer, never a stricter one. Only these may
# stand under "not" or "oneOf": negating a check that is merely stricter would make it looser
# (an IntEnum member under {"not": {"enum": [1]}} was let through before this rule).
_EXACT = frozenset(
    {
        "type", "required", "minLength", "maxLength", "pattern", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum",
    }
)  # fmt: skip
_SUPPORTED = frozenset(
    {
        "type", "enum", "const", "properties", "required", "additionalProperties", "items",
        "minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum",
        "exclusiveMinimum", "exclusiveMaximum", "pattern", "anyOf", "oneOf", "allOf", "not",
        "$ref", "minProperties", "maxProperties", "format",
    }
)  # fmt: skip


class _Unsupported(Exception):
    """The schema uses something this module does not cover: use jsonschema alone."""


def _is_number(x: Any) -> bool:
    return isinstance(x, numbers.Number) and not isinstance(x, bool)


def _is_integer(x: Any) -> bool:
    if isinstance(x, bool):
        return False
    if isinstance(x, float):
        return x.is_integer()
    return isinstance(x, int)


# Written exactly as jsonschema tests them ("error if x < minimum"), so that NaN and other odd
# numbers get jsonschema's answer: these checks may stand under "not" and "oneOf".
_BOUND: dict[str, Callable[[Any], Check]] = {
    "minimum": lambda v: lambda x: not x < v,
    "maximum": lambda v: lambda x: not x > v,
    "exclusiveMinimum": lambda v: lambda x: not x <= v,
    "exclusiveMaximum": lambda v: lambda x: not x >= v,
}

_TYPES: dict[str, Check] = {
    "null": lambda x: x is None,
    "boolean": lambda x: isinstance(x, bool),
    "integer": _is_integer,
    "number": _is_number,
    "string": lambda x: isinstance(x, str),
    "array": lambda x: isinstance(x, list),
    "object": lambda x: isinstance(x, dict),
}


def compile_check(schema: object) -> Optional[Check]:
    """``check(instance) -> bool`` for ``schema``, or ``None`` if the schema is not covered."""
    if isinstance(schema, bool):
        return (lambda x: True) if schema else (lambda x: False)
    if not isinstance(schema, Mapping):
        return None
    draft = schema.get("$schema")
    if draft not in _DRAFTS:
        return None
    try:
        return _Compiler(schema, draft in _REF_WITH_SIBLINGS).compile(schema, root=True)
    except (_Unsupported, re.error, TypeError, ValueError, KeyError, IndexError):
        return None


class _Compiler:
    def __init__(self, root: Mapping[str, Any], ref_with_siblings: bool) -> None:
        self.root = root
        self.ref_with_siblings = ref_with_siblings
        self.refs: dict[str, list[Check]] = {}  # pointer -> a cell, filled once compiled

    def compile(self, schema: object, *, root: bool = False) -> Check:
        if isinstance(schema, bool):
            return (lambda x: True) if schema else (lambda x: False)
        if not isinstance(schema, Mapping):
            raise _Unsupported
        for key in schema:
            if key not in _SUPPORTED and key not in _ANNOTATIONS:
                raise _Unsupported(key)
        if not root and "$id" in schema:
            raise _Unsupported("$id")  # a new base URI for the $refs below it
        if "$ref" in schema and not self.ref_with_siblings and len(schema) > 1:
            raise _Unsupported("$ref with siblings")
        for key in (
            "minItems",
            "maxItems",
            "minLength",
            "maxLength",
            "minProperties",
            "maxProperties",
        ):
            value = schema.get(key, 0)
            if isinstance(value, bool) or not isinstance(value, int):
                raise _Unsupported(key)
        checks: list[Check] = []
        built: set[Any] = set()  # properties, required and additionalProperties: one check
        for key, build in _BUILDERS:
            if key in schema and build not in built:
                built.add(build)
                checks.append(build(self, schema))
        if not checks:
            return lambda x: True
        if len(checks) == 1:
            return checks[0]
        if len(checks) == 2:
            first, second = checks
            return lambda x: first(x) and second(x)
        all_checks = tuple(checks)
        return lambda x: all(check(x) for check in all_checks)

    # -- keywords --------------------------------------------------------------------------------

    def type_(self, schema: Mapping[str, Any]) -> Check:
        names = schema["type"]
        if isinstance(names, str):
            return _TYPES[names]
        tests = tuple(_TYPES[name] for name in names)
        return lambda x: any(test(x) for test in tests)

    def enum(self, schema: Mapping[str, Any]) -> Check:
        return self._one_of_values(list(schema["enum"]))

    def const(self, schema: Mapping[str, Any]) -> Check:
        return self._one_of_values([schema["const"]])

    @staticmethod
    def _one_of_values(values: list[Any]) -> Check:
        # jsonschema's equality tells True from 1 and 1 from "1"; we cover strings, and numbers
        # compared as plain int/float (stricter for other number types: jsonschema decides).
        if all(isinstance(v, str) for v in values):
            strings = frozenset(values)
            return lambda x: isinstance(x, str) and x in strings
        if all(type(v) in (int, float) for v in values):
            nums = tuple(values)
            return lambda x: type(x) in (int, float) and any(x == v for v in nums)
        raise _Unsupported("enum")

    def object_(self, schema: Mapping[str, Any]) -> Check:
        props = schema.get("properties", {})
        if not isinstance(props, Mapping):
            raise _Unsupported("properties")
        compiled = tuple((name, self.compile(sub)) for name, sub in props.items())
        required = tuple(schema.get("required", ()))
        if not all(isinstance(name, str) for name in required):
            raise _Unsupported("required")
        extra = schema.get("additionalProperties", True)
        known = frozenset(props)
        extra_check: Optional[Check] = None if extra is True else self.compile(extra)

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            for name in required:
                if name not in x:
                    return False
            for name, sub in compiled:
                if name in x and not sub(x[name]):
                    return False
            if extra_check is not None:
                for name, value in x.items():
                    if name not in known and not extra_check(value):
                        return False
            return True

        return check

    def object_size(self, schema: Mapping[str, Any]) -> Check:
        low = schema.get("minProperties", 0)
        high = schema.get("maxProperties")

        def check(x: Any) -> bool:
            if not isinstance(x, dict):
                return True
            return len(x) >= low and (high is None or len(x) <= high)

        return check

    def format_(self, schema: Mapping[str, Any]) -> Check:
        # jsonschema's own format checker for this draft: the same answer, by construction.
        name = schema["format"]
        if not isinstance(name, str):
            raise _Unsupported("format")
        from jsonschema import Draft202012Validator
        from jsonschema.validators import validator_for

        checker = validator_for(self.root, default=Draft202012Validator).FORMAT_CHECKER
        return lambda x: checker.conforms(x, name)

    def array(self, schema: Mapping[str, Any]) -> Check:
        items = schema.get("items", True)
        if isinstance(items, list):
            raise _Unsupported("items as a list")
        item = None if items is True else self.compile(items)
        low = schema.get("minItems", 0)
        high = schema.get("maxItems")

        def check(x: Any) -> bool:
            if not isinstance(x, list):
                return True
            if len(x) < low or (high is not None and len(x) > high):
                return False
            return item is None or all(item(v) for v in x)

        return check

    def string(self, schema: Mapping[str, Any]) -> Check:
        low = schema.get("minLength", 0)
        high = schema.get("maxLength")
        pattern = re.compile(schema["pattern"]) if "pattern" in schema else None

        def check(x: Any) -> bool:
            if not isinstance(x, str):
                return True
            if len(x) < low or (high is not None and len(x) > high):
                return False
            return pattern is None or pattern.search(x) is not None

        return check

    def number(self, schema: Mapping[str, Any]) -> Check:
        bounds = []
        for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
            if key in schema:
                value = schema[key]
                if not _is_number(value):
                    raise _Unsupported(key)  # draft 4's boolean exclusive bounds
                bounds.append((key, value))
        tests: list[Check] = []
        for key, value in bounds:
            tests.append(_BOUND[key](value))
        all_tests = tuple(tests)
        return lambda x: not _is_number(x) or all(test(x) for test in all_tests)

    def any_of(self, schema: Mapping[str, Any]) -> Check:
        subs = tuple(self.compile(s) for s in schema["anyOf"])
        return lambda x: any(sub(x) for sub in subs)

    def one_of(self, schema: Mapping[str, Any]) -> Check:
        subs = tuple(self.compile_exact(s) for s in schema["oneOf"])
        return lambda x: sum(1 for sub in subs if sub(x)) == 1

    def all_of(self, schema: Mapping[str, Any]) -> Check:
        subs = tuple(self.compile(s) for s in schema["allOf"])
        return lambda x: all(sub(x) for sub in subs)

    def compile_exact(self, schema: object) -> Check:
        """Compile ``schema`` for use under ``not``/``oneOf``: only exact keywords allowed."""
        if isinstance(schema, Mapping):
            for key in schema:
                if key not in _EXACT and key not in _ANNOTATIONS:
                    raise _Unsupported(f"{key} under not/oneOf")
        return self.compile(schema)

    def not_(self, schema: Mapping[str, Any]) -> Check:
        sub = self.compile_exact(schema["not"])
        return lambda x: not sub(x)

    def ref(self, schema: Mapping[str, Any]) -> Check:
        pointer = schema["$ref"]
        if not isinstance(pointer, str) or not (pointer == "#" or pointer.startswith("#/")):
            raise _Unsupported("$ref")  # remote, or an anchor
        cell = self.refs.get(pointer)
        if cell is None:
            cell = []
            self.refs[pointer] = cell
            cell.append(self.compile(_resolve(self.root, pointer), root=pointer == "#"))
        # Through the cell: a schema that refers to itself is compiled once.
        return lambda x: cell[0](x)


def _resolve(root: Mapping[str, Any], pointer: str) -> Any:
    node: Any = root
    for part in pointer[2:].split("/") if pointer != "#" else ():
        part = part.replace("~1", "/").replace("~0", "~")
        if "%" in part:
            raise _Unsupported("percent-encoded $ref")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


_BUILDERS: tuple[tuple[str, Callable[[_Compiler, Mapping[str, Any]], Check]], ...] = (
    ("type", _Compiler.type_),
    ("enum", _Compiler.enum),
    ("const", _Compiler.const),
    ("properties", _Compiler.object_),
    ("required", _Compiler.object_),
    ("additionalProperties", _Compiler.object_),
    ("items", _Compiler.array),
    ("minItems", _Compiler.array),
    ("maxItems", _Compiler.array),
    ("minLength", _Compiler.string),
    ("maxLength", _Compiler.string),
    ("pattern", _Compiler.string),
    ("minimum", _Compiler.number),
    ("maximum", _Compiler.number),
    ("exclusiveMinimum", _Compiler.number),
    ("exclusiveMaximum", _Compiler.number),
    ("anyOf", _Compiler.any_of),
    ("oneOf", _Compiler.one_of),
    ("allOf", _Compiler.all_of),
    ("not", _Compiler.not_),
    ("$ref", _Compiler.ref),
    ("minProperties", _Compiler.object_size),
    ("maxProperties", _Compiler.object_size),
    ("format", _Compiler.format_),
)
