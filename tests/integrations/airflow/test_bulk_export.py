"""MixpanelExportOperator run by Airflow against the sandbox (bulk.export_range), mapped per day."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from .conftest import DAY, events_on, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_export_is_a_mapped_task_per_day_and_resumes(sandbox, tmp_path: Path) -> None:
    sandbox.state.add_events(events_on(0, 48) + events_on(1, 10))
    body = f"""
    MixpanelExportOperator.partial(
        task_id="export", window="6h", output_dir={str(tmp_path / "out")!r},
    ).expand_kwargs(export_windows({DAY.isoformat()!r}, {(DAY + dt.timedelta(days=1)).isoformat()!r}))
    """
    outcome = run_dag(body)
    assert outcome.states == {"export[0]": "success", "export[1]": "success"}
    first, second = outcome.xcoms["export[0]"], outcome.xcoms["export[1]"]
    assert (first["from_date"], first["windows"], first["events"]) == (DAY.isoformat(), 4, 48)
    assert second["events"] == 10
    lines = [
        json.loads(line)
        for f in sorted((tmp_path / "out").glob("*/*.jsonl"))
        for line in f.read_text(encoding="utf-8").splitlines()
    ]
    assert len(lines) == 58
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["2026-11-02", "2026-11-03"]
    exports = [r for r in sandbox.requests if r.path == "/api/2.0/export"]

    again = run_dag(body)  # a second run (a retry) keeps what the first one wrote
    assert set(again.states.values()) == {"success"}
    assert again.xcoms["export[0]"]["resumed"] == 4
    assert [r for r in sandbox.requests if r.path == "/api/2.0/export"] == exports


def test_export_with_a_bad_date_fails_before_sending(sandbox, tmp_path: Path) -> None:
    outcome = run_dag(
        f"""
        MixpanelExportOperator(
            task_id="export", from_date="yesterday", to_date="2026-11-02",
            output_dir={str(tmp_path)!r},
        )
        """
    )
    assert outcome.states == {"export": "failed"}
    assert sandbox.requests == []
