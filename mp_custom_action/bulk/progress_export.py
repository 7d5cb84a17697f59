"""A stand-in for bulk/progress.py's ``Progress`` while that module is not here: plain lines only.

Same shape (``Progress(label, mode=...)``, ``advance``, ``note``, ``close``) and the same modes:
``None``/``True``/``"lines"``/``"bar"`` write a line on stderr every few seconds and a last one
at the end (there is no bar without bulk/progress.py), ``False`` is silent. Lines carry counts
and rates only, never a URL or a record, so never a credential.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Optional, Union

__all__ = ["Progress"]


class Progress:
    def __init__(
        self,
        label: str,
        *,
        mode: Union[bool, str, None] = None,
        stream: Optional[IO[str]] = None,
        interval: float = 5.0,
    ) -> None:
        self.label = label
        self.silent = mode is False
        self.stream: IO[str] = stream if stream is not None else sys.stderr
        self.records = self.nbytes = 0
        self._interval = interval
        self._start = self._last = time.monotonic()
        self._lock = threading.Lock()
        self._closed = False

    def advance(self, records: int = 0, nbytes: int = 0) -> None:
        with self._lock:
            self.records += records
            self.nbytes += nbytes
            now = time.monotonic()
            if now - self._last >= self._interval:
                self._last = now
                self._write(self._line(now))

    def note(self, text: str) -> None:
        with self._lock:
            self._write(f"{self.label}: {text}")

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._write(self._line(time.monotonic()) + ", done")

    def _line(self, now: float) -> str:
        elapsed = now - self._start
        rate = self.records / elapsed if elapsed > 0 else 0.0
        return (
            f"{self.label}: {self.records:,} records, {self.nbytes / 1e6:.1f} MB, "
            f"{rate:,.0f} records/s, {elapsed:.0f} s"
        )

    def _write(self, line: str) -> None:
        if self.silent:
            return
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not stop the job
