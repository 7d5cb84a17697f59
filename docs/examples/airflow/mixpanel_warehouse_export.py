"""Example DAG: create a warehouse import, trigger a sync, wait for it, export yesterday's events.

Runs against a real project or the local sandbox (docs/airflow.md):

    mp-custom-action sandbox --port 8787 &
    export AIRFLOW_CONN_MIXPANEL_DEFAULT='{"conn_type": "mixpanel", "login": "sandbox-sa.demo",
        "password": "sandbox-secret-not-real",
        "extra": {"project_id": 4242424, "origin": "http://127.0.0.1:8787"}}'
    airflow dags test mixpanel_warehouse_export 2026-12-01

The export is a mapped task per day of the range (here one day, yesterday), each cut into
hourly windows, each resumable: a retried task keeps the hours already written.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile

from airflow.sdk import Param, dag, get_current_context, task

from mp_custom_action.integrations.airflow.bulk import MixpanelExportOperator, export_windows
from mp_custom_action.integrations.airflow.operators import MixpanelPresetOperator
from mp_custom_action.integrations.airflow.sensors import WarehouseImportSensor

DEFAULT_OUTPUT = os.path.join(tempfile.gettempdir(), "mixpanel-export")


@dag(
    dag_id="mixpanel_warehouse_export",
    schedule="@daily",
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc),
    catchup=False,
    max_active_runs=1,
    params={
        "output_dir": Param(DEFAULT_OUTPUT, type="string", description="where the export goes"),
        "table": Param("analytics.events", type="string", description="warehouse table"),
    },
    tags=["mixpanel"],
)
def mixpanel_warehouse_export() -> None:
    create_import = MixpanelPresetOperator(
        task_id="create_import",
        preset="createWarehouseSource",
        input={
            "body": {
                "name": "Events from BigQuery ({{ ds }})",
                "type": "bigquery",
                "schedule": "daily",
                "connectionDetails": {"gcpProjectId": "my-gcp-project", "dataset": "analytics"},
                "tables": [
                    {
                        "tableName": "{{ params.table }}",
                        "importType": "event",
                        "eventNameColumn": "event_name",
                        "distinctIdColumn": "user_id",
                        "timeColumn": "event_time",
                    }
                ],
            }
        },
    )
    trigger_sync = MixpanelPresetOperator(
        task_id="trigger_sync",
        preset="triggerWarehouseRun",
        input={"sourceId": "{{ ti.xcom_pull(task_ids='create_import')['body']['id'] }}"},
    )
    wait_for_sync = WarehouseImportSensor(
        task_id="wait_for_sync",
        source_id="{{ ti.xcom_pull(task_ids='create_import')['body']['id'] }}",
        run_id="{{ ti.xcom_pull(task_ids='trigger_sync')['body']['id'] }}",
        mode="reschedule",
        poke_interval=60,
        timeout=6 * 3600,
    )

    @task
    def yesterday() -> list[dict[str, str]]:
        context = get_current_context()
        when = context.get("logical_date") or dt.datetime.now(dt.timezone.utc)
        day = (when - dt.timedelta(days=1)).date()
        return export_windows(day, day)

    export = MixpanelExportOperator.partial(
        task_id="export_yesterday",
        window="1h",
        output_dir="{{ params.output_dir }}/{{ ds }}",
    ).expand_kwargs(yesterday())

    create_import >> trigger_sync >> wait_for_sync >> export


mixpanel_warehouse_export()
