"""JSON for import records: parsing one line or a whole chunk of lines, and writing one back.

orjson where the ``fast`` extra installs it, else the standard library's C scanner called
directly (no whitespace pass, no wrapper). Both refuse what is not JSON (``NaN`` and
``Infinity`` included) with a ``ValueError``, and both refuse a record nested more than
:data:`MAX_NESTING` deep, counted the same way whichever parses and from whatever depth of the
call stack, so the two reading loops (and the two installs) reject the same records, and any
record taken can be written back by either writer.
"""

from __future__ import annotations

import json
import re
from operator import itemgetter
from typing import Any, Callable, Optional

__all__ = [
    "MAX_NESTING",
    "WRITER",
    "Dumps",
    "Loads",
    "LoadsAll",
    "check_nesting",
    "default_dumps",
    "default_loaders",
    "exact_for_writing",
    "std_dumps",
    "std_loads",
    "std_loads_all",
]

Loads = Callable[[bytes], Any]
Dumps = Callable[[Any], bytes]
#: Every line of a chunk parsed, or ``None`` when any of them is not JSON (then ask line by line).
LoadsAll = Callable[[list[bytes]], Optional[list[Any]]]

#: Deeper than this a record is refused: within both parsers' limits (orjson's 1,024, the
#: interpreter's recursion limit for the standard library's) and both writers'.
MAX_NESTING = 500
_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.DOTALL).finditer


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


DECODER = json.JSONDecoder(parse_constant=_no_constant)
_SCAN = DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner where there is one
_VALUE, _END = itemgetter(0), itemgetter(1)


#: Each level of nesting takes two bytes, so a shorter line cannot nest past the limit.
_SHALLOW = 2 * MAX_NESTING + 2


def _may_be_deep(data: bytes) -> bool:
    """Whether ``data`` is long enough, and holds brackets enough, to nest past the limit."""
    return len(data) >= _SHALLOW and data.count(b"[") + data.count(b"{") > MAX_NESTING


def _some_line_may_be_deep(raws: list[bytes]) -> bool:
    """:func:`_may_be_deep` for any of ``raws``; one pass of ``len`` in C when all are short."""
    if max(map(len, raws)) < _SHALLOW:
        return False
    return any(_may_be_deep(raw) for raw in raws)


def check_nesting(data: bytes) -> None:
    """A ``ValueError`` if the JSON text ``data`` nests arrays and objects past the limit."""
    if not _may_be_deep(data):
        return
    depth = 0
    for token in _TOKENS(data):
        char = token.group()[:1]
        if char in (b"[", b"{"):
            depth += 1
            if depth > MAX_NESTING:
                raise ValueError(f"nested more than {MAX_NESTING} levels deep")
        elif char in (b"]", b"}"):
            depth -= 1


def std_loads(data: bytes) -> Any:
    """One JSON value that fills ``data`` (already stripped), as ``json.loads`` would read it."""
    check_nesting(data)
    text = data.decode("utf-8")
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("Expecting value at the start") from None
    except RecursionError:  # only when called from deep in the stack already
        raise ValueError(f"nested more than {MAX_NESTING} levels deep") from None
    if end != len(text):
        raise ValueError(f"Extra data after column {end}")
    return value


def std_loads_all(raws: list[bytes]) -> Optional[list[Any]]:
    """:func:`std_loads` of each of ``raws`` (stripped lines, none holding a newline), with one
    decode for the chunk and the scanner mapped over it in C."""
    if _some_line_may_be_deep(raws):
        return None  # line by line, where the nesting is measured
    try:
        texts = b"\n".join(raws).decode("utf-8").split("\n")
        # The scanner raises StopIteration for a line with no value, which ends map() early
        # rather than propagating: a short answer means some line is not JSON.
        scanned = list(map(_SCAN, texts, [0] * len(texts)))
    except (ValueError, RecursionError):
        return None
    if len(scanned) != len(texts) or list(map(_END, scanned)) != list(map(len, texts)):
        return None
    return list(map(_VALUE, scanned))


def _orjson_loaders(fast: Loads) -> tuple[Loads, LoadsAll]:
    def loads(data: bytes) -> Any:
        check_nesting(data)
        return fast(data)

    def loads_all(raws: list[bytes]) -> Optional[list[Any]]:
        if _some_line_may_be_deep(raws):
            return None
        try:
            return list(map(fast, raws))
        except ValueError:  # orjson.JSONDecodeError, for a bad line or a blank one
            return None

    return loads, loads_all


def _find_orjson() -> Any:
    """The orjson module where the ``fast`` extra installed it, else ``None`` (looked up once, so
    the parser, the writer and :data:`WRITER` always agree)."""
    try:
        import orjson
    except ImportError:
        return None
    return orjson


_ORJSON = _find_orjson()
#: Which library writes records back here. The bytes differ (UTF-8 or ``\u`` escapes), so the
#: size of a batch, and where batches are cut, depend on it: a checkpoint records it.
WRITER = "json" if _ORJSON is None else "orjson"


def default_loaders() -> tuple[Loads, LoadsAll]:
    """orjson's when the ``fast`` extra is installed, else the standard library's: a line's
    parser and a chunk's."""
    if _ORJSON is None:
        return std_loads, std_loads_all
    return _orjson_loaders(_ORJSON.loads)


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps builds one a call


def std_dumps(value: Any) -> bytes:
    """``value`` as compact JSON (ASCII, ``\\u`` escapes), the standard library's way."""
    return _ENCODER.encode(value).encode("ascii")


def default_dumps() -> Dumps:
    """orjson's ``dumps`` (compact, UTF-8) when installed, else :func:`std_dumps`. What orjson
    will not write (an integer past 64 bits, a lone surrogate from a ``\\ud800`` escape, nesting
    past its 254 levels) goes to the standard library, which writes anything a parse gave."""
    if _ORJSON is None:
        return std_dumps
    fast: Dumps = _ORJSON.dumps

    def dumps(value: Any) -> bytes:
        try:
            return fast(value)
        except TypeError:  # orjson.JSONEncodeError
            return std_dumps(value)

    return dumps


#: Where an integer past 64 bits can be (orjson reads one as a float): 20 digits or more, or a
#: minus and 19. A run inside a string is a false alarm that costs one more parse.
_BIG_INTEGER = re.compile(rb"-[0-9]{19,}|[0-9]{20,}").search


def exact_for_writing(value: Any, raw: bytes) -> Any:
    """``value``, parsed from ``raw``, fit to be written back without changing a number: where
    orjson parsed it and ``raw`` may hold an integer past 64 bits, the standard library's parse
    (which keeps integers exact)."""
    if WRITER == "json" or not _BIG_INTEGER(raw):
        return value
    try:
        return std_loads(raw)
    except ValueError:  # not expected of a line orjson took; keep its reading then
        return value
