"""What a run has done so far: a line per step and a final line on a terminal's stderr (stdout
keeps the JSON result), and the output of a run that stopped early."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli
from loopback import Received, Reply, ScriptedServer

from mp_custom_action.commands import run as run_command
from mp_custom_action.core.runner import Runner
from mp_custom_action.manifests.load import load_manifest
from mp_custom_action.manifests.progress import Progress, TerminalProgress
from mp_custom_action.manifests.run import check_manifest, run_manifest

CREDS = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret-value", "MP_PROJECT_ID": "4242"}


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)


def query(name: str, url: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "call": {"method": "GET", "api": "query", "relative_url": url}, **extra}


MANIFEST: dict[str, Any] = {
    "version": 1,
    "steps": [
        query("names", "/2.0/events/names?type=${env.MP_SECRET}"),
        query("missing", "/2.0/missing", expect=[200], continue_on_error=True),
        query("top", "/2.0/events/top"),
    ],
}


def answer(req: Received) -> Reply:
    if req.path.endswith("/missing"):
        return Reply.json({"error": "no"}, status=404)
    return Reply.json({"ok": True})


class Clock:
    """Each reading is 0.25 s after the one before."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 0.25
        return self.now


def test_a_terminal_gets_a_line_per_step_and_a_final_line(server: ScriptedServer) -> None:
    server.handler = answer
    stream = io.StringIO()
    manifest = load_manifest(MANIFEST)
    with Runner(origin=server.origin, retries=0) as runner:
        check_manifest(manifest, runner)
        outcome = run_manifest(manifest, runner, progress=TerminalProgress(stream, Clock()))
    assert outcome.ok
    assert stream.getvalue().splitlines() == [
        "steps[0] names  GET /api/2.0/events/names  200  0.25 s",
        "steps[1] missing  GET /api/2.0/missing  404 (not expected)  0.25 s",
        "steps[2] top  GET /api/2.0/events/top  200  0.25 s",
        "3 steps, 2 ok, 1 failed, 1.75 s",
    ]
    assert "sa-secret-value" not in stream.getvalue()  # a query is never shown


def test_run_writes_the_lines_on_stderr_when_it_is_a_terminal(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.handler = answer
    path = tmp_path / "m.json"
    path.write_text(json.dumps(MANIFEST))
    plain = cli("run", str(path), "--origin", server.origin)
    monkeypatch.setattr(run_command, "stderr_is_terminal", lambda: True)
    watched = cli("run", str(path), "--origin", server.origin)
    assert plain.exit_status == watched.exit_status == 0
    assert plain.stderr == ""
    assert json.loads(plain.stdout) == json.loads(watched.stdout)  # stdout: the JSON alone
    lines = watched.stderr.splitlines()
    assert [line.split("  ")[:3] for line in lines[:3]] == [
        ["steps[0] names", "GET /api/2.0/events/names", "200"],
        ["steps[1] missing", "GET /api/2.0/missing", "404 (not expected)"],
        ["steps[2] top", "GET /api/2.0/events/top", "200"],
    ]
    assert all(re.fullmatch(r"\d+\.\d\d s", line.split("  ")[3]) for line in lines[:3])
    assert re.fullmatch(r"3 steps, 2 ok, 1 failed, \d+\.\d\d s", lines[3])
    assert len(lines) == 4


def test_a_failed_run_says_what_failed_and_what_did_not_run(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.handler = lambda req: Reply.json({"e": 1}, status=500)
    steps = [query("first", "/2.0/a"), query("second", "/2.0/b?x=${steps.first.status_code}")]
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"version": 1, "steps": steps}))
    monkeypatch.setattr(run_command, "stderr_is_terminal", lambda: True)
    res = cli("run", str(path), "--origin", server.origin, "--retries", "0")
    assert res.exit_status == 5
    lines = res.stderr.splitlines()
    assert lines[0].startswith("steps[0] first  GET /api/2.0/a  500 (not expected)  ")
    assert re.fullmatch(r"2 steps, 0 ok, 1 failed, 1 not run, \d+\.\d\d s", lines[1])


def test_the_output_of_a_run_stopped_early() -> None:
    manifest = load_manifest({"version": 1, "steps": [query(n, "/2.0/x") for n in "abc"]})
    progress = Progress()
    progress.begin(manifest.steps)
    a, b, _ = manifest.steps
    progress.done(a, {"name": "a", "status_code": 200, "headers": {}, "body": None}, 0)
    with Runner(origin="http://127.0.0.1:9") as runner:
        progress.sent(b, runner.prepare(b.resolved))
    stopped = progress.stopped("interrupted")
    assert stopped.ok is False
    assert stopped.to_dict()["steps"] == [
        {"name": "a", "status_code": 200, "headers": {}, "body": None},
        {"name": "b", "error": "interrupted before its answer was read (the request may have been sent)"},
        {"name": "c", "skipped": True},
    ]  # fmt: skip


def test_the_final_line_of_a_stopped_run_says_why() -> None:
    manifest = load_manifest({"version": 1, "steps": [query(n, "/2.0/x") for n in "ab"]})
    stream = io.StringIO()
    progress = TerminalProgress(stream, Clock())
    progress.begin(manifest.steps)
    progress.done(manifest.steps[0], {"name": "a", "status_code": 200}, 0)
    progress.stopped("terminated")
    assert stream.getvalue().splitlines()[-1] == "2 steps, 1 ok, 1 not run; terminated after 0.25 s"


def test_a_parallel_run_reports_every_step_once(server: ScriptedServer) -> None:
    server.handler = answer
    stream = io.StringIO()
    manifest = load_manifest(MANIFEST)
    with Runner(origin=server.origin, retries=0) as runner:
        check_manifest(manifest, runner)
        outcome = run_manifest(
            manifest, runner, parallel=3, progress=TerminalProgress(stream, Clock())
        )
    assert outcome.ok
    lines = stream.getvalue().splitlines()
    assert sorted(line.split("  ")[0] for line in lines[:3]) == [
        "steps[0] names",
        "steps[1] missing",
        "steps[2] top",
    ]
    assert lines[3].startswith("3 steps, 2 ok, 1 failed, ")
    assert len(lines) == 4
