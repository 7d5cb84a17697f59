"""All eight built-in presets end to end over a real loopback server: CLI, Python, and the sandbox."""

from __future__ import annotations

import base64
import json
import warnings
from typing import Any

import pytest
from cli_helpers import cli
from presets_support import (
    PROJECT_ID,
    RUN,
    SECRET,
    SOURCE,
    TABLE,
    USERNAME,
    RecordingServer,
    set_credentials,
)

from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import PresetInputError
from mp_custom_action.presets.model import ResponseSchemaWarning
from mp_custom_action.presets.run import run_preset
from mp_custom_action.presets.warehouse import WarehouseConnectors
from mp_custom_action.sandbox import Sandbox

BASE = f"/api/app/projects/{PROJECT_ID}/warehouse-sources"
CREATE_BODY = {
    "name": "Events",
    "type": "snowflake",
    "schedule": "hourly",
    "connectionDetails": {"account": "acme", "warehouse": "wh"},
    "tables": [{"tableName": "public.events", "importType": "event", "eventNameColumn": "e"}],
}

#: preset -> (input, method, path as received, body sent, body answered)
CASES: dict[str, tuple[dict[str, Any], str, str, Any, Any]] = {
    "listWarehouseSources": ({}, "GET", BASE, None, {"results": [SOURCE]}),
    "createWarehouseSource": ({"body": CREATE_BODY}, "POST", BASE, CREATE_BODY, SOURCE),
    "getWarehouseSource": ({"sourceId": "src_1"}, "GET", f"{BASE}/src_1", None, SOURCE),
    "updateWarehouseSource": (
        {"sourceId": "src_1", "body": {"schedule": "weekly"}},
        "PATCH",
        f"{BASE}/src_1",
        {"schedule": "weekly"},
        SOURCE,
    ),
    "deleteWarehouseSource": ({"sourceId": "src 1/x"}, "DELETE", f"{BASE}/src%201%2Fx", None, None),
    "listWarehouseTables": (
        {"sourceId": "src_1"},
        "GET",
        f"{BASE}/src_1/tables",
        None,
        {"results": [TABLE]},
    ),
    "listWarehouseRuns": (
        {"sourceId": "src_1"},
        "GET",
        f"{BASE}/src_1/runs",
        None,
        {"results": [RUN]},
    ),
    "triggerWarehouseRun": ({"sourceId": "src_1"}, "POST", f"{BASE}/src_1/runs", None, RUN),
}
BASIC = "Basic " + base64.b64encode(f"{USERNAME}:{SECRET}".encode()).decode()


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    set_credentials(monkeypatch)


def test_the_cases_cover_every_builtin_preset() -> None:
    from mp_custom_action.presets.docs import builtin_presets

    assert sorted(CASES) == sorted(p.name for p in builtin_presets() if p.plugin == "builtin")


@pytest.mark.parametrize("name", sorted(CASES))
def test_cli_runs_each_preset_end_to_end(recording_server: RecordingServer, name: str) -> None:
    preset_input, method, path, sent, answered = CASES[name]
    result = cli(
        "preset", name, "--input", json.dumps(preset_input), "--origin", recording_server.origin,
        "--check-status", "--check-response",
    )  # fmt: skip
    assert result.exit_status == 0, result.stderr
    assert result.stderr == ""
    printed = result.json
    assert list(printed) == ["status_code", "headers", "body"]
    assert (printed["status_code"], printed["body"]) == (200, answered)

    [request] = recording_server.requests
    assert (request.method, request.target) == (method, path)  # no project_id query: path-scoped
    assert request.headers["Authorization"] == BASIC
    assert request.json() == sent
    if sent is not None:
        assert request.headers["Content-Type"] == "application/json"


def test_input_from_a_file_and_from_stdin(
    recording_server: RecordingServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:

    path = tmp_path / "input.json"
    path.write_text(json.dumps({"body": CREATE_BODY}), encoding="utf-8")
    assert cli(
        "preset", "createWarehouseSource", "--input", f"@{path}", "--origin", recording_server.origin
    ).exit_status == 0  # fmt: skip
    assert cli(
        "preset", "getWarehouseSource", "--input", "-", "--origin", recording_server.origin,
        stdin='{"sourceId": "from-stdin"}',
    ).exit_status == 0  # fmt: skip
    assert [r.json() for r in recording_server.requests] == [CREATE_BODY, None]
    assert recording_server.requests[1].target == f"{BASE}/from-stdin"


def test_dry_run_prints_the_request_and_sends_nothing(recording_server: RecordingServer) -> None:
    result = cli(
        "preset", "updateWarehouseSource", "--input", '{"projectId": 9, "sourceId": "a/b", '
        '"body": {"name": "renamed"}}', "--dry-run", "--origin", recording_server.origin,
    )  # fmt: skip
    assert result.exit_status == 0
    assert result.json == {
        "method": "PATCH",
        "url": f"{recording_server.origin}/api/app/projects/9/warehouse-sources/a%2Fb",
        "headers": {
            "User-Agent": result.json["headers"]["User-Agent"],
            "Accept": "application/json, text/plain;q=0.9, */*;q=0.1",
            "Content-Type": "application/json",
            "Authorization": "Basic ***",
        },
        "body": {"name": "renamed"},
    }
    assert SECRET not in result.stdout
    assert recording_server.requests == []


def test_region_keeps_the_connectors_path(recording_server: RecordingServer) -> None:
    result = cli(
        "preset", "listWarehouseSources", "--region", "eu", "--origin", recording_server.origin
    )
    assert result.exit_status == 0
    assert recording_server.requests[0].target == BASE


def test_check_status_maps_an_error_answer(recording_server: RecordingServer) -> None:
    recording_server.answer = lambda method, path: (404, {"status": "error", "error": "not found"})
    args = ("preset", "getWarehouseSource", "--input", '{"sourceId": "gone"}')
    result = cli(*args, "--origin", recording_server.origin)
    assert (result.exit_status, result.json["status_code"]) == (0, 404)
    assert cli(*args, "--origin", recording_server.origin, "--check-status").exit_status == 4


def test_check_response_warns_but_never_fails(recording_server: RecordingServer) -> None:
    recording_server.answer = lambda method, path: (200, {"id": 5, "type": "oracle"})
    args = ("preset", "getWarehouseSource", "--input", '{"sourceId": "s"}')
    result = cli(*args, "--origin", recording_server.origin, "--check-response")
    assert result.exit_status == 0
    assert result.json["body"] == {"id": 5, "type": "oracle"}
    assert result.stderr == (
        "mp-custom-action: warning: the 200 response of getWarehouseSource does not match its "
        "schema: body.id: expected a string, got integer 5 (and 1 more)\n"
    )
    # Without the flag nothing is checked.
    assert cli(*args, "--origin", recording_server.origin).stderr == ""


def test_output_streams_the_body_to_a_file(
    recording_server: RecordingServer, tmp_path: Any
) -> None:
    out = tmp_path / "runs.json"
    result = cli(
        "preset", "listWarehouseRuns", "--input", '{"sourceId": "s"}', "--output", str(out),
        "--origin", recording_server.origin, "--check-response",
    )  # fmt: skip
    assert result.exit_status == 0
    assert result.json["body"] is None
    assert json.loads(out.read_text()) == {"results": [RUN]}


# -- Python ------------------------------------------------------------------------------------


def _runner(server: RecordingServer) -> Runner:
    return Runner(
        origin=server.origin, username=USERNAME, secret=SECRET, project_id=PROJECT_ID, env={}
    )


def test_the_typed_client_runs_each_preset(recording_server: RecordingServer) -> None:
    with _runner(recording_server) as runner:
        client = WarehouseConnectors(runner, check_response=True)
        results = [
            client.list_warehouse_sources(),
            client.create_warehouse_source(CREATE_BODY),  # type: ignore[arg-type]
            client.get_warehouse_source("src_1"),
            client.update_warehouse_source("src_1", {"schedule": "weekly"}),
            client.delete_warehouse_source("src 1/x"),
            client.list_warehouse_tables("src_1"),
            client.list_warehouse_runs("src_1"),
            client.trigger_warehouse_run("src_1"),
        ]
    order = [
        "listWarehouseSources", "createWarehouseSource", "getWarehouseSource",
        "updateWarehouseSource", "deleteWarehouseSource", "listWarehouseTables",
        "listWarehouseRuns", "triggerWarehouseRun",
    ]  # fmt: skip
    got = [(r.method, r.target, r.json()) for r in recording_server.requests]
    assert got == [(CASES[n][1], CASES[n][2], CASES[n][3]) for n in order]
    assert [r.body for r in results] == [CASES[n][4] for n in order]


def test_project_id_can_be_given_per_client_or_per_call(recording_server: RecordingServer) -> None:
    with _runner(recording_server) as runner:
        WarehouseConnectors(runner, project_id=11).list_warehouse_sources()
        WarehouseConnectors(runner, project_id=11).list_warehouse_sources(project_id=12)
    paths = [r.target for r in recording_server.requests]
    assert paths == [
        "/api/app/projects/11/warehouse-sources",
        "/api/app/projects/12/warehouse-sources",
    ]


def test_python_input_errors_send_nothing(recording_server: RecordingServer) -> None:
    with _runner(recording_server) as runner:
        client = WarehouseConnectors(runner)
        with pytest.raises(PresetInputError, match=r"^body\.type: expected one of bigquery"):
            client.create_warehouse_source({"name": "n", "type": "oracle", "connectionDetails": {}})  # type: ignore[typeddict-item]
        with pytest.raises(PresetInputError, match=r"^sourceId: must not be '\.\.'"):
            client.get_warehouse_source("..")
        with pytest.raises(PresetInputError, match=r"^body\.schedule"):
            run_preset(
                runner, "updateWarehouseSource", {"sourceId": "s", "body": {"schedule": "x"}}
            )
    assert recording_server.requests == []


def test_run_preset_warns_on_a_mismatched_response(recording_server: RecordingServer) -> None:
    recording_server.answer = lambda method, path: (200, {"results": [{"importType": "rows"}]})
    with (
        _runner(recording_server) as runner,
        pytest.warns(ResponseSchemaWarning, match="importType"),
    ):
        result = run_preset(runner, "listWarehouseTables", {"sourceId": "s"}, check_response=True)
    assert result.status_code == 200


# -- the sandbox -------------------------------------------------------------------------------


def test_a_source_lifecycle_against_the_sandbox() -> None:
    with Sandbox(port=0) as sb:
        creds = sb.credentials
        with (
            Runner(
                origin=sb.origin,
                username=creds["username"],
                secret=creds["secret"],
                project_id=creds["project_id"],
                env={},
            ) as runner,
            warnings.catch_warnings(record=True) as caught,
        ):
            warnings.simplefilter("always")
            client = WarehouseConnectors(runner, check_response=True)
            created = client.create_warehouse_source(CREATE_BODY)  # type: ignore[arg-type]
            assert created.status_code == 200, created.body
            source_id = created.body["id"]
            assert created.body["type"] == "snowflake"
            listed = client.list_warehouse_sources()
            assert [s["id"] for s in listed.body["results"]] == [source_id]
            assert client.get_warehouse_source(source_id).body["name"] == "Events"
            updated = client.update_warehouse_source(source_id, {"schedule": "weekly"})
            assert updated.body["schedule"] == "weekly"
            tables = client.list_warehouse_tables(source_id).body["results"]
            assert [t["tableName"] for t in tables] == ["public.events"]
            run = client.trigger_warehouse_run(source_id)
            assert run.status_code == 200
            assert run.body["status"] in ("running", "completed")
            runs = client.list_warehouse_runs(source_id).body["results"]
            assert [r["id"] for r in runs] == [run.body["id"]]
            assert client.delete_warehouse_source(source_id).status_code == 200
            assert client.get_warehouse_source(source_id).status_code == 404
        # Every answer of the sandbox matches the seed's schema for its status.
        assert [str(w.message) for w in caught] == []
        assert [(r.method, r.status) for r in sb.requests] == [
            ("POST", 200), ("GET", 200), ("GET", 200), ("PATCH", 200), ("GET", 200),
            ("POST", 200), ("GET", 200), ("DELETE", 200), ("GET", 404),
        ]  # fmt: skip


def test_the_cli_against_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    with Sandbox(port=0) as sb:
        creds = sb.credentials
        monkeypatch.setenv("MP_USERNAME", creds["username"])
        monkeypatch.setenv("MP_SECRET", creds["secret"])
        monkeypatch.setenv("MP_PROJECT_ID", str(creds["project_id"]))
        checks = ("--check-status", "--check-response", "--origin", sb.origin)
        created = cli(
            "preset", "createWarehouseSource", "--input", json.dumps({"body": CREATE_BODY}), *checks
        )
        assert created.exit_status == 0, created.stderr
        source_id = created.json["body"]["id"]
        got = cli(
            "preset", "getWarehouseSource", "--input", json.dumps({"sourceId": source_id}), *checks
        )
        assert (got.exit_status, got.json["body"]["id"]) == (0, source_id)
        refused = cli(
            "preset", "createWarehouseSource", "--input", '{"body": {"name": "x"}}', *checks
        )
        assert refused.exit_status == 2
        assert len(sb.requests) == 2  # the refused input never reached the sandbox
