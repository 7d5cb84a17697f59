"""Sandbox throughput: 16 concurrent keep-alive clients on loopback, plain HTTP and HTTPS.

``python -m bench.sandbox --rounds N --calls M`` starts ``mp-custom-action sandbox`` (plain, then
``--tls``) as its own process, so the server's threads do not share this interpreter's lock with
the clients, and runs 16 client threads here, each a ``requests.Session`` making M authenticated
``GET /api/query/events/names`` calls over one kept-alive connection. A round times the 16 × M
calls from the first to the last; the two kinds alternate which goes first. It prints one JSON
line: requests a second per round, for each kind.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from typing import Any

import requests

from .common import clean_env, emit

CLIENTS = 16


class _Served:
    def __init__(self, tls: bool) -> None:
        args = [sys.executable, "-m", "mp_custom_action", "sandbox", "--quiet"]
        self.proc = subprocess.Popen(
            [*args, "--tls"] if tls else args,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=clean_env(),
        )
        assert self.proc.stdout is not None
        self.info: dict[str, Any] = json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def _round(info: dict[str, Any], calls: int) -> float:
    url = info["origin"] + "/api/query/events/names"
    params = {"project_id": info["project_id"]}
    auth = (info["username"], info["secret"])
    verify: Any = info.get("ca_file", True)
    sessions = [requests.Session() for _ in range(CLIENTS)]
    for session in sessions:  # connect (and handshake) before the clock starts
        session.get(url, params=params, auth=auth, verify=verify, timeout=30).raise_for_status()
    start = threading.Barrier(CLIENTS + 1)
    failures: list[int] = []

    def client(session: requests.Session) -> None:
        start.wait()
        for _ in range(calls):
            status = session.get(url, params=params, auth=auth, verify=verify, timeout=30)
            if status.status_code != 200:
                failures.append(status.status_code)

    threads = [threading.Thread(target=client, args=(s,)) for s in sessions]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    took = time.perf_counter() - began
    for session in sessions:
        session.close()
    if failures:
        raise RuntimeError(f"{len(failures)} calls failed: {sorted(set(failures))}")
    return CLIENTS * calls / took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, required=True)
    parser.add_argument("--calls", type=int, required=True)
    args = parser.parse_args()
    servers = {"plain": _Served(tls=False), "tls": _Served(tls=True)}
    out: dict[str, list[float]] = {"plain": [], "tls": []}
    try:
        for r in range(args.rounds):
            order = ("plain", "tls") if r % 2 == 0 else ("tls", "plain")
            for kind in order:
                out[kind].append(_round(servers[kind].info, args.calls))
    finally:
        for served in servers.values():
            served.close()
    emit(out)


if __name__ == "__main__":
    main()
