"""What the benchmark's parts share: the server process, CPU pinning, workers, and statistics."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

#: The core that the client (and, for per-call figures, the server) is pinned to.
CLIENT_CPU = 0

#: Credentials the loopback server never checks; they only make the runner build a real request.
USERNAME = "bench.12345.mp-service-account"
SECRET = "bench-secret"  # noqa: S105 - a made-up value for a server that checks nothing
PROJECT_ID = 12345

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def pin(cpu: Optional[int]) -> None:
    """Pin this process (and the threads it starts later) to ``cpu``, where the OS allows it."""
    if cpu is not None and hasattr(os, "sched_setaffinity"):
        try:
            os.sched_setaffinity(0, {cpu % (os.cpu_count() or 1)})
        except OSError:
            pass


def other_cpu() -> Optional[int]:
    """A core other than the client's, when there is one."""
    count = os.cpu_count() or 1
    return (CLIENT_CPU + 1) % count if count > 1 else None


@contextlib.contextmanager
def child_server(args: Sequence[str], what: str) -> Iterator[str]:
    """Start a loopback server process that prints its port, then serves until its standard input
    closes; yield its origin; stop it on exit. ``what`` names it if it fails to start."""
    proc = subprocess.Popen(
        list(args), cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=clean_env()
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.strip():
            raise RuntimeError(f"{what} did not start")
        yield f"http://127.0.0.1:{int(line)}"
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_until_stdin_closes(serve: Callable[[socket.socket], None]) -> None:
    """Listen on a loopback port, print it, and ``serve`` each connection in a thread until the
    parent closes our standard input (or exits): how the benchmark's server processes run."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)

    def accept() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=serve, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    print(listener.getsockname()[1], flush=True)
    sys.stdin.read()
    listener.close()


@contextlib.contextmanager
def server(cpu: Optional[int]) -> Iterator[str]:
    """Start ``bench.server`` pinned to ``cpu``; yield its origin; stop it on exit."""
    args = [sys.executable, "-m", "bench.server"]
    if cpu is not None:
        args += ["--cpu", str(cpu)]
    with child_server(args, "the benchmark server") as origin:
        yield origin


def clean_env(**extra: str) -> dict[str, str]:
    """The environment for workers: no proxies, no MP_* of the user's, the checkout importable."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("MP_") and "proxy" not in k.lower() and k != "PYTHONPATH"
    }
    env["PYTHONPATH"] = ROOT
    env.update(extra)
    return env


def worker(module: str, *args: str, timeout: float, env: Optional[dict[str, str]] = None) -> Any:
    """Run ``python -m bench.<module> ARGS`` in a fresh interpreter; return its JSON answer."""
    proc = subprocess.run(
        [sys.executable, "-m", f"bench.{module}", *args],
        cwd=ROOT,
        env=env or clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"bench.{module} {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}"
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def emit(value: Any) -> None:
    """A worker's answer: one JSON line on standard output."""
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


@dataclass
class Figure:
    """One row of the report: per-round ratios of ours to the baseline, and the target."""

    name: str
    baseline: str
    target: float
    #: "max": the ratio must be at most ``target``; "min": at least; "info": no target.
    direction: str
    unit: str = "ratio"
    ratios: list[float] = field(default_factory=list)
    #: Absolute figures for the report (median over rounds), e.g. {"ours us/call": 290}.
    detail: dict[str, float] = field(default_factory=dict)
    #: An extra check with its own target (peak memory growth of the export).
    extra: Optional[tuple[str, float, float]] = None  # (label, median value, limit)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    @property
    def spread(self) -> tuple[float, float]:
        return min(self.ratios), max(self.ratios)

    @property
    def met(self) -> bool:
        if self.direction == "info":
            return True  # shown for context; no target
        ok = self.median <= self.target if self.direction == "max" else self.median >= self.target
        if self.extra is not None:
            ok = ok and self.extra[1] < self.extra[2]
        return ok

    def to_dict(self) -> dict[str, Any]:
        return {
            "figure": self.name,
            "baseline": self.baseline,
            "median": self.median,
            "min": self.spread[0],
            "max": self.spread[1],
            "rounds": len(self.ratios),
            "target": ("<= " if self.direction == "max" else ">= ") + f"{self.target:g}",
            "met": self.met,
            "detail": self.detail,
            "extra": list(self.extra) if self.extra else None,
            "note": self.note,
        }


def median_of(values: Sequence[float]) -> float:
    return statistics.median(values)
