"""``WarehouseImportSensor``: wait for a warehouse import run to finish; a failed run fails the task.

Two models of Mixpanel's Warehouse Connectors, one sensor:

* ``import_id`` (the published operations): each poke reads the import's history
  (``get-import-history``: ``GET .../warehouse-sources/imports/{importId}/history``) and looks at
  its newest run (the history names no run ids): ``SUCCEEDED`` ends the wait, ``FAILED`` or
  ``CANCELLED`` fails the task, ``RUNNING`` waits;
* ``source_id`` (the seed's sources): each poke reads the source's runs (``listWarehouseRuns``:
  ``GET .../warehouse-sources/{sourceId}/runs``) and looks for ``run_id`` (default: the newest):
  ``completed`` ends the wait, ``failed`` fails the task, ``running`` waits.

XCom: the finished run. A failed run fails without retry. Use ``mode="reschedule"`` for long
imports, so the sensor frees its worker slot (and its pool slot) between pokes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Optional, Union

from airflow.sdk import BaseSensorOperator, PokeReturnValue
from airflow.sdk.exceptions import AirflowFailException

from .base import fail_on_status, failure, set_pool
from .hook import MixpanelHook
from .pools import POOLS
from .provider import DEFAULT_CONN_ID

__all__ = ["WarehouseImportSensor"]

DONE = ("completed", "SUCCEEDED")
FAILED = ("failed", "FAILED", "CANCELLED")


class WarehouseImportSensor(BaseSensorOperator):
    """Poke an import's history (``import_id``) or a source's runs (``source_id``, ``run_id``).

    Give one of ``import_id`` and ``source_id``. ``run_id`` (source runs only, default: the
    newest) is templated: ``"{{ ti.xcom_pull('trigger')['body']['id'] }}"`` waits for the run a
    ``triggerWarehouseRun`` task started. The pool defaults to ``mixpanel_connectors``.
    """

    template_fields: Sequence[str] = ("import_id", "source_id", "run_id", "project_id")

    def __init__(
        self,
        *,
        import_id: Union[int, str, None] = None,
        source_id: Optional[str] = None,
        run_id: Optional[str] = None,
        project_id: Optional[int] = None,
        mixpanel_conn_id: str = DEFAULT_CONN_ID,
        **kwargs: Any,
    ) -> None:
        set_pool(kwargs, POOLS["connectors"].name)
        if (import_id is None) == (source_id is None):
            raise ValueError("WarehouseImportSensor: give one of import_id and source_id")
        super().__init__(**kwargs)
        self.import_id = import_id
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
                by_import = self.import_id not in (None, "")
                preset = preset_registry().get(
                    "get-import-history" if by_import else "listWarehouseRuns"
                )
                runner = hook.get_conn()
                given: dict[str, Any] = (
                    {"importId": _number(self.import_id)}
                    if by_import
                    else {"sourceId": self.source_id}
                )
                if self.project_id:
                    given["projectId"] = self.project_id
                inputs = preset.to_inputs(given, project_id=runner.credentials.project_id)
                result = runner.run(inputs)
        finally:
            hook.close()
        fail_on_status(result, self.log)
        run = self._newest(result.body) if by_import else self._find(result.body)
        status = run.get("status")
        what = f"import {self.import_id}" if by_import else f"source {self.source_id}"
        self.log.info("Run %s of %s is %s", run.get("id", "(newest)"), what, status)
        if status in FAILED:
            errors = "; ".join(str(e) for e in run.get("errors") or []) or "no reason given"
            raise AirflowFailException(f"warehouse import run of {what} is {status}: {errors}")
        done = status in DONE
        return PokeReturnValue(is_done=done, xcom_value=run if done else None)

    def _newest(self, body: Any) -> dict[str, Any]:
        results = body.get("results") if isinstance(body, dict) else None
        runs = results.get("runs") if isinstance(results, dict) else None
        if not isinstance(runs, list):
            raise AirflowFailException("the import history answer has no results.runs list")
        if not runs or not isinstance(runs[0], dict):
            raise AirflowFailException(f"import {self.import_id} has no runs to wait for")
        newest: dict[str, Any] = runs[0]  # the history lists runs newest first
        return newest

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


def _number(value: Union[int, str, None]) -> Union[int, str, None]:
    """A templated import id arrives as text; the preset's schema wants an integer."""
    text = str(value).strip()
    return int(text) if text.isdigit() else value
