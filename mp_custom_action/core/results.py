"""The result of an action, and how a response body becomes one: JSON, JSONL, text, or a file.

A body is parsed by its ``Content-Type``: JSON when it is JSON; Export's JSONL (served as
``text/plain``) as a list of objects; other text as a string; an empty body as ``None``. A body
that claims JSON but is not comes back as text rather than failing the call: the status code is
still the answer the user asked for.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Optional, Union

from ..errors import ResponseTooLarge

__all__ = [
    "CARD_OUTPUT_NAMES",
    "PathLike",
    "Result",
    "check_output_path",
    "decode_body",
    "parse_jsonl",
    "read_body",
    "write_stream",
]

#: A file name for ``output``.
PathLike = Union[str, "os.PathLike[str]"]

#: Our result names -> the card's output names.
CARD_OUTPUT_NAMES = {"status_code": "Status Code", "headers": "Headers", "body": "Body"}


def _loads_stdlib(data: bytes) -> Any:
    try:
        return json.loads(data)
    except RecursionError:
        # Nested past the interpreter's recursion limit (a broken or hostile server): not a value
        # this process can hold or print, so it is "not JSON" and the body comes back as text.
        raise ValueError("JSON nested too deeply") from None


try:  # optional speed-up: pip install mp-custom-action[fast] (orjson refuses over 1024 levels)
    import orjson as _orjson

    def _loads(data: bytes) -> Any:
        return _orjson.loads(data)

except ImportError:  # pragma: no cover - exercised where orjson is absent
    _loads = _loads_stdlib


@dataclass
class Result:
    """What an action returns: status code, headers and parsed body (the card's three outputs).

    When the body was streamed to a file (``output=``), ``body`` is ``None`` and ``body_file`` and
    ``body_bytes`` say where it went and how much was written.
    """

    status_code: int
    headers: dict[str, str]
    body: Any
    url: str = ""
    method: str = ""
    attempts: int = 1
    elapsed: float = 0.0
    body_file: Optional[str] = None
    body_bytes: Optional[int] = None

    @property
    def ok(self) -> bool:
        return 200 <= self.status_code < 300

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "status_code": self.status_code,
            "headers": dict(self.headers),
            "body": self.body,
        }
        if self.body_file is not None:
            out["body_file"] = self.body_file
            out["body_bytes"] = self.body_bytes
        return out

    def to_card(self) -> dict[str, Any]:
        """The card's output names: ``{"Status Code", "Headers", "Body"}``."""
        out = {CARD_OUTPUT_NAMES[k]: v for k, v in self.to_dict().items() if k in CARD_OUTPUT_NAMES}
        if self.body_file is not None:
            out["Body File"] = self.body_file
            out["Body Bytes"] = self.body_bytes
        return out

    def __repr__(self) -> str:
        from .urls import without_query

        url = without_query(self.url)
        return f"Result(status_code={self.status_code}, url={url!r}, attempts={self.attempts})"


def _media_type(content_type: Optional[str]) -> tuple[str, str]:
    if not content_type:
        return "", "utf-8"
    media, _, params = content_type.partition(";")
    charset = "utf-8"
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip('"').lower()
    return media.strip().lower(), charset


def _is_json(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


# JSON Lines are parsed a block of about this many bytes at a time (whole lines): one parse of
# "[l1,l2,...]" per block. Per line, json.loads pays its set-up for every record (about half the
# stdlib's throughput); one parse of the whole body would hold a second copy of it, and orjson's
# parse of one huge document builds a large intermediate tree. A megabyte block amortises the set-up
# and stays in cache, for either parser.
_BLOCK = 1 << 20
#: Media types that are JSON Lines whatever the API.
_JSONL_MEDIA = ("application/x-ndjson", "application/jsonl", "application/x-jsonlines")
# Past this size a body's objects are built with the cyclic garbage collector paused (see below).
_GC_PAUSE_BYTES = 8 << 20
_gc_lock = threading.Lock()
_gc_pauses = 0
_gc_resume = False


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a large body becomes Python objects.

    Parsed JSON holds no reference cycles, yet each dict it makes counts towards the collector's
    next pass, and every full pass walks all the objects made so far: on a 200 MB Export body the
    collector takes more than half of the parse. Paused, the objects are walked once, by the first
    collection after the pause. The pause is process-wide, so it is counted: concurrent parses
    share one, the collector is resumed when the last of them ends, and never resumed if it was
    off when the first began.
    """
    global _gc_pauses, _gc_resume
    with _gc_lock:
        if _gc_pauses == 0:
            _gc_resume = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_resume:
                gc.enable()


def _parse_lines(block: bytes, out: list[Any]) -> None:
    """Append the values of ``block``'s lines to ``out``; ``ValueError`` on a line that is not JSON.

    Newlines become commas (one C pass, about 13 GB/s) and the block one JSON array. A blank
    line, or a line that is not JSON, breaks the array (or its count), and the block is parsed
    again a line at a time, to skip blank lines and to fail on the bad line.
    """
    try:
        parsed = _loads(b"".join((b"[", block.replace(b"\n", b","), b"]")))
        if isinstance(parsed, list) and len(parsed) == block.count(b"\n") + 1:
            out.extend(parsed)
            return
    except ValueError:
        pass
    out.extend([_loads(line) for line in block.split(b"\n") if line.strip()])


def parse_jsonl(data: bytes) -> list[Any]:
    """Parse JSON Lines into a list; raises ``ValueError`` on a line that is not JSON."""
    out: list[Any] = []
    start, size = 0, len(data)
    with _gc_paused() if size > _GC_PAUSE_BYTES else contextlib.nullcontext():
        while start < size:
            end = data.find(b"\n", min(start + _BLOCK, size))
            if end < 0:
                end = size
            _parse_lines(data[start:end], out)
            start = end + 1
    return out


def _text(data: bytes, charset: str) -> str:
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def _is_jsonl(media: str, jsonl: bool) -> bool:
    return media in _JSONL_MEDIA or (jsonl and media in ("text/plain", ""))


def decode_body(data: bytes, content_type: Optional[str], *, jsonl: bool = False) -> Any:
    """Parse a response body by its content type. ``jsonl`` says the API answers JSON Lines."""
    if not data:
        return None
    media, charset = _media_type(content_type)
    if _is_json(media) or (not media and data[:1] in (b"{", b"[")):
        try:
            return _loads(data)
        except ValueError:
            pass
    elif _is_jsonl(media, jsonl):
        try:
            return parse_jsonl(data)
        except ValueError:
            pass
    return _text(data, charset)


def _too_large(limit: int) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"the response body is larger than {limit} bytes, the in-memory limit; "
        "stream it to a file with --output FILE (Python: output=...)"
    )


def read_capped(chunks: Iterable[bytes], limit: int) -> bytes:
    """Join ``chunks`` into one bytes object, failing once more than ``limit`` bytes arrive."""
    parts: list[bytes] = []
    size = 0
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        parts.append(chunk)
    # One copy at the end (none for a body that came in one chunk).
    return b"".join(parts)


def read_body(
    chunks: Iterable[bytes], limit: int, content_type: Optional[str], *, jsonl: bool = False
) -> Any:
    """:func:`read_capped` then :func:`decode_body`, with JSON Lines parsed as they arrive.

    A JSON Lines body (Export) is parsed a block of whole lines at a time while the next block is
    on its way, so it is never joined into one large bytes object. Its chunks are kept until the
    end, only so that a body that turns out not to be JSON Lines can still come back as text.
    """
    media, charset = _media_type(content_type)
    if not (media and _is_jsonl(media, jsonl)):
        return decode_body(read_capped(chunks, limit), content_type, jsonl=jsonl)
    with contextlib.ExitStack() as pause:
        return _read_jsonl(chunks, limit, charset, pause)


def _read_jsonl(
    chunks: Iterable[bytes], limit: int, charset: str, pause: contextlib.ExitStack
) -> Any:
    kept: list[bytes] = []
    out: list[Any] = []
    pending: list[bytes] = []  # the start of a line that has not ended yet
    size = 0
    parsing = True
    paused = False
    for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        kept.append(chunk)
        if not parsing:
            continue
        if not paused and size > _GC_PAUSE_BYTES:
            pause.enter_context(_gc_paused())
            paused = True
        end = chunk.rfind(b"\n")
        if end < 0:
            pending.append(chunk)
            continue
        head = chunk[:end]
        block = b"".join([*pending, head]) if pending else head
        pending = [chunk[end + 1 :]]
        try:
            _parse_lines(block, out)
        except ValueError:
            parsing = False
    if not size:
        return None
    if parsing:
        tail = b"".join(pending)
        try:
            if tail:
                _parse_lines(tail, out)
            return out
        except ValueError:
            pass
    return _text(b"".join(kept), charset)


def check_output_path(output: PathLike) -> None:
    """Refuse an --output path that cannot be written, before anything is sent.

    Beside the plain checks, a file is created in its place and removed at once: only the file
    system knows every name it cannot hold (too long, a character it refuses).
    """
    from ..errors import InputError

    text = os.fspath(output)
    if "\x00" in text:
        raise InputError("must not contain a NUL character", field="output")
    path = os.path.abspath(text)
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise InputError(f"{text!r} is a directory; name a file", field="output")
    if not os.path.isdir(directory):
        raise InputError(f"directory {directory!r} does not exist", field="output")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"directory {directory!r} is not writable", field="output")
    # A name as long as the temporary file's, and the name itself when no file holds it yet (an
    # existing file is never touched: O_EXCL). Not a ``.part`` name: while a run is still being
    # checked, nothing should look like a download in progress to a tool watching the folder.
    probes = [_part_name(path, ".prob")] + ([] if os.path.lexists(path) else [path])
    try:
        for probe in probes:
            os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
            os.unlink(probe)
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise InputError(f"cannot create a file named {text!r}: {reason}", field="output") from None


def _part_name(path: str, suffix: str = ".part") -> str:
    """A fresh temporary name beside ``path`` for a download (cut short if ``path``'s is long);
    ``suffix`` of another five characters names a probe of the same length."""
    directory, name = os.path.split(path)
    # At most 100 characters of the target's name, so that a name the file system can hold
    # always has a temporary name it can hold too.
    return os.path.join(directory, f".{name[:100]}.{secrets.token_hex(6)}{suffix}")


def write_stream(chunks: Iterator[bytes], path: str) -> int:
    """Stream ``chunks`` into ``path`` through a temporary file beside it; return the byte count.

    The file appears under its name only when the whole body has arrived: an interrupted
    download never leaves a truncated file that looks complete.
    """
    target = os.path.abspath(path)
    # Not mkstemp: its 0600 mode would make a user's export unreadable to the group their umask
    # allows. O_EXCL with a random name is just as safe against clobbering.
    tmp = _part_name(target)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return written
