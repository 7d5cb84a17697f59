"""Worker: the cost of scheduling a manifest's steps, parallel against in order.

``python -m bench.manifests --steps N --rounds R`` runs a manifest of N Query steps through
``run_manifest`` twice per round, in order and with ``parallel`` 8, against a runner whose
``send`` answers at once (no socket, no server): what is left is the scheduling. Prints one JSON
line: per-round seconds of each side and the ratio parallel / in order. A scheduler whose cost
grows with the steps still waiting on each completion shows here as a ratio that grows with N.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from .common import CLIENT_CPU, PROJECT_ID, SECRET, USERNAME, emit, pin


def manifest_data(steps: int) -> dict[str, Any]:
    """``steps`` independent Query steps (at most 5 of them in flight at once)."""
    return {
        "version": 1,
        "steps": [
            {
                "name": f"q{i}",
                "call": {"method": "GET", "api": "query", "relative_url": f"/2.0/events?i={i}"},
            }
            for i in range(steps)
        ],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.manifests")
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--parallel", type=int, default=8)
    args = parser.parse_args()
    pin(CLIENT_CPU)

    from mp_custom_action.core.results import Result
    from mp_custom_action.core.runner import Runner
    from mp_custom_action.manifests.load import load_manifest
    from mp_custom_action.manifests.run import check_manifest, run_manifest

    class FastRunner(Runner):
        """Answers every request at once: the run's own cost is all that is measured."""

        def send(self, req: Any, *, output: Any = None, timeout: Any = None) -> Result:
            return Result(200, {"Content-Type": "application/json"}, {}, url=req.url)

    runner = FastRunner(
        origin="http://127.0.0.1:9", username=USERNAME, secret=SECRET, project_id=PROJECT_ID,
        env={},
    )  # fmt: skip
    data = manifest_data(args.steps)

    def timed(parallel: int) -> float:
        manifest = load_manifest(data, env={})
        check_manifest(manifest, runner)  # prepares every step: not part of the timing
        start = time.perf_counter()
        outcome = run_manifest(manifest, runner, parallel=parallel)
        took = time.perf_counter() - start
        assert outcome.ok and len(outcome.steps) == args.steps, outcome.exit_status
        return took

    ordered_s, parallel_s, ratios = [], [], []
    for r in range(args.rounds):
        sides = [(1, ordered_s), (args.parallel, parallel_s)]
        for parallel, into in sides if r % 2 == 0 else sides[::-1]:
            into.append(timed(parallel))
        ratios.append(parallel_s[-1] / ordered_s[-1])
    runner.close()
    emit({"ordered_s": ordered_s, "parallel_s": parallel_s, "ratios": ratios})


if __name__ == "__main__":
    main()
