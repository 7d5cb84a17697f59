"""The common part of Mixpanel's segmentation expressions, for engage ``where`` and JQL selectors.

Emulated (anything else is a ``ValueError`` the caller answers 400 "not emulated")::

    properties["plan"] == "pro"          equality, inequality: == !=
    properties["age"] >= 30              comparison: < <= > >=
    defined(properties["email"])         a property is set; not defined(...) it is not
    not (...)  (... and ...)  (... or ...)

``user["x"]`` is read as ``properties["x"]``. Literals are strings ("..." or '...'), numbers,
``true``, ``false`` and ``null``. Comparisons between a number and a string are false, as
Mixpanel's are.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Callable

from .tokens import Tokens

__all__ = ["Predicate", "parse_where"]

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>-?\d+(?:\.\d+)?)
      | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\])
      | (?P<word>[A-Za-z_$][A-Za-z0-9_$]*)
    )""",
    re.VERBOSE,
)


def _equal(a: Any, b: Any) -> bool:
    # true is not 1 in Mixpanel's expressions, as it is in Python.
    return a == b and isinstance(a, bool) == isinstance(b, bool)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": _equal,
    "!=": lambda a, b: not _equal(a, b),
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}
_LITERALS = {"true": True, "false": False, "null": None}
_HINT = (
    "the sandbox emulates property equality and comparison, defined(), not, and, or "
    "(see docs/sandbox.md)"
)


class _Parser(Tokens):
    def __init__(self, text: str) -> None:
        super().__init__(_TOKEN, text, language="'where'", hint=_HINT)
        self.depth = 0

    def expression(self) -> Predicate:
        left = self.conjunction()
        while self.peek() == "or":
            self.take()
            right = self.conjunction()
            left = _either(left, right)
        return left

    def conjunction(self) -> Predicate:
        left = self.unary()
        while self.peek() == "and":
            self.take()
            right = self.unary()
            left = _both(left, right)
        return left

    def unary(self) -> Predicate:
        self.depth += 1
        if self.depth > 64:
            raise ValueError("'where' nests deeper than the sandbox reads (64 levels)")
        try:
            return self._unary()
        finally:
            self.depth -= 1

    def _unary(self) -> Predicate:
        if self.peek() == "not":
            self.take()
            inner = self.unary()
            return lambda props: not inner(props)
        if self.peek() == "(":
            self.take("(")
            inner = self.expression()
            self.take(")")
            return inner
        if self.peek() == "defined":
            self.take()
            self.take("(")
            name = self.property()
            self.take(")")
            return lambda props: name in props
        return self.comparison()

    def property(self) -> str:
        kind, word = self.take()
        if kind != "word" or word not in ("properties", "user"):
            raise ValueError(f"'where' is not emulated for {word!r}: {_HINT}")
        self.take("[")
        kind, quoted = self.take()
        if kind != "string":
            raise ValueError(f"'where' expects a quoted property name, got {quoted!r}")
        self.take("]")
        return _unquote(quoted)

    def literal(self) -> Any:
        kind, text = self.take()
        if kind == "string":
            return _unquote(text)
        if kind == "number":
            return float(text) if "." in text else int(text)
        if kind == "word" and text in _LITERALS:
            return _LITERALS[text]
        raise ValueError(f"'where' is not emulated for {text!r}: {_HINT}")

    def comparison(self) -> Predicate:
        name = self.property()
        _kind, op = self.take()
        if op not in _COMPARE:
            raise ValueError(f"'where' is not emulated for operator {op!r}: {_HINT}")
        value = self.literal()
        compare = _COMPARE[op]

        def check(props: Mapping[str, Any]) -> bool:
            current = props.get(name)
            if op in ("==", "!="):
                return compare(current, value)
            if not _comparable(current, value):
                return False
            return compare(current, value)

        return check


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda props: a(props) and b(props)


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda props: a(props) or b(props)


def _comparable(a: Any, b: Any) -> bool:
    numbers = (int, float)
    if isinstance(a, bool) or isinstance(b, bool):
        return False
    return (isinstance(a, numbers) and isinstance(b, numbers)) or (
        isinstance(a, str) and isinstance(b, str)
    )


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", r"\1", body)


def parse_where(text: str) -> Predicate:
    """A predicate over a profile's properties; ``ValueError`` says what is not emulated."""
    if len(text) > 10_000:
        raise ValueError("'where' is longer than the sandbox reads (10000 characters)")
    parser = _Parser(text)
    if not parser.items:
        raise ValueError("'where' is empty")
    predicate = parser.expression()
    if parser.at != len(parser.items):
        raise ValueError(f"'where' is not emulated after {parser.peek()!r}: {_HINT}")
    return predicate
