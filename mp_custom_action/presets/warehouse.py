"""Typed Python access to the built-in warehouse-connector presets.

The TypedDicts mirror the schemas of ``actions/warehouse-connectors.openapi.json`` (a test keeps
them in step), so a type checker catches a misspelt field or a warehouse type that does not
exist; :class:`WarehouseConnectors` has one method per preset::

    from mp_custom_action import Runner
    from mp_custom_action.presets.warehouse import WarehouseConnectors, WarehouseSource

    with Runner() as runner:                      # MP_USERNAME, MP_SECRET, MP_PROJECT_ID
        connectors = WarehouseConnectors(runner, check_response=True)
        result = connectors.create_warehouse_source(
            {"name": "Events", "type": "bigquery", "connectionDetails": {"dataset": "analytics"}}
        )
        source: WarehouseSource = result.body

Each method checks its input against the preset's schema before anything is sent (raising
:class:`~mp_custom_action.errors.PresetInputError`), and returns the
:class:`~mp_custom_action.core.results.Result`: HTTP error statuses are results, not exceptions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal, Optional, TypedDict

if TYPE_CHECKING:
    from ..core.results import Result
    from ..core.runner import Runner
    from .model import Preset

__all__ = [
    "CreateWarehouseSourceInput",
    "CreateWarehouseSourceRequest",
    "DeleteWarehouseSourceInput",
    "GetWarehouseSourceInput",
    "ImportType",
    "ListWarehouseRunsInput",
    "ListWarehouseSourcesInput",
    "ListWarehouseTablesInput",
    "RunStatus",
    "Schedule",
    "SourceStatus",
    "TableConfig",
    "TriggerWarehouseRunInput",
    "UpdateWarehouseSourceInput",
    "UpdateWarehouseSourceRequest",
    "WarehouseConnectors",
    "WarehouseRun",
    "WarehouseRunList",
    "WarehouseSource",
    "WarehouseSourceList",
    "WarehouseTable",
    "WarehouseTableList",
    "WarehouseType",
]

WarehouseType = Literal["bigquery", "snowflake", "redshift", "databricks", "postgresql"]
Schedule = Literal["hourly", "daily", "weekly"]
ImportType = Literal["event", "user", "group", "lookup_table"]
SourceStatus = Literal["active", "paused", "error"]
RunStatus = Literal["running", "completed", "failed"]

# Required keys live in a total base class and optional ones in a total=False subclass: the
# Python 3.9 way to say what typing.Required says on 3.11.


# -- request bodies ------------------------------------------------------------------------------


class _TableConfigRequired(TypedDict):
    tableName: str
    importType: ImportType


class TableConfig(_TableConfigRequired, total=False):
    """One table to import (``tables[]`` of a create or update request)."""

    eventNameColumn: str
    distinctIdColumn: str
    timeColumn: str


class _CreateWarehouseSourceRequired(TypedDict):
    name: str
    type: WarehouseType
    connectionDetails: dict[str, Any]


class CreateWarehouseSourceRequest(_CreateWarehouseSourceRequired, total=False):
    """The body of ``createWarehouseSource``."""

    schedule: Schedule
    tables: list[TableConfig]


class UpdateWarehouseSourceRequest(TypedDict, total=False):
    """The body of ``updateWarehouseSource``: only the fields to change."""

    name: str
    schedule: Schedule
    tables: list[TableConfig]


# -- response bodies -----------------------------------------------------------------------------


class WarehouseSource(TypedDict, total=False):
    id: str
    name: str
    type: WarehouseType
    status: SourceStatus
    schedule: Schedule
    createdAt: str
    lastRunAt: str


class WarehouseTable(TypedDict, total=False):
    tableName: str
    importType: ImportType
    rowCount: int
    lastImportedAt: str


class WarehouseRun(TypedDict, total=False):
    id: str
    status: RunStatus
    startTime: str
    endTime: str
    recordsImported: int
    errors: list[str]


class WarehouseSourceList(TypedDict, total=False):
    results: list[WarehouseSource]


class WarehouseTableList(TypedDict, total=False):
    results: list[WarehouseTable]


class WarehouseRunList(TypedDict, total=False):
    results: list[WarehouseRun]


# -- preset inputs (projectId defaults to MP_PROJECT_ID) ------------------------------------------


class ListWarehouseSourcesInput(TypedDict, total=False):
    projectId: int


class _CreateWarehouseSourceInputRequired(TypedDict):
    body: CreateWarehouseSourceRequest


class CreateWarehouseSourceInput(_CreateWarehouseSourceInputRequired, total=False):
    projectId: int


class _SourceInputRequired(TypedDict):
    sourceId: str


class _SourceInput(_SourceInputRequired, total=False):
    projectId: int


class GetWarehouseSourceInput(_SourceInput):
    pass


class DeleteWarehouseSourceInput(_SourceInput):
    pass


class ListWarehouseTablesInput(_SourceInput):
    pass


class ListWarehouseRunsInput(_SourceInput):
    pass


class TriggerWarehouseRunInput(_SourceInput):
    pass


class _UpdateWarehouseSourceInputRequired(TypedDict):
    sourceId: str
    body: UpdateWarehouseSourceRequest


class UpdateWarehouseSourceInput(_UpdateWarehouseSourceInputRequired, total=False):
    projectId: int


# -- the client ----------------------------------------------------------------------------------


class WarehouseConnectors:
    """One typed method per built-in warehouse-connector preset, sent through ``runner``.

    ``project_id`` overrides the runner's (MP_PROJECT_ID) for every call; each method's own
    ``project_id`` overrides both. With ``check_response``, a body that does not match the
    preset's response schema is reported as a
    :class:`~mp_custom_action.presets.model.ResponseSchemaWarning` (the call still succeeds).
    """

    def __init__(
        self, runner: Runner, *, project_id: Optional[int] = None, check_response: bool = False
    ) -> None:
        self.runner = runner
        self.project_id = project_id
        self.check_response = check_response

    def list_warehouse_sources(self, *, project_id: Optional[int] = None) -> Result:
        """``GET /projects/{projectId}/warehouse-sources``; body: :class:`WarehouseSourceList`."""
        return self._run("listWarehouseSources", {}, project_id)

    def create_warehouse_source(
        self, body: CreateWarehouseSourceRequest, *, project_id: Optional[int] = None
    ) -> Result:
        """``POST /projects/{projectId}/warehouse-sources``; body: :class:`WarehouseSource`."""
        return self._run("createWarehouseSource", {"body": body}, project_id)

    def get_warehouse_source(self, source_id: str, *, project_id: Optional[int] = None) -> Result:
        """``GET .../warehouse-sources/{sourceId}``; body: :class:`WarehouseSource`."""
        return self._run("getWarehouseSource", {"sourceId": source_id}, project_id)

    def update_warehouse_source(
        self,
        source_id: str,
        body: UpdateWarehouseSourceRequest,
        *,
        project_id: Optional[int] = None,
    ) -> Result:
        """``PATCH .../warehouse-sources/{sourceId}``; body: :class:`WarehouseSource`."""
        return self._run("updateWarehouseSource", {"sourceId": source_id, "body": body}, project_id)

    def delete_warehouse_source(
        self, source_id: str, *, project_id: Optional[int] = None
    ) -> Result:
        """``DELETE .../warehouse-sources/{sourceId}``."""
        return self._run("deleteWarehouseSource", {"sourceId": source_id}, project_id)

    def list_warehouse_tables(self, source_id: str, *, project_id: Optional[int] = None) -> Result:
        """``GET .../warehouse-sources/{sourceId}/tables``; body: :class:`WarehouseTableList`."""
        return self._run("listWarehouseTables", {"sourceId": source_id}, project_id)

    def list_warehouse_runs(self, source_id: str, *, project_id: Optional[int] = None) -> Result:
        """``GET .../warehouse-sources/{sourceId}/runs``; body: :class:`WarehouseRunList`."""
        return self._run("listWarehouseRuns", {"sourceId": source_id}, project_id)

    def trigger_warehouse_run(self, source_id: str, *, project_id: Optional[int] = None) -> Result:
        """``POST .../warehouse-sources/{sourceId}/runs`` (5 an hour); body: :class:`WarehouseRun`."""
        return self._run("triggerWarehouseRun", {"sourceId": source_id}, project_id)

    def _run(self, name: str, preset_input: dict[str, Any], project_id: Optional[int]) -> Result:
        from .run import run_preset

        chosen = project_id if project_id is not None else self.project_id
        if chosen is not None:
            preset_input = {"projectId": chosen, **preset_input}
        return run_preset(self.runner, name, preset_input, check_response=self.check_response)

    def preset(self, name: str) -> Preset:
        """The preset behind a method (its schema, example, path)."""
        from .plugins import preset_registry

        return preset_registry().get(name)
