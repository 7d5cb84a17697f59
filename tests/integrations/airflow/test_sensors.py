"""WarehouseImportSensor run by Airflow against the sandbox's warehouse runs."""

from __future__ import annotations

import pytest

from .conftest import run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")

DAG_BODY = """
create = MixpanelPresetOperator(
    task_id="create", preset="createWarehouseSource",
    input={{"body": {{"name": "S", "type": "snowflake", "connectionDetails": {{"account": "a"}},
                      "tables": {tables!r}}}}},
)
trigger = MixpanelPresetOperator(
    task_id="trigger", preset="triggerWarehouseRun",
    input={{"sourceId": "{{{{ ti.xcom_pull(task_ids='create')['body']['id'] }}}}"}},
)
wait = WarehouseImportSensor(
    task_id="wait", mode={mode!r}, poke_interval=1, timeout=60,
    source_id="{{{{ ti.xcom_pull(task_ids='create')['body']['id'] }}}}",
    run_id="{{{{ ti.xcom_pull(task_ids='trigger')['body']['id'] }}}}",
)
create >> trigger >> wait
"""


@pytest.mark.parametrize("mode", ["poke", "reschedule"])
def test_waits_for_the_run_and_returns_it(sandbox, mode: str) -> None:
    tables = [{"tableName": "db.events", "importType": "event"}]
    outcome = run_dag(DAG_BODY.format(tables=tables, mode=mode))
    assert outcome.states == {"create": "success", "trigger": "success", "wait": "success"}
    run = outcome.xcoms["wait"]
    assert run["id"] == outcome.xcoms["trigger"]["body"]["id"]
    assert run["status"] == "completed" and run["recordsImported"] > 0
    runs_path = (
        f"/api/app/projects/4242424/warehouse-sources/{outcome.xcoms['create']['body']['id']}/runs"
    )
    assert [r.method for r in sandbox.requests if r.path == runs_path] == ["POST", "GET"]


def test_a_failed_run_fails_the_task(sandbox, capfd) -> None:
    outcome = run_dag(DAG_BODY.format(tables=[], mode="poke"))
    assert outcome.states == {"create": "success", "trigger": "success", "wait": "failed"}
    assert "failed: no tables are configured for this source" in capfd.readouterr().out


def test_waits_for_a_published_import_sync(sandbox) -> None:
    """The published operations: create an import, run it (manual-sync), wait on its history."""
    outcome = run_dag(
        """
        source = MixpanelPresetOperator(
            task_id="source", preset="createWarehouseSource",
            input={"body": {"name": "S", "type": "bigquery", "connectionDetails": {"dataset": "a"},
                            "tables": [{"tableName": "events", "importType": "event"}]}},
        )
        create = MixpanelPresetOperator(
            task_id="create", preset="create-event-stream-import",
            input={"body": {"import_type": "event_stream", "warehouse_source_id": 1,
                            "table_params": {"dataset_name": "a", "table_name": "events"},
                            "time_column_name": "t", "event_column_name": "e",
                            "sync_mode": "time_based", "run_every": 0}},
        )
        sync = MixpanelPresetOperator(
            task_id="sync", preset="run-an-import",
            input={"importId": "{{ ti.xcom_pull(task_ids='create')['body']['results']['id'] }}",
                   "body": {}},
        )
        wait = WarehouseImportSensor(
            task_id="wait", mode="reschedule", poke_interval=1, timeout=60,
            import_id="{{ ti.xcom_pull(task_ids='create')['body']['results']['id'] }}",
        )
        source >> create >> sync >> wait
        """
    )
    assert set(outcome.states.values()) == {"success"}, outcome.states
    assert outcome.xcoms["wait"]["status"] == "SUCCEEDED"
    assert outcome.xcoms["wait"]["num_events_imported"] > 0


def test_a_failed_published_import_run_fails_the_task(monkeypatch, capfd) -> None:
    import json

    from loopback import Reply, ScriptedServer

    history = {"status": "ok", "results": {"runs": [{"status": "FAILED", "start_time": 1}]}}
    with ScriptedServer(lambda req: Reply.json(history)) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MIXPANEL_DEFAULT",
            json.dumps(
                {
                    "conn_type": "mixpanel",
                    "login": "sa.name",
                    "password": "sa-secret",
                    "extra": {"project_id": 7, "origin": server.origin},
                }
            ),
        )
        outcome = run_dag('WarehouseImportSensor(task_id="wait", import_id=12, poke_interval=1)')
        paths = [r.path for r in server.received]
    assert outcome.states == {"wait": "failed"}
    assert paths == ["/api/app/projects/7/warehouse-sources/imports/12/history"]
    assert "warehouse import run of import 12 is FAILED" in capfd.readouterr().out
