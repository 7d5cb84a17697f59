"""Export a date range by windows: several at once, written in date order, resumable window by window.

::

    from mp_custom_action import Runner
    from mp_custom_action.bulk import export_range

    with Runner() as runner:
        summary = export_range(runner, "2024-01-01", "2024-01-31", parallel=6, output="jan.jsonl")
    summary.to_dict()   # {"windows": 31, "fetched": 31, "events": ..., "bytes": ..., ...}

Each window is one Export request (bulk/windows.py), streamed by the runner into a part file that
appears only once its body is whole (the runner fetches a window cut mid-stream again, whole), so
memory stays bounded whatever the size. With ``output`` the parts are appended to the one file in
date order, each one after the last, and a state file beside it (``FILE.export-state.json``) records
the file's length after each window. ``resume=True`` cuts the file back to that length (a window
half-appended when a run was killed goes) and fetches only what is missing. With ``output_dir``
each window is its own file, ``DIR/2024-01-05.jsonl``. The state file holds the export's
parameters and counts: never a credential.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Protocol, Union

from ..errors import InputError, MpError
from ..settings import MAX_PARALLEL
from .export_files import OneFile, PerWindow, Target, count_lines, keep_window, output_error
from .windows import DateLike, Window, plan_windows

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.runner import Runner

__all__ = ["MAX_LIMIT", "ExportSummary", "Progress", "export_range", "window_requests"]

#: Export's largest ``limit``.
MAX_LIMIT = 100_000

PathLike = Union[str, "os.PathLike[str]"]


class Progress(Protocol):
    """What export_range reports to: bulk/progress.py's ``Progress``, or any object of this shape."""

    def advance(self, records: int = 0, nbytes: int = 0) -> None: ...

    def note(self, text: str) -> None: ...


@dataclass
class ExportSummary:
    """What an export did. ``failed`` lists the windows that did not arrive (none when ``ok``)."""

    from_date: str
    to_date: str
    window: str
    windows: int
    fetched: int = 0
    resumed: int = 0
    events: int = 0
    bytes: int = 0
    seconds: float = 0.0
    output: Optional[str] = None
    output_dir: Optional[str] = None
    files: list[str] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failed and self.fetched + self.resumed == self.windows

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "ok": self.ok,
            "from_date": self.from_date,
            "to_date": self.to_date,
            "window": self.window,
            "windows": self.windows,
            "fetched": self.fetched,
            "resumed": self.resumed,
            "events": self.events,
            "bytes": self.bytes,
            "seconds": round(self.seconds, 3),
            "failed": list(self.failed),
        }
        if self.output is not None:
            out["output"] = self.output
        else:
            out["output_dir"] = self.output_dir
            out["files"] = list(self.files)
        return out


@dataclass
class _Fetched:
    window: Window
    part: Optional[Path] = None
    events: int = 0
    nbytes: int = 0
    failure: Optional[dict[str, Any]] = None


def export_range(
    runner: Runner,
    from_date: DateLike,
    to_date: DateLike,
    *,
    window: str = "1d",
    parallel: int = 1,
    output: Optional[PathLike] = None,
    output_dir: Optional[PathLike] = None,
    event: Union[str, Sequence[str], None] = None,
    where: Optional[str] = None,
    limit: Optional[int] = None,
    resume: bool = False,
    progress: Union[Progress, bool, str, None] = None,
) -> ExportSummary:
    """Export ``from_date``..``to_date`` (inclusive) by windows; see the module docstring.

    Every input is checked, and every window's request built, before anything is sent. A window
    answered with an HTTP error, or that fails in transport, starts no more windows; those in
    flight finish, and the summary lists it in ``failed`` (``resume=True`` carries on later).
    ``progress``: as for ``import_files`` (``None`` on stderr, a bar on a terminal; ``False``
    silent; ``"bar"``/``"lines"``), or an object with ``advance`` and ``note``.
    """
    at_once = _parallel(parallel)
    windows, requests = window_requests(runner, from_date, to_date, window, event, where, limit)
    query = _query(event, where, limit)
    params = {
        "from_date": windows[0].from_date,
        "to_date": windows[-1].to_date,
        "window": str(window).strip().lower(),
        **query,
        "project_id": runner.credentials.project_id,
        "region": runner.region,
        "origin": runner.origin,
    }
    target = _target(output, output_dir, params, resume)
    summary = ExportSummary(
        params["from_date"], params["to_date"], params["window"], len(windows),
        output=str(target.path) if isinstance(target, OneFile) else None,
        output_dir=str(target.path) if isinstance(target, PerWindow) else None,
    )  # fmt: skip
    started = time.monotonic()
    done = target.start()
    summary.resumed = sum(1 for w in windows if w.name in done)
    todo = [w for w in windows if w.name not in done]
    reporter, close = _reporter(progress)
    try:
        _run(runner, todo, requests, at_once, target, summary, reporter)
    finally:
        target.close()
        if close is not None:
            close()
        summary.seconds = time.monotonic() - started
        summary.files = target.files(windows)
    return summary


def _reporter(
    progress: Union[Progress, bool, str, None],
) -> tuple[Optional[Progress], Optional[Callable[[], None]]]:
    """The progress to report to, and what closes it (``None`` when the caller owns it)."""
    if progress is False:
        return None, None
    if progress is None or isinstance(progress, (bool, str)):
        from .progress import Progress as Shared

        shared = Shared("export", mode=progress)
        return shared, shared.close
    return progress, None


def window_requests(
    runner: Runner,
    from_date: DateLike,
    to_date: DateLike,
    window: str = "1d",
    event: Union[str, Sequence[str], None] = None,
    where: Optional[str] = None,
    limit: Optional[int] = None,
) -> tuple[list[Window], list[OutgoingRequest]]:
    """The windows of the range and each one's Export request, checked and built, not sent."""
    windows = plan_windows(from_date, to_date, window)
    query = _query(event, where, limit)
    return windows, [runner.prepare(_inputs(w, query)) for w in windows]


def _run(
    runner: Runner,
    todo: list[Window],
    requests: list[OutgoingRequest],
    at_once: int,
    target: Target,
    summary: ExportSummary,
    progress: Optional[Progress],
) -> None:
    """Fetch ``todo`` with ``at_once`` in flight; commit them in date order as they arrive."""
    arrived: dict[int, _Fetched] = {}
    running: dict[Future[_Fetched], Window] = {}
    # Windows fetched ahead of the oldest unfinished one wait on disk; this bounds how many.
    ahead = max(2 * at_once, at_once + 2)
    position = 0  # index in todo of the next window to commit
    submitted = 0  # windows of todo handed to the pool
    with ThreadPoolExecutor(max_workers=at_once, thread_name_prefix="mp-export") as pool:
        try:
            while submitted < len(todo) or running:
                while (
                    submitted < len(todo)
                    and not summary.failed
                    and len(running) < at_once
                    and submitted - position < ahead
                ):
                    w = todo[submitted]
                    submitted += 1
                    future = pool.submit(_fetch, runner, requests[w.index], w, target)
                    running[future] = w
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    w = running.pop(future)
                    arrived[w.index] = future.result()
                position = _commit_ready(todo, position, arrived, target, summary, progress)
                if summary.failed:
                    submitted = len(todo)
        except BaseException:
            # Ctrl-C must not wait for every window in flight to reach its deadline.
            runner.abort_all()
            raise


def _commit_ready(
    todo: list[Window],
    position: int,
    arrived: dict[int, _Fetched],
    target: Target,
    summary: ExportSummary,
    progress: Optional[Progress],
) -> int:
    """Commit the windows that are next in date order and have arrived; return the new position."""
    while position < len(todo) and todo[position].index in arrived:
        got = arrived.pop(todo[position].index)
        if got.failure is not None:
            summary.failed.append(got.failure)
            if progress is not None:
                progress.note(f"window {got.window.name} failed: {got.failure['error']}")
            # Later windows may have arrived: a one-file export cannot take them before this
            # one, so they are dropped (resume fetches them); a per-window export keeps them.
            if isinstance(target, OneFile):
                for other in arrived.values():
                    target.discard(other.part)
                arrived.clear()
                return len(todo)
            position += 1
            continue
        assert got.part is not None
        target.commit(got.window, got.part, got.events, got.nbytes)
        summary.fetched += 1
        summary.events += got.events
        summary.bytes += got.nbytes
        if progress is not None:
            progress.advance(records=got.events, nbytes=got.nbytes)
        position += 1
    return position


def _fetch(runner: Runner, request: OutgoingRequest, w: Window, target: Target) -> _Fetched:
    """Download one window into its part file (a worker thread)."""
    part = target.part_for(w)
    try:
        result = runner.send(request, output=part)
    except MpError as exc:
        return _Fetched(w, failure=_failure(w, str(exc), int(exc.exit_status)))
    if not result.ok:
        from ..errors import http_exit_status

        detail = result.body if isinstance(result.body, (str, dict)) else ""
        text = detail.get("error", "") if isinstance(detail, dict) else detail
        message = f"HTTP {result.status_code}" + (f": {str(text)[:200]}" if text else "")
        return _Fetched(
            w,
            failure={
                **_failure(w, message, int(http_exit_status(result.status_code))),
                "status_code": result.status_code,
            },
        )
    try:
        if not w.whole_days:
            keep_window(part, w)
        events, nbytes = count_lines(part)
    except OSError as exc:
        error = output_error(part, exc)
        return _Fetched(w, failure=_failure(w, str(error), int(error.exit_status)))
    return _Fetched(w, part=part, events=events, nbytes=nbytes)


def _failure(w: Window, message: str, exit_status: int) -> dict[str, Any]:
    return {"window": w.name, "error": message, "exit_status": exit_status}


def _inputs(w: Window, query: dict[str, Any]) -> dict[str, Any]:
    shown = {k: v for k, v in query.items() if v is not None}
    return {
        "method": "GET",
        "api": "export",
        "relative_url": "",
        "query": {"from_date": w.from_date, "to_date": w.to_date, **shown},
    }


def _parallel(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PARALLEL:
        raise InputError(
            f"expected a whole number from 1 to {MAX_PARALLEL}, got {value!r}", field="parallel"
        )
    return value


def _query(
    event: Union[str, Sequence[str], None], where: Optional[str], limit: Optional[int]
) -> dict[str, Any]:
    names: Optional[list[str]] = None
    if event is not None:
        names = [event] if isinstance(event, str) else list(event)
        if not names or not all(isinstance(n, str) and n.strip() for n in names):
            raise InputError("expected event names (non-empty strings)", field="event")
    if where is not None and (not isinstance(where, str) or not where.strip()):
        raise InputError("expected a non-empty filter expression", field="where")
    if limit is not None and (
        isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT
    ):
        raise InputError(
            f"expected a whole number from 1 to {MAX_LIMIT} (per window), got {limit!r}",
            field="limit",
        )
    return {
        "event": json.dumps(names, ensure_ascii=False) if names is not None else None,
        "where": where,
        "limit": str(limit) if limit is not None else None,
    }


def _target(
    output: Optional[PathLike], output_dir: Optional[PathLike], params: dict[str, Any], resume: bool
) -> Target:
    if (output is None) == (output_dir is None):
        raise InputError("give exactly one of output (a file) and output_dir", field="output")
    if output is not None:
        path = Path(os.path.abspath(os.fspath(output)))
        if path.is_dir():
            raise InputError(f"{os.fspath(output)!r} is a directory; name a file", field="output")
        _writable(path.parent, "output")
        return OneFile(path, params, resume)
    assert output_dir is not None
    folder = Path(os.path.abspath(os.fspath(output_dir)))
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{os.fspath(output_dir)!r} is not a directory", field="output_dir")
    _writable(folder if folder.exists() else folder.parent, "output_dir")
    folder.mkdir(exist_ok=True)
    return PerWindow(folder, params, resume)


def _writable(directory: Path, field_name: str) -> None:
    if not directory.is_dir():
        raise InputError(f"directory {str(directory)!r} does not exist", field=field_name)
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"directory {str(directory)!r} is not writable", field=field_name)
