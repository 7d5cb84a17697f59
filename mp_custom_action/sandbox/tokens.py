"""A token cursor for the small expression languages the sandbox reads (``where``, a JQL subset).

Both languages are read the same way: split the text by one regular expression whose named groups
are the token kinds, then walk it with ``peek`` and ``take``. What is not understood is a
``ValueError`` whose message names the language and what the sandbox emulates instead.
"""

from __future__ import annotations

import re

__all__ = ["Tokens"]


class Tokens:
    """The tokens of ``text`` (``(kind, text)`` pairs) and a position among them."""

    def __init__(self, pattern: re.Pattern[str], text: str, *, language: str, hint: str) -> None:
        self.language = language
        self.hint = hint
        self.items = self._split(pattern, text.rstrip())
        self.at = 0

    def _split(self, pattern: re.Pattern[str], text: str) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        position = 0
        while position < len(text):
            match = pattern.match(text, position)
            if match is None or match.end() == position:
                where = text[position : position + 30]
                raise ValueError(f"{self.language} is not emulated at {where!r}: {self.hint}")
            kind = match.lastgroup or ""
            found.append((kind, match.group(kind)))
            position = match.end()
        return found

    def peek(self) -> str:
        return self.items[self.at][1] if self.at < len(self.items) else ""

    def take(self, expected: str = "") -> tuple[str, str]:
        if self.at >= len(self.items):
            raise ValueError(f"{self.language} ends too early: {self.hint}")
        item = self.items[self.at]
        if expected and item[1] != expected:
            raise ValueError(
                f"{self.language} is not emulated: expected {expected!r}, got {item[1]!r}: "
                f"{self.hint}"
            )
        self.at += 1
        return item
