"""Fault injection: late answers, a request rate limit, and a share of 429/503 answers, for rehearsals.

With a seed the faults are reproducible: the n-th request the sandbox receives always draws the
same numbers, whatever happened to the requests before it, so a sequential test sees the same
answers on every run. (Requests arriving concurrently are numbered in arrival order.)

A request answered with a fault is not processed: nothing is stored, so a client that retries it
cannot double-count. Real Mixpanel makes no such promise for a 503; see docs/sandbox.md.
"""

from __future__ import annotations

import math
import random
import threading
import time
from dataclasses import dataclass
from typing import Callable, Optional

__all__ = ["Fault", "Faults"]

RATE_LIMIT_MESSAGE = (
    "Project exceeded rate limits. Please retry the request with exponential backoff."
)


@dataclass(frozen=True)
class Fault:
    """A fault to answer instead of processing the request."""

    status: int
    message: str
    retry_after: Optional[int] = None
    #: "rate_limit" or "fail_rate": which knob produced it.
    cause: str = "fail_rate"


class Faults:
    """Decides, request by request, whether to answer with a fault.

    ``fail_rate``: share (0..1) of requests answered 429 (with ``Retry-After``) or 503, half each.
    ``latency``: seconds every request waits before it is handled.
    ``rate_limit``: at most this many requests are handled per ``rate_limit_window`` seconds; the
    others get 429 with ``Retry-After`` saying when the window reopens.
    """

    def __init__(
        self,
        *,
        fail_rate: float = 0.0,
        latency: float = 0.0,
        rate_limit: Optional[int] = None,
        rate_limit_window: float = 1.0,
        retry_after: int = 1,
        seed: Optional[int] = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not 0.0 <= fail_rate <= 1.0 or math.isnan(fail_rate):
            raise ValueError(f"fail_rate must be between 0 and 1, got {fail_rate!r}")
        if latency < 0 or math.isnan(latency) or math.isinf(latency):
            raise ValueError(f"latency must be a number of seconds >= 0, got {latency!r}")
        if rate_limit is not None and rate_limit < 1:
            raise ValueError(f"rate_limit must be at least 1 request, got {rate_limit!r}")
        if rate_limit_window <= 0:
            raise ValueError(f"rate_limit_window must be > 0 seconds, got {rate_limit_window!r}")
        if retry_after < 0:
            raise ValueError(f"retry_after must be >= 0 seconds, got {retry_after!r}")
        self.fail_rate = fail_rate
        self.latency = latency
        self.rate_limit = rate_limit
        self.rate_limit_window = rate_limit_window
        self.retry_after = retry_after
        self._rng = random.Random(seed)
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._window_start: Optional[float] = None
        self._window_count = 0
        #: How many faults were answered, by status; tests read it.
        self.injected: dict[int, int] = {}

    @property
    def active(self) -> bool:
        return bool(self.fail_rate or self.latency or self.rate_limit)

    def delay(self) -> None:
        if self.latency:
            self._sleep(self.latency)

    def decide(self) -> Optional[Fault]:
        """The fault for the next request, or ``None`` to handle it."""
        with self._lock:
            # Draw both numbers for every request, so that one request's outcome never shifts
            # the numbers the following requests see.
            fail_draw = self._rng.random()
            kind_draw = self._rng.random()
            fault = self._rate_limited() or self._failure(fail_draw, kind_draw)
            if fault is not None:
                self.injected[fault.status] = self.injected.get(fault.status, 0) + 1
            return fault

    def _rate_limited(self) -> Optional[Fault]:
        if self.rate_limit is None:
            return None
        now = self._clock()
        if self._window_start is None or now - self._window_start >= self.rate_limit_window:
            self._window_start = now
            self._window_count = 0
        if self._window_count < self.rate_limit:
            # Only handled requests use up the window: a refused one costs the client nothing.
            self._window_count += 1
            return None
        reopens = self._window_start + self.rate_limit_window - now
        return Fault(
            429, RATE_LIMIT_MESSAGE, retry_after=max(1, math.ceil(reopens)), cause="rate_limit"
        )

    def _failure(self, fail_draw: float, kind_draw: float) -> Optional[Fault]:
        if fail_draw >= self.fail_rate:
            return None
        if kind_draw < 0.5:
            return Fault(429, RATE_LIMIT_MESSAGE, retry_after=self.retry_after)
        return Fault(503, "Service Unavailable (sandbox fault injection); retry with backoff")
