"""Cold start of the command: wall time of a fresh process, ours against a plain interpreter."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from .common import PROJECT_ID, SECRET, USERNAME

DRY_RUN_ARGS = [
    "call", "GET", "query", "/2.0/events/names", "--query", '{"type": "general"}', "--dry-run",
]  # fmt: skip


def command() -> tuple[list[str], str]:
    """The installed ``mp-custom-action`` script beside this interpreter, else ``python -m``."""
    folder = os.path.dirname(sys.executable)
    for name in ("mp-custom-action", "mp-custom-action.exe"):
        script = os.path.join(folder, name)
        if os.path.isfile(script):
            return [script], script
    found = shutil.which("mp-custom-action")
    if found and os.path.realpath(os.path.dirname(found)) == os.path.realpath(folder):
        return [found], found
    return [sys.executable, "-m", "mp_custom_action"], "python -m mp_custom_action"


def _env(home: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MP_")}
    env.update(
        MP_USERNAME=USERNAME,
        MP_SECRET=SECRET,
        MP_PROJECT_ID=str(PROJECT_ID),
        MP_CONFIG=os.path.join(home, "no-config.toml"),
    )
    return env


def _time(args: list[str], env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(args, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def measure(rounds: int, runs: int) -> dict[str, Any]:
    """Per round, ``runs`` alternating starts of each side; the ratio of their medians."""
    ours, shown = command()
    python = [sys.executable]
    pairs = {
        "cli-version": ([*ours, "--version"], [*python, "-c", "pass"]),
        "cli-dry-run": ([*ours, *DRY_RUN_ARGS], [*python, "-c", "import requests"]),
    }
    out: dict[str, Any] = {"command": shown}
    with tempfile.TemporaryDirectory() as home:
        env = _env(home)
        for figure, (mine, base) in pairs.items():
            _time(mine, env)
            _time(base, env)  # warm the file cache
            ratios, ours_ms, base_ms = [], [], []
            for _ in range(rounds):
                a, b = [], []
                for i in range(runs):
                    order = [(mine, a), (base, b)] if i % 2 else [(base, b), (mine, a)]
                    for args, into in order:
                        into.append(_time(args, env))
                ours_ms.append(statistics.median(a) * 1e3)
                base_ms.append(statistics.median(b) * 1e3)
                ratios.append(ours_ms[-1] / base_ms[-1])
            out[figure] = {"ratios": ratios, "ours_ms": ours_ms, "baseline_ms": base_ms}
    return out
