"""Import benchmark: ``import_files`` against a hand-written baseline, both posting to a counting sink.

Workers, each a fresh interpreter (``python -m bench.imports MODE ...``), print one JSON line:

* ``generate FILE N``: write N Export-like events (unique ``$insert_id``) as NDJSON;
* ``sink``: a loopback HTTP server that counts events and body bytes (a gzip body is inflated;
  events are counted by their ``"$insert_id"`` key, so a JSON array and NDJSON cost the same),
  answers like ``/import``, and reports its totals at ``GET /stats``;
* ``ours ORIGIN FILE WORKERS``: ``mp_custom_action.bulk.import_files`` (checks, gzip NDJSON,
  ``WORKERS`` threads over one Runner);
* ``baseline ORIGIN FILE``: what a user writes by hand: read the lines, ``json.loads`` each,
  eight threads each with a ``requests.Session`` posting 2,000-event JSON batches;
* ``mpu ORIGIN FILE``: mixpanel-utils' ``import_events`` (the ``bench`` extra installs it), as
  tests/clients calls it: its ``import_api`` pointed at the sink, the file's lines ``json.loads``-ed
  into the list it takes, eight sending threads (``pool_size=8``, like the baseline's).

Each answers wall seconds, CPU seconds (user + system, all threads) and peak RSS.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import resource
import socket
import sys
import threading
import time
import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any, Optional

from .common import (
    CLIENT_CPU,
    PROJECT_ID,
    SECRET,
    USERNAME,
    child_server,
    emit,
    pin,
    serve_until_stdin_closes,
)
from .server import _read_request

BASE_T = 1_700_000_000


def generate(path: str, count: int) -> None:
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(count):
            event = {
                "event": ("Viewed page", "Signed up", "Purchased")[i % 3],
                "properties": {
                    "time": BASE_T + i,
                    "distinct_id": f"user-{i % 9973}",
                    "$insert_id": f"{i:032x}",
                    "mp_lib": "web",
                    "$browser": ("Firefox", "Chrome", "Safari")[i % 3],
                    "$city": ("Lisbon", "Porto", "Madrid", "Paris")[i % 4],
                    "page": f"/docs/{i % 97}",
                    "duration_ms": (i * 7919) % 5000,
                    "ok": i % 3 == 0,
                },
            }
            fh.write(json.dumps(event, separators=(",", ":")) + "\n")
    emit({"events": count, "bytes": os.path.getsize(path)})


# -- the sink --------------------------------------------------------------------------------------


class _Totals:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.events = 0
        self.body_bytes = 0
        self.requests = 0

    def take(self) -> dict[str, int]:
        with self.lock:
            out = {"events": self.events, "body_bytes": self.body_bytes, "requests": self.requests}
            self.events = self.body_bytes = self.requests = 0
        return out


def _count(head: bytes, body: bytes) -> int:
    if b"content-encoding: gzip" in head.lower():
        body = zlib.decompress(body, 16 + zlib.MAX_WBITS)
    return body.count(b'"$insert_id"')


def _serve(conn: socket.socket, totals: _Totals) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    try:
        while True:
            request = _read_request_with_head(conn, buf)
            if request is None:
                return
            target, head, body = request
            if target.startswith("/stats"):
                answer = json.dumps(totals.take()).encode()
            else:
                n = _count(head, body)
                with totals.lock:
                    totals.events += n
                    totals.body_bytes += len(body)
                    totals.requests += 1
                answer = json.dumps(
                    {"code": 200, "num_records_imported": n, "status": "OK"}
                ).encode()
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(answer)).encode()
                + b"\r\nConnection: keep-alive\r\n\r\n"
                + answer
            )
    except OSError:
        return
    finally:
        conn.close()


def _read_request_with_head(conn: socket.socket, buf: bytearray) -> Any:
    """``bench.server``'s reader, keeping the head (for Content-Encoding)."""
    end = buf.find(b"\r\n\r\n")
    while end < 0:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
        end = buf.find(b"\r\n\r\n")
    head = bytes(buf[:end])
    got = _read_request(conn, buf)
    if got is None:
        return None
    return got[0], head, got[1]


def sink(cpu: str) -> None:
    pin(int(cpu) if cpu != "-" else None)
    totals = _Totals()
    serve_until_stdin_closes(lambda conn: _serve(conn, totals))


@contextlib.contextmanager
def sink_process(cpu: Optional[int]) -> Iterator[str]:
    """Start the sink pinned to ``cpu``; yield its origin; stop it on exit."""
    args = [sys.executable, "-m", "bench.imports", "sink", "-" if cpu is None else str(cpu)]
    with child_server(args, "the import sink") as origin:
        yield origin


def sink_stats(origin: str) -> dict[str, int]:
    """The sink's totals since the last call (and a reset)."""
    with urllib.request.urlopen(origin + "/stats", timeout=30) as answer:
        return dict(json.loads(answer.read()))


# -- the clients -----------------------------------------------------------------------------------


def _measure(fn: Any) -> dict[str, float]:
    pin(CLIENT_CPU)
    t0, r0 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    out = fn()
    t1, r1 = time.perf_counter(), resource.getrusage(resource.RUSAGE_SELF)
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return {**out, "wall": t1 - t0, "cpu": cpu, "peak_rss_mib": r1.ru_maxrss / 1024}


def ours(origin: str, path: str, workers: int) -> None:
    import requests  # noqa: F401 - imported before the clock starts, as the baseline's is

    from mp_custom_action.bulk import import_files
    from mp_custom_action.core import transport  # noqa: F401 - likewise
    from mp_custom_action.core.runner import Runner

    def go() -> dict[str, Any]:
        with Runner(origin=origin, username=USERNAME, secret=SECRET, project_id=PROJECT_ID,
                    env={}) as runner:  # fmt: skip
            summary = import_files(
                runner, "events", [path], workers=workers, progress=False,
                checkpoint=path + ".bench-checkpoint.json", rejects=os.devnull,
            )  # fmt: skip
        return {"accepted": summary.accepted, "rejected": summary.rejected}

    emit(_measure(go))


def baseline(origin: str, path: str) -> None:
    import requests

    url = f"{origin}/import"
    params = {"strict": "1", "project_id": str(PROJECT_ID)}
    batches: queue.Queue[Any] = queue.Queue(maxsize=16)
    accepted = [0]
    lock = threading.Lock()

    def post() -> None:
        session = requests.Session()
        while True:
            batch = batches.get()
            if batch is None:
                return
            answer = session.post(url, params=params, json=batch, auth=(USERNAME, SECRET))
            answer.raise_for_status()
            with lock:
                accepted[0] += answer.json()["num_records_imported"]

    def go() -> dict[str, Any]:
        threads = [threading.Thread(target=post) for _ in range(8)]
        for thread in threads:
            thread.start()
        batch: list[Any] = []
        with open(path, "rb") as fh:
            for line in fh:
                batch.append(json.loads(line))
                if len(batch) == 2000:
                    batches.put(batch)
                    batch = []
        if batch:
            batches.put(batch)
        for _ in threads:
            batches.put(None)
        for thread in threads:
            thread.join()
        return {"accepted": accepted[0], "rejected": 0}

    emit(_measure(go))


def has_mixpanel_utils() -> bool:
    """Whether mixpanel-utils can be imported here (workers share this interpreter)."""
    import importlib.util

    return importlib.util.find_spec("mixpanel_utils") is not None


def mpu(origin: str, path: str) -> None:
    import logging

    from mixpanel_utils import MixpanelUtils

    def go() -> dict[str, Any]:
        utils = MixpanelUtils(
            SECRET, token="bench-token", service_account_username=USERNAME,  # noqa: S106
            project_id=PROJECT_ID, pool_size=8, max_retries=1,
        )  # fmt: skip
        utils.import_api = origin
        logging.getLogger("mixpanel_utils").setLevel(logging.ERROR)
        with open(path, "rb") as fh:
            events = [json.loads(line) for line in fh]
        utils.import_events(events, timezone_offset=0)
        # It logs a failed batch instead of raising: the sink's count is the check.
        return {"accepted": len(events), "rejected": 0}

    emit(_measure(go))


def main(argv: list[str]) -> None:
    mode = argv[0]
    if mode == "generate":
        generate(argv[1], int(argv[2]))
    elif mode == "sink":
        sink(argv[1])
    elif mode == "ours":
        ours(argv[1], argv[2], int(argv[3]))
    elif mode == "baseline":
        baseline(argv[1], argv[2])
    elif mode == "mpu":
        mpu(argv[1], argv[2])
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])


# -- the group, for python -m bench --------------------------------------------------------------


def run_group(events: int, rounds: int, directory: str, notes: dict[str, Any]) -> list[Any]:
    """The import figures: ``rounds`` runs of each client over ``events`` events, alternating
    (mixpanel-utils too where it is installed)."""
    from .common import other_cpu, worker

    path = os.path.join(directory, "import-events.ndjson")
    made = worker("imports", "generate", path, str(events), timeout=900)
    json_size = made["bytes"]
    sides = ["ours", "baseline"] + (["mpu"] if has_mixpanel_utils() else [])
    runs: dict[str, list[dict[str, Any]]] = {side: [] for side in sides}
    with sink_process(other_cpu()) as origin:
        for r in range(rounds):
            for side in sides if r % 2 == 0 else sides[::-1]:
                args = [origin, path, "8"] if side == "ours" else [origin, path]
                out = worker("imports", side, *args, timeout=1800)
                out.update(sink_stats(origin))
                if out["events"] != events or out["accepted"] != events:
                    raise RuntimeError(f"{side} delivered {out['events']} of {events} events")
                runs[side].append(out)
    notes["import_events"] = events
    notes["import_json_mib"] = json_size / (1 << 20)
    figures = _figures(events, json_size, runs)
    if "mpu" in runs:
        figures.append(_mpu_figure(events, runs))
    else:
        notes["mixpanel_utils"] = "not installed (pip install -e '.[bench]'): no figure against it"
    return figures


def _mpu_figure(events: int, runs: dict[str, list[dict[str, Any]]]) -> Any:
    """Ours against mixpanel-utils' ``import_events``."""
    from .common import Figure, median_of

    return Figure(
        "import events/s vs mixpanel-utils",
        "mixpanel-utils import_events",
        3.0,
        "min",
        ratios=[m["wall"] / o["wall"] for o, m in zip(runs["ours"], runs["mpu"])],
        detail={
            "mixpanel-utils ev/s": median_of([events / m["wall"] for m in runs["mpu"]]),
            "mixpanel-utils us/event CPU": median_of(
                [m["cpu"] / events * 1e6 for m in runs["mpu"]]
            ),
            "mixpanel-utils peak RSS MiB": median_of([m["peak_rss_mib"] for m in runs["mpu"]]),
        },
        note="pool_size=8; it takes a list, so the file is loaded whole first (its RSS shows it)",
    )


def _parser() -> str:
    from mp_custom_action.bulk.parse import WRITER  # the parser is the same library

    return WRITER


def _compressor() -> str:
    from mp_custom_action.bulk.deflate import DEFAULT_BACKEND

    return "ISA-L" if DEFAULT_BACKEND == "isal" else "zlib"


def _figures(events: int, json_size: int, runs: dict[str, list[dict[str, Any]]]) -> list[Any]:
    from .common import Figure, median_of

    pairs = list(zip(runs["ours"], runs["baseline"]))
    return [
        Figure(
            "import events/s",
            "8 threads x requests, 2,000-event JSON",
            3.0,
            "min",
            ratios=[b["wall"] / o["wall"] for o, b in pairs],
            detail={
                "ours ev/s": median_of([events / o["wall"] for o in runs["ours"]]),
                "baseline ev/s": median_of([events / b["wall"] for b in runs["baseline"]]),
            },
            extra=("peak RSS MiB", median_of([o["peak_rss_mib"] for o in runs["ours"]]), 100.0),
            note=f"{events:,} events, {json_size / (1 << 20):.0f} MiB of NDJSON, 8 workers each; "
            f"ours parses with {_parser()} and compresses with {_compressor()}",
        ),
        Figure(
            "import CPU/event",
            "same baseline",
            0.5,
            "max",
            ratios=[o["cpu"] / b["cpu"] for o, b in pairs],
            detail={
                "ours us/event": median_of([o["cpu"] / events * 1e6 for o in runs["ours"]]),
                "baseline us/event": median_of([b["cpu"] / events * 1e6 for b in runs["baseline"]]),
                "baseline peak RSS MiB": median_of([b["peak_rss_mib"] for b in runs["baseline"]]),
            },
        ),
        Figure(
            "import wire/JSON bytes",
            "the JSON (NDJSON) size",
            0.15,
            "max",
            ratios=[o["body_bytes"] / json_size for o in runs["ours"]],
            detail={
                "baseline wire/JSON": median_of(
                    [b["body_bytes"] / json_size for b in runs["baseline"]]
                )
            },
        ),
    ]
