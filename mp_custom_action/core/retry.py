"""When to try a request again, and how long to wait first.

Mixpanel's advice: on 429 (and 502/503) back off from 2 s, doubling up to 60 s, with 1-5 s of
jitter; a ``Retry-After`` header may come, in seconds or as an HTTP date. Repeating a request is
only done where it cannot do harm twice:

==================  ============================  ==========================================
answer              GET, PUT, DELETE (idempotent)  POST, PATCH
==================  ============================  ==========================================
429                 retry                          retry (Mixpanel did not process it)
502, 503, 504       retry                          retry only a de-duplicated ingestion batch
connect error       retry                          retry (nothing was sent)
error after send    retry                          retry only a de-duplicated ingestion batch
anything else       return it                      return it
==================  ============================  ==========================================

A "de-duplicated ingestion batch" is a POST to ``/import`` or ``/track`` whose every record carries
``$insert_id``: Mixpanel drops the repeats. The clock and the randomness are injected, so tests
check the waits without sleeping.
"""

from __future__ import annotations

import email.utils
import random
from dataclasses import dataclass
from typing import Callable, Optional

__all__ = ["RETRY_STATUSES", "RetryPolicy", "parse_retry_after"]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE"})


def parse_retry_after(value: Optional[str], now: float) -> Optional[float]:
    """Seconds to wait from a ``Retry-After`` value, or ``None`` if it is absent or garbage.

    Negative values and dates in the past mean "now" (0). ``now`` is the wall clock (unix time),
    needed for the HTTP-date form.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        seconds = when.timestamp() - now
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # NaN / inf
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How many times to retry and how long to wait. ``retries=0`` turns retrying off."""

    retries: int = 4
    backoff_base: float = 2.0
    backoff_cap: float = 60.0
    jitter: tuple[float, float] = (1.0, 5.0)
    #: The longest ``Retry-After`` honoured; a server asking for more gets this.
    retry_after_cap: float = 120.0

    def should_retry(
        self,
        attempt: int,
        method: str,
        *,
        status: Optional[int] = None,
        connect_error: bool = False,
        sent_error: bool = False,
        replay_safe: bool = False,
    ) -> bool:
        """May attempt number ``attempt`` (1-based, just finished) be followed by another?"""
        if attempt > self.retries:
            return False
        repeatable = method in IDEMPOTENT or replay_safe
        if status is not None:
            if status == 429:
                return True
            return status in RETRY_STATUSES and repeatable
        if connect_error:
            return True
        if sent_error:
            return repeatable
        return False

    def wait(
        self,
        attempt: int,
        *,
        retry_after: Optional[str] = None,
        now: float = 0.0,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> float:
        """Seconds to wait after attempt number ``attempt`` (1-based) before the next one."""
        honoured = parse_retry_after(retry_after, now)
        if honoured is not None:
            return min(honoured, self.retry_after_cap)
        # The exponent is capped: 2.0 ** 1024 overflows a float, and past 2 ** 32 the cap has
        # long been reached anyway.
        backoff = min(self.backoff_cap, self.backoff_base * (2.0 ** min(attempt - 1, 32)))
        low, high = self.jitter
        return float(min(self.backoff_cap, backoff + rng(low, high)))
