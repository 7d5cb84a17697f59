"""Importing files of events, profiles or groups into Mixpanel: read, check, batch, send, resume.

One thread reads and checks the records and cuts them into batches (:mod:`records`,
:mod:`batches`); ``workers`` threads compress and send them through the caller's
:class:`~mp_custom_action.core.runner.Runner` (:mod:`imports_send`), whose retry policy handles
429s and 5xx; a :class:`~.checkpoint.Ledger` keeps the rejects file, the counts and the
checkpoint. The queue between them holds at most ``workers`` batches, so memory stays bounded
whatever the size of the files.

What can stop a run, and what it leaves:

* bad input found before sending (an unreadable file, neither JSON nor NDJSON, a truncated gzip,
  a checkpoint of another file or project): an :class:`~mp_custom_action.errors.InputError`,
  nothing sent, nothing written;
* a file that goes bad midway, ``max_rejects`` passed, an answer no batch would fare better with
  (credentials refused, retries exhausted), a transport error: the records read before are sent,
  the checkpoint and rejects file are saved, and the summary's ``stopped`` says why and where;
* Ctrl-C: the calls in flight are cut, the checkpoint is saved, and ``KeyboardInterrupt`` goes on
  with the summary as its ``summary`` attribute.
"""

from __future__ import annotations

import os
import queue
import threading
import time
from collections.abc import Sequence
from typing import IO, TYPE_CHECKING, Any, Optional, Union

from ..errors import ExitStatus, InputError, MpError
from ..settings import MAX_PARALLEL
from .batches import Batch, Batcher
from .checkpoint import Ledger, fingerprint
from .imports_checks import KINDS
from .imports_read import Hooks, read_generic, read_ndjson_events
from .imports_send import Sender, StopImport, reject_entry
from .imports_summary import ImportSummary
from .parse import WRITER
from .progress import Progress
from .records import ImportFileError, InputFile, probe

if TYPE_CHECKING:
    from ..core.runner import Runner

__all__ = ["ImportSummary", "import_files"]

#: How many rejects a dry run shows in its summary.
_SHOWN_REJECTS = 5


def import_files(
    runner: Runner,
    kind: str,
    paths: Union[str, Sequence[str]],
    *,
    workers: int = 4,
    checkpoint: Optional[str] = None,
    rejects: Optional[str] = None,
    resume: bool = False,
    max_rejects: Optional[int] = None,
    dry_run: bool = False,
    progress: Union[bool, str, None] = None,
    stdin: Optional[IO[bytes]] = None,
) -> ImportSummary:
    """Import ``paths`` (``"-"``: stdin) as ``kind`` (events, profiles, groups) with ``runner``.

    ``checkpoint`` and ``rejects`` default to files beside the first input
    (``FILE.import-checkpoint.json``, ``FILE.rejects.jsonl``). ``resume`` goes on from the
    checkpoint (a fresh start when there is none). ``max_rejects``: stop once more records than
    this were rejected. ``progress``: ``None`` a bar on a terminal, plain lines otherwise;
    ``False`` silent.
    """
    if kind not in KINDS:
        raise InputError(f"expected one of {', '.join(KINDS)}, got {kind!r}", field="kind")
    names = [paths] if isinstance(paths, str) else list(paths)
    _check_arguments(names, workers, max_rejects, resume)
    opened: list[tuple[InputFile, Any]] = []
    try:
        for name in names:
            opened.append(probe(name, stdin=stdin))
        job = _Job(runner, kind, opened, workers=workers, dry_run=dry_run, max_rejects=max_rejects)
        job.open_ledger(checkpoint, rejects, resume)
        return job.run(progress)
    finally:
        for _, stream in opened:
            try:
                stream.close()
            except OSError:
                pass


def _check_arguments(names: list[str], workers: Any, max_rejects: Any, resume: bool) -> None:
    if not names:
        raise InputError("expected at least one file (or - for stdin)", field="file")
    if names.count("-") > 1:
        raise InputError("stdin (-) can be read only once", field="file")
    if (
        isinstance(workers, bool)
        or not isinstance(workers, int)
        or not 1 <= workers <= MAX_PARALLEL
    ):
        raise InputError(f"expected a whole number from 1 to {MAX_PARALLEL}", field="workers")
    if max_rejects is not None and (
        isinstance(max_rejects, bool) or not isinstance(max_rejects, int) or max_rejects < 0
    ):
        raise InputError("expected a whole number >= 0", field="max_rejects")
    if resume and "-" in names:
        raise InputError("--resume needs files: stdin cannot be read again", field="resume")


def _beside(names: list[str], suffix: str) -> Optional[str]:
    first = next((n for n in names if n != "-"), None)
    return None if first is None else os.path.abspath(first) + suffix


class _Job:
    """One run of :func:`import_files`."""

    def __init__(
        self,
        runner: Runner,
        kind: str,
        opened: list[tuple[InputFile, Any]],
        *,
        workers: int,
        dry_run: bool,
        max_rejects: Optional[int],
    ) -> None:
        self.runner = runner
        self.kind = kind
        self.opened = opened
        self.names = [source.name for source, _ in opened]
        self.workers = workers
        self.dry_run = dry_run
        self.max_rejects = max_rejects
        self.sender = Sender(runner, kind, self.names)
        self.summary = ImportSummary(kind, self.names, dry_run=dry_run)
        self.stop = threading.Event()
        self.queue: queue.Queue[Optional[Batch]] = queue.Queue(maxsize=workers)
        self.threads: list[threading.Thread] = []
        self._stopped_lock = threading.Lock()
        self.ledger: Ledger
        self.progress: Progress

    def open_ledger(self, checkpoint: Optional[str], rejects: Optional[str], resume: bool) -> None:
        if self.dry_run:
            checkpoint = rejects = None
        else:
            checkpoint = checkpoint or _beside(self.names, ".import-checkpoint.json")
            rejects = rejects or _beside(self.names, ".rejects.jsonl") or "import-rejects.jsonl"
        identity = {
            "kind": self.kind,
            "inputs": [
                {"stdin": True} if source.path is None else fingerprint(source.path)
                for source, _ in self.opened
            ],
            "project": {
                "project_id": self.runner.credentials.project_id,
                "region": self.runner.region,
                "origin": self.runner.origin,
            },
            # Records written back are sized by it, so batches are cut by it (bulk/parse.py).
            "writer": WRITER,
        }
        self.ledger = Ledger(identity, checkpoint=checkpoint, rejects=rejects, resume=resume)
        self.summary.checkpoint = checkpoint
        self.summary.rejects = os.path.abspath(rejects) if rejects else None
        self.summary.resumed = self.ledger.resumed

    # -- the run --------------------------------------------------------------------------------

    def run(self, progress: Union[bool, str, None]) -> ImportSummary:
        sizes = [source.size for source, _ in self.opened]
        total = sum(s for s in sizes if s) if all(s is not None for s in sizes) else None
        self.progress = Progress("import", total_bytes=total or None, mode=progress)
        started = time.monotonic()
        if not self.dry_run:
            for _ in range(self.workers):
                thread = threading.Thread(target=self._work, name="mp-import", daemon=True)
                thread.start()
                self.threads.append(thread)
        try:
            self._read_all()
            self._drain()
        except KeyboardInterrupt as exc:
            self._halt({"reason": "interrupted"}, int(ExitStatus.INTERRUPTED))
            self.runner.abort_all()
            self._drain()
            self._finish(started)
            exc.summary = self.summary  # type: ignore[attr-defined]
            raise
        except BaseException:
            self.stop.set()
            self.runner.abort_all()
            self._drain()
            self.ledger.finish(complete=False)
            self.progress.close()
            raise
        return self._finish(started)

    def _finish(self, started: float) -> ImportSummary:
        summary = self.summary
        counts = self.ledger.counts
        summary.accepted = counts["accepted"]
        summary.rejected = counts["rejected"]
        summary.sent = counts["sent"]
        summary.retried_batches = counts["retried_batches"]
        summary.seconds = time.monotonic() - started
        self.ledger.finish(complete=summary.complete and not self.dry_run)
        if summary.complete and summary.checkpoint and not self.dry_run:
            summary.checkpoint = None  # removed: there is nothing left to resume
        self.progress.close()
        return summary

    def _halt(self, stopped: dict[str, Any], exit_status: int, *, hard: bool = True) -> None:
        """Stop the run for ``stopped``; the first reason given is the one kept. ``hard``: send
        nothing more (else the batches already read still go, as after a file that went bad)."""
        with self._stopped_lock:
            if self.summary.stopped is None:
                self.summary.stopped = stopped
                self.summary.exit_status = exit_status
        if hard:
            self.stop.set()

    def _read_all(self) -> None:
        batcher = Batcher(self.kind)
        hooks = Hooks(self._dispatch, self._local_reject, self.ledger.read_up_to, self.stop.is_set)
        try:
            for index, (source, stream) in enumerate(self.opened):
                try:
                    if self.kind == "events" and source.format == "ndjson":
                        read_ndjson_events(index, source, stream, batcher, hooks)
                    else:
                        read_generic(self.kind, index, source, stream, batcher, hooks)
                except ImportFileError as exc:
                    self._halt(
                        {"reason": exc.detail, "file": source.name, "line": exc.line},
                        int(ExitStatus.INPUT_ERROR),
                        hard=False,
                    )
                last = batcher.flush()
                if last is not None and not self.stop.is_set():
                    self._dispatch(last)
                if self.summary.stopped is not None:
                    return
        finally:
            self.summary.read = hooks.read

    def _local_reject(self, index: int, number: int, problem: str, value: Any, raw: bytes) -> None:
        ledger = self.ledger
        if ledger.seen(index, number):
            return
        entry = reject_entry(self.names[index], number, problem, value, raw, "check")
        if self.dry_run and len(self.summary.first_rejects) < _SHOWN_REJECTS:
            self.summary.first_rejects.append(entry)
        ledger.reject([entry], position=(index, number))
        self._check_rejects()

    def _check_rejects(self) -> None:
        limit = self.max_rejects
        if limit is not None and self.ledger.counts["rejected"] > limit:
            self._halt(
                {"reason": f"more than {limit} records rejected (--max-rejects)"},
                int(ExitStatus.INPUT_ERROR),
            )

    def _dispatch(self, batch: Batch) -> None:
        self.summary.batches += 1
        if batch.seq in self.ledger.done:
            self.summary.skipped_batches += 1
            self.progress.advance(records=len(batch), nbytes=batch.span)
            return
        if self.dry_run:
            if self.summary.request is None:
                self.summary.request = _described(self.sender, batch)
            self.progress.advance(records=len(batch), nbytes=batch.span)
            return
        while not self.stop.is_set():
            try:
                self.queue.put(batch, timeout=0.2)
                return
            except queue.Full:
                continue

    def _drain(self) -> None:
        """Let the workers finish what they hold, then end them: one ``None`` each."""
        ends = len(self.threads)
        while ends and any(thread.is_alive() for thread in self.threads):
            try:
                self.queue.put(None, timeout=0.2)
                ends -= 1
            except queue.Full:
                continue
        for thread in self.threads:
            thread.join()
        self.threads = []

    # -- the workers ----------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            batch = self.queue.get()
            if batch is None:
                return
            if self.stop.is_set():
                continue  # not sent: the checkpoint leaves it to a resumed run
            try:
                outcome = self.sender.send(batch)
            except Exception as exc:
                self._halt(*_stop_for(exc, self.names[batch.source], batch.numbers[0]))
                continue
            self.ledger.acknowledged(
                batch.seq,
                accepted=outcome.accepted,
                sent=len(batch),
                retried=outcome.attempts > 1,
                rejects=outcome.rejects,
            )
            self.progress.advance(records=len(batch), nbytes=batch.span)
            if outcome.rejects:
                self._check_rejects()


def _stop_for(exc: Exception, name: str, line: int) -> tuple[dict[str, Any], int]:
    """Why a batch's failure stops the run, and the exit status: from its answer, a transport
    error, or a bug (named by its type only: its message might quote anything)."""
    where = {"file": name, "line": line}
    if isinstance(exc, StopImport):
        return {"reason": exc.message, **where}, exc.exit_status
    if isinstance(exc, MpError):
        return {"reason": str(exc), **where}, int(exc.exit_status)
    return {"reason": f"internal error: {type(exc).__name__}", **where}, int(ExitStatus.ERROR)


def _described(sender: Sender, batch: Batch) -> dict[str, Any]:
    request = sender.prepare(batch)
    shown = request.describe()
    if sender.kind == "events":
        shown["body"] = (
            f"<{len(batch)} events as gzip-compressed NDJSON, {batch.nbytes:,} bytes before "
            f"compression, {len(request.body or b''):,} after>"
        )
    else:  # the first update as shown (its token redacted), not all 2,000 of them
        first = shown["body"][0] if isinstance(shown.get("body"), list) and shown["body"] else None
        shown["body"] = (
            f"<{len(batch)} updates as a JSON array, {len(request.body or b''):,} bytes>"
        )
        shown["first_update"] = first
    return shown
