"""Every schema rule of the Warehouse Connectors seed, through the CLI: the message, exit 2, nothing sent.

Each case runs ``mp-custom-action preset NAME --input JSON`` against a recording loopback server
and asserts the one-line error, the input-error exit status, and that the server saw no request.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from cli_helpers import cli
from presets_support import RecordingServer, set_credentials

WAREHOUSE_TYPES = "bigquery, snowflake, redshift, databricks, postgresql"
SCHEDULES = "hourly, daily, weekly"
IMPORT_TYPES = "event, user, group, lookup_table"

SOURCE_PRESETS = (
    "getWarehouseSource",
    "updateWarehouseSource",
    "deleteWarehouseSource",
    "listWarehouseTables",
    "listWarehouseRuns",
    "triggerWarehouseRun",
)
ALL_PRESETS = ("listWarehouseSources", "createWarehouseSource", *SOURCE_PRESETS)


def create_body(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "n", "type": "bigquery", "connectionDetails": {"k": "v"}}
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def table(**changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"tableName": "s.t", "importType": "event"}
    row.update(changes)
    return {k: v for k, v in row.items() if v is not None}


def valid_input(name: str) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if name in SOURCE_PRESETS:
        data["sourceId"] = "src_1"
    if name == "createWarehouseSource":
        data["body"] = create_body()
    if name == "updateWarehouseSource":
        data["body"] = {"schedule": "daily"}
    return data


def refused(server: RecordingServer, name: str, preset_input: Any) -> str:
    result = cli("preset", name, "--input", json.dumps(preset_input), "--origin", server.origin)
    assert result.exit_status == 2, result.stderr
    assert result.stdout == ""
    assert server.requests == [], "nothing may be sent when the input is refused"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("mp-custom-action: error: ")
    return lines[0][len("mp-custom-action: error: ") :]


@pytest.fixture(autouse=True)
def _credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    set_credentials(monkeypatch)


# -- required fields -----------------------------------------------------------------------------

REQUIRED_CASES = [
    # createWarehouseSource: requestBody required; CreateWarehouseSourceRequest.required
    ("createWarehouseSource", {}, "body: is required"),
    ("createWarehouseSource", {"body": create_body(name=None)}, "body.name: is required"),
    ("createWarehouseSource", {"body": create_body(type=None)}, "body.type: is required"),
    (
        "createWarehouseSource",
        {"body": create_body(connectionDetails=None)},
        "body.connectionDetails: is required",
    ),
    # TableConfig.required, in both create and update
    (
        "createWarehouseSource",
        {"body": create_body(tables=[table(), table(tableName=None)])},
        "body.tables[1].tableName: is required",
    ),
    (
        "createWarehouseSource",
        {"body": create_body(tables=[table(importType=None)])},
        "body.tables[0].importType: is required",
    ),
    ("updateWarehouseSource", {"sourceId": "s"}, "body: is required"),
    (
        "updateWarehouseSource",
        {"sourceId": "s", "body": {"tables": [table(tableName=None)]}},
        "body.tables[0].tableName: is required",
    ),
    (
        "updateWarehouseSource",
        {"sourceId": "s", "body": {"tables": [table(importType=None)]}},
        "body.tables[0].importType: is required",
    ),
]


@pytest.mark.parametrize(("name", "preset_input", "message"), REQUIRED_CASES)
def test_each_required_field(
    recording_server: RecordingServer, name: str, preset_input: Any, message: str
) -> None:
    assert refused(recording_server, name, preset_input) == message


@pytest.mark.parametrize("name", SOURCE_PRESETS)
def test_source_id_is_required(recording_server: RecordingServer, name: str) -> None:
    preset_input = valid_input(name)
    del preset_input["sourceId"]
    assert refused(recording_server, name, preset_input) == "sourceId: is required"


@pytest.mark.parametrize("name", ALL_PRESETS)
def test_project_id_is_required_when_mp_project_id_is_not_set(
    recording_server: RecordingServer, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.delenv("MP_PROJECT_ID")
    assert refused(recording_server, name, valid_input(name)) == (
        "projectId: is required (give projectId or set MP_PROJECT_ID)"
    )


# -- enums ---------------------------------------------------------------------------------------

ENUM_CASES = [
    (
        "createWarehouseSource",
        {"body": create_body(type="oracle")},
        f"body.type: expected one of {WAREHOUSE_TYPES}; got 'oracle'",
    ),
    (
        "createWarehouseSource",
        {"body": create_body(schedule="monthly")},
        f"body.schedule: expected one of {SCHEDULES}; got 'monthly'",
    ),
    (
        "createWarehouseSource",
        {"body": create_body(tables=[table(importType="events")])},
        f"body.tables[0].importType: expected one of {IMPORT_TYPES}; got 'events'",
    ),
    (
        "updateWarehouseSource",
        {"sourceId": "s", "body": {"schedule": "Daily"}},
        f"body.schedule: expected one of {SCHEDULES}; got 'Daily'",
    ),
    (
        "updateWarehouseSource",
        {"sourceId": "s", "body": {"tables": [table(), table(importType="profile")]}},
        f"body.tables[1].importType: expected one of {IMPORT_TYPES}; got 'profile'",
    ),
]


@pytest.mark.parametrize(("name", "preset_input", "message"), ENUM_CASES)
def test_each_enum(
    recording_server: RecordingServer, name: str, preset_input: Any, message: str
) -> None:
    assert refused(recording_server, name, preset_input) == message


# -- types ---------------------------------------------------------------------------------------

TYPE_CASES = [
    (
        "listWarehouseSources",
        {"projectId": "4242"},
        "projectId: expected an integer, got string '4242'",
    ),
    ("listWarehouseSources", {"projectId": 1.5}, "projectId: expected an integer, got number 1.5"),
    ("getWarehouseSource", {"sourceId": 17}, "sourceId: expected a string, got integer 17"),
    ("getWarehouseSource", {"sourceId": ""}, "sourceId: must not be empty"),
    (
        "createWarehouseSource",
        {"body": create_body(name=5)},
        "body.name: expected a string, got integer 5",
    ),
    (
        "createWarehouseSource",
        {"body": create_body(connectionDetails="host=x")},
        "body.connectionDetails: expected an object, got string 'host=x'",
    ),
    (
        "createWarehouseSource",
        {"body": create_body(tables={"tableName": "t"})},
        "body.tables: expected an array, got object {'tableName': 't'}",
    ),
    (
        "createWarehouseSource",
        {"body": []},
        "body: expected an object, got array []",
    ),
    (
        "listWarehouseSources",
        {"sourceId": "s"},
        "sourceId: is not an accepted field (accepted: projectId)",
    ),
    (
        "getWarehouseSource",
        {"sourceId": ".."},
        "sourceId: must not be '..': it is one path segment",
    ),
    ("getWarehouseSource", {"sourceId": "."}, "sourceId: must not be '.': it is one path segment"),
]


@pytest.mark.parametrize(("name", "preset_input", "message"), TYPE_CASES)
def test_types_and_path_values(
    recording_server: RecordingServer, name: str, preset_input: Any, message: str
) -> None:
    assert refused(recording_server, name, preset_input) == message


def test_input_that_is_not_an_object(recording_server: RecordingServer) -> None:
    assert refused(recording_server, "listWarehouseSources", [1]) == (
        "input: expected a JSON object of inputs, got array"
    )


def test_input_that_is_not_json(recording_server: RecordingServer) -> None:
    result = cli(
        "preset", "listWarehouseSources", "--input", "{nope", "--origin", recording_server.origin
    )
    assert result.exit_status == 2
    assert result.stderr.startswith("mp-custom-action: error: --input: is not valid JSON")
    assert recording_server.requests == []


def test_unknown_preset_is_an_input_error(recording_server: RecordingServer) -> None:
    result = cli("preset", "listWarehouseSource", "--origin", recording_server.origin)
    assert result.exit_status == 2
    assert (
        "unknown preset 'listWarehouseSource'; did you mean listWarehouseSources" in result.stderr
    )
    assert recording_server.requests == []


def test_every_valid_input_passes(recording_server: RecordingServer) -> None:
    for name in ALL_PRESETS:
        result = cli(
            "preset", name, "--input", json.dumps(valid_input(name)), "--dry-run",
            "--origin", recording_server.origin,
        )  # fmt: skip
        assert result.exit_status == 0, (name, result.stderr)
    assert recording_server.requests == []  # a dry run sends nothing either
