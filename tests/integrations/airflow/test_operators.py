"""The operators run by Airflow itself (``dag.test()``) against a loopback sandbox."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import connection_json, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

SOURCE = {
    "name": "Events",
    "type": "bigquery",
    "connectionDetails": {"dataset": "analytics"},
    "tables": [{"tableName": "analytics.events", "importType": "event"}],
}


def test_custom_action_and_presets_return_status_headers_body(sandbox) -> None:
    sandbox.state.add_events(
        [{"event": "Signed Up", "properties": {"time": 1764547200, "distinct_id": "u1"}}]
    )
    outcome = run_dag(
        f"""
        names = MixpanelCustomActionOperator(
            task_id="names", api="query", relative_url="/2.0/events/names",
            query={{"type": "{{{{ params.kind }}}}"}}, params={{"kind": "general"}},
        )
        create = MixpanelPresetOperator(
            task_id="create", preset="createWarehouseSource", input={{"body": {SOURCE!r}}},
        )
        trigger = MixpanelPresetOperator(
            task_id="trigger", preset="triggerWarehouseRun",
            input={{"sourceId": "{{{{ ti.xcom_pull(task_ids='create')['body']['id'] }}}}"}},
        )
        create >> trigger
        """
    )
    assert outcome.state == "success", outcome.states
    names = outcome.xcoms["names"]
    assert names["status_code"] == 200
    assert names["body"] == ["Signed Up"]
    assert names["headers"]["Content-Type"] == "application/json"
    source_id = outcome.xcoms["create"]["body"]["id"]
    assert outcome.xcoms["trigger"]["body"]["status"] == "running"
    assert outcome.rendered["trigger"]["input"] == {"sourceId": source_id}
    assert [dict(r.query) for r in sandbox.requests if r.path.startswith("/api/2.0")] == [
        {"type": "general", "project_id": str(sandbox.credentials["project_id"])}
    ]


def test_bad_input_fails_before_sending_in_one_line(sandbox, monkeypatch, capfd) -> None:
    token_only = connection_json(sandbox)
    monkeypatch.setenv(
        "AIRFLOW_CONN_TOKEN_ONLY",
        json.dumps(
            {"conn_type": "mixpanel", "extra": {"token": "tok-abcdef", "origin": sandbox.origin}}
        ),
    )
    assert token_only
    outcome = run_dag(
        """
        MixpanelPresetOperator(task_id="unknown_preset", preset="listWarehouseSourcez")
        MixpanelCustomActionOperator(task_id="bad_api", api="querry", relative_url="/2.0/events/names")
        MixpanelPresetOperator(task_id="bad_input", preset="getWarehouseSource", input={"sourceId": ""})
        MixpanelPresetOperator(
            task_id="needs_service_account", preset="listWarehouseSources",
            mixpanel_conn_id="token_only", input={"projectId": 4242424},
        )
        MixpanelManifestOperator(task_id="bad_manifest", manifest={"version": 1, "steps": []})
        """
    )
    logs = capfd.readouterr().out
    assert set(outcome.states.values()) == {"failed"}, outcome.states
    assert sandbox.requests == []
    assert "PresetInputError: preset: unknown preset 'listWarehouseSourcez'" in logs
    assert "UnknownApiError" in logs and "'querry'" in logs
    assert "sourceId" in logs
    assert "MissingCredentialError" in logs or "CredentialNotAcceptedError" in logs
    assert "ManifestError" in logs
    assert outcome.xcoms == {}


def test_check_status_fails_on_4xx_unless_turned_off(sandbox) -> None:
    outcome = run_dag(
        """
        MixpanelPresetOperator(task_id="checked", preset="getWarehouseSource", input={"sourceId": "nope"})
        MixpanelPresetOperator(
            task_id="unchecked", preset="getWarehouseSource", input={"sourceId": "nope"},
            check_status=False,
        )
        """
    )
    assert outcome.states == {"checked": "failed", "unchecked": "success"}
    assert outcome.xcoms["unchecked"]["status_code"] == 404
    assert "not found" in outcome.xcoms["unchecked"]["body"]["error"].lower()


def test_large_body_goes_to_a_file_and_xcom_holds_its_path(sandbox, tmp_path: Path) -> None:
    sandbox.state.add_events(
        [{"event": f"Event {i:03d}", "properties": {"time": 1764547200 + i}} for i in range(200)]
    )
    outcome = run_dag(
        f"""
        MixpanelCustomActionOperator(
            task_id="names", api="query", relative_url="/2.0/events/names",
            max_xcom_bytes=1000, large_body_dir={str(tmp_path)!r},
        )
        """
    )
    assert outcome.state == "success"
    xcom = outcome.xcoms["names"]
    assert xcom["body"] is None and xcom["status_code"] == 200
    path = Path(xcom["body_file"])
    assert path.is_relative_to(tmp_path) and path.name == "names.json"
    body = json.loads(path.read_text(encoding="utf-8"))
    assert len(body) == 200 and xcom["body_bytes"] == path.stat().st_size


def test_manifest_operator_runs_a_dict_and_fails_on_a_failed_step(sandbox) -> None:
    manifest = {
        "version": 1,
        "steps": [
            {"name": "create", "preset": "createWarehouseSource", "input": {"body": SOURCE}},
            {"name": "sync", "preset": "triggerWarehouseRun",
             "input": {"sourceId": "${steps.create.body.id}"}},
            {"name": "runs", "preset": "listWarehouseRuns",
             "input": {"sourceId": "${steps.create.body.id}"}},
        ],
    }  # fmt: skip
    failing = {
        "version": 1,
        "steps": [{"name": "get", "preset": "getWarehouseSource", "input": {"sourceId": "x"}}],
    }
    outcome = run_dag(
        f"""
        MixpanelManifestOperator(task_id="sync", manifest={manifest!r})
        MixpanelManifestOperator(task_id="failing", manifest={failing!r})
        """
    )
    assert outcome.states == {"sync": "success", "failing": "failed"}
    steps = outcome.xcoms["sync"]["steps"]
    assert outcome.xcoms["sync"]["ok"] is True
    assert [s["name"] for s in steps] == ["create", "sync", "runs"]
    assert steps[2]["body"]["results"][0]["status"] == "completed"


def test_no_secret_in_logs_xcom_or_rendered_templates(sandbox, monkeypatch, capfd) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MIXPANEL_DEFAULT",
        connection_json(sandbox, token="tok-secret-777", api_secret="api-secret-888"),
    )
    secret = sandbox.credentials["secret"]
    outcome = run_dag(
        """
        MixpanelCustomActionOperator(
            task_id="echo", api="query", relative_url="/2.0/events/names",
            query={"note": "{{ conn.mixpanel_default.password }}"},
        )
        MixpanelCustomActionOperator(
            task_id="refused", api="query", relative_url="/2.0/nope",
            headers={"X-Note": "{{ conn.mixpanel_default.extra_dejson.token }}"},
        )
        """
    )
    logs = capfd.readouterr()
    assert outcome.states == {"echo": "success", "refused": "failed"}
    text = logs.out + logs.err + json.dumps(outcome.xcoms) + json.dumps(outcome.rendered)
    for value in (secret, "tok-secret-777", "api-secret-888"):
        assert value not in text
    assert "***" in json.dumps(outcome.rendered)


def test_pools_default_to_the_api(sandbox) -> None:
    from airflow.sdk import DAG

    from mp_custom_action.integrations.airflow.bulk import MixpanelExportOperator
    from mp_custom_action.integrations.airflow.operators import (
        MixpanelCustomActionOperator,
        MixpanelManifestOperator,
        MixpanelPresetOperator,
    )
    from mp_custom_action.integrations.airflow.sensors import WarehouseImportSensor

    with DAG("pools", schedule=None):
        ops = [
            MixpanelCustomActionOperator(
                task_id="q", api="Query", relative_url="/2.0/events/names"
            ),
            MixpanelCustomActionOperator(task_id="l", api="lexicon", relative_url="/1/schemas"),
            MixpanelCustomActionOperator(task_id="t", api="{{ params.api }}", relative_url="/"),
            MixpanelCustomActionOperator(task_id="own", api="query", relative_url="/", pool="mine"),
            MixpanelPresetOperator(task_id="p", preset="listWarehouseSources"),
            MixpanelManifestOperator(
                task_id="m",
                manifest={
                    "version": 1,
                    "steps": [
                        {
                            "name": "a",
                            "call": {"method": "GET", "api": "query", "relative_url": "/"},
                        },
                        {
                            "name": "b",
                            "call": {"method": "GET", "api": "lexicon", "relative_url": "/"},
                        },
                    ],
                },
            ),
            WarehouseImportSensor(task_id="s", source_id="x"),
        ]
        mapped = MixpanelExportOperator.partial(task_id="e").expand_kwargs(
            [{"from_date": "2026-01-01", "to_date": "2026-01-01"}]
        )
    assert [op.pool for op in ops] == [
        "mixpanel_query",
        "mixpanel_lexicon",
        "mixpanel_default",
        "mine",
        "mixpanel_connectors",
        "mixpanel_lexicon",
        "mixpanel_connectors",
    ]
    assert mapped.pool == "mixpanel_export"


def test_a_pool_in_default_args_wins_over_the_api_pool() -> None:
    from airflow.sdk import DAG

    from mp_custom_action.integrations.airflow.bulk import MixpanelExportOperator
    from mp_custom_action.integrations.airflow.operators import MixpanelCustomActionOperator
    from mp_custom_action.integrations.airflow.sensors import WarehouseImportSensor

    with DAG("team", schedule=None, default_args={"pool": "team_pool"}):
        call = MixpanelCustomActionOperator(task_id="q", api="query", relative_url="/")
        sensor = WarehouseImportSensor(task_id="s", source_id="x")
        mapped = MixpanelExportOperator.partial(task_id="e").expand_kwargs(
            [{"from_date": "2026-01-01", "to_date": "2026-01-01"}]
        )
    assert (call.pool, sensor.pool, mapped.pool) == ("team_pool", "team_pool", "team_pool")
