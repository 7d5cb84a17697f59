"""The record of the requests a sandbox received, credentials redacted, and its one-line log form.

The record is bounded: a long-running sandbox keeps the newest :data:`DEFAULT_HISTORY` requests
(``Sandbox(history=N)`` changes it), so its memory stays flat however long it serves.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional, Union, overload

__all__ = ["DEFAULT_HISTORY", "RequestLog", "RequestRecord", "log_line", "redact"]

#: How many requests a sandbox remembers by default (the oldest are forgotten first).
DEFAULT_HISTORY = 1000

_REDACTED_HEADERS = ("authorization", "proxy-authorization", "cookie")


@dataclass(frozen=True)
class RequestRecord:
    """One request the sandbox received. Credentials are redacted; the body is only counted."""

    method: str
    path: str
    query: tuple[tuple[str, str], ...]
    headers: Mapping[str, str]
    body_length: int
    status: int
    time: float
    #: Milliseconds from the end of the request's head to its answer being ready.
    ms: float = 0.0
    #: The credential kind accepted (``service_account``, ``secret``, ``token``...), or why
    #: none was (``refused: invalid credentials``); ``""`` where no credential is read.
    auth: str = ""

    def param(self, name: str) -> Optional[str]:
        values = [v for k, v in self.query if k == name]
        return values[-1] if values else None


class RequestLog(Sequence[RequestRecord]):
    """The requests received, in order; safe to read while the server appends from its threads."""

    def __init__(self, maxlen: int = DEFAULT_HISTORY) -> None:
        if maxlen < 1:
            raise ValueError(f"the request history must hold at least 1 request, got {maxlen}")
        self.maxlen = maxlen
        self._lock = threading.Lock()
        self._items: collections.deque[RequestRecord] = collections.deque(maxlen=maxlen)
        #: How many requests were received in all, including those forgotten since.
        self.total = 0

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._items.append(record)
            self.total += 1

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def snapshot(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._items)

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    @overload
    def __getitem__(self, index: int) -> RequestRecord: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[RequestRecord]: ...

    def __getitem__(
        self, index: Union[int, slice]
    ) -> Union[RequestRecord, Sequence[RequestRecord]]:
        with self._lock:
            if isinstance(index, slice):
                return list(self._items)[index]
            return self._items[index]

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __eq__(self, other: object) -> bool:
        # So that `assert sb.requests == []` says what it reads as.
        if isinstance(other, RequestLog):
            return self.snapshot() == other.snapshot()
        if isinstance(other, (list, tuple)):
            return self.snapshot() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        return f"RequestLog({len(self)} requests)"


def log_line(record: RequestRecord) -> str:
    """``2024-05-01T12:00:00.123Z POST /import?project_id&strict 200 3.1ms service_account``.

    Query parameters are shown by name only: a value may be a secret a client put in the URL.
    """
    moment = dt.datetime.fromtimestamp(record.time, tz=dt.timezone.utc)
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
    names = list(dict.fromkeys(name for name, _ in record.query))
    target = record.path + ("?" + "&".join(names) if names else "")
    line = f"{stamp} {record.method} {target} {record.status} {record.ms:.1f}ms"
    return f"{line} {record.auth}" if record.auth else line


def redact(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as recorded: credentials become ``***`` (the scheme, ``Basic``, is kept)."""
    shown = {}
    for name, value in headers.items():
        if name in _REDACTED_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
            value = f"{scheme} ***".strip()
        shown[name] = value
    return shown
