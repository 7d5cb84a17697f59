"""Per-call figures: client CPU time per call, ours against a baseline, in one pinned process.

``python -m bench.percall ORIGIN --rounds R --calls N`` prints one JSON object: for each figure,
the per-round ratios (ours / baseline) and the per-call CPU of each side in microseconds.

Client CPU (``time.process_time()``: every thread of this process, the deadline thread
included) is what is compared, with this process and the server pinned to one core: wall time on
loopback is mostly the other core's wake-ups. Each round runs the two sides in alternating order
(ABBA), so a drift in the machine's speed falls on both.
"""

from __future__ import annotations

import argparse
import copy
import gc
import time
from typing import Any, Callable

from .common import CLIENT_CPU, PROJECT_ID, SECRET, USERNAME, emit, pin

#: The per-call figure's action: GET with a service account, a query merged into the URL's own.
CARD: dict[str, Any] = {
    "method": "GET",
    "api": "query",
    "relative_url": "/2.0/events/names?limit=10",
    "query": {"type": "general"},
}

#: The preset figure: a PATCH whose input the preset's JSON Schema checks, and its raw twin.
PRESET = "updateWarehouseSource"
PRESET_INPUT: dict[str, Any] = {
    "sourceId": "src_abc123",
    "body": {
        "name": "Events from BigQuery",
        "schedule": "hourly",
        "tables": [
            {
                "tableName": "analytics.events",
                "importType": "event",
                "eventNameColumn": "event_name",
                "distinctIdColumn": "user_id",
                "timeColumn": "event_time",
            }
        ],
    },
}
PRESET_CARD: dict[str, Any] = {
    "method": "PATCH",
    "api": "connectors",
    "relative_url": f"/projects/{PROJECT_ID}/warehouse-sources/src_abc123",
    "body": PRESET_INPUT["body"],
}

MANIFEST_STEPS = 100
#: Manifest figures: how often a step reads the previous step's result (0: never).
MANIFESTS = {"manifest": 10, "manifest-refs": 2}


def manifest_and_cards(steps: int, ref_every: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A manifest of ``steps`` raw calls, every ``ref_every``-th one reading the previous step's
    result (none when 0), and the same calls as plain cards, with the values the references
    resolve to."""
    manifest_steps = []
    cards = []
    for i in range(steps):
        call = copy.deepcopy(CARD)
        card = copy.deepcopy(CARD)
        if ref_every and i % ref_every == ref_every - 1:
            call["query"]["status"] = f"${{steps.s{i - 1}.body.status}}"
            card["query"]["status"] = "ok"
        manifest_steps.append({"name": f"s{i}", "call": call})
        cards.append(card)
    return {"version": 1, "steps": manifest_steps}, cards


def _cpu(fn: Callable[[], object], repeat: int) -> float:
    start = time.process_time()
    for _ in range(repeat):
        fn()
    return time.process_time() - start


def _rounds(
    baseline: Callable[[], object], ours: Callable[[], object], rounds: int, repeat: int, per: int
) -> dict[str, Any]:
    """CPU seconds per unit (``repeat`` calls of ``fn`` make ``repeat * per`` units)."""
    baseline()
    ours()  # warm: connections open, validators built, plugins loaded
    ratios, base_us, ours_us = [], [], []
    for r in range(rounds):
        gc.collect()
        order = [(baseline, base_us), (ours, ours_us)]
        if r % 2:
            order.reverse()
        for fn, out in order:
            out.append(_cpu(fn, repeat) / (repeat * per) * 1e6)
        ratios.append(ours_us[-1] / base_us[-1])
    return {"ratios": ratios, "baseline_us": base_us, "ours_us": ours_us}


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.percall")
    parser.add_argument("origin")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--manifests", type=int, default=5, help="manifest runs per round")
    args = parser.parse_args()
    pin(CLIENT_CPU)

    import requests

    from mp_custom_action.core.runner import Runner
    from mp_custom_action.manifests.load import load_manifest
    from mp_custom_action.manifests.run import check_manifest, run_manifest
    from mp_custom_action.presets.run import run_preset

    runner = Runner(
        origin=args.origin, username=USERNAME, secret=SECRET, project_id=PROJECT_ID, env={}
    )
    session = requests.Session()
    request = runner.prepare(CARD)
    url = request.url.split("?", 1)[0]
    params = {"limit": "10", "type": "general", "project_id": str(PROJECT_ID)}

    def by_hand() -> object:
        # What a user writes without us: a default Session, the same URL, query and credential.
        response = session.get(url, params=params, auth=(USERNAME, SECRET))
        return response.json()

    def runner_call() -> object:
        return runner.run(CARD).body

    assert by_hand() == runner_call(), "the two sides must make the same call"
    out: dict[str, Any] = {"call": _rounds(by_hand, runner_call, args.rounds, args.calls, 1)}

    def raw_card() -> object:
        return runner.run(PRESET_CARD).body

    def preset_call() -> object:
        return run_preset(runner, PRESET, PRESET_INPUT).body

    from mp_custom_action.presets.plugins import preset_registry

    twin = preset_registry().get(PRESET).to_inputs(PRESET_INPUT, project_id=PROJECT_ID)
    assert runner.prepare(twin).describe() == runner.prepare(PRESET_CARD).describe()
    assert raw_card() == preset_call()
    out["preset"] = _rounds(raw_card, preset_call, args.rounds, args.calls, 1)

    for figure, ref_every in MANIFESTS.items():
        manifest_data, cards = manifest_and_cards(MANIFEST_STEPS, ref_every)

        def card_calls(cards: list[dict[str, Any]] = cards) -> object:
            return [runner.run(card).status_code for card in cards]

        def manifest_run(data: dict[str, Any] = manifest_data) -> object:
            # Through the Python API, as a workflow step would: load (schema, credential-like
            # keys, references), check (prepare every step, with stand-ins for references), run.
            manifest = load_manifest(data, env={})
            check_manifest(manifest, runner)
            outcome = run_manifest(manifest, runner)
            assert outcome.ok, outcome.to_dict()
            return outcome

        out[figure] = _rounds(
            card_calls, manifest_run, args.rounds, max(1, args.manifests), MANIFEST_STEPS
        )
    runner.close()
    session.close()
    emit(out)


if __name__ == "__main__":
    main()
