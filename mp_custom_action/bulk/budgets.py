"""Rate budgets shared by every process of the user: a small locked ledger of calls to Mixpanel.

:class:`Budgets` is the runner's pacer (``Runner(pacer=Budgets())``): before each attempt it looks
the call up in :data:`core.limits.LIMITS`, and in the ledger what that project has used of each
limit. With room, the attempt is written down and goes; without, it waits until there is room
(saying until when), or, with ``wait=False`` or when the wait would pass the call's deadline,
raises :class:`~mp_custom_action.errors.BudgetSpentError` and nothing is sent.

The ledger is one JSON file (``$XDG_CACHE_HOME/mp-custom-action/budgets.json``, or
``MP_BUDGETS_FILE``), read and rewritten under an exclusive ``fcntl`` lock on a file beside it,
so every process of the user on this machine shares it. It holds limit names, project ids, times,
byte counts and process ids: never a credential. A process killed mid-call leaves an "in flight"
entry that ends at the call's deadline, or sooner when its process is gone.

``MP_BUDGETS`` picks what is counted: ``on`` (the default) counts calls to Mixpanel and to any
origin that is not loopback; ``all`` counts loopback origins too (the sandbox, for rehearsals);
``off`` counts nothing. Loopback origins are not Mixpanel, so by default they have no budget.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import secrets
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Optional, Union
from urllib.parse import urlsplit

from ..core.limits import LIMITS, ProjectLimit, limits_for, project_of
from ..errors import BudgetSpentError, InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: budgets are then shared within one process only
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest

__all__ = ["MODES", "Budgets", "Ledger", "ledger_path"]

log = logging.getLogger("mp_custom_action")

MODES = ("on", "all", "off")
_LONGEST_WINDOW = max(rate.seconds for limit in LIMITS for rate in limit.rates)
_LOOPBACK_NAMES = ("localhost", "::1")
_process_lock = threading.Lock()
# Waits shorter than this (Export's 3 a second) are a pace, not a spent budget: not announced.
_SILENT_WAIT = 2.0


def ledger_path(env: Mapping[str, str]) -> Path:
    """``MP_BUDGETS_FILE``, else ``$XDG_CACHE_HOME`` (or ``~/.cache``)``/mp-custom-action/budgets.json``."""
    given = env.get("MP_BUDGETS_FILE", "").strip()
    if given:
        return Path(given).expanduser()
    cache = env.get("XDG_CACHE_HOME", "").strip() or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".cache"
    )
    return Path(cache) / "mp-custom-action" / "budgets.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class Ledger:
    """The JSON file of what each ``LIMIT|project`` has used, read and written under a lock.

    ``{"version": 1, "used": {key: [[time, amount], ...]}, "running": {key: [[pid, until, id]]}}``
    """

    def __init__(
        self, path: Union[str, os.PathLike[str]], *, pid_alive: Callable[[int], bool] = _pid_alive
    ) -> None:
        self.path = Path(path)
        self._pid_alive = pid_alive

    @contextlib.contextmanager
    def locked(self, now: float) -> Iterator[dict[str, Any]]:
        """The ledger's data, pruned of what has expired by ``now``; written back on exit."""
        directory = self.path.parent
        try:
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd = os.open(str(self.path) + ".lock", os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise InputError(
                f"cannot open the budget ledger {str(self.path)!r}: {exc.strerror or exc}",
                field="MP_BUDGETS_FILE",
            ) from None
        with _process_lock, os.fdopen(fd, "r+b") as lock:
            if fcntl is not None:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            data = self._read()
            before = json.dumps(data, sort_keys=True)
            self._prune(data, now)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                self._write(data)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            # Missing, or left broken by something else: budgets start afresh (the worst case is
            # a 429 that the runner's backoff handles), rather than every command failing.
            data = None
        if not isinstance(data, dict) or data.get("version") != 1:
            data = {}
        used = data.get("used") if isinstance(data.get("used"), dict) else {}
        running = data.get("running") if isinstance(data.get("running"), dict) else {}
        return {"version": 1, "used": used, "running": running}

    def _write(self, data: dict[str, Any]) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        tmp.write_text(json.dumps(data, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, self.path)

    def _prune(self, data: dict[str, Any], now: float) -> None:
        for key, entries in list(data["used"].items()):
            window = _window_of(key)
            kept = [e for e in entries if _pair(e) and now - e[0] < window]
            if kept:
                data["used"][key] = kept
            else:
                del data["used"][key]
        for key, entries in list(data["running"].items()):
            kept = [
                e
                for e in entries
                if isinstance(e, list) and len(e) == 3 and e[1] > now and self._pid_alive(e[0])
            ]
            if kept:
                data["running"][key] = kept
            else:
                del data["running"][key]


def _pair(entry: object) -> bool:
    return (
        isinstance(entry, list)
        and len(entry) == 2
        and all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in entry)
    )


def _window_of(key: str) -> float:
    name = key.split("|", 1)[0]
    for limit in LIMITS:
        if limit.name == name:
            return max(rate.seconds for rate in limit.rates)
    return _LONGEST_WINDOW


def _key(limit: ProjectLimit, project: str) -> str:
    return f"{limit.name}|{project}"


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in _LOOPBACK_NAMES or host.startswith("127.")


def uncompressed_size(request: OutgoingRequest) -> int:
    """The body's size as Mixpanel counts it: uncompressed (a gzip member's trailer says it)."""
    body = request.body or b""
    encoding = next((v for k, v in request.headers.items() if k.lower() == "content-encoding"), "")
    if encoding.strip().lower() in ("gzip", "x-gzip") and len(body) >= 18:
        return int.from_bytes(body[-4:], "little")
    return len(body)


def _blocked(
    data: dict[str, Any], limits: tuple[ProjectLimit, ...], project: str, amount: int, now: float
) -> Optional[tuple[ProjectLimit, float, bool]]:
    """The first limit without room for this call: (limit, when it has room, exact?)."""
    for limit in limits:
        key = _key(limit, project)
        entries = data["used"].get(key, [])
        cost = amount if limit.unit == "bytes" else 1
        for rate in limit.rates:
            recent = [e for e in entries if now - e[0] < rate.seconds]
            used = sum(e[1] for e in recent)
            if recent and used + cost > rate.amount:
                # Room comes back as the oldest entries leave the window.
                freed, when = used + cost - rate.amount, now
                for t, n in sorted(recent):
                    freed -= n
                    when = t + rate.seconds
                    if freed <= 0:
                        break
                return limit, when, True
        running = data["running"].get(key, [])
        if limit.at_once is not None and len(running) >= limit.at_once:
            return limit, min(e[1] for e in running), False
    return None


class Budgets:
    """The runner's pacer: Mixpanel's per-project limits, counted in a ledger every process shares.

    ``wait=False`` (``--no-wait``) raises :class:`BudgetSpentError` instead of waiting. ``notify``
    receives the line saying what is waited for (the CLI prints it on stderr; the default logs it).
    """

    def __init__(
        self,
        path: Union[str, os.PathLike[str], None] = None,
        *,
        mode: Optional[str] = None,
        wait: bool = True,
        env: Optional[Mapping[str, str]] = None,
        notify: Optional[Callable[[str], None]] = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        poll: float = 1.0,
    ) -> None:
        environ: Mapping[str, str] = os.environ if env is None else env
        chosen = (mode if mode is not None else environ.get("MP_BUDGETS", "") or "on").strip()
        if chosen.lower() not in MODES:
            raise InputError(
                f"expected one of {', '.join(MODES)}, got {chosen!r}", field="MP_BUDGETS"
            )
        self.mode = chosen.lower()
        self.ledger = Ledger(path if path is not None else ledger_path(environ))
        self.wait = wait
        self._notify = notify or (lambda line: log.warning("%s", line))
        self._wall = wall_clock
        self._sleep = sleep
        self._poll = poll

    def counts(self, request: OutgoingRequest) -> tuple[ProjectLimit, ...]:
        """The limits ``request`` is counted against under this mode (often none)."""
        if self.mode == "off" or (self.mode == "on" and _is_loopback(request.url)):
            return ()
        return limits_for(request.api.name, request.method, request.path)

    def __call__(self, request: OutgoingRequest, remaining: float) -> Optional[Callable[[], None]]:
        """Wait for room (at most ``remaining`` seconds), write the attempt down, and return
        what ends it (for limits on calls at once), or raise :class:`BudgetSpentError`."""
        limits = self.counts(request)
        if not limits:
            return None
        project = project_of(request.api.name, request.path, request.credential.project_id)
        project = project or "unknown"
        amount = uncompressed_size(request)
        deadline = self._wall() + remaining
        told: Optional[tuple[str, int]] = None
        while True:
            now = self._wall()
            with self.ledger.locked(now) as data:
                blocked = _blocked(data, limits, project, amount, now)
                if blocked is None:
                    return self._record(data, limits, project, amount, now, deadline)
            limit, when, exact = blocked
            spent = f"{limit.name} budget for project {project} spent until {_clock(when)}"
            if not self.wait:
                raise BudgetSpentError(spent, limit=limit.name, project=project, until=when)
            if (exact and when > deadline) or now >= deadline:
                raise BudgetSpentError(
                    f"{spent}, past this call's deadline ({remaining:g} s)",
                    limit=limit.name,
                    project=project,
                    until=when,
                )
            if told != (limit.name, int(when)) and (not exact or when - now >= _SILENT_WAIT):
                told = (limit.name, int(when))
                what = "waiting" if exact else "waiting for a call in flight to end"
                self._notify(f"{spent} ({limit.describe()}): {what}")
            self._sleep(max(0.01, min(when - now, self._poll, deadline - now)))

    def _record(
        self,
        data: dict[str, Any],
        limits: tuple[ProjectLimit, ...],
        project: str,
        amount: int,
        now: float,
        deadline: float,
    ) -> Optional[Callable[[], None]]:
        ticket = secrets.token_hex(6)
        held: list[str] = []
        for limit in limits:
            key = _key(limit, project)
            cost = amount if limit.unit == "bytes" else 1
            entries = data["used"].setdefault(key, [])
            if limit.unit == "bytes" and entries and int(entries[-1][0]) == int(now):
                entries[-1][1] += cost  # one entry a second keeps a busy import's ledger small
            else:
                entries.append([now, cost])
            if limit.at_once is not None:
                data["running"].setdefault(key, []).append([os.getpid(), deadline, ticket])
                held.append(key)
        if not held:
            return None

        def release() -> None:
            with self.ledger.locked(self._wall()) as current:
                for key in held:
                    entries = current["running"].get(key, [])
                    current["running"][key] = [e for e in entries if e[2] != ticket]
                    if not current["running"][key]:
                        del current["running"][key]

        return release

    def snapshot(self, projects: tuple[str, ...] = ()) -> list[dict[str, Any]]:
        """What ``mp-custom-action budgets`` prints: each limit's use and room, per project."""
        now = self._wall()
        with self.ledger.locked(now) as data:
            keys = set(data["used"]) | set(data["running"])
            keys |= {_key(limit, p) for p in projects for limit in LIMITS}
            rows = []
            for key in sorted(keys):
                name, _, project = key.partition("|")
                limit = next((x for x in LIMITS if x.name == name), None)
                if limit is not None:
                    rows.append(_row(limit, project, data, now))
        return rows


def _row(limit: ProjectLimit, project: str, data: dict[str, Any], now: float) -> dict[str, Any]:
    key = _key(limit, project)
    entries = data["used"].get(key, [])
    windows = []
    for rate in limit.rates:
        recent = sorted(e for e in entries if now - e[0] < rate.seconds)
        used = sum(e[1] for e in recent)
        windows.append(
            {
                "per_seconds": rate.seconds,
                "allowed": rate.amount,
                "used": used,
                "left": max(0, rate.amount - used),
                "next_room_at": _iso(recent[0][0] + rate.seconds) if recent else None,
            }
        )
    row: dict[str, Any] = {
        "limit": limit.name,
        "project": project,
        "unit": limit.unit,
        "describe": limit.describe(),
        "windows": windows,
    }
    if limit.at_once is not None:
        row["in_flight"] = len(data["running"].get(key, []))
        row["at_once"] = limit.at_once
    return row


def _clock(when: float) -> str:
    return time.strftime("%H:%M:%S", time.localtime(when))


def _iso(when: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(when))
