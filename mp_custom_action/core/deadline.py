"""One background thread that fires callbacks at deadlines: the total deadline of a call.

Per-read socket timeouts cannot bound a call: a server that sends one byte every second never
trips a 10-second read timeout. The runner arms a deadline per call; when it passes, the
watchdog shuts the call's sockets down, which wakes the blocked read at once.

:class:`CallSockets` holds the connections one call uses (the transport records them), which is
what the watchdog shuts down.

Arming is cheap (a heap push; the thread is woken only when the new deadline is the earliest) and
disarming is a flag, so calls that finish in time cost a few microseconds.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from typing import Any, Callable

__all__ = ["CallSockets", "Watchdog"]

_ABORTED_READ_TIMEOUT = 0.001


class CallSockets:
    """The connections one call has used, so the watchdog can shut them down."""

    __slots__ = ("conns", "fired")

    def __init__(self) -> None:
        self.conns: list[Any] = []
        self.fired = False

    def release(self) -> None:
        """The call is done with its connections (they are back in the pool): forget them."""
        self.conns.clear()

    def abort(self) -> None:
        self.fired = True
        for conn in list(self.conns):
            sock = getattr(conn, "sock", None) or getattr(conn, "last_sock", None)
            if sock is None:
                continue
            try:
                # Shutdown wakes a blocked read at once. On Linux, bytes that arrive after a
                # shutdown are still delivered, so a body that ends only when the connection
                # closes could go on trickling in; a near-zero timeout makes the next read fail.
                sock.settimeout(_ABORTED_READ_TIMEOUT)
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class _Entry:
    __slots__ = ("callback", "cancelled")

    def __init__(self, callback: Callable[[], None]) -> None:
        self.callback = callback
        self.cancelled = False


class Watchdog:
    """Runs ``callback`` at ``deadline`` (a ``time.monotonic()`` value) unless disarmed first."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, _Entry]] = []
        self._cond = threading.Condition()
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False

    def arm(self, deadline: float, callback: Callable[[], None]) -> _Entry:
        entry = _Entry(callback)
        with self._cond:
            if self._closed:
                raise RuntimeError("watchdog is closed")
            earliest = self._heap[0][0] if self._heap else None
            heapq.heappush(self._heap, (deadline, next(self._seq), entry))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="mp-custom-action-deadline", daemon=True
                )
                self._thread.start()
            elif earliest is None or deadline < earliest:
                self._cond.notify()
        return entry

    @staticmethod
    def disarm(entry: _Entry) -> None:
        entry.cancelled = True

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._heap.clear()
            self._cond.notify()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=1.0)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._closed:
                    while self._heap and self._heap[0][2].cancelled:
                        heapq.heappop(self._heap)
                    if not self._heap:
                        self._cond.wait()
                        continue
                    delay = self._heap[0][0] - self._clock()
                    if delay <= 0:
                        break
                    # A wait longer than the platform allows would kill this thread, and with
                    # it every later deadline.
                    self._cond.wait(min(delay, threading.TIMEOUT_MAX))
                if self._closed:
                    return
                _, _, entry = heapq.heappop(self._heap)
            if not entry.cancelled:
                try:
                    entry.callback()
                except Exception:  # noqa: S110 - a failed abort must not kill the watchdog
                    pass
