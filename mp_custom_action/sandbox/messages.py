"""The sandbox's request and response types, and the error bodies each Mixpanel API family answers.

Mixpanel answers errors in two shapes, and the sandbox keeps them apart because clients parse them:

* the ingestion, Query, Export APIs: ``{"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}``
* the App APIs (Lexicon Schemas, Connectors) and Data Pipelines: ``{"status": "error", "error": "..."}``
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Optional, Union
from urllib.parse import parse_qsl

__all__ = [
    "APP",
    "CLASSIC",
    "BodyTooLarge",
    "Request",
    "Response",
    "error",
    "json_response",
]

#: Error body styles (see the module docstring).
CLASSIC = "classic"
APP = "app"

QueryItems = tuple[tuple[str, str], ...]


class BodyTooLarge(ValueError):
    """The decoded request body is past the limit the endpoint allows."""


@dataclass(frozen=True)
class Request:
    """One parsed HTTP request. ``path`` is still percent-encoded; ``headers`` keys are lower case."""

    method: str
    path: str
    query: QueryItems = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: What handlers tell the request log (``auth``: the credential kind, or why it was refused).
    notes: dict[str, str] = field(default_factory=dict, compare=False)

    def header(self, name: str) -> Optional[str]:
        return self.headers.get(name.lower())

    def param(self, name: str) -> Optional[str]:
        """The last value of query parameter ``name`` (Mixpanel reads the last one too)."""
        value = None
        for key, item in self.query:
            if key == name:
                value = item
        return value

    @property
    def content_type(self) -> str:
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    def decoded_body(self, limit: int) -> bytes:
        """The body with ``Content-Encoding: gzip`` undone, refusing more than ``limit`` bytes.

        The limit is applied while inflating, so a small gzip bomb cannot make the sandbox
        allocate gigabytes before noticing.
        """
        encoding = (self.header("content-encoding") or "identity").strip().lower()
        if encoding in ("", "identity"):
            if len(self.body) > limit:
                raise BodyTooLarge(f"request exceeds max limit of {limit} bytes")
            return self.body
        if encoding not in ("gzip", "x-gzip"):
            raise ValueError(f"unsupported Content-Encoding {encoding!r} (gzip is accepted)")
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            data = inflater.decompress(self.body, limit + 1)
        except zlib.error as exc:
            raise ValueError(f"the gzip body could not be decoded ({exc})") from None
        if len(data) > limit or inflater.unconsumed_tail:
            raise BodyTooLarge(f"request exceeds max limit of {limit} bytes")
        if not inflater.eof:
            raise ValueError("the gzip body is truncated")
        return data

    def value(self, name: str) -> Optional[str]:
        """The last value of ``name`` in the query string or a form body (Mixpanel reads both)."""
        found = None
        for key, item in self.form():
            if key == name:
                found = item
        return found

    def accepts_gzip(self) -> bool:
        """``Accept-Encoding`` names gzip (with a q-value above 0)."""
        for part in (self.header("accept-encoding") or "").lower().split(","):
            coding, _, params = part.strip().partition(";")
            if coding.strip() in ("gzip", "x-gzip"):
                q = params.strip()
                return not (q.startswith("q=") and _zero(q[2:]))
        return False

    def form(self) -> list[tuple[str, str]]:
        """Query parameters followed by form-encoded body fields (Mixpanel reads both)."""
        items = list(self.query)
        if self.content_type == "application/x-www-form-urlencoded" and self.body:
            text = self.body.decode("utf-8", errors="replace")
            items.extend(parse_qsl(text, keep_blank_values=True))
        return items


def _zero(text: str) -> bool:
    try:
        return float(text) <= 0
    except ValueError:
        return False


Body = Union[bytes, Iterable[bytes]]


@dataclass
class Response:
    """An answer. ``body`` is bytes, or an iterable of byte chunks that the server streams."""

    status: int
    body: Body = b""
    content_type: str = "application/json"
    headers: list[tuple[str, str]] = field(default_factory=list)

    @property
    def streamed(self) -> bool:
        return not isinstance(self.body, (bytes, bytearray))

    def chunks(self) -> Iterator[bytes]:
        if isinstance(self.body, (bytes, bytearray)):
            yield bytes(self.body)
        else:
            yield from self.body


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def json_response(
    value: Any, status: int = 200, headers: Optional[list[tuple[str, str]]] = None
) -> Response:
    return Response(status, dumps(value), "application/json", list(headers or []))


def reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def error(
    status: int,
    message: str,
    style: str = CLASSIC,
    *,
    extra: Optional[Mapping[str, Any]] = None,
    headers: Optional[list[tuple[str, str]]] = None,
) -> Response:
    """An error answer in the family's shape (see the module docstring)."""
    if style == APP:
        body: dict[str, Any] = {"status": "error", "error": message}
    else:
        body = {"code": status, "error": message, "status": reason(status)}
    if extra:
        body.update(extra)
    return json_response(body, status, headers)
