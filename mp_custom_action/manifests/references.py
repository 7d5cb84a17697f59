"""Manifest references: ``${steps.NAME.PATH}`` and ``${env.NAME}`` in string values, read as data.

A string that is exactly one reference becomes the referenced value with its type (an integer
stays an integer); a reference inside a longer string is written in as text; ``$${`` is a literal
``${``. References are looked up, never evaluated: there is no expression language to exploit.
Only string values are read: object keys are always literal.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Callable, Optional, Union

from ..errors import ManifestError

__all__ = ["RESULT_FIELDS", "Ref", "Template", "find_refs", "parse", "substitute", "walk_result"]

#: What ``${steps.NAME.X}`` may start with.
RESULT_FIELDS = ("status_code", "headers", "body")

# "$${" (a literal), "${...}" (a reference), or a "${" that never closes (an error).
_TOKEN = re.compile(r"\$\$\{|\$\{([^{}]*)\}|\$\{")
_STEP_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Ref:
    """One reference: ``env`` with ``name``, or ``steps`` with ``name`` and a ``path``."""

    kind: str
    name: str
    path: tuple[str, ...]
    text: str


@dataclass(frozen=True)
class Template:
    """A string value split into literal text and references."""

    parts: tuple[Union[str, Ref], ...]

    @property
    def whole(self) -> Optional[Ref]:
        """The reference when the string is exactly one reference (the value keeps its type)."""
        if len(self.parts) == 1 and isinstance(self.parts[0], Ref):
            return self.parts[0]
        return None

    @property
    def refs(self) -> list[Ref]:
        return [p for p in self.parts if isinstance(p, Ref)]


def parse(text: str, *, field: str) -> Optional[Template]:
    """Split ``text`` into a :class:`Template`; ``None`` when it holds no ``${`` at all."""
    if "${" not in text:
        return None
    parts: list[Union[str, Ref]] = []
    literal: list[str] = []
    pos = 0
    for match in _TOKEN.finditer(text):
        literal.append(text[pos : match.start()])
        pos = match.end()
        found = match.group(0)
        if found == "$${":
            literal.append("${")
            continue
        if found == "${":
            raise ManifestError(
                f"{text!r} has a '${{' that is not closed by '}}' (write '$${{' for a literal '${{')",
                field=field,
            )
        if "".join(literal):
            parts.append("".join(literal))
        literal = []
        parts.append(_parse_ref(match.group(1), found, field))
    literal.append(text[pos:])
    if "".join(literal):
        parts.append("".join(literal))
    return Template(tuple(parts))


def _parse_ref(body: str, text: str, field: str) -> Ref:
    segments = body.strip().split(".")
    hint = "expected ${steps.NAME.status_code|headers|body[.KEY...]} or ${env.NAME}"
    if segments[0] == "env":
        if len(segments) != 2 or not _ENV_NAME.match(segments[1]):
            raise ManifestError(f"{text} is not a valid reference; {hint}", field=field)
        return Ref("env", segments[1], (), text)
    if segments[0] != "steps" or len(segments) < 3 or not _STEP_NAME.match(segments[1]):
        raise ManifestError(f"{text} is not a valid reference; {hint}", field=field)
    path = tuple(segments[2:])
    if path[0] not in RESULT_FIELDS or any(not s for s in path):
        raise ManifestError(f"{text} is not a valid reference; {hint}", field=field)
    if path[0] == "status_code" and len(path) > 1:
        raise ManifestError(f"{text}: status_code is a number and has no keys", field=field)
    return Ref("steps", segments[1], path, text)


def find_refs(value: Any, *, field: str) -> list[tuple[str, Ref]]:
    """Every reference in ``value`` with the JSON path of the string holding it (checks syntax)."""
    found: list[tuple[str, Ref]] = []
    _find(value, field, found)
    return found


def _find(value: Any, field: str, found: list[tuple[str, Ref]]) -> None:
    if isinstance(value, str):
        template = parse(value, field=field)
        if template is not None:
            found.extend((field, ref) for ref in template.refs)
    elif isinstance(value, Mapping):
        for key, item in value.items():
            _find(item, f"{field}.{key}", found)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _find(item, f"{field}[{i}]", found)


Resolver = Callable[[Ref, str], Any]


def substitute(value: Any, resolve: Resolver, *, field: str) -> Any:
    """``value`` with every reference replaced by ``resolve(ref, field)``.

    Containers without references are returned as they are, not copied: a large body that holds
    no reference costs one walk and no allocation.
    """
    if isinstance(value, str):
        template = parse(value, field=field)
        if template is None:
            return value
        whole = template.whole
        if whole is not None:
            return resolve(whole, field)
        return "".join(
            p if isinstance(p, str) else as_text(resolve(p, field)) for p in template.parts
        )
    if isinstance(value, Mapping):
        out_map: Optional[dict[str, Any]] = None
        for key, item in value.items():
            new = substitute(item, resolve, field=f"{field}.{key}")
            if new is not item and out_map is None:
                out_map = dict(value)
            if out_map is not None:
                out_map[key] = new
        return value if out_map is None else out_map
    if isinstance(value, list):
        out_list: Optional[list[Any]] = None
        for i, item in enumerate(value):
            new = substitute(item, resolve, field=f"{field}[{i}]")
            if new is not item and out_list is None:
                out_list = list(value)
            if out_list is not None:
                out_list[i] = new
        return value if out_list is None else out_list
    return value


def as_text(value: Any) -> str:
    """How a referenced value reads inside a longer string: strings as they are, the rest as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def walk_result(result: Mapping[str, Any], ref: Ref, *, field: str) -> Any:
    """Follow ``ref.path`` through one step's result (``status_code``, ``headers``, ``body``)."""
    value: Any = result
    walked = f"steps.{ref.name}"
    for i, key in enumerate(ref.path):
        if isinstance(value, Mapping):
            if key in value:
                value = value[key]
            elif i == 1 and ref.path[0] == "headers":
                # Header names are case-insensitive on the wire, so they are here too.
                lowered = {str(k).lower(): v for k, v in value.items()}
                if key.lower() not in lowered:
                    raise ManifestError(f"{ref.text}: {walked} has no header {key!r}", field=field)
                value = lowered[key.lower()]
            else:
                raise ManifestError(f"{ref.text}: {walked} has no key {key!r}", field=field)
        elif isinstance(value, list):
            if not key.isdigit():
                raise ManifestError(
                    f"{ref.text}: {walked} is a list; expected an index, got {key!r}", field=field
                )
            if int(key) >= len(value):
                raise ManifestError(
                    f"{ref.text}: {walked} has {len(value)} item(s), no index {key}", field=field
                )
            value = value[int(key)]
        else:
            kind = "null" if value is None else type(value).__name__
            raise ManifestError(
                f"{ref.text}: {walked} is {kind}, not an object or list", field=field
            )
        walked = f"{walked}.{key}"
    return value
