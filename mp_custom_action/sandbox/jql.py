"""A small documented subset of JQL (``POST /api/2.0/jql``, ``/api/query/jql``), run on stored data.

Emulated: one ``function main() { return SOURCE CHAIN; }`` where SOURCE is

* ``Events({from_date: ..., to_date: ..., event_selectors: [{event: "Name"}, ...]})``
* ``People()`` or ``People({user_selectors: [{selector: '<where expression>'}, ...]})``

and CHAIN is zero or more of ``.groupBy([KEYS], mixpanel.reducer.count())`` (KEYS are quoted
paths: ``"name"``, ``"distinct_id"``, ``"properties.plan"``) and
``.reduce(mixpanel.reducer.count())``. Values may be literals, ``params.NAME`` (the ``params``
form field, JSON) or ``params`` itself (``Events(params)``). Anything else, and any JavaScript
function, is a 400 that says it is not emulated: the sandbox does not run JavaScript.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from typing import Any

from .dates import day_of, parse_range
from .state import Data, event_seconds
from .tokens import Tokens
from .where import parse_where

__all__ = ["run_jql"]

_MAIN = re.compile(r"^\s*function\s+main\s*\(\s*\)\s*\{\s*return\s+(?P<body>.*?);?\s*\}\s*$", re.S)
_TOKEN = re.compile(
    r"""\s*(?:(?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')|(?P<number>-?\d+(?:\.\d+)?)
    |(?P<word>[A-Za-z_$][A-Za-z0-9_$]*)|(?P<punct>[{}\[\]():,.]))""",
    re.VERBOSE,
)
_HINT = "the sandbox emulates the JQL subset in docs/sandbox.md"


class _Reader(Tokens):
    def __init__(self, text: str, params: dict[str, Any]) -> None:
        super().__init__(_TOKEN, text, language="JQL", hint=_HINT)
        self.params = params

    def value(self, depth: int = 0) -> Any:
        if depth > 32:
            raise ValueError("JQL value nests deeper than the sandbox reads (32 levels)")
        kind, text = self.take()
        if kind == "string":
            return re.sub(r"\\(.)", r"\1", text[1:-1])
        if kind == "number":
            return float(text) if "." in text else int(text)
        if text in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[text]
        if text == "params":
            if self.peek() != ".":
                return self.params  # Events(params): the whole object
            self.take(".")
            return self.params.get(self.take()[1])
        if text == "[":
            items = []
            while self.peek() != "]":
                items.append(self.value(depth + 1))
                if self.peek() == ",":
                    self.take(",")
            self.take("]")
            return items
        if text == "{":
            return self._object(depth)
        raise ValueError(f"JQL not emulated for {text!r}: {_HINT}")

    def _object(self, depth: int) -> dict[str, Any]:
        found: dict[str, Any] = {}
        while self.peek() != "}":
            kind, key = self.take()
            if kind not in ("word", "string"):
                raise ValueError(f"JQL not emulated: object key {key!r}")
            self.take(":")
            found[key.strip("'\"")] = self.value(depth + 1)
            if self.peek() == ",":
                self.take(",")
        self.take("}")
        return found

    def count_reducer(self) -> None:
        for part in ("mixpanel", ".", "reducer", ".", "count", "(", ")"):
            self.take(part)


def run_jql(script: str, params_text: str, data: Data) -> list[Any]:
    """The script's result; ``ValueError`` says what is not emulated (the caller answers 400)."""
    match = _MAIN.match(script or "")
    if match is None:
        raise ValueError(f"JQL not emulated: expected 'function main() {{ return ...; }}': {_HINT}")
    try:
        params = json.loads(params_text) if params_text else {}
    except ValueError:
        raise ValueError("'params' must be a JSON object") from None
    if not isinstance(params, dict):
        raise ValueError("'params' must be a JSON object")
    reader = _Reader(match.group("body"), params)
    source = reader.take()[1]
    reader.take("(")
    options = reader.value() if reader.peek() != ")" else {}
    reader.take(")")
    if not isinstance(options, dict):
        raise ValueError("JQL: the source takes an object of options")
    if source == "Events":
        rows = _events(options, data)
    elif source == "People":
        rows = _people(options, data)
    else:
        raise ValueError(f"JQL not emulated for {source!r}: Events() and People() are")
    while reader.peek() == ".":
        reader.take(".")
        rows = _step(reader, rows)
    if reader.at != len(reader.items):
        raise ValueError(f"JQL not emulated after {reader.peek()!r}: {_HINT}")
    return rows


def _step(reader: _Reader, rows: list[Any]) -> list[Any]:
    name = reader.take()[1]
    reader.take("(")
    if name == "groupBy":
        keys = reader.value()
        if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
            raise ValueError("JQL groupBy: the sandbox takes a list of quoted property paths")
        reader.take(",")
        reader.count_reducer()
        reader.take(")")
        counts = Counter(json.dumps([_path(row, k) for k in keys]) for row in rows)
        return [{"key": json.loads(k), "value": v} for k, v in sorted(counts.items())]
    if name == "reduce":
        reader.count_reducer()
        reader.take(")")
        return [len(rows)]
    raise ValueError(f"JQL not emulated for .{name}(): groupBy and reduce with count are")


def _path(row: Any, path: str) -> Any:
    value = row
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _events(options: dict[str, Any], data: Data) -> list[Any]:
    start, end = parse_range(options.get("from_date"), options.get("to_date"))
    selectors = options.get("event_selectors") or []
    if not isinstance(selectors, list):
        raise ValueError("JQL: event_selectors must be a list")
    names = set()
    for selector in selectors:
        if not isinstance(selector, dict) or set(selector) - {"event"}:
            raise ValueError("JQL not emulated: event_selectors take only {event: NAME}")
        names.add(selector.get("event"))
    rows = []
    for event in data.events:
        if names and event.get("event") not in names:
            continue
        seconds = event_seconds(event)
        day = day_of(seconds)
        if day is None or not start <= day <= end:
            continue
        props = dict(event.get("properties") or {})
        rows.append(
            {
                "name": event.get("event"),
                "distinct_id": props.get("distinct_id"),
                "time": round((seconds or 0) * 1000),
                "sampling_factor": 1,
                "properties": props,
            }
        )
    return rows


def _people(options: dict[str, Any], data: Data) -> list[Any]:
    selectors = options.get("user_selectors") or []
    if not isinstance(selectors, list):
        raise ValueError("JQL: user_selectors must be a list")
    tests = []
    for selector in selectors:
        if not isinstance(selector, dict) or set(selector) - {"selector"}:
            raise ValueError("JQL not emulated: user_selectors take only {selector: EXPRESSION}")
        tests.append(parse_where(str(selector.get("selector", ""))))
    now = int(time.time() * 1000)
    return [
        {"distinct_id": key, "time": now, "last_seen": now, "properties": dict(props)}
        for key, props in sorted(data.profiles.items())
        if not tests or any(test(props) for test in tests)
    ]
