"""A fake clock for the runner: time moves only when the runner sleeps.

Pass ``clock=c.monotonic, wall_clock=c.wall, sleep=c.sleep``: retry waits are then recorded in
``c.sleeps`` and checked exactly, and no test sleeps for a retry.
"""

from __future__ import annotations

#: What ``wall()`` reads when ``monotonic()`` reads 0 (``now`` starts at 1000).
WALL0 = 1_700_000_000.0


class FakeClock:
    """Monotonic and wall clocks that move only when the runner sleeps."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL0 + self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
