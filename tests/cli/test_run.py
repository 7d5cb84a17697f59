"""``mp-custom-action run`` stopped early: Ctrl-C, SIGTERM or an internal error still prints what
was sent and answered (stdout keeps the JSON result's shape), removes partial ``.NAME.xxxx.part``
files, and exits 130, 143 or 1."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli
from loopback import Received, Reply, ScriptedServer

from mp_custom_action.core.runner import Runner

CREDS = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret-value", "MP_PROJECT_ID": "4242"}

#: Three steps, each after the one before: an accepted import, an export streamed to a file, a
#: last step never reached.
STEPS: list[dict[str, Any]] = [
    {
        "name": "import",
        "call": {"method": "POST", "api": "ingestion", "relative_url": "/import",
                 "body": [{"event": "e", "properties": {"time": 1, "distinct_id": "d",
                                                        "$insert_id": "i1"}}]},
    },
    {
        "name": "export",
        "call": {"method": "GET", "api": "export", "relative_url": "",
                 "query": {"from_date": "2024-01-01", "to_date": "2024-01-01",
                           "after": "import-${steps.import.status_code}"}},
        "output": "events.jsonl",
    },
    {"name": "last", "call": {"method": "GET", "api": "query",
                              "relative_url": "/2.0/events?after=${steps.export.status_code}"}},
]  # fmt: skip


def slow_export(req: Received) -> Reply:
    if req.path.endswith("/export"):
        # Headers, then a body a byte every 20 ms: the run is mid-download for a long while.
        return Reply(200, {"Content-Type": "text/plain"}, b'{"event":"e"}\n' * 200, trickle=0.02)
    return Reply.json({"code": 200, "num_records_imported": 1})


def start_run(tmp_path: Path, origin: str, *extra: str) -> subprocess.Popen[str]:
    (tmp_path / "m.json").write_text(json.dumps({"version": 1, "steps": STEPS}))
    return subprocess.Popen(
        [sys.executable, "-m", "mp_custom_action", "run", "m.json", "--origin", origin, *extra],
        cwd=tmp_path,
        env={**os.environ, **CREDS},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_part_file(tmp_path: Path, proc: subprocess.Popen[str]) -> None:
    for _ in range(400):  # at most 20 s
        if list(tmp_path.glob(".events.jsonl.*.part")):
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    proc.kill()
    pytest.fail(f"the export never started writing: {proc.communicate()}")


@pytest.mark.parametrize(
    ("sig", "status", "word"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
@pytest.mark.parametrize("parallel", ["1", "2"])
def test_a_signal_mid_run_prints_what_was_done_and_removes_the_partial_file(
    server: ScriptedServer,
    tmp_path: Path,
    sig: signal.Signals,
    status: int,
    word: str,
    parallel: str,
) -> None:
    """Issue 11 #10: Ctrl-C printed nothing; SIGTERM exited silently and left the .part file."""
    server.handler = slow_export
    proc = start_run(tmp_path, server.origin, "--parallel", parallel)
    wait_for_part_file(tmp_path, proc)
    proc.send_signal(sig)
    try:
        stdout, stderr = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    assert proc.returncode == status, stderr
    assert f"mp-custom-action: {word}" in stderr
    out = json.loads(stdout)
    assert out["ok"] is False
    first, export, last = out["steps"]
    assert first["name"] == "import" and first["status_code"] == 200
    assert first["body"] == {"code": 200, "num_records_imported": 1}
    assert export == {
        "name": "export",
        "error": f"{word} before its answer was read (the request may have been sent)",
    }
    assert last == {"name": "last", "skipped": True}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json"]  # no .part, no events.jsonl


@pytest.mark.parametrize("parallel", ["1", "2"])
def test_an_internal_error_mid_run_still_prints_what_was_sent_and_answered(
    server: ScriptedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    parallel: str,
) -> None:
    """Issue 11 #4: the run ended "internal error: ValueError" with an empty stdout, hiding
    that the import before it was accepted."""
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    server.handler = lambda req: Reply.json({"code": 200})
    send = Runner.send

    def failing_send(self: Runner, req: Any, **kwargs: Any) -> Any:
        if "/export" in req.url:
            raise ValueError("a bug")
        return send(self, req, **kwargs)

    monkeypatch.setattr(Runner, "send", failing_send)
    (tmp_path / "m.json").write_text(json.dumps({"version": 1, "steps": STEPS}))
    res = cli("run", "m.json", "--origin", server.origin, "--parallel", parallel)
    assert res.exit_status == 1
    assert "internal error: ValueError" in res.stderr
    first, export, last = res.json["steps"]
    assert first["status_code"] == 200 and first["body"] == {"code": 200}
    assert export["error"] == (
        "stopped by an internal error (ValueError) before its answer was read "
        "(the request may have been sent)"
    )
    assert last == {"name": "last", "skipped": True}
    assert res.json["ok"] is False


def test_a_terminal_on_stderr_gets_the_step_lines_and_stdout_only_the_json(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """stderr on a real pseudo-terminal, stdout on a pipe, as in ``mp-custom-action run m.json``
    typed at a shell whose output is piped to jq."""
    server.handler = lambda req: Reply.json({"code": 200})
    steps = [STEPS[0], {**STEPS[2], "call": {**STEPS[2]["call"], "relative_url": "/2.0/events"}}]
    (tmp_path / "m.json").write_text(json.dumps({"version": 1, "steps": steps}))
    leader, follower = os.openpty()
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mp_custom_action", "run", "m.json", "--origin", server.origin],
            cwd=tmp_path,
            env={**os.environ, **CREDS},
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            timeout=60,
            check=False,
        )
        os.close(follower)
        follower = -1
        seen = b""
        for _ in range(100):  # what the terminal shows; the loop ends at end of file
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the other end is closed and everything was read
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert proc.returncode == 0
    assert [s["name"] for s in json.loads(proc.stdout)["steps"]] == ["import", "last"]
    lines = seen.decode().splitlines()
    assert lines[0].startswith("steps[0] import  POST /import  200  ")
    assert lines[1].startswith("steps[1] last  GET /api/2.0/events  200  ")
    assert lines[2].startswith("2 steps, 2 ok, ")
