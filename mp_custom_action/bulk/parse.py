"""JSON for import records: parsing one line or a whole chunk of lines, and writing one back.

orjson where the ``fast`` extra installs it, else the standard library's C scanner called
directly (no whitespace pass, no wrapper). Both refuse what is not JSON (``NaN`` and
``Infinity`` included) with a ``ValueError``, and a value nested past the interpreter's limit is
a bad record, not a ``RecursionError``.
"""

from __future__ import annotations

import json
import re
from operator import itemgetter
from typing import Any, Callable, Optional

__all__ = [
    "Dumps",
    "Loads",
    "LoadsAll",
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


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


DECODER = json.JSONDecoder(parse_constant=_no_constant)
_SCAN = DECODER.scan_once  # type: ignore[attr-defined]  # the C scanner where there is one
_VALUE, _END = itemgetter(0), itemgetter(1)


def std_loads(data: bytes) -> Any:
    """One JSON value that fills ``data`` (already stripped), as ``json.loads`` would read it."""
    text = data.decode("utf-8")
    try:
        value, end = _SCAN(text, 0)
    except StopIteration:
        raise ValueError("Expecting value at the start") from None
    except RecursionError:  # nested past the interpreter's limit: a bad record, as with orjson
        raise ValueError("nested too deeply") from None
    if end != len(text):
        raise ValueError(f"Extra data after column {end}")
    return value


def std_loads_all(raws: list[bytes]) -> Optional[list[Any]]:
    """:func:`std_loads` of each of ``raws`` (stripped lines, none holding a newline), with one
    decode for the chunk and the scanner mapped over it in C."""
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


def _orjson_loads_all(loads: Loads) -> LoadsAll:
    def loads_all(raws: list[bytes]) -> Optional[list[Any]]:
        try:
            return list(map(loads, raws))
        except ValueError:  # orjson.JSONDecodeError, for a bad line, a blank one, or too deep
            return None

    return loads_all


def default_loaders() -> tuple[Loads, LoadsAll]:
    """orjson's when the ``fast`` extra is installed, else the standard library's: a line's
    parser and a chunk's."""
    try:
        import orjson
    except ImportError:
        return std_loads, std_loads_all
    loads: Loads = orjson.loads  # typed the same with or without orjson installed where mypy runs
    return loads, _orjson_loads_all(loads)


_ENCODER = json.JSONEncoder(separators=(",", ":"))  # built once: json.dumps builds one a call


def std_dumps(value: Any) -> bytes:
    """``value`` as compact JSON (ASCII, ``\\u`` escapes), the standard library's way."""
    return _ENCODER.encode(value).encode("ascii")


def default_dumps() -> Dumps:
    """orjson's ``dumps`` (compact, UTF-8) when installed, else :func:`std_dumps`. What orjson
    will not write, an integer past 64 bits or a lone surrogate from a ``\\ud800`` escape, goes
    to the standard library, which writes anything a parse gave."""
    try:
        import orjson
    except ImportError:
        return std_dumps
    fast = orjson.dumps

    def dumps(value: Any) -> bytes:
        try:
            return fast(value)
        except TypeError:  # orjson.JSONEncodeError
            return std_dumps(value)

    return dumps


#: A run of 19 digits or more: the only place an integer past 64 bits (orjson reads it as a float)
#: can be. A run inside a string is a false alarm that costs one more parse, never a wrong answer.
_LONG_DIGITS = re.compile(rb"[0-9]{19,}").search


def exact_for_writing(value: Any, raw: bytes) -> Any:
    """``value``, parsed from ``raw``, fit to be written back without changing a number: orjson
    reads an integer past 64 bits as a float, so where ``raw`` may hold one it is parsed again by
    the standard library, which keeps integers exact."""
    if not _LONG_DIGITS(raw) or not _orjson_installed():
        return value
    try:
        return std_loads(raw)
    except ValueError:  # nested deeper than the interpreter allows: keep orjson's reading
        return value


def _orjson_installed() -> bool:
    return default_loaders()[0] is not std_loads
