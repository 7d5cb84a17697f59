"""The result of an action, and how a response body becomes one: JSON, JSONL, text, or a file.

A body is parsed by its ``Content-Type``: JSON when it is JSON; Export's JSONL (served as
``text/plain``) as a list of objects; other text as a string; an empty body as ``None``. A body
that claims JSON but is not comes back as text rather than failing the call: the status code is
still the answer the user asked for.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .errors import ResponseTooLarge

__all__ = ["CARD_OUTPUT_NAMES", "Result", "decode_body", "parse_jsonl", "write_stream"]

#: Our result names -> the card's output names.
CARD_OUTPUT_NAMES = {"status_code": "Status Code", "headers": "Headers", "body": "Body"}

try:  # optional speed-up: pip install mp-custom-action[fast]
    import orjson as _orjson

    def _loads(data: bytes) -> Any:
        return _orjson.loads(data)

except ImportError:  # pragma: no cover - exercised where orjson is absent

    def _loads(data: bytes) -> Any:
        return json.loads(data)


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
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

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
        out.update(self.extra)
        return out

    def to_card(self) -> dict[str, Any]:
        """The card's output names: ``{"Status Code", "Headers", "Body"}``."""
        out = {CARD_OUTPUT_NAMES[k]: v for k, v in self.to_dict().items() if k in CARD_OUTPUT_NAMES}
        if self.body_file is not None:
            out["Body File"] = self.body_file
            out["Body Bytes"] = self.body_bytes
        return out

    def __repr__(self) -> str:
        return f"Result(status_code={self.status_code}, url={self.url!r}, attempts={self.attempts})"


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


def parse_jsonl(data: bytes) -> list[Any]:
    """Parse JSON Lines into a list; raises ``ValueError`` on a line that is not JSON."""
    lines = [line for line in data.split(b"\n") if line.strip()]
    if not lines:
        return []
    # One parse of "[l1,l2,...]" is several times faster than one json.loads per line, and the
    # join is a single memcpy. A line that is not JSON breaks the array, and we fall back to
    # per-line parsing to say which line.
    try:
        parsed = _loads(b"[" + b",".join(lines) + b"]")
        if isinstance(parsed, list) and len(parsed) == len(lines):
            return parsed
    except ValueError:
        pass
    return [_loads(line) for line in lines]


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
    elif media in ("application/x-ndjson", "application/jsonl", "application/x-jsonlines") or (
        jsonl and media in ("text/plain", "")
    ):
        try:
            return parse_jsonl(data)
        except ValueError:
            pass
    try:
        return data.decode(charset, errors="replace")
    except LookupError:
        return data.decode("utf-8", errors="replace")


def read_capped(chunks: Iterable[bytes], limit: int) -> bytes:
    """Join ``chunks`` into one bytes object, failing once more than ``limit`` bytes arrive."""
    buf = bytearray()
    for chunk in chunks:
        buf += chunk
        if len(buf) > limit:
            raise ResponseTooLarge(
                f"the response body is larger than {limit} bytes, the in-memory limit; "
                "stream it to a file with --output FILE (Python: output=...)"
            )
    return bytes(buf)


def write_stream(chunks: Iterator[bytes], path: str, on_chunk: Callable[[], None]) -> int:
    """Stream ``chunks`` into ``path`` through a temporary file beside it; return the byte count.

    The file appears under its name only when the whole body has arrived: an interrupted
    download never leaves a truncated file that looks complete.
    """
    target = os.path.abspath(path)
    directory, name = os.path.split(target)
    # Not mkstemp: its 0600 mode would make a user's export unreadable to the group their umask
    # allows. O_EXCL with a random name is just as safe against clobbering.
    tmp = os.path.join(directory, f".{name}.{secrets.token_hex(6)}.part")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    written = 0
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in chunks:
                out.write(chunk)
                written += len(chunk)
                on_chunk()
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return written


def flatten_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Response headers as a plain dict (repeated headers were joined by the HTTP library)."""
    return {str(k): str(v) for k, v in headers.items()}
