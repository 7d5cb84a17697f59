"""Progress of a long bulk job on stderr: a bar on a terminal, plain periodic lines otherwise.

Shared by every bulk job (import, export). One object, thread-safe, fed by whoever finishes a
piece of work::

    with Progress("import", total_bytes=size, mode=None) as progress:
        ...
        progress.advance(records=2000, nbytes=812_345)

``mode``: ``None`` chooses (a bar when the stream is a terminal and ``tqdm`` is installed, the
``progress`` extra; plain lines otherwise), ``"bar"`` or ``"lines"`` forces one, ``False`` is
silent. A bar without ``tqdm`` falls back to plain lines. Lines carry counts and rates only:
never a URL, a header or a record, so never a credential.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import IO, Any, Callable, Optional, Union

__all__ = ["Progress", "format_line"]

#: Seconds between two plain lines.
LINE_INTERVAL = 5.0

Mode = Union[None, bool, str]


class Progress:
    """Counts records and bytes done, and shows them as a bar or as periodic lines."""

    def __init__(
        self,
        label: str,
        *,
        total_records: Optional[int] = None,
        total_bytes: Optional[int] = None,
        mode: Mode = None,
        stream: Optional[IO[str]] = None,
        interval: float = LINE_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label = label
        self.total_records = total_records
        self.total_bytes = total_bytes
        self.stream: IO[str] = stream if stream is not None else sys.stderr
        self.interval = interval
        self.records = 0
        self.nbytes = 0
        self._clock = clock
        self._start = clock()
        self._last_line = self._start
        self._lock = threading.Lock()
        self._closed = False
        self._bar: Any = None
        self.mode = _choose(mode, self.stream)
        if self.mode == "bar":
            self._bar = _open_bar(label, total_records, total_bytes, self.stream)
            if self._bar is None:
                self.mode = "lines"

    def advance(self, records: int = 0, nbytes: int = 0) -> None:
        """Add work done: ``records`` records, ``nbytes`` bytes of input (or output)."""
        with self._lock:
            self.records += records
            self.nbytes += nbytes
            if self._closed or self.mode is None:
                return
            if self._bar is not None:
                self._bar.update(nbytes if self.total_bytes else records)
                self._bar.set_postfix_str(self._postfix(), refresh=False)
                return
            now = self._clock()
            if now - self._last_line >= self.interval:
                self._last_line = now
                self._write(self._line(now))

    def note(self, text: str) -> None:
        """A one-off line (a retry, a stop) that does not disturb the bar."""
        with self._lock:
            if self.mode is None:
                return
            if self._bar is not None:
                self._bar.write(f"{self.label}: {text}", file=self.stream)
            else:
                self._write(f"{self.label}: {text}")

    def close(self) -> None:
        """End the bar, or write a last line; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._bar is not None:
                self._bar.set_postfix_str(self._postfix(), refresh=False)
                self._bar.close()
            elif self.mode == "lines":
                self._write(self._line(self._clock()) + ", done")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _postfix(self) -> str:
        elapsed = self._clock() - self._start
        rate = self.records / elapsed if elapsed > 0 else 0.0
        return f"{self.records:,} records, {rate:,.0f} records/s, {self.nbytes / 1e6:.1f} MB"

    def _line(self, now: float) -> str:
        return format_line(
            self.label,
            self.records,
            self.nbytes,
            now - self._start,
            total_records=self.total_records,
            total_bytes=self.total_bytes,
        )

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed or broken stderr must not stop the job


def format_line(
    label: str,
    records: int,
    nbytes: int,
    elapsed: float,
    *,
    total_records: Optional[int] = None,
    total_bytes: Optional[int] = None,
) -> str:
    """``import: 120,000 records, 45.3 MB, 24,000 records/s, 5 s[, 40%, ETA 8 s]``."""
    rate = records / elapsed if elapsed > 0 else 0.0
    line = f"{label}: {records:,} records, {nbytes / 1e6:.1f} MB, {rate:,.0f} records/s, {elapsed:.0f} s"
    done: Optional[float] = None
    if total_bytes:
        done = min(nbytes / total_bytes, 1.0)
    elif total_records:
        done = min(records / total_records, 1.0)
    if done is not None:
        line += f", {done:.0%}"
        if 0 < done < 1 and elapsed > 0:
            line += f", ETA {elapsed * (1 - done) / done:.0f} s"
    return line


def _choose(mode: Mode, stream: IO[str]) -> Optional[str]:
    if mode is False:
        return None
    if mode in ("bar", "lines"):
        return str(mode)
    if mode is None or mode is True:
        try:
            tty = stream.isatty()
        except (AttributeError, ValueError, OSError):
            tty = False
        return "bar" if tty else "lines"
    raise ValueError(f"progress mode must be None, False, 'bar' or 'lines', got {mode!r}")


def _open_bar(
    label: str, total_records: Optional[int], total_bytes: Optional[int], stream: IO[str]
) -> Any:
    """A tqdm bar counting bytes when the total size is known (so its ETA is true), else records."""
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    if total_bytes:
        return tqdm(
            total=total_bytes,
            desc=label,
            unit="B",
            unit_scale=True,
            unit_divisor=1000,
            file=stream,
            dynamic_ncols=True,
            mininterval=0.5,
        )
    return tqdm(
        total=total_records,
        desc=label,
        unit=" records",
        unit_scale=True,
        file=stream,
        dynamic_ncols=True,
        mininterval=0.5,
    )
