"""One call's attempts: open, read, wait and try again as :mod:`.retry` allows, within one deadline.

The :class:`~.runner.Runner` keeps what lasts (settings, the transport, the deadline thread) and
makes a :class:`Call` for each request it sends; the call keeps what lasts one request (its
deadline, its attempt count) and is thrown away afterwards, so the runner holds no per-call state
and stays safe to share between threads.

Every attempt is armed with the call's total deadline: when it passes, the deadline thread cuts
the attempt's sockets (:class:`~.deadline.CallSockets`) and the call ends with
:class:`~mp_custom_action.errors.DeadlineExceeded`.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Optional

from ..errors import DeadlineExceeded, OutputError, TransportError
from .deadline import CallSockets, Watchdog
from .results import PathLike, Result, read_body, write_stream
from .retry import RETRY_STATUSES, RetryPolicy

if TYPE_CHECKING:
    from .request import OutgoingRequest
    from .transport import Failure, Transport, WireResponse

__all__ = ["Call", "CallSetup", "Pacer"]

#: Called before each attempt with the request and the seconds left of its deadline; may wait, or
#: raise (a spent rate budget: ``bulk.Budgets``), and returns what to call when the attempt ends.
Pacer = Callable[["OutgoingRequest", float], Optional[Callable[[], None]]]

# Log lines carry the method, the URL without its query, and the outcome; never headers or
# bodies. (The CLI's log handler masks what a URL path may still hold.)
log = logging.getLogger("mp_custom_action")

_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class CallSetup:
    """What a call borrows from its runner (shared by every call of that runner)."""

    transport: Transport
    watchdog: Watchdog
    active: set[CallSockets]
    policy: RetryPolicy
    connect_timeout: float
    read_timeout: float
    max_body_bytes: int
    clock: Callable[[], float]
    wall_clock: Callable[[], float]
    sleep: Callable[[float], None]
    rng: Callable[[float, float], float]
    #: Told, in one line, why and how long the call waits before its next attempt.
    on_retry: Optional[Callable[[str], None]] = None
    pacer: Optional[Pacer] = None


class Call:
    """The attempts of one request: :meth:`run` returns its :class:`Result` or raises."""

    def __init__(
        self, setup: CallSetup, req: OutgoingRequest, output: Optional[PathLike], total: float
    ) -> None:
        self.setup = setup
        self.req = req
        self.output = output
        self.total = total
        self.start = setup.clock()
        self.deadline = self.start + total
        self.attempt = 0

    def run(self) -> Result:
        while True:
            self.attempt += 1
            remaining = self.deadline - self.setup.clock()
            if remaining <= 0:
                raise DeadlineExceeded(
                    f"deadline of {self.total:g} s passed before attempt {self.attempt}: "
                    f"{self.req.method} {self.req.shown_url}",
                    url=self.req.url,
                    attempts=self.attempt - 1,
                )
            pacer = self.setup.pacer
            release = pacer(self.req, remaining) if pacer is not None else None
            sockets = CallSockets()
            self.setup.active.add(sockets)
            entry = self.setup.watchdog.arm(self.deadline, sockets.abort)
            try:
                result = self._attempt(sockets, remaining)
            finally:
                self.setup.watchdog.disarm(entry)
                self.setup.active.discard(sockets)
                if release is not None:
                    release()
            if result is not None:
                return result

    def _attempt(self, sockets: CallSockets, remaining: float) -> Optional[Result]:
        """One attempt: its result, or ``None`` when it was waited for and is to be repeated."""
        from .transport import Failure

        req, setup = self.req, self.setup
        failed: Optional[Failure] = None
        try:
            response = setup.transport.open(
                req,
                connect_timeout=min(setup.connect_timeout, remaining),
                read_timeout=min(setup.read_timeout, remaining),
                sockets=sockets,
            )
        except Failure as failure:
            failed = failure
        if failed is not None:  # handled outside the except block: see _retry_or_raise
            self._retry_or_raise(failed, sockets)
            return None
        if sockets.fired:
            # The watchdog cut the headers short, and http.client took the cut for their end:
            # what arrived is not an answer.
            response.close()
            self._raise_if_deadline(sockets)
        status = response.status
        if (
            status in RETRY_STATUSES
            and setup.policy.should_retry(
                self.attempt, req.method, status=status, replay_safe=req.replay_safe
            )
            and self._backoff(response.header("Retry-After"), str(status), f"HTTP {status}")
        ):
            response.close()
            return None
        try:
            result = self._finish(response, functools.partial(self._body_complete, sockets))
        except Failure as failure:
            failed = failure
        if failed is not None:
            self._retry_or_raise(failed, sockets, body_started=True)
            return None
        log.info(
            "%s %s -> %d (%d attempt%s, %.3f s)",
            req.method, req.shown_url, result.status_code, self.attempt,
            "" if self.attempt == 1 else "s", result.elapsed,
        )  # fmt: skip
        return result

    def _retry_or_raise(
        self, failure: Failure, sockets: CallSockets, *, body_started: bool = False
    ) -> None:
        """Return (after waiting) when the failed attempt may be repeated; raise otherwise.

        ``body_started``: the answer had begun, so the request was certainly sent, whatever the
        error's class says (a TLS error mid-body is an ``SSLError``, like a failed handshake).
        """
        self._raise_if_deadline(sockets)
        connect_error = failure.connect_error and not body_started
        if self.setup.policy.should_retry(
            self.attempt,
            self.req.method,
            connect_error=connect_error,
            sent_error=not connect_error,
            replay_safe=self.req.replay_safe,
        ) and self._backoff(None, type(failure.error).__name__, str(failure.error)):
            return
        error = failure.error
        error.attempts = self.attempt
        # Raised bare, outside any except block: the library exception it was made from holds
        # the prepared request, and with it the Authorization header; no chain may keep it.
        failure.__context__ = failure.__cause__ = None
        error.__context__ = error.__cause__ = None
        raise error

    def _backoff(self, retry_after: Optional[str], outcome: str, reason: str) -> bool:
        """Wait before the next attempt, unless the wait would pass the deadline (then False).

        ``outcome`` is what the log line says happened, ``reason`` what ``on_retry`` is told.
        """
        setup, req = self.setup, self.req
        wait = setup.policy.wait(
            self.attempt, retry_after=retry_after, now=setup.wall_clock(), rng=setup.rng
        )
        if setup.clock() + wait >= self.deadline:
            return False
        log.info(
            "%s %s -> %s, retrying in %.1f s (attempt %d)",
            req.method, req.shown_url, outcome, wait, self.attempt,
        )  # fmt: skip
        if setup.on_retry is not None:
            setup.on_retry(
                f"{req.method} {req.shown_url}: {reason}; attempt {self.attempt + 1} of "
                f"{setup.policy.retries + 1} in {wait:.1f} s"
            )
        setup.sleep(wait)
        return True

    def _raise_if_deadline(self, sockets: CallSockets) -> None:
        if sockets.fired:
            raise DeadlineExceeded(
                f"deadline of {self.total:g} s passed during attempt {self.attempt}: "
                f"{self.req.method} {self.req.shown_url}",
                url=self.req.url,
                attempts=self.attempt,
            )

    def _body_complete(self, sockets: CallSockets) -> None:
        """The last chunk is in. A deadline that fired meanwhile still counts (the body may have
        been cut); after that the connection is back in the pool, where another call may take
        it, so this call's deadline must no longer reach its socket."""
        self._raise_if_deadline(sockets)
        sockets.release()

    def _finish(self, response: WireResponse, body_complete: Callable[[], None]) -> Result:
        req = self.req
        result = Result(
            status_code=response.status,
            headers=dict(response.headers),
            body=None,
            url=req.url,
            method=req.method,
            attempts=self.attempt,
        )
        chunks = _checked(response.chunks(_CHUNK), body_complete)
        try:
            if self.output is not None and 200 <= response.status < 300:
                result.body_bytes = _write(chunks, os.fspath(self.output))
                result.body_file = os.path.abspath(os.fspath(self.output))
            else:
                result.body = read_body(
                    chunks,
                    self.setup.max_body_bytes,
                    response.header("Content-Type"),
                    jsonl=req.api.name == "export",
                )
        except TransportError as exc:
            response.close()
            exc.attempts = self.attempt
            exc.url = exc.url or req.url
            raise
        except BaseException:
            response.close()
            raise
        result.elapsed = self.setup.clock() - self.start
        return result


def _write(chunks: Iterator[bytes], path: str) -> int:
    """:func:`write_stream`, a local failure raised as :class:`OutputError` (never retried).

    Reading failures arrive as the transport's ``Failure``; any ``OSError`` left is the file's.
    """
    try:
        return write_stream(chunks, path)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise OutputError(
            f"cannot write {path!r}: {reason.lower()} (the answer was received; not retried)",
            path=path,
        ) from None


def _checked(chunks: Iterator[bytes], body_complete: Callable[[], None]) -> Iterator[bytes]:
    """``chunks``, then a last word from the watchdog before the body counts as complete.

    A body that ends when the connection closes (no Content-Length, not chunked) looks whole when
    the watchdog shuts the socket at the deadline; without this check a cut body would be returned,
    or written to --output's file, as if complete.
    """
    yield from chunks
    body_complete()
