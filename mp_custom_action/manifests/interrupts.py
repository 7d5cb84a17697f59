"""Ctrl-C and SIGTERM during a parallel run, acted on where the scheduling thread holds no lock.

A Python signal handler runs on the main thread between any two bytecodes, and an exception it
raises (``KeyboardInterrupt``, ``run``'s SIGTERM exception) lands wherever that thread was: also
inside ``concurrent.futures`` and ``threading``, just after a lock was taken and before the
``try`` that would give it back (``Condition.__enter__``, ``wait()`` taking each future's
condition). The lock then stays taken; the worker finishing the call waits on it forever, and so
does the pool's shutdown, and the run hangs instead of printing what it did. Python 3.9 checks
for signals at almost every bytecode, so there it happens often enough to be seen; 3.11 checks at
fewer places, where it is rarer, not impossible.

So while the steps are scheduled, :class:`DeferredSignals` only notes SIGINT and SIGTERM, and the
scheduler calls :meth:`~DeferredSignals.check` between its waits (which are kept short): that
puts the handlers back and runs the one the signal would have run, at a point where raising is
safe. What a signal does is unchanged (the same handler runs, a moment later); only where.
"""

from __future__ import annotations

import signal
import threading
from types import FrameType, TracebackType
from typing import Any, Optional

__all__ = ["POLL", "DeferredSignals"]

#: The longest the scheduler waits before looking for a noted signal, in seconds.
POLL = 0.05

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class DeferredSignals:
    """While active (on the main thread only), SIGINT and SIGTERM are noted, then acted on by
    :meth:`check`. On any other thread no handler can be set, and nothing changes."""

    def __init__(self) -> None:
        self.active = False
        self._previous: dict[int, Any] = {}
        self._noted: list[int] = []

    def __enter__(self) -> DeferredSignals:
        if threading.current_thread() is threading.main_thread():
            for signum in _SIGNALS:
                previous = signal.signal(signum, self._note)
                if previous is signal.SIG_IGN:
                    signal.signal(signum, previous)  # an ignored signal stays ignored
                else:
                    self._previous[signum] = previous
            self.active = True
        return self

    def __exit__(
        self,
        kind: Optional[type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        if kind is None:
            self.check()  # a signal noted after the last check still does what it does
        self._restore()

    def _note(self, signum: int, frame: Optional[FrameType]) -> None:
        self._noted.append(signum)

    def _restore(self) -> None:
        for signum, handler in self._previous.items():
            # None: a handler not set from Python; the default is the nearest we can restore.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)
        self._previous.clear()
        self.active = False

    def check(self) -> None:
        """If a signal was noted: put the handlers back and act on it as they would have."""
        if not self._noted:
            return
        signum = self._noted[0]
        previous = dict(self._previous)
        self._restore()
        self._noted.clear()
        handler = previous.get(signum)
        if callable(handler):
            handler(signum, None)  # e.g. KeyboardInterrupt, or run's SIGTERM exception
        else:
            signal.raise_signal(signum)  # the default: end the process, as it would have
