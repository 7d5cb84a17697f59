"""Each manifest in manifests/examples/ runs against the sandbox, as a user would start from it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_helpers import cli, cli_process

from mp_custom_action.sandbox import Sandbox

EXAMPLES = Path(__file__).resolve().parents[2] / "manifests" / "examples"


@pytest.fixture
def sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    with Sandbox(port=0) as sb:
        names = {"username": "MP_USERNAME", "secret": "MP_SECRET", "project_id": "MP_PROJECT_ID",
                 "token": "MP_TOKEN"}  # fmt: skip
        for key, var in names.items():
            monkeypatch.setenv(var, str(sb.credentials[key]))
        yield sb


def test_quickstart_runs_with_the_built_in_sandbox_as_the_readme_says() -> None:
    res = cli_process("run", str(EXAMPLES / "quickstart.json"), "--sandbox")
    assert res.exit_status == 0, res.stderr
    steps = {s["name"]: s for s in res.json["steps"]}
    assert res.json["ok"] is True
    assert steps["sync"]["body"]["status"] == "running"
    assert [r["id"] for r in steps["runs"]["body"]["results"]] == [steps["sync"]["body"]["id"]]
    assert steps["events"]["body"]["num_records_imported"] == 3
    exported = [e["properties"]["$insert_id"] for e in steps["export"]["body"]]
    assert exported == ["qs-1", "qs-2", "qs-3"]


def test_warehouse_sync_triggers_the_first_source(sandbox: Sandbox) -> None:
    created = cli("preset", "createWarehouseSource", "--origin", sandbox.origin, "--input",
                  json.dumps({"body": {"name": "wh", "type": "snowflake", "connectionDetails": {},
                                       "tables": [{"tableName": "a.b", "importType": "event"}]}}))  # fmt: skip
    assert created.exit_status == 0, created.stderr
    res = cli("run", str(EXAMPLES / "warehouse-sync.json"), "--origin", sandbox.origin)
    assert res.exit_status == 0, res.stderr
    steps = res.json["steps"]
    assert steps[1]["body"]["status"] == "running"
    assert steps[2]["body"]["results"][0]["id"] == steps[1]["body"]["id"]


def test_warehouse_sync_without_a_source_stops_at_the_reference(sandbox: Sandbox) -> None:
    res = cli("run", str(EXAMPLES / "warehouse-sync.json"), "--origin", sandbox.origin)
    assert res.exit_status == 2
    assert "has 0 item(s), no index 0" in res.json["steps"][1]["error"]
    assert res.json["steps"][2] == {"name": "runs", "skipped": True}


def test_engage_profiles_updates_profiles_with_the_token_from_the_environment(
    sandbox: Sandbox,
) -> None:
    res = cli("run", str(EXAMPLES / "engage-profiles.json"), "--origin", sandbox.origin)
    assert res.exit_status == 0, res.stderr
    assert [s["body"] for s in res.json["steps"]] == ["1", "1", "1"]  # /engage answers 1 as text
    dry = cli("run", str(EXAMPLES / "engage-profiles.json"), "--dry-run")
    assert dry.json["steps"][0]["body"][0]["$token"] == "***"
    assert sandbox.credentials["token"] not in dry.stdout


def test_export_to_file_writes_jsonl(
    sandbox: Sandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events = [{"event": "e", "properties": {"distinct_id": "u", "time": 1705312800 + i,
                                           "$insert_id": f"x-{i}"}} for i in range(3)]  # fmt: skip
    sent = cli("call", "POST", "ingestion", "/import", "--body", json.dumps(events),
               "--origin", sandbox.origin)  # fmt: skip
    assert sent.exit_status == 0, sent.stderr
    monkeypatch.chdir(tmp_path)
    res = cli("run", str(EXAMPLES / "export-to-file.json"), "--origin", sandbox.origin)
    assert res.exit_status == 0, res.stderr
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert [json.loads(line)["properties"]["$insert_id"] for line in lines] == ["x-0", "x-1", "x-2"]
    assert res.json["steps"][0]["body_file"] == str(tmp_path / "events.jsonl")
