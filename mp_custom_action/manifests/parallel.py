"""Running a manifest's independent steps at once: up to ``parallel`` steps, within each API's limits.

Only :func:`~.run.run_manifest` calls this, and only for ``parallel`` above 1; at 1 the
steps run strictly in order there, by the same code as before parallel runs existed.

The rules, which docs/manifests.md ("Parallel steps") states for users:

* A step starts once every step it reads (``${steps.NAME...}``) has finished, and once the
  earlier steps writing the same ``output`` file have: two writers of one file would interleave.
* At most ``parallel`` steps are in flight, and at most each API's :data:`LIMITS` of them.
* A failure that would stop an in-order run starts nothing more: steps already in flight finish
  and are reported, the rest are ``skipped``. The exit status is that of the first failure in
  manifest order, whichever finished first.
* The output lists the steps in manifest order, whatever order they finished in.

Requests are built on this (the scheduling) thread, as soon as a step's inputs are known, so the
API a step calls is known before it takes a slot; the pool's threads only send. Results are read
and written by this thread alone, so they need no lock; the :class:`~.runner.Runner` is shared by
the sending threads, which it allows (one session, one deadline watchdog).
"""

from __future__ import annotations

import heapq
import math
import os
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..core.limits import at_once_for, per_second_for
from ..errors import MpError
from ..settings import MAX_PARALLEL
from .interrupts import POLL, DeferredSignals
from .load import Manifest, ManifestRun, Step
from .progress import Progress
from .steps import answered_entry, failed_entry, step_request

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner

__all__ = ["LIMITS", "Limit", "run_parallel"]


@dataclass(frozen=True)
class Limit:
    """How hard one API may be called from one run: ``at_once`` calls in flight, and at most
    ``starts`` calls started in any ``window`` seconds (0: no rate of starts)."""

    at_once: int
    starts: int = 0
    window: float = 1.0


# Mixpanel's limits are per project (their numbers: core/limits.py, the one table); a run
# keeps under the ones that running steps at once could break. Limits that an in-order run meets
# just as well (60 queries an hour) are left to the runner's backoff on 429.
LIMITS: dict[str, Limit] = {
    # "5 at once": the sixth concurrent query is refused.
    "query": Limit(at_once=at_once_for("query") or 1),
    # "100 at once, 3 a second": 100 is more than `parallel` allows, so the rate is what binds.
    "export": Limit(at_once=at_once_for("export") or 1, starts=per_second_for("export") or 0),
    # "5 requests a minute": a second call at once only reaches the limit sooner.
    "lexicon": Limit(at_once=1),
    # No concurrency limit is published for these app APIs (and syncs are 5 an hour): one at a
    # time, as in an in-order run, rather than a guess.
    "connectors": Limit(at_once=1),
    "pipelines": Limit(at_once=1),
    # Built for volume (2 GB of JSON a minute): only `parallel` bounds it.
    "ingestion": Limit(at_once=MAX_PARALLEL),
}
#: An API from a plugin: its limits are unknown, so its steps run one at a time.
UNKNOWN_API = Limit(at_once=1)


def run_parallel(
    manifest: Manifest,
    runner: Runner,
    at_once: int,
    *,
    strict_plugins: Optional[bool] = None,
    clock: Callable[[], float] = time.monotonic,
    progress: Optional[Progress] = None,
) -> ManifestRun:
    """Run ``manifest`` with up to ``at_once`` independent steps in flight (see the module).

    ``progress`` hears of each step sent and done, on this thread (see :mod:`.progress`)."""
    progress = Progress() if progress is None else progress
    plan = _Schedule(manifest.steps, _Gates(clock), progress)
    running: dict[Future[Result], tuple[Step, str]] = {}

    def build(step: Step) -> Optional[OutgoingRequest]:
        try:
            return step_request(step, manifest, runner, plan.results, strict_plugins)
        except MpError as exc:  # its inputs failed: it never takes a slot
            plan.results[step.name] = None
            plan.finish(step, *failed_entry(step, exc))
            return None

    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="mp-manifest") as pool:

        def submit(step: Step, request: OutgoingRequest) -> None:
            progress.sent(step, request)
            future = pool.submit(runner.send, request, output=step.output)
            running[future] = (step, request.api.name)

        try:
            with DeferredSignals() as signals:
                poll = POLL if signals.active else math.inf
                while True:
                    signals.check()  # Ctrl-C or SIGTERM acts here, where no lock is held
                    retry_in = plan.start(at_once - len(running), build, submit)
                    if not running:
                        if plan.failures or not plan.startable:
                            break
                        # Only a rate of starts can hold back a step with nothing in flight
                        # (its dependencies are all earlier, hence finished).
                        time.sleep(min(retry_in if math.isfinite(retry_in) else 0.001, poll))
                        continue
                    timeout = min(retry_in, poll)
                    done, _ = wait(
                        running,
                        timeout=timeout if math.isfinite(timeout) else None,
                        return_when=FIRST_COMPLETED,
                    )
                    for future in sorted(done, key=lambda f: running[f][0].index):
                        step, api = running.pop(future)
                        plan.released(api)
                        try:
                            result = future.result()
                        except MpError as exc:
                            plan.results[step.name] = None
                            plan.finish(step, *failed_entry(step, exc))
                        else:
                            entry, plan.results[step.name], status = answered_entry(step, result)
                            plan.finish(step, entry, status)
        except BaseException:
            # Ctrl-C (or a bug) must not wait for every call in flight to reach its deadline:
            # cut them, so the pool's workers end at once and the interrupt goes through.
            runner.abort_all()
            raise
    return plan.outcome()


class _Schedule:
    """Which steps may start, kept so that each step costs the same whatever the manifest's size.

    A step is *pending* while a step it waits for is unfinished, then *ready* (a heap, lowest
    index first: the order an in-order run would start them), then, once built, *parked* under
    its API when that API's gate is shut. A finished step readies its dependents; a released gate
    lets its API's parked steps be tried again. Nothing rescans the steps still waiting.
    """

    def __init__(self, steps: Sequence[Step], gates: _Gates, progress: Progress) -> None:
        self.steps = steps
        self.gates = gates
        self.progress = progress
        after = _dependencies(steps)
        self.pending = [len(needs) for needs in after]
        self.dependents: list[list[int]] = [[] for _ in steps]
        for i, needs in enumerate(after):
            for d in needs:
                self.dependents[d].append(i)
        self.ready = [i for i, n in enumerate(self.pending) if n == 0]  # sorted: a valid heap
        self.parked: dict[str, list[tuple[int, OutgoingRequest]]] = {}
        self.entries: list[Optional[dict[str, Any]]] = [None] * len(steps)
        self.results: dict[str, Optional[dict[str, Any]]] = {}
        self.failures: dict[int, int] = {}  # step index -> exit status, for those that stop a run

    @property
    def startable(self) -> bool:
        return bool(self.ready) or any(self.parked.values())

    def start(
        self,
        slots: int,
        build: Callable[[Step], Optional[OutgoingRequest]],
        submit: Callable[[Step, OutgoingRequest], None],
    ) -> float:
        """Start up to ``slots`` steps, lowest index first; return how long until a rate of
        starts lets a parked step go (inf: until a call in flight ends)."""
        retry_in = math.inf
        shut: set[str] = set()  # APIs whose gate said no in this pass
        while slots > 0 and not self.failures:
            i, request = self._next(shut)
            if i < 0:
                break
            step = self.steps[i]
            if request is None:
                request = build(step)
                if request is None:
                    continue
            api = request.api.name
            delay = math.inf if api in shut else self.gates.take(api)
            if delay:
                shut.add(api)
                retry_in = min(retry_in, delay)
                heapq.heappush(self.parked.setdefault(api, []), (i, request))
                continue
            submit(step, request)
            slots -= 1
        return retry_in

    def _next(self, shut: set[str]) -> tuple[int, Optional[OutgoingRequest]]:
        # The lowest index among the ready steps and the parked ones of APIs not shut this pass.
        best, api_of = self.ready[0] if self.ready else -1, ""
        for api, heap in self.parked.items():
            if heap and api not in shut and (best < 0 or heap[0][0] < best):
                best, api_of = heap[0][0], api
        if best < 0:
            return -1, None
        if api_of:
            return heapq.heappop(self.parked[api_of])
        return heapq.heappop(self.ready), None

    def released(self, api: str) -> None:
        self.gates.release(api)

    def finish(self, step: Step, entry: dict[str, Any], status: int) -> None:
        self.entries[step.index] = entry
        self.progress.done(step, entry, status)
        if status and not step.continue_on_error:
            self.failures[step.index] = status
        for i in self.dependents[step.index]:
            self.pending[i] -= 1
            if not self.pending[i]:
                heapq.heappush(self.ready, i)

    def outcome(self) -> ManifestRun:
        out = [
            entry if entry is not None else {"name": step.name, "skipped": True}
            for step, entry in zip(self.steps, self.entries)
        ]
        first = self.failures[min(self.failures)] if self.failures else 0
        return ManifestRun(ok=not first, steps=out, exit_status=first)


def _dependencies(steps: Sequence[Step]) -> list[set[int]]:
    """For each step, the earlier steps it must wait for: those it reads, and those writing the
    same ``output`` file (which then ends up as an in-order run would leave it)."""
    index = {step.name: step.index for step in steps}
    writers: dict[str, int] = {}
    after: list[set[int]] = []
    for step in steps:
        needs = {index[ref.name] for _, ref in step.refs if ref.kind == "steps"}
        if step.output is not None:
            # casefold: on Windows and macOS folders `Out.jsonl` is `out.jsonl` (normcase knows
            # only Windows); a false match only makes a step wait.
            path = os.path.normpath(step.output).casefold()
            if path in writers:
                needs.add(writers[path])
            writers[path] = step.index
        after.append(needs)
    return after


class _Gates:
    """Per-API admission: calls in flight (a counting semaphore taken without blocking, so
    the scheduler can start another API's step instead of waiting) and recent starts."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._in_flight: Counter[str] = Counter()
        self._starts: dict[str, deque[float]] = {}

    def take(self, api: str) -> float:
        """Take a slot of ``api`` and return 0, or return how long to wait (inf: until one of
        its calls ends)."""
        limit = LIMITS.get(api, UNKNOWN_API)
        if self._in_flight[api] >= limit.at_once:
            return math.inf
        if limit.starts:
            now = self._clock()
            starts = self._starts.setdefault(api, deque())
            while starts and starts[0] <= now - limit.window:
                starts.popleft()
            if len(starts) >= limit.starts:
                return max(starts[0] + limit.window - now, 0.001)
            starts.append(now)
        self._in_flight[api] += 1
        return 0.0

    def release(self, api: str) -> None:
        self._in_flight[api] -= 1
