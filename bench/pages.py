"""Pagination figure: client CPU per page, ``paginate`` against a hand-written ``requests`` loop.

``python -m bench.pages ORIGIN --rounds R --pages N`` prints one JSON object: the per-round ratios
(ours / baseline) and each side's CPU per page in microseconds. Both follow the same Query engage
pages of ``bench.server`` (ten profiles a page, then an empty page), with this process pinned to
the client's core: what is compared is ``time.process_time()`` (every thread of this process).

The baseline is the loop users write: one ``requests.Session``, a POST with ``session_id`` and
``page`` in the query, ``r.json()``, stop on a short page. Ours is :func:`mp_custom_action.bulk.paginate` over a
:class:`Runner` with the budgets pacer the CLI gives it (a loopback origin is not counted, so it
costs a host check per page; against Mixpanel, Query's 60 an hour would bind long before CPU).
"""

from __future__ import annotations

import argparse
import gc
import time
from typing import Any

from .common import CLIENT_CPU, PROJECT_ID, SECRET, USERNAME, emit, pin


def ours(origin: str, pages: int) -> int:
    from mp_custom_action.bulk import Budgets, paginate
    from mp_custom_action.core.runner import Runner

    inputs = {
        "method": "POST",
        "api": "query",
        "relative_url": "/2.0/engage",
        "query": {"pages": str(pages)},
    }
    records = 0
    with Runner(
        origin=origin, username=USERNAME, secret=SECRET, project_id=PROJECT_ID, env={},
        pacer=Budgets(env={}),
    ) as runner:  # fmt: skip
        for page in paginate(runner, inputs):
            records += len(page.records)
    return records


def baseline(origin: str, pages: int) -> int:
    import requests

    url = f"{origin}/api/2.0/engage"
    params: dict[str, Any] = {"pages": str(pages), "project_id": str(PROJECT_ID)}
    records = 0
    with requests.Session() as session:
        session.auth = (USERNAME, SECRET)
        while True:
            response = session.post(url, params=params, timeout=60)
            response.raise_for_status()
            body = response.json()
            results = body["results"]
            records += len(results)
            if len(results) < body["page_size"]:
                break
            params["session_id"] = body["session_id"]
            params["page"] = body["page"] + 1
    return records


def measure(origin: str, rounds: int, pages: int) -> dict[str, Any]:
    sides = {"ours": ours, "baseline": baseline}
    for side in sides.values():  # warm: imports, first connections
        side(origin, 3)
    cpu: dict[str, list[float]] = {"ours": [], "baseline": []}
    ratios = []
    for r in range(rounds):
        order = ["ours", "baseline", "baseline", "ours"] if r % 2 else [
            "baseline", "ours", "ours", "baseline"]  # fmt: skip
        spent = {"ours": 0.0, "baseline": 0.0}
        for name in order:
            gc.collect()
            start = time.process_time()
            got = sides[name](origin, pages)
            spent[name] += time.process_time() - start
            assert got == pages * 10, (name, got)
        for name in spent:
            # Two runs a side a round, each of pages + 1 requests (the last page is empty).
            cpu[name].append(spent[name] / (2 * (pages + 1)) * 1e6)
        ratios.append(cpu["ours"][-1] / cpu["baseline"][-1])
    return {"ratios": ratios, "ours_us": cpu["ours"], "baseline_us": cpu["baseline"]}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.pages")
    parser.add_argument("origin")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--pages", type=int, default=200)
    args = parser.parse_args()
    pin(CLIENT_CPU)
    emit(measure(args.origin, args.rounds, args.pages))


if __name__ == "__main__":
    main()
