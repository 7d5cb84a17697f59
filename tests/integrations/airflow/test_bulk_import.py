"""MixpanelImportOperator run by Airflow against the sandbox (bulk.import_files)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from .conftest import events_on, run_dag

pytestmark = pytest.mark.usefixtures("airflow_db")


def test_import_operator_sends_the_files_and_returns_the_summary(sandbox, tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in events_on(0, 30)), encoding="utf-8")
    outcome = run_dag(
        f"""
        MixpanelImportOperator(
            task_id="load", kind="events", paths=[{str(path)!r}],
            checkpoint={str(tmp_path / "load.checkpoint")!r}, resume=True,
        )
        """
    )
    assert outcome.states == {"load": "success"}
    summary = outcome.xcoms["load"]
    assert summary["kind"] == "events" and summary["accepted"] == 30 and summary["complete"]
    assert len(sandbox.state.events()) == 30


def test_import_of_an_unknown_kind_fails_before_sending(sandbox, tmp_path: Path, capfd) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(json.dumps(events_on(0, 1)[0]) + "\n", encoding="utf-8")
    outcome = run_dag(
        f"""
        MixpanelImportOperator(task_id="load", kind="evnts", paths=[{str(path)!r}])
        """
    )
    assert outcome.states == {"load": "failed"}
    assert "kind" in capfd.readouterr().out
    assert sandbox.requests == []
