"""The record of every request a sandbox received, with credentials redacted, for tests to read."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Optional, Union, overload

__all__ = ["RequestLog", "RequestRecord", "redact"]

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

    def param(self, name: str) -> Optional[str]:
        values = [v for k, v in self.query if k == name]
        return values[-1] if values else None


class RequestLog(Sequence[RequestRecord]):
    """The requests received, in order; safe to read while the server appends from its threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        with self._lock:
            self._items.append(record)

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


def redact(headers: Mapping[str, str]) -> dict[str, str]:
    """Headers as recorded: credentials become ``***`` (the scheme, ``Basic``, is kept)."""
    shown = {}
    for name, value in headers.items():
        if name in _REDACTED_HEADERS:
            scheme = value.split(" ", 1)[0] if " " in value.strip() else ""
            value = f"{scheme} ***".strip()
        shown[name] = value
    return shown
