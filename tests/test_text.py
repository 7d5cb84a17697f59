"""_text: the text helpers every wing uses."""

from __future__ import annotations

from mp_custom_action import _text
from mp_custom_action.core.credentials import Secret
from mp_custom_action.errors import InputError


def test_one_line_escapes_what_could_forge_a_second_line() -> None:
    assert _text.one_line("a\nb\x1fc\u2028d") == "a\\nb\\x1fc\\u2028d"
    assert _text.one_line("plain text") == "plain text"


def test_every_error_message_is_one_line() -> None:
    assert str(InputError("bad\nvalue", field="x")) == "x: bad\\nvalue"


def test_shorten_and_first_line() -> None:
    assert _text.shorten("x" * 10, 8) == "xxxxx..."
    assert _text.shorten("short", 8) == "short"
    assert _text.first_line("a\n  b\tc") == "a b c"
    assert len(_text.first_line("y" * 500)) == 300


def test_one_redaction_marker() -> None:
    assert repr(Secret("value")) == f"Secret({_text.REDACTED})"
    assert str(Secret("value")) == _text.REDACTED
