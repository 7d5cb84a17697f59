"""What a manifest run has done so far, step by step: for a run that stops early, and for people.

A run tells its :class:`Progress` when it sends a step and when the step is done. If the run then
stops early for any reason (Ctrl-C, SIGTERM, an internal error), :meth:`Progress.stopped` still
gives the run's output: the steps that were answered as they were, the ones in flight marked as
sent without an answer read, the rest as not run. :class:`TerminalProgress` also writes one line
per step and a final line on a stream (``run`` uses it when stderr is a terminal).

Only the thread that schedules the steps calls a Progress: it needs no lock.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, Callable, Optional, TextIO
from urllib.parse import urlsplit

from .._text import one_line, shorten
from .load import ManifestRun, Step

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ..core.request import OutgoingRequest

__all__ = ["Progress", "TerminalProgress"]


class Progress:
    """The entries of the steps done so far, and the steps sent and not yet answered."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.steps: Sequence[Step] = ()
        self.entries: dict[int, dict[str, Any]] = {}
        self.statuses: dict[int, int] = {}
        #: Steps sent and not yet answered: index -> (request, when it was sent).
        self.in_flight: dict[int, tuple[OutgoingRequest, float]] = {}
        self.began = clock()

    def begin(self, steps: Sequence[Step]) -> None:
        """The run starts (its steps, in manifest order)."""
        self.steps = steps
        self.began = self.clock()

    def sent(self, step: Step, request: OutgoingRequest) -> None:
        """``step``'s request is about to go out."""
        self.in_flight[step.index] = (request, self.clock())

    def done(self, step: Step, entry: dict[str, Any], status: int) -> None:
        """``step`` has its output entry (answered, or failed); ``status`` 0 is a success."""
        sent = self.in_flight.pop(step.index, None)
        self.entries[step.index] = entry
        self.statuses[step.index] = status
        self.step_done(step, entry, status, sent)

    def step_done(
        self,
        step: Step,
        entry: dict[str, Any],
        status: int,
        sent: Optional[tuple[OutgoingRequest, float]],
    ) -> None:
        """A hook for people watching (see :class:`TerminalProgress`); nothing here."""

    def finished(self, run: ManifestRun) -> ManifestRun:
        """The run ended as it should: ``run`` is its outcome."""
        self.summary(run.steps, "")
        return run

    def stopped(self, reason: str) -> ManifestRun:
        """The output of a run that stopped early because of ``reason`` (``interrupted``)."""
        steps: list[dict[str, Any]] = []
        for step in self.steps:
            if step.index in self.entries:
                steps.append(self.entries[step.index])
            elif step.index in self.in_flight:
                error = f"{reason} before its answer was read (the request may have been sent)"
                steps.append({"name": step.name, "error": error})
            else:
                steps.append({"name": step.name, "skipped": True})
        failed = next((s for i, s in sorted(self.statuses.items()) if s), 0)
        run = ManifestRun(ok=False, steps=steps, exit_status=failed)
        self.summary(steps, reason)
        return run

    def summary(self, steps: list[dict[str, Any]], reason: str) -> None:
        """A hook for the final line of a run (``reason``: why it stopped early, or '')."""


class TerminalProgress(Progress):
    """A :class:`Progress` that writes a line per finished step and a final line to ``stream``:

    ``steps[0] sources  GET /api/app/projects/4242/warehouse-sources  200  0.12 s``
    ``3 steps, 3 ok, 0.31 s``
    """

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.stream = stream

    def step_done(
        self,
        step: Step,
        entry: dict[str, Any],
        status: int,
        sent: Optional[tuple[OutgoingRequest, float]],
    ) -> None:
        parts = [f"{step.where} {one_line(step.name)}"]
        took = ""
        if sent is not None:
            request, when = sent
            # The path only: a query may hold a secret, and a secret in the path is masked.
            parts.append(f"{request.method} {urlsplit(request.shown_url).path}")
            took = _seconds(self.clock() - when)
        if "error" in entry:
            parts.append(f"error: {shorten(one_line(str(entry['error'])), 120)}")
        else:
            parts.append(f"{entry.get('status_code')}{' (not expected)' if status else ''}")
        self._write("  ".join(parts + ([took] if took else [])))

    def summary(self, steps: list[dict[str, Any]], reason: str) -> None:
        ok = sum(1 for i, s in self.statuses.items() if not s and "error" not in self.entries[i])
        counts = [f"{len(steps)} step{'s' if len(steps) != 1 else ''}", f"{ok} ok"]
        failed = len(self.entries) - ok
        not_run = sum(1 for s in steps if s.get("skipped"))
        cut = len(steps) - len(self.entries) - not_run
        if failed:
            counts.append(f"{failed} failed")
        if cut:
            counts.append(f"{cut} cut short")
        if not_run:
            counts.append(f"{not_run} not run")
        took = _seconds(self.clock() - self.began)
        self._write(", ".join(counts) + (f"; {reason} after {took}" if reason else f", {took}"))

    def _write(self, line: str) -> None:
        try:
            self.stream.write(line + "\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass  # a closed terminal must not stop the run


def _seconds(value: float) -> str:
    return f"{value:.2f} s" if value < 10 else f"{value:.1f} s"
