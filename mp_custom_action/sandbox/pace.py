"""``--stream-rate``: holding one connection's streamed answer (Export) to a rate, like a long link."""

from __future__ import annotations

import time

__all__ = ["Pace"]


class Pace:
    """Holds one connection's stream to ``rate`` bytes a second (``--stream-rate``), the way a
    long-distance link does: a chunk leaves when the link would have finished carrying it and
    every chunk before it, so a body of N bytes takes N / rate seconds, however it is cut."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.sent = 0
        self.start = time.monotonic()

    def wait(self, size: int) -> None:
        if self.rate > 0:
            self.sent += size
            ahead = self.start + self.sent / self.rate - time.monotonic()
            if ahead > 0:
                time.sleep(ahead)
