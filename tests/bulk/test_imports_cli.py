"""``mp-custom-action import`` as a user runs it: a real process, the sandbox over loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mp_custom_action.sandbox import Sandbox

T0 = 1_700_000_000


def command() -> list[str]:
    return [str(Path(sys.executable).with_name("mp-custom-action"))]


def write_events(path: Path, count: int) -> Path:
    with path.open("w") as fh:
        for i in range(count):
            props = {"time": T0 + i, "distinct_id": f"u{i % 31}", "$insert_id": f"id-{i}"}
            fh.write(json.dumps({"event": "Viewed", "properties": props}) + "\n")
    return path


@pytest.fixture
def slow_sandbox() -> Iterator[Sandbox]:
    with Sandbox(port=0, latency=0.03) as sb:
        yield sb


def env_for(sb: Sandbox) -> dict[str, str]:
    return {**os.environ, **sb.env()}


def run(args: list[str], env: dict[str, str], **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        command() + args,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        **options,
    )


def test_import_prints_a_json_summary_and_progress_lines(tmp_path: Path) -> None:
    path = write_events(tmp_path / "events.ndjson", 3000)
    with path.open("a") as fh:
        fh.write('{"event": "no properties"}\n')
    with Sandbox(port=0) as sb:
        done = run(["import", "events", str(path), "--origin", sb.origin], env_for(sb))
        stored = len(sb.state.events())
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert {k: summary[k] for k in ("read", "sent", "accepted", "rejected", "retried_batches")} == {
        "read": 3001, "sent": 3000, "accepted": 3000, "rejected": 1, "retried_batches": 0,
    }  # fmt: skip
    assert isinstance(summary["seconds"], float) and stored == 3000
    assert "import: 3,000 records" in done.stderr and done.stderr.rstrip().endswith("done")
    rejects = (tmp_path / "events.ndjson.rejects.jsonl").read_text()
    assert json.loads(rejects)["line"] == 3001
    for secret in Sandbox(port=0).env().values():
        if len(secret) > 6:
            assert secret not in done.stdout + done.stderr + rejects


def test_a_bad_file_is_one_line_and_nothing_is_sent(tmp_path: Path) -> None:
    bad = tmp_path / "events.csv"
    bad.write_text("event,time\nx,1\n")
    good = write_events(tmp_path / "good.ndjson", 5)
    with Sandbox(port=0) as sb:
        done = run(["import", "events", str(good), str(bad), "--origin", sb.origin], env_for(sb))
        assert len(sb.requests) == 0
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and "neither a JSON array nor NDJSON" in done.stderr


def test_killed_then_resumed_delivers_every_event_exactly_once(
    tmp_path: Path, slow_sandbox: Sandbox
) -> None:
    path = write_events(tmp_path / "events.ndjson", 100_000)
    checkpoint = tmp_path / "events.ndjson.import-checkpoint.json"
    env = env_for(slow_sandbox)
    args = ["import", "events", str(path), "--origin", slow_sandbox.origin, "--workers", "2"]
    proc = subprocess.Popen(
        command() + args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if (
                checkpoint.exists()
                and json.loads(checkpoint.read_text())["counts"]["accepted"] >= 10_000
            ):
                break
            time.sleep(0.05)
        assert proc.poll() is None, "the import ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.communicate(timeout=30)
    state = json.loads(checkpoint.read_text())
    assert state["counts"]["accepted"] < 100_000
    again = run([*args, "--resume"], env)
    assert again.returncode == 0, again.stderr
    summary = json.loads(again.stdout)
    assert summary["resumed"] and summary["skipped_batches"] >= 5 and summary["complete"]
    ids = [e["properties"]["$insert_id"] for e in slow_sandbox.state.events()]
    assert len(ids) == len(set(ids)) == 100_000
    assert not checkpoint.exists()


def test_sigterm_stops_cleanly_with_a_summary(tmp_path: Path, slow_sandbox: Sandbox) -> None:
    path = write_events(tmp_path / "events.ndjson", 100_000)
    checkpoint = tmp_path / "events.ndjson.import-checkpoint.json"
    args = ["import", "events", str(path), "--origin", slow_sandbox.origin, "--workers", "1"]
    proc = subprocess.Popen(
        command() + args,
        env=env_for(slow_sandbox),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not checkpoint.exists() and proc.poll() is None:
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    summary = json.loads(out)
    assert summary["stopped"] == {"reason": "interrupted"}
    assert json.loads(checkpoint.read_text())["counts"]["accepted"] == summary["accepted"]
    assert "--resume" in err
