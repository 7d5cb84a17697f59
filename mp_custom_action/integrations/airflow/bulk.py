"""Bulk jobs as operators: ``MixpanelImportOperator`` and ``MixpanelExportOperator``.

They wrap :func:`mp_custom_action.bulk.import_files` and :func:`mp_custom_action.bulk.export_range`
(imported when the task runs) and return the job's summary to XCom. A year of Export is a mapped
task per window::

    MixpanelExportOperator.partial(task_id="export", output_dir="/data/export", window="1h")
        .expand_kwargs(export_windows("2025-01-01", "2025-12-31"))

Each mapped task exports its days with ``resume=True``, so a retry picks up where the last try
stopped. Raw Data Export selects whole days: a window under a day (``window="1h"``) is a
resumable piece inside its day's task, not a separate request range.
"""

from __future__ import annotations

import datetime as dt
import importlib
import os
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Optional, Union

from airflow.sdk.exceptions import AirflowException

from ...errors import InputError
from .base import MixpanelBaseOperator, failure
from .pools import POOLS

__all__ = ["MixpanelExportOperator", "MixpanelImportOperator", "export_windows"]

DateLike = Union[str, dt.date]


def _date(value: DateLike, field: str) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"expected a date as YYYY-MM-DD, got {value!r}", field=field) from None


def _bulk() -> ModuleType:
    # Imported when the task runs: the DAG file parses without the bulk jobs' dependencies.
    return importlib.import_module("mp_custom_action.bulk")


def export_windows(from_date: DateLike, to_date: DateLike, days: int = 1) -> list[dict[str, str]]:
    """``from_date``..``to_date`` (inclusive) cut into ``days``-day pieces, for ``.expand_kwargs``.

    >>> export_windows("2025-01-01", "2025-01-03", days=2)
    [{'from_date': '2025-01-01', 'to_date': '2025-01-02'}, {'from_date': '2025-01-03', 'to_date': '2025-01-03'}]
    """
    first, last = _date(from_date, "from_date"), _date(to_date, "to_date")
    if isinstance(days, bool) or not isinstance(days, int) or days < 1:
        raise InputError(f"expected a whole number of days >= 1, got {days!r}", field="days")
    if last < first:
        raise InputError(f"to_date {last} is before from_date {first}", field="to_date")
    out = []
    start = first
    while start <= last:
        end = min(start + dt.timedelta(days=days - 1), last)
        out.append({"from_date": start.isoformat(), "to_date": end.isoformat()})
        start = end + dt.timedelta(days=1)
    return out


class MixpanelImportOperator(MixpanelBaseOperator):
    """``import_files(runner, kind, paths, ...)``; XCom: the ``ImportSummary`` as a dict.

    ``kind``: events, profiles or groups. ``paths`` are files on the worker (or a shared mount).
    ``resume`` with a ``checkpoint`` file makes a retry skip the batches already accepted; an
    import that stopped before the end fails the task. Pool: ``mixpanel_ingestion``.
    """

    api_pool = POOLS["ingestion"].name
    template_fields: Sequence[str] = ("kind", "paths", "checkpoint", "rejects")

    def __init__(
        self,
        *,
        kind: str,
        paths: Union[str, Sequence[str]],
        workers: int = 4,
        checkpoint: Optional[str] = None,
        rejects: Optional[str] = None,
        resume: bool = False,
        max_rejects: Optional[int] = None,
        dry_run: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.kind = kind
        self.paths = paths
        self.workers = workers
        self.checkpoint = checkpoint
        self.rejects = rejects
        self.resume = resume
        self.max_rejects = max_rejects
        self.dry_run = dry_run

    def execute(self, context: Any) -> dict[str, Any]:
        import_files = _bulk().import_files
        paths = [self.paths] if isinstance(self.paths, str) else list(self.paths)
        with failure(self.log):
            summary = import_files(
                self.hook.get_conn(),
                self.kind,
                paths,
                workers=self.workers,
                checkpoint=self.checkpoint or None,
                rejects=self.rejects or None,
                resume=self.resume,
                max_rejects=self.max_rejects,
                dry_run=self.dry_run,
            )  # progress: the job's default, plain periodic lines (no terminal) in the task log
        out: dict[str, Any] = summary.to_dict()
        self.log.info("Import summary: %s", out)
        if out.get("complete") is False and not self.dry_run:
            # Stopped before the end (too many rejects, an error answer): with a checkpoint and
            # resume=True, Airflow's retry carries on from the last accepted batch.
            raise AirflowException(
                f"import stopped after {out.get('accepted')} accepted and "
                f"{out.get('rejected')} rejected records"
            )
        return out


class MixpanelExportOperator(MixpanelBaseOperator):
    """``export_range(runner, from_date, to_date, ...)``; XCom: the ``ExportSummary`` as a dict.

    Give ``output_file`` (one file) or ``output_dir``: the task writes one file per window under
    ``output_dir/FROM_DATE[_TO_DATE]/``, a directory of its own, since a directory keeps the resume
    state of one range (mapped tasks sharing ``output_dir`` do not collide). ``resume`` defaults to
    on, so a retried task keeps the windows already written; a window that failed fails the task
    (Airflow's ``retries`` then fetch the rest). Pool: ``mixpanel_export``.
    """

    api_pool = POOLS["export"].name
    template_fields: Sequence[str] = (
        "from_date",
        "to_date",
        "window",
        "output_file",
        "output_dir",
        "event",
        "where",
    )

    def __init__(
        self,
        *,
        from_date: DateLike,
        to_date: DateLike,
        window: str = "1d",
        parallel: int = 1,
        output_file: Optional[str] = None,
        output_dir: Optional[str] = None,
        event: Union[str, Sequence[str], None] = None,
        where: Optional[str] = None,
        limit: Optional[int] = None,
        resume: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.from_date = from_date
        self.to_date = to_date
        self.window = window
        self.parallel = parallel
        self.output_file = output_file
        self.output_dir = output_dir
        self.event = event
        self.where = where
        self.limit = limit
        self.resume = resume

    def execute(self, context: Any) -> dict[str, Any]:
        export_range = _bulk().export_range
        with failure(self.log):
            output_dir = None
            if self.output_dir:
                # A directory holds the resume state of one range: each task (each mapped
                # window) gets its own, named after its dates.
                first, last = _date(self.from_date, "from_date"), _date(self.to_date, "to_date")
                name = first.isoformat() + ("" if first == last else f"_{last.isoformat()}")
                output_dir = os.path.join(self.output_dir, name)
                os.makedirs(output_dir, exist_ok=True)  # templated paths ({{ ds }}) included
            summary = export_range(
                self.hook.get_conn(),
                self.from_date,
                self.to_date,
                window=self.window,
                parallel=self.parallel,
                output=self.output_file or None,
                output_dir=output_dir,
                event=self.event or None,
                where=self.where or None,
                limit=self.limit,
                resume=self.resume,
            )
        out: dict[str, Any] = summary.to_dict()
        self.log.info("Export summary: %s", out)
        if out.get("ok") is False:
            # The windows written are kept: with resume (the default), a retry fetches the rest.
            raise AirflowException(f"export: windows failed: {out.get('failed')}")
        return out
