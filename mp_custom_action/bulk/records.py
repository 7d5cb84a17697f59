"""Reading import files as a stream of records (the checks are in :mod:`imports_checks`).

A file is a JSON array or NDJSON (one JSON value a line), either gzip-compressed; the first bytes
tell which. Nothing reads a whole file: NDJSON goes a line at a time, an array an element at a
time through :meth:`json.JSONDecoder.raw_decode` over a sliding window. Each record comes out as
``(line, raw, value)``: the line it starts on, its bytes as they stand in the file, and the
parsed value (or :data:`UNPARSED` with the reason, for a line that is not JSON).

Two kinds of trouble: a *bad record* (one line that is not JSON, an event without a name) is
rejected and the run goes on; a *bad file* (unreadable, neither JSON nor NDJSON, a gzip stream
that ends early or is corrupt, an array that stops making sense) raises :class:`ImportFileError`,
before anything is sent where that can be known up front (:func:`probe`), or mid-run with the line
where reading stopped.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import re
import sys
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Optional

from ..errors import InputError
from .parse import DECODER, Loads, default_loaders

__all__ = [
    "UNPARSED",
    "ImportFileError",
    "InputFile",
    "not_json",
    "probe",
    "read_records",
    "stopped_reading",
]

_CHUNK = 1 << 20
_EVENT_MAX_BYTES = 1024 * 1024
#: An array element longer than this that still does not parse is taken for a broken file.
_ELEMENT_LIMIT = 16 * _EVENT_MAX_BYTES
_WS = re.compile(r"[ \t\n\r]*")
_GZIP_MAGIC = b"\x1f\x8b"


class _Unparsed:
    def __repr__(self) -> str:
        return "UNPARSED"


#: The value of a record whose text is not JSON (its reason comes with it).
UNPARSED: Any = _Unparsed()


class ImportFileError(InputError):
    """An input file cannot be read as JSON or NDJSON. ``line`` is where reading stopped, if known."""

    def __init__(self, message: str, *, field: str, line: Optional[int] = None) -> None:
        self.line = line
        super().__init__(message, field=field)


@dataclass(frozen=True)
class InputFile:
    """One input, checked by :func:`probe`: where it is, how it is framed, how big it is."""

    name: str  # as the user gave it ("-" for stdin)
    path: Optional[str]  # absolute path, None for stdin
    gzip: bool
    format: str  # "ndjson" or "array" ("ndjson" too for an empty file)
    size: Optional[int]  # bytes on disk (compressed when gzip), None for stdin
    skipped_lines: int = 0  # blank lines before the first record


def probe(name: str, *, stdin: Optional[IO[bytes]] = None) -> tuple[InputFile, Any]:
    """Open ``name`` (``-``: stdin), tell its framing, and check a gzip file to its end.

    Returns the description and a binary stream of the content (decompressed), positioned at its
    first byte that is not whitespace. A gzip file on disk is read through once here, so that a
    truncated or corrupt one is refused before anything is sent; stdin cannot be read twice, so a
    bad gzip stream there is found when reading reaches it.
    """
    if name == "-":
        raw: Any = stdin if stdin is not None else sys.stdin.buffer
        path = None
        size = None
    else:
        path = os.path.abspath(name)
        try:
            raw = open(path, "rb")  # noqa: SIM115 - returned to the caller, who closes it
            size = os.fstat(raw.fileno()).st_size
        except OSError as exc:
            raise ImportFileError(f"cannot read {name!r}: {exc.strerror}", field="file") from None
    if not hasattr(raw, "peek"):
        raw = io.BufferedReader(raw)
    try:
        return _framing(name, path, size, raw)
    except BaseException:
        raw.close()
        raise


def _framing(
    name: str, path: Optional[str], size: Optional[int], raw: Any
) -> tuple[InputFile, Any]:
    try:
        compressed = raw.peek(2)[:2] == _GZIP_MAGIC
    except OSError as exc:
        raise ImportFileError(f"cannot read {name!r}: {_why(exc)}", field="file") from None
    stream = raw
    if compressed:
        if path is not None:
            _check_gzip(name, path)
        stream = _GzipInput(raw)
    first, newlines = _first_byte(name, stream)
    if first in (b"", b"{"):
        fmt = "ndjson"
    elif first == b"[":
        fmt = "array"
    else:
        raise ImportFileError(
            f"{name!r} is neither a JSON array nor NDJSON (it starts with {first!r}; expected "
            "'[' or '{')",
            field="file",
        )
    return InputFile(name, path, compressed, fmt, size, newlines), stream


class _GzipInput(gzip.GzipFile):
    """A gzip reader that closes the file under it too, and says how far into it it is."""

    def __init__(self, raw: Any) -> None:
        super().__init__(fileobj=raw, mode="rb")
        self.raw = raw

    def raw_tell(self) -> int:
        return int(self.raw.tell())

    def close(self) -> None:
        try:
            super().close()
        finally:
            self.raw.close()


def _check_gzip(name: str, path: str) -> None:
    try:
        with gzip.open(path, "rb") as fh:
            while fh.read(_CHUNK):
                pass
    except EOFError:
        raise ImportFileError(
            f"{name!r}: the gzip data is truncated (it ends before its end marker)", field="file"
        ) from None
    except (OSError, zlib.error) as exc:
        raise ImportFileError(f"{name!r}: {_why(exc)}", field="file") from None


def _first_byte(name: str, stream: Any) -> tuple[bytes, int]:
    """The first content byte that is not whitespace (``b""`` if none), left unread, and the
    number of line breaks skipped before it (so line numbers stay those of the file)."""
    newlines = 0
    try:
        while True:
            head = stream.peek(1)
            if not head:
                return b"", newlines
            if head.startswith(b"\xef\xbb\xbf"):  # a UTF-8 byte order mark
                stream.read(3)
                continue
            stripped = head.lstrip(b" \t\r\n")
            skipped = len(head) - len(stripped)
            newlines += head.count(b"\n", 0, skipped)
            if stripped:
                stream.read(skipped)
                return stripped[:1], newlines
            stream.read(len(head))
    except (EOFError, OSError, zlib.error) as exc:
        raise ImportFileError(f"{name!r}: cannot read ({_why(exc)})", field="file") from None


def _why(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the gzip data is truncated"
    if isinstance(exc, zlib.error) or type(exc).__name__ == "BadGzipFile":
        return f"the gzip data is corrupt: {exc}"
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


# -- reading ---------------------------------------------------------------------------------------


def read_records(
    source: InputFile, stream: Any, *, loads: Optional[Loads] = None
) -> Iterator[tuple[int, bytes, Any, str]]:
    """``(line, raw, value, reason)`` for each record; ``reason`` is "" unless ``value`` is
    :data:`UNPARSED`. Raises :class:`ImportFileError` where the file stops being readable."""
    if source.format == "array":
        return _array_records(source, stream)
    return _ndjson_records(source, stream, loads or default_loaders()[0])


def _ndjson_records(
    source: InputFile, stream: Any, loads: Loads
) -> Iterator[tuple[int, bytes, Any, str]]:
    number = source.skipped_lines
    try:
        for line in stream:
            number += 1
            raw = line.strip()
            if not raw:
                continue
            try:
                yield number, raw, loads(raw), ""
            except (ValueError, UnicodeDecodeError) as exc:
                yield number, raw, UNPARSED, not_json(exc)
    except (EOFError, OSError, zlib.error) as exc:
        raise stopped_reading(source, number, exc) from None


def stopped_reading(source: InputFile, number: int, exc: BaseException) -> ImportFileError:
    """The error for a stream that failed after line ``number``."""
    return ImportFileError(
        f"{source.name!r}: reading stopped after line {number} ({_why(exc)})",
        field="file",
        line=number + 1,
    )


def _array_records(source: InputFile, stream: Any) -> Iterator[tuple[int, bytes, Any, str]]:
    """The elements of one top-level JSON array, each with the line it starts on."""
    decode = DECODER.raw_decode
    text_of = codecs.getincrementaldecoder("utf-8")()
    buf = ""
    pos = 0
    line = 1 + source.skipped_lines  # the line number at buf[pos]
    eof = False

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        try:
            data = stream.read(_CHUNK)
            text = text_of.decode(data, final=not data)
        except (EOFError, OSError, zlib.error) as exc:
            raise ImportFileError(
                f"{source.name!r}: reading stopped at line {line} ({_why(exc)})",
                field="file",
                line=line,
            ) from None
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{source.name!r}: not UTF-8 text near line {line}", field="file", line=line
            ) from None
        eof = not data
        buf = buf[pos:] + text
        pos = 0
        return not eof or bool(text)

    def skip_ws() -> None:
        nonlocal pos, line
        while True:
            end = _WS.match(buf, pos).end()  # type: ignore[union-attr]
            line += buf.count("\n", pos, end)
            pos = end
            if pos < len(buf) or not more():
                return

    def broken(what: str) -> ImportFileError:
        return ImportFileError(
            f"{source.name!r}: {what} at line {line}; reading stopped", field="file", line=line
        )

    skip_ws()
    if buf[pos : pos + 1] != "[":
        raise broken("expected '['")
    pos += 1
    skip_ws()
    if buf[pos : pos + 1] == "]":
        return
    while True:
        while True:
            try:
                value, end = decode(buf, pos)
            except (ValueError, RecursionError) as exc:  # too deep: no more text will help
                if type(exc) is RecursionError or len(buf) - pos > _ELEMENT_LIMIT or not more():
                    raise broken("not valid JSON") from None
                continue
            if end == len(buf) and not eof and more():
                continue  # a number or literal may go on in the next chunk
            break
        raw = buf[pos:end]
        yield line, raw.encode("utf-8"), value, ""
        line += raw.count("\n")
        pos = end
        skip_ws()
        sep = buf[pos : pos + 1]
        if sep == "]":
            pos += 1
            skip_ws()
            if pos < len(buf):
                raise broken("text after the closing ']'")
            return
        if sep != ",":
            raise broken("the array ends early" if not sep else f"expected ',' or ']', got {sep!r}")
        pos += 1
        skip_ws()


def not_json(exc: BaseException) -> str:
    """The reason given for a line that is not JSON."""
    text = str(exc)
    return "not valid JSON: " + (text if len(text) <= 120 else text[:117] + "...")
