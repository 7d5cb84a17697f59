"""Parallel manifest runs over a loopback server that counts requests in flight: the bound of
``parallel``, the per-API limits, dependencies, stopping on a failure, and the output order."""

from __future__ import annotations

import json
import math
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from cli_helpers import cli
from loopback import Received, Reply, ScriptedServer

from mp_custom_action.core.results import Result
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import InputError
from mp_custom_action.manifests.load import ManifestRun, load_manifest
from mp_custom_action.manifests.parallel import LIMITS, Limit, _Gates
from mp_custom_action.manifests.run import check_manifest, dry_run, run_manifest

CREDS = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret-value", "MP_PROJECT_ID": "4242"}
LATENCY = 0.03  # long enough for steps sent together to overlap on a busy machine


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)


class Tracker:
    """A handler that answers after ``LATENCY`` (or the step's own delay) and records, per
    request, when it arrived and when it was answered, and the most requests in flight."""

    def __init__(self, reply: Optional[Callable[[Received], Reply]] = None) -> None:
        self.reply = reply or (lambda req: Reply.json({"step": step_of(req)}))
        self.lock = threading.Lock()
        self.in_flight = 0
        self.most = 0
        self.spans: dict[str, tuple[float, float]] = {}

    def __call__(self, req: Received) -> Reply:
        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        start = time.monotonic()
        try:
            reply = self.reply(req)
            time.sleep(reply.delay or LATENCY)
            reply.delay = 0
            return reply
        finally:
            with self.lock:
                self.in_flight -= 1
                self.spans[step_of(req)] = (start, time.monotonic())


def step_of(req: Received) -> str:
    return dict(req.query).get("step", "?")


def query_step(name: str, **extra: Any) -> dict[str, Any]:
    url = f"/2.0/events/names?step={name}"
    return {"name": name, "call": {"method": "GET", "api": "query", "relative_url": url}, **extra}


def manifest(steps: list[dict[str, Any]], **top: Any) -> dict[str, Any]:
    return {"version": 1, "steps": steps, **top}


def run(server: ScriptedServer, data: dict[str, Any], **kwargs: Any) -> ManifestRun:
    loaded = load_manifest(data)
    with Runner(origin=server.origin, retries=0) as runner:
        check_manifest(loaded, runner)
        return run_manifest(loaded, runner, **kwargs)


def test_without_parallel_steps_never_overlap(server: ScriptedServer) -> None:
    server.handler = tracker = Tracker()
    outcome = run(server, manifest([query_step(f"q{i}") for i in range(4)]))
    assert outcome.ok and outcome.exit_status == 0
    assert tracker.most == 1


def test_parallel_4_overlaps_up_to_4_steps(server: ScriptedServer) -> None:
    server.handler = tracker = Tracker()
    outcome = run(server, manifest([query_step(f"q{i}") for i in range(8)], parallel=4))
    assert outcome.ok
    assert 2 <= tracker.most <= 4
    assert len(server.received) == 8


def test_the_query_api_never_has_more_than_5_at_once(server: ScriptedServer) -> None:
    server.handler = tracker = Tracker()
    outcome = run(server, manifest([query_step(f"q{i}") for i in range(8)], parallel=16))
    assert outcome.ok
    assert 2 <= tracker.most <= 5


def test_a_step_waits_for_the_step_it_reads(server: ScriptedServer) -> None:
    server.handler = tracker = Tracker()
    steps = [
        query_step("a"),
        query_step("other"),
        {
            "name": "b",
            "call": {
                "method": "GET",
                "api": "query",
                "relative_url": "/2.0/events/names?step=b",
                "query": {"after": "${steps.a.body.step}"},
            },
        },
    ]
    outcome = run(server, manifest(steps, parallel=3))
    assert outcome.ok
    assert tracker.spans["b"][0] >= tracker.spans["a"][1]
    assert dict(server.received[-1].query)["after"] == "a"
    # The independent step did not wait for a.
    assert tracker.spans["other"][0] < tracker.spans["a"][1]


def test_the_output_is_in_manifest_order(server: ScriptedServer) -> None:
    # Later steps answer sooner, so they finish first.
    delays = {f"q{i}": 0.01 + 0.02 * (4 - i) for i in range(5)}
    server.handler = Tracker(lambda req: Reply(200, {}, b"{}", delay=delays[step_of(req)]))
    outcome = run(server, manifest([query_step(f"q{i}") for i in range(5)], parallel=5))
    assert [s["name"] for s in outcome.steps] == [f"q{i}" for i in range(5)]
    assert all(s["status_code"] == 200 for s in outcome.steps)


def test_a_failure_starts_nothing_more_and_the_steps_in_flight_finish(
    server: ScriptedServer,
) -> None:
    def reply(req: Received) -> Reply:
        if step_of(req) == "bad":
            return Reply(404, {}, b"{}", delay=0.005)
        return Reply(200, {}, b"{}", delay=0.15 if step_of(req) == "slow" else 0.0)

    server.handler = Tracker(reply)
    steps = [query_step("bad"), query_step("slow")] + [query_step(f"q{i}") for i in range(4)]
    outcome = run(server, manifest(steps, parallel=2))
    assert not outcome.ok and outcome.exit_status == 4
    assert outcome.steps[0]["status_code"] == 404
    assert outcome.steps[1]["status_code"] == 200  # in flight when bad failed: reported
    assert outcome.steps[2:] == [{"name": f"q{i}", "skipped": True} for i in range(4)]
    assert sorted(step_of(r) for r in server.received) == ["bad", "slow"]


def test_the_exit_status_is_the_first_failure_in_manifest_order(server: ScriptedServer) -> None:
    def reply(req: Received) -> Reply:
        if step_of(req) == "first":  # fails last
            return Reply(500, {}, b"{}", delay=0.1)
        return Reply(404, {}, b"{}", delay=0.01)

    server.handler = Tracker(reply)
    outcome = run(server, manifest([query_step("first"), query_step("second")], parallel=2))
    assert [s["status_code"] for s in outcome.steps] == [500, 404]
    assert outcome.exit_status == 5


def test_a_tolerated_failure_is_read_as_in_an_ordered_run(server: ScriptedServer) -> None:
    server.handler = Tracker(
        lambda req: Reply(404 if step_of(req) == "gone" else 200, {}, b"{}", delay=0.01)
    )
    steps = [
        query_step("gone", continue_on_error=True),
        {
            "name": "check",
            "call": {
                "method": "GET",
                "api": "query",
                "relative_url": "/2.0/events/names?step=check",
                "query": {"was": "${steps.gone.status_code}"},
            },
        },
    ]
    ordered = run(server, manifest(steps))
    at_once = run(server, manifest(steps, parallel=4))
    assert at_once.ok and ordered.ok
    assert [s["status_code"] for s in at_once.steps] == [404, 200]
    assert _without_headers(at_once.steps) == _without_headers(ordered.steps)
    assert dict(server.received[-1].query)["was"] == "404"


def test_a_step_whose_inputs_fail_at_run_time_stops_the_run(server: ScriptedServer) -> None:
    # a answers at once and c slowly, so b fails while c is in flight and d has no slot yet.
    server.handler = Tracker(
        lambda req: Reply(200, {}, b"{}", delay=0.12 if step_of(req) == "c" else 0.005)
    )
    steps = [
        query_step("a"),
        {
            "name": "b",
            "call": {
                "method": "GET",
                "api": "query",
                "relative_url": "/2.0/events/names?step=b",
                "query": {"x": "${steps.a.body.missing}"},
            },
        },
        query_step("c"),
        query_step("d"),
    ]
    outcome = run(server, manifest(steps, parallel=2))
    assert outcome.exit_status == 2
    assert "has no key 'missing'" in outcome.steps[1]["error"]
    # c was in flight when b failed, so it finished; d was never started.
    assert outcome.steps[2]["status_code"] == 200
    assert outcome.steps[3] == {"name": "d", "skipped": True}


def test_steps_writing_one_file_run_in_order(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "out").mkdir()
    server.handler = tracker = Tracker(
        lambda req: Reply(200, {}, f'{{"step": "{step_of(req)}"}}\n'.encode())
    )
    steps = [
        query_step("one", output="out/same.jsonl"),
        query_step("two", output="out/./same.jsonl"),
        query_step("own", output="out/own.jsonl"),
    ]
    outcome = run(server, manifest(steps, parallel=3))
    assert outcome.ok
    assert tracker.spans["two"][0] >= tracker.spans["one"][1]
    assert tracker.spans["own"][0] < tracker.spans["one"][1]
    assert json.loads((tmp_path / "out/same.jsonl").read_text()) == {"step": "two"}
    assert json.loads((tmp_path / "out/own.jsonl").read_text()) == {"step": "own"}
    assert outcome.steps[2]["body"] is None and outcome.steps[2]["body_bytes"] > 0


def test_the_flag_overrides_the_manifest(server: ScriptedServer, tmp_path: Path) -> None:
    server.handler = tracker = Tracker()
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest([query_step(f"q{i}") for i in range(4)], parallel=1)))
    res = cli("run", str(path), "--origin", server.origin, "--parallel", "4")
    assert res.exit_status == 0, res.stderr
    assert [s["name"] for s in res.json["steps"]] == ["q0", "q1", "q2", "q3"]
    assert tracker.most >= 2
    path.write_text(json.dumps(manifest([query_step(f"q{i}") for i in range(4)], parallel=4)))
    tracker.most = 0
    assert cli("run", str(path), "--origin", server.origin, "--parallel", "1").exit_status == 0
    assert tracker.most == 1


@pytest.mark.parametrize("value", ["0", "17"])
def test_a_parallel_flag_out_of_range_sends_nothing(
    server: ScriptedServer, tmp_path: Path, value: str
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest([query_step("q")])))
    res = cli("run", str(path), "--origin", server.origin, "--parallel", value)
    assert res.exit_status == 2
    assert f"--parallel: expected a whole number from 1 to 16, got {value}" in res.stderr
    assert server.received == []


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "parallel: expected a whole number from 1 to 16, got 0"),
        (17, "parallel: expected a whole number from 1 to 16, got 17"),
        (True, "parallel: expected integer, got true"),
        ("4", 'parallel: expected integer, got "4"'),
    ],
)
def test_the_manifest_key_is_checked(
    server: ScriptedServer, tmp_path: Path, value: Any, message: str
) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest([query_step("q")], parallel=value)))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 2
    assert message in res.stderr
    assert server.received == []


def test_run_manifest_refuses_a_bad_parallel(server: ScriptedServer) -> None:
    with pytest.raises(InputError, match="from 1 to 16"):
        run(server, manifest([query_step("q")]), parallel=0)


def test_a_dry_run_is_the_same_with_parallel() -> None:
    steps = [query_step("a"), query_step("b", continue_on_error=True)]
    shown = []
    for data in (manifest(steps), manifest(steps, parallel=8)):
        loaded = load_manifest(data)
        with Runner() as runner:
            check_manifest(loaded, runner)
            shown.append(dry_run(loaded, runner))
    assert shown[0] == shown[1]


def test_export_steps_start_at_most_3_a_second(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The window is shortened so the test takes a fraction of a second; the rule is the same.
    monkeypatch.setitem(LIMITS, "export", Limit(at_once=100, starts=3, window=0.15))
    server.handler = tracker = Tracker(lambda req: Reply(200, {}, b"{}\n", delay=0.005))
    steps = [
        {"name": f"e{i}", "call": {"method": "GET", "api": "export", "query": {"step": f"e{i}"}}}
        for i in range(5)
    ]
    outcome = run(server, manifest(steps, parallel=5))
    assert outcome.ok
    starts = sorted(start for start, _ in tracker.spans.values())
    assert starts[3] - starts[0] >= 0.1  # the 4th start waited for the window to move on


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_gates_hold_each_api_to_its_limits() -> None:
    clock = FakeClock()
    gates = _Gates(clock)
    assert [gates.take("query") for _ in range(6)] == [0.0] * 5 + [math.inf]
    gates.release("query")
    assert gates.take("query") == 0.0
    assert gates.take("lexicon") == 0.0 and gates.take("lexicon") == math.inf
    assert gates.take("my-plugin-api") == 0.0 and gates.take("my-plugin-api") == math.inf
    assert all(gates.take("ingestion") == 0.0 for _ in range(16))
    assert [gates.take("export") for _ in range(3)] == [0.0] * 3
    assert gates.take("export") == pytest.approx(1.0)
    clock.now += 0.4
    assert gates.take("export") == pytest.approx(0.6)
    clock.now += 0.6
    assert gates.take("export") == 0.0  # a second after the first three


def _without_headers(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in s.items() if k != "headers"} for s in steps]


def test_the_docs_example_runs_as_the_docs_say(server: ScriptedServer) -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "manifests.md").read_text()
    section = text.split("## Parallel steps", 1)[1]
    block = re.search(r"<!-- manifest: run -->\n```json\n(.*?)```", section, re.S)
    assert block is not None
    data = json.loads(block.group(1))
    assert data["parallel"] == 4

    def reply(req: Received) -> Reply:
        if req.path.endswith("/warehouse-sources"):
            return Reply.json({"results": [{"id": "src_1"}]})
        return Reply.json({"ok": True})

    spans: dict[str, tuple[float, float]] = {}
    tracker = Tracker(reply)
    names = {"names": "events", "top": "top", "warehouse-sources": "sources", "runs": "sync"}

    def handler(req: Received) -> Reply:
        start = time.monotonic()
        try:
            return tracker(req)
        finally:
            spans[names[req.path.rsplit("/", 1)[-1]]] = (start, time.monotonic())

    server.handler = handler
    outcome = run(server, data)
    assert outcome.ok
    assert spans["sync"][0] >= spans["sources"][1]
    assert tracker.most >= 2  # the two queries and the listing overlapped


class InstantRunner(Runner):
    """Answers every request at once, without a socket: only the scheduling is exercised."""

    def send(self, req: Any, *, output: Any = None, timeout: Any = None) -> Result:
        return Result(200, {}, {"url": req.url})


def test_scheduling_asks_the_gates_a_bounded_number_of_times_per_step(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A scheduler that tries every waiting step on each completion asks the Query gate about
    # n * n / 5 times for n Query steps (5 at once); a linear one a few times per step.
    asked = 0
    take = _Gates.take

    def counting(self: _Gates, api: str) -> float:
        nonlocal asked
        asked += 1
        return take(self, api)

    monkeypatch.setattr(_Gates, "take", counting)
    steps = [query_step(f"q{i}") for i in range(400)] + [
        query_step("last", call={"method": "GET", "api": "query",
                                 "relative_url": "/2.0/events/names?after=${steps.q0.status_code}"})
    ]  # fmt: skip
    loaded = load_manifest(manifest(steps))
    with InstantRunner(origin="http://127.0.0.1:9", retries=0) as runner:
        check_manifest(loaded, runner)
        outcome = run_manifest(loaded, runner, parallel=8)
    assert outcome.ok and [s["name"] for s in outcome.steps] == [s["name"] for s in steps]
    assert "after=200" in outcome.steps[-1]["body"]["url"]
    assert asked <= 3 * len(steps)
