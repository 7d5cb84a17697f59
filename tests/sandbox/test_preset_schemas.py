"""Every preset of an operation the sandbox claims: its example, sent to the sandbox, is answered
2xx in the shape the preset declares (one source of truth for the sandbox and the connector).

The presets are read from the registry, so a preset added for a claimed operation is checked the
day it lands, with no change here. Its example is sent as written, but for what names state the
sandbox makes up (a source's id, an import's id, a schema's name), which is created first.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import sa

from mp_custom_action.core.runner import Runner
from mp_custom_action.presets.model import Preset
from mp_custom_action.presets.plugins import preset_registry
from mp_custom_action.sandbox import Sandbox
from mp_custom_action.sandbox.claims import CLAIMS, claimed

T = 10


def _claimed_presets() -> list[Preset]:
    return sorted(
        (p for p in preset_registry() if claimed(p.api, p.method, p.path)), key=lambda p: p.name
    )


PRESETS = _claimed_presets()


def test_claims_are_unique_and_some_presets_cover_them() -> None:
    assert len(set(CLAIMS)) == len(CLAIMS)
    assert PRESETS, "no preset names an operation the sandbox claims"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def _app(sb: Sandbox, method: str, path: str, body: Any = None) -> Any:
    url = f"{sb.origin}/api/app/projects/{sb.credentials['project_id']}{path}"
    answer = requests.request(method, url, json=body, headers=sa(sb), timeout=T)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _state_for(sb: Sandbox, preset: Preset, body: Any) -> dict[str, Any]:
    """Create what the preset's path (or body) names; the values to put in its input."""
    values: dict[str, Any] = {"projectId": sb.credentials["project_id"]}
    params = set(preset.path_params)
    if params & {"sourceId", "importId"} or (
        isinstance(body, dict) and "warehouse_source_id" in body
    ):
        source = _app(
            sb,
            "POST",
            "/warehouse-sources",
            {
                "name": "wh",
                "type": "bigquery",
                "connectionDetails": {"k": "v"},
                "tables": [{"tableName": "t", "importType": "event"}],
            },
        )
        values["sourceId"] = source["id"]
    if "importId" in params:
        body = {
            "import_type": "people",
            "warehouse_source_id": 1,
            "table_params": {"table_name": "t"},
            "user_column_name": "uid",
            "sync_mode": "full_sync",
        }
        values["importId"] = _app(sb, "POST", "/warehouse-sources/imports/people", body)["results"][
            "id"
        ]
    if params & {"entityType", "name"}:
        values.update(entityType="event", name="Signed up")
        _app(sb, "POST", "/schemas/event/Signed%20up", {"description": "d", "properties": {}})
    if "id" in params:
        values["id"] = next(iter(sb.state.lookup_tables()))
    return values


def _pipeline(sb: Sandbox) -> str:
    answer = requests.post(
        sb.origin + "/api/2.0/nessie/pipeline/create",
        data={
            "project_id": sb.credentials["project_id"],
            "type": "s3-raw",
            "from_date": "2024-01-01",
        },
        headers=sa(sb),
        timeout=T,
    )
    assert answer.status_code == 200, answer.text
    name: str = answer.json()["pipeline_names"][0]
    return name


def _input(sb: Sandbox, preset: Preset) -> dict[str, Any]:
    data = copy.deepcopy(dict(preset.example or {}))
    body = data.get("body")
    for key, value in _state_for(sb, preset, body).items():
        if key in preset.path_params:
            data[key] = value
    if isinstance(body, dict) and "warehouse_source_id" in body:
        body["warehouse_source_id"] = 1  # the source created above
    if preset.api == "pipelines" and preset.path != "/pipeline/create":
        for part in (data.get("query"), body):
            if isinstance(part, dict) and "name" in part:
                part["name"] = _pipeline(sb)  # the example's name is one the sandbox never made
    if preset.api == "ingestion":
        _with_token(body, sb.credentials["token"])
    return data


def _with_token(body: Any, token: str) -> None:
    # The example's project token is a stand-in; the sandbox checks the real one.
    for record in body if isinstance(body, list) else [body]:
        if isinstance(record, dict):
            if "$token" in record:
                record["$token"] = token
            props = record.get("properties")
            if isinstance(props, dict) and "token" in props:
                props["token"] = token


@pytest.mark.parametrize("preset", PRESETS, ids=lambda p: p.name)
def test_the_sandbox_answers_each_claimed_preset_in_its_declared_shape(
    sb: Sandbox, preset: Preset
) -> None:
    inputs = preset.to_inputs(_input(sb, preset), project_id=sb.credentials["project_id"])
    runner = Runner(origin=sb.origin, env={}, **sb.credentials)
    try:
        result = runner.run(inputs)
    finally:
        runner.close()
    assert 200 <= result.status_code < 300, (result.status_code, result.body)
    assert preset.check_response(result.status_code, result.body) == []
