"""Manifests end to end over a loopback server: references between steps, stop and continue on
error, exit codes, dry runs, and every static check failing before anything is sent."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import CliResult, cli
from loopback import Received, Reply, ScriptedServer

CREDS = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret-value", "MP_PROJECT_ID": "4242"}

THREE_STEPS: dict[str, Any] = {
    "version": 1,
    "region": "eu",
    "steps": [
        {"name": "sources", "preset": "listWarehouseSources", "input": {"projectId": 4242}},
        {
            "name": "sync",
            "preset": "triggerWarehouseRun",
            "input": {"sourceId": "${steps.sources.body.results.0.id}"},
        },
        {
            "name": "names",
            "call": {
                "method": "GET",
                "api": "query",
                "relative_url": "/2.0/events/names",
                "query": {"type": "general"},
            },
        },
    ],
}


def warehouse(req: Received) -> Reply:
    if req.path.endswith("/warehouse-sources"):
        return Reply.json({"results": [{"id": "src/1"}, {"id": "src_2"}]})
    if req.path.endswith("/runs"):
        return Reply.json({"id": "run_1", "status": "running"})
    return Reply.json(["Signed up", "Viewed report"])


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)


def run(tmp_path: Path, manifest: Any, *args: str) -> CliResult:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest) if not isinstance(manifest, str) else manifest)
    return cli("run", str(path), *args)


@pytest.mark.usefixtures("creds")
def test_three_steps_run_end_to_end_and_the_second_reads_the_first(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.handler = warehouse
    res = run(tmp_path, THREE_STEPS, "--origin", server.origin)
    assert res.exit_status == 0, res.stderr
    out = res.json
    assert out["ok"] is True
    assert [s["name"] for s in out["steps"]] == ["sources", "sync", "names"]
    assert out["steps"][1]["body"] == {"id": "run_1", "status": "running"}
    assert [(r.method, r.target) for r in server.received] == [
        ("GET", "/api/app/projects/4242/warehouse-sources"),
        # The id from step 1 is one path segment: its "/" is encoded, never a new segment.
        ("POST", "/api/app/projects/4242/warehouse-sources/src%2F1/runs"),
        ("GET", "/api/2.0/events/names?type=general&project_id=4242"),
    ]
    assert server.connections == 1, "one Runner, one pooled connection for the whole manifest"


@pytest.mark.usefixtures("creds")
def test_whole_value_reference_keeps_its_type_and_inner_one_is_text(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.handler = lambda req: Reply.json({"n": 7, "tags": ["a", "b"], "name": "x"})
    manifest = {
        "version": 1,
        "steps": [
            {"name": "first", "call": {"method": "GET", "api": "query", "relative_url": "/x"}},
            {
                "name": "second",
                "call": {
                    "method": "POST",
                    "api": "ingestion",
                    "relative_url": "/import",
                    "body": {
                        "n": "${steps.first.body.n}",
                        "tags": "${steps.first.body.tags}",
                        "text": "n=${steps.first.body.n} status ${steps.first.status_code}",
                        "header": "${steps.first.headers.content-type}",
                        "literal": "$${steps.first.body.n}",
                        "home": "${env.HOME_TEAM}",
                    },
                },
            },
        ],
    }
    monkeypatch.setenv("HOME_TEAM", "blue")
    res = run(tmp_path, manifest, "--origin", server.origin)
    assert res.exit_status == 0, res.stderr
    assert server.received[1].json() == {
        "n": 7,
        "tags": ["a", "b"],
        "text": "n=7 status 200",
        "header": "application/json",
        "literal": "${steps.first.body.n}",
        "home": "blue",
    }


@pytest.mark.usefixtures("creds")
@pytest.mark.parametrize(("status", "code"), [(404, 4), (500, 5), (302, 4), (201, 4)])
def test_a_status_outside_expect_stops_the_run_with_4_or_5(
    server: ScriptedServer, tmp_path: Path, status: int, code: int
) -> None:
    server.handler = lambda req: Reply.json({"s": req.path}, status=status)
    manifest = copy.deepcopy(THREE_STEPS)
    manifest["steps"][0]["expect"] = 200
    res = run(tmp_path, manifest, "--origin", server.origin, "--retries", "0")
    assert res.exit_status == code
    out = res.json
    assert out["ok"] is False
    assert out["steps"][0]["status_code"] == status
    assert out["steps"][1:] == [
        {"name": "sync", "skipped": True},
        {"name": "names", "skipped": True},
    ]
    assert len(server.received) == 1


@pytest.mark.usefixtures("creds")
def test_continue_on_error_runs_the_rest_and_a_reference_to_the_failed_step_fails_there(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.handler = lambda req: (
        Reply.json({"error": "nope"}, status=404)
        if req.path.endswith("warehouse-sources")
        else Reply.json({})
    )
    manifest = copy.deepcopy(THREE_STEPS)
    manifest["steps"][0]["continue_on_error"] = True
    res = run(tmp_path, manifest, "--origin", server.origin)
    out = res.json
    # Step 1's 404 is tolerated; step 2 reads a key the 404 body lacks: an input error (2).
    assert res.exit_status == 2
    assert out["ok"] is False
    assert out["steps"][0]["status_code"] == 404
    assert out["steps"][1]["error"].startswith("steps[1].input.sourceId: ${steps.sources.body")
    assert "has no key 'results'" in out["steps"][1]["error"]
    assert out["steps"][2] == {"name": "names", "skipped": True}


@pytest.mark.usefixtures("creds")
def test_continue_on_error_keeps_the_run_ok_and_expect_lists_statuses(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.handler = lambda req: Reply.json({}, status=404 if "gone" in req.path else 200)
    manifest = {
        "version": 1,
        "steps": [
            {
                "name": "tolerated",
                "call": {"method": "DELETE", "api": "query", "relative_url": "/gone"},
                "continue_on_error": True,
            },
            {
                "name": "expected",
                "call": {"method": "GET", "api": "query", "relative_url": "/gone/2"},
                "expect": [200, "4xx"],
            },
            {"name": "last", "call": {"method": "GET", "api": "query", "relative_url": "/ok"}},
        ],
    }
    res = run(tmp_path, manifest, "--origin", server.origin)
    assert res.exit_status == 0
    assert res.json["ok"] is True
    assert [s["status_code"] for s in res.json["steps"]] == [404, 404, 200]


@pytest.mark.usefixtures("creds")
def test_a_transport_failure_stops_the_run_with_6(server: ScriptedServer, tmp_path: Path) -> None:
    server.handler = lambda req: Reply(reset=True)
    res = run(tmp_path, THREE_STEPS, "--origin", server.origin, "--retries", "0")
    assert res.exit_status == 6
    out = res.json
    assert out["ok"] is False
    assert set(out["steps"][0]) == {"name", "error"}
    assert "sa-secret-value" not in res.stdout + res.stderr
    assert out["steps"][1]["skipped"] is True


@pytest.mark.usefixtures("creds")
def test_a_step_streams_its_body_to_a_file(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = b'{"event":"a","properties":{}}\n{"event":"b","properties":{}}\n'
    server.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, lines)
    monkeypatch.chdir(tmp_path)
    manifest = {
        "version": 1,
        "steps": [
            {
                "name": "export",
                "call": {"method": "GET", "api": "export", "query": {"from_date": "2024-01-01"}},
                "output": "out/events.jsonl",
            }
        ],
    }
    (tmp_path / "out").mkdir()
    res = run(tmp_path, manifest, "--origin", server.origin)
    assert res.exit_status == 0, res.stderr
    step = res.json["steps"][0]
    assert step["body"] is None
    assert step["body_bytes"] == len(lines)
    assert Path(step["body_file"]) == tmp_path / "out" / "events.jsonl"
    assert (tmp_path / "out" / "events.jsonl").read_bytes() == lines


@pytest.mark.usefixtures("creds")
def test_dry_run_shows_every_request_with_references_as_text_and_sends_nothing(
    server: ScriptedServer, tmp_path: Path
) -> None:
    manifest = copy.deepcopy(THREE_STEPS)
    manifest["steps"].append(
        {
            "name": "replay",
            "call": {
                "method": "POST",
                "api": "ingestion",
                "relative_url": "/import",
                "body": "${steps.names.body}",
            },
        }
    )
    res = run(tmp_path, manifest, "--origin", server.origin, "--dry-run")
    assert res.exit_status == 0, res.stderr
    steps = res.json["steps"]
    assert server.received == []
    assert steps[0]["url"] == f"{server.origin}/api/app/projects/4242/warehouse-sources"
    assert steps[1]["url"].endswith("/warehouse-sources/${steps.sources.body.results.0.id}/runs")
    assert steps[1]["headers"]["Authorization"] == "Basic ***"
    assert steps[3]["body"] == "${steps.names.body}"
    assert "sa-secret-value" not in res.stdout
    single = cli("call", "GET", "query", "/2.0/events/names", "--query", '{"type": "general"}',
                 "--origin", server.origin, "--region", "eu", "--dry-run")  # fmt: skip
    assert {"name": "names", **single.json} == steps[2]


@pytest.mark.usefixtures("creds")
def test_region_flag_overrides_the_manifest_and_the_steps(tmp_path: Path) -> None:
    manifest = copy.deepcopy(THREE_STEPS)
    manifest["steps"][2]["region"] = "us"
    res = run(tmp_path, manifest, "--dry-run")
    urls = [s["url"] for s in res.json["steps"]]
    assert urls[0].startswith("https://eu.mixpanel.com/api/app/")
    assert urls[2].startswith("https://mixpanel.com/api/2.0/")
    res = run(tmp_path, manifest, "--dry-run", "--region", "in")
    assert all(
        u.startswith("https://in.mixpanel.com/") for u in (s["url"] for s in res.json["steps"])
    )


@pytest.mark.usefixtures("creds")
def test_env_values_under_credential_keys_are_masked_in_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "hunter2-snow")
    manifest = {
        "version": 1,
        "steps": [
            {
                "name": "source",
                "preset": "createWarehouseSource",
                "input": {
                    "body": {
                        "name": "Snow",
                        "type": "snowflake",
                        "connectionDetails": {
                            "user": "etl",
                            "password": "${env.SNOWFLAKE_PASSWORD}",
                        },
                    }
                },
            }
        ],
    }
    res = run(tmp_path, manifest, "--dry-run")
    assert res.exit_status == 0, res.stderr
    assert res.json["steps"][0]["body"]["connectionDetails"] == {"user": "etl", "password": "***"}
    assert "hunter2-snow" not in res.stdout


@pytest.mark.usefixtures("creds")
def test_manifest_from_stdin(server: ScriptedServer) -> None:
    server.handler = warehouse
    res = cli("run", "-", "--origin", server.origin, stdin=json.dumps(THREE_STEPS))
    assert res.exit_status == 0, res.stderr
    assert len(server.received) == 3


def test_the_python_api_runs_a_manifest(server: ScriptedServer) -> None:
    from mp_custom_action.core.runner import Runner
    from mp_custom_action.manifests.load import load_manifest
    from mp_custom_action.manifests.run import check_manifest, run_manifest

    server.handler = warehouse
    manifest = load_manifest(THREE_STEPS, env={})
    with Runner(origin=server.origin, username="u", secret="s", project_id=4242, env={}) as runner:
        check_manifest(manifest, runner)
        outcome = run_manifest(manifest, runner)
    assert outcome.ok and outcome.exit_status == 0
    assert outcome.to_dict()["steps"][1]["body"]["id"] == "run_1"
