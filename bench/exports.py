"""Export-by-windows figure: 12 windows with ``parallel=6`` against one stream, on a rate-capped link.

Mixpanel's Export sends each answer at whatever one connection gets over a long distance; the
sandbox's ``--stream-rate MBPS`` holds each connection to that rate (bytes on the wire, gzipped as
the runner asks), so the figure measures what windows in parallel buy, not loopback's bandwidth. :func:`sandbox` starts
``mp-custom-action sandbox --stream-rate`` and seeds it with 12 days of events through ``/import``;
then, each in a fresh interpreter (neither side pinned: the figure is wall time on a link, not
CPU, and a pinned side only queues behind whatever else shares its core):

``python -m bench.exports run single|parallel ORIGIN DIR`` (credentials in ``MP_*``): the 12 days
as one request (``window="12d"``), or as 12 one-day windows six at a time; print the seconds, the
bytes and events written, and the peak memory growth (``ru_maxrss`` after, minus the RSS before).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import resource
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from typing import Any, Optional

from .common import ROOT, clean_env, emit

DAYS = 12
FROM, TO = "2024-01-01", "2024-01-12"
_DAY0 = 1704067200  # 2024-01-01T00:00:00Z


def _events(per_day: int) -> Iterator[dict[str, Any]]:
    # Ids are random, as real ones are: the sandbox gzips Export (as Mixpanel does), and these
    # events compress about 4 to 1, where sequential ids would compress 20 to 1 and leave the
    # link nothing to carry.
    rng = random.Random(7)

    def uid() -> str:
        return uuid.UUID(int=rng.getrandbits(128)).hex

    for day in range(DAYS):
        for i in range(per_day):
            yield {
                "event": "Viewed page",
                "properties": {
                    "time": _DAY0 + day * 86400 + (i * 86400) // per_day,
                    "distinct_id": uid(),
                    "$insert_id": uid(),
                    "$device_id": uid(),
                    "$browser": "Firefox",
                    "$city": "Lisbon",
                    "page": f"/docs/{i % 97}",
                    "duration_ms": rng.randrange(100_000),
                },
            }


@contextlib.contextmanager
def sandbox(stream_mbps: float, per_day: int) -> Iterator[dict[str, Any]]:
    """The sandbox, rate-capped and seeded; yields its info line (origin and demo credentials)."""
    import requests

    proc = subprocess.Popen(
        [sys.executable, "-m", "mp_custom_action", "sandbox", "--stream-rate", str(stream_mbps)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        batch: list[dict[str, Any]] = []
        with requests.Session() as session:
            session.auth = (info["username"], info["secret"])

            def send() -> None:
                response = session.post(
                    f"{info['origin']}/import",
                    params={"project_id": info["project_id"], "strict": "1"},
                    json=batch,
                    timeout=120,
                )
                response.raise_for_status()
                batch.clear()

            for event in _events(per_day):
                batch.append(event)
                if len(batch) == 2000:
                    send()
            if batch:
                send()
        yield info
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def env_for(info: dict[str, Any]) -> dict[str, str]:
    return clean_env(
        MP_USERNAME=info["username"],
        MP_SECRET=info["secret"],
        MP_PROJECT_ID=str(info["project_id"]),
    )


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def run(mode: str, origin: str, directory: str) -> dict[str, Any]:
    from mp_custom_action.bulk import export_range
    from mp_custom_action.core.runner import Runner

    path = os.path.join(directory, f"export-{mode}-{os.getpid()}.jsonl")
    with Runner(origin=origin, retries=0) as runner:
        export_range(runner, FROM, FROM, output=path)  # warm: imports, the first connection
        before = _rss()
        start = time.perf_counter()
        if mode == "single":
            summary = export_range(runner, FROM, TO, window=f"{DAYS}d", output=path)
        else:
            summary = export_range(runner, FROM, TO, window="1d", parallel=6, output=path)
        seconds = time.perf_counter() - start
    growth = max(0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 - before)
    assert summary.ok, summary.to_dict()
    size = os.path.getsize(path)
    os.unlink(path)
    os.unlink(path + ".export-state.json")
    return {"seconds": seconds, "bytes": size, "events": summary.events, "growth": growth}


def main(argv: Optional[list[str]] = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.exports")
    parser.add_argument("what", choices=("run",))
    parser.add_argument("mode", choices=("single", "parallel"))
    parser.add_argument("origin")
    parser.add_argument("directory")
    args = parser.parse_args(argv)
    emit(run(args.mode, args.origin, args.directory))


if __name__ == "__main__":
    main()
