"""Text helpers every wing uses: one-line messages, short quotes, the redaction marker.

Nothing here imports the package, so errors, settings and every wing may use it.
"""

from __future__ import annotations

__all__ = ["PROG", "REDACTED", "first_line", "one_line", "shorten"]

#: The program's name, as messages on stderr begin.
PROG = "mp-custom-action"

#: What is shown in place of a credential or a secret value.
REDACTED = "***"


def one_line(text: str) -> str:
    """``text`` with each control or line-separator character escaped (``\\n``, ``\\x1f``)."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


def shorten(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters with ``...``: how messages quote what they were given."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def first_line(text: str, limit: int = 300) -> str:
    """``text`` folded into one line of at most ``limit`` characters (for text we did not write)."""
    return shorten(" ".join(text.split()), limit)
