"""``WarehouseImportSensor``: wait for a warehouse import run to finish; a failed run fails the task.

It reads the source's run history (the ``listWarehouseRuns`` preset: ``GET
/projects/{projectId}/warehouse-sources/{sourceId}/runs``) and looks for the run: ``completed``
ends the wait (XCom: the run), ``failed`` fails the task without retry, ``running`` waits.
Use ``mode="reschedule"`` for long imports, so the sensor frees its worker slot (and its pool
slot) between pokes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from .base import fail_on_status, failure, set_pool
from .hook import MixpanelHook
from .pools import POOLS
from .provider import DEFAULT_CONN_ID

__all__ = ["WarehouseImportSensor"]

DONE = "completed"
FAILED = "failed"


class WarehouseImportSensor(BaseSensorOperator):
    """Poke ``source_id``'s runs until ``run_id`` (default: the newest run) is completed.

    ``run_id`` is templated: ``"{{ ti.xcom_pull('trigger')['body']['id'] }}"`` waits for the run a
    ``triggerWarehouseRun`` task started. The pool defaults to ``mixpanel_connectors``.
    """

    template_fields: Sequence[str] = ("source_id", "run_id", "project_id")

    def __init__(
        self,
        *,
        source_id: str,
        run_id: Optional[str] = None,
        project_id: Optional[int] = None,
        mixpanel_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        set_pool(kwargs, POOLS["connectors"].name)
        super().__init__(**kwargs)
        self.source_id = source_id
        self.run_id = run_id
        self.project_id = project_id
        self.mixpanel_conn_id = mixpanel_conn_id

    def render_template_fields(self, context: Any, jinja_env: Any = None) -> None:
        with failure(self.log):
            MixpanelHook(self.mixpanel_conn_id).runner_options()  # secrets masked first
        super().render_template_fields(context, jinja_env)

    def poke(self, context: Any) -> PokeReturnValue:
        from ...presets.plugins import preset_registry

        hook = MixpanelHook(self.mixpanel_conn_id)
        try:
            with failure(self.log):
                preset = preset_registry().get("listWarehouseRuns")
                runner = hook.get_conn()
                given: dict[str, Any] = {"sourceId": self.source_id}
                if self.project_id:
                    given["projectId"] = self.project_id
                inputs = preset.to_inputs(given, project_id=runner.credentials.project_id)
                result = runner.run(inputs)
        finally:
            hook.close()
        fail_on_status(result, self.log)
        run = self._find(result.body)
        status = run.get("status")
        self.log.info("Run %s of source %s is %s", run.get("id"), self.source_id, status)
        if status == FAILED:
            errors = "; ".join(str(e) for e in run.get("errors") or []) or "no reason given"
            raise AirflowFailException(f"warehouse import run {run.get('id')} failed: {errors}")
        return PokeReturnValue(is_done=status == DONE, xcom_value=run if status == DONE else None)

    def _find(self, body: Any) -> dict[str, Any]:
        runs = body.get("results") if isinstance(body, dict) else None
        if not isinstance(runs, list):
            raise AirflowFailException("the runs answer has no results list")
        if self.run_id in (None, ""):
            if not runs:
                raise AirflowFailException(f"source {self.source_id} has no runs to wait for")
            newest: dict[str, Any] = runs[0]  # the API lists runs newest first
            return newest
        for run in runs:
            if isinstance(run, dict) and str(run.get("id")) == str(self.run_id):
                return run
        raise AirflowFailException(f"run {self.run_id} is not among source {self.source_id}'s runs")
