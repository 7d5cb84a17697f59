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
