"""The published Warehouse Connectors operations (imports, manual-sync, history, delete) beside sources."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import sa

from mp_custom_action.sandbox import Sandbox

T = 10
HOURLY = 3600_000_000_000


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def call(sb: Sandbox, method: str, path: str, body: Any = None) -> requests.Response:
    base = f"{sb.origin}/api/app/projects/{sb.credentials['project_id']}/warehouse-sources"
    return requests.request(method, base + path, json=body, headers=sa(sb), timeout=T)


def make_source(sb: Sandbox) -> dict[str, Any]:
    body = {
        "name": "wh",
        "type": "bigquery",
        "connectionDetails": {"password": "hunter2"},
        "tables": [{"tableName": "events_t", "importType": "event"}],
    }
    answer = call(sb, "POST", "", body)
    assert answer.status_code == 200
    return answer.json()


def event_stream(source: Any, **extra: Any) -> dict[str, Any]:
    return {
        "import_type": "event_stream",
        "warehouse_source_id": source,
        "table_params": {"table_name": "events_t"},
        "time_column_name": "ts",
        "event_column_name": "name",
        "sync_mode": "time_based",
        **extra,
    }


def test_an_import_lifecycle_with_consistent_state(sb: Sandbox) -> None:
    source = make_source(sb)
    created = call(sb, "POST", "/imports/event-stream", event_stream(1, run_every=HOURLY))
    assert created.status_code == 200, created.text
    item = created.json()["results"]
    assert item["import_type"] == "event_stream" and item["warehouse_source_id"] == 1
    assert item["paused"] is False and item["run_every"] == HOURLY
    import_id = item["id"]
    listed = call(sb, "GET", "/imports").json()
    assert listed["status"] == "ok" and [i["id"] for i in listed["results"]] == [import_id]
    patched = call(sb, "PATCH", f"/imports/{import_id}", {"paused": True, "run_every": 0})
    assert patched.json()["results"]["paused"] is True
    run = call(sb, "PUT", f"/imports/{import_id}/manual-sync", {}).json()
    assert run["status"] == "ok" and run["results"]["run_id"]
    history = call(sb, "GET", f"/imports/{import_id}/history").json()["results"]["runs"]
    (done,) = history
    rows = next(t["rowCount"] for t in sb.state.sources()[source["id"]]["tables"])
    assert done["status"] == "SUCCEEDED" and done["num_events_imported"] == rows
    deleted = call(sb, "DELETE", f"/imports/{import_id}", {"delete_data": True})
    assert deleted.json() == {"status": "ok"}
    assert call(sb, "GET", f"/imports/{import_id}").status_code == 404


def test_an_import_names_its_source_by_id_too_and_goes_with_it(sb: Sandbox) -> None:
    source = make_source(sb)
    body = {
        "import_type": "people",
        "warehouse_source_id": source["id"],
        "table_params": {},
        "user_column_name": "uid",
        "sync_mode": "full_sync",
    }
    assert call(sb, "POST", "/imports/people", body).status_code == 200
    assert call(sb, "DELETE", f"/{source['id']}").status_code == 200
    assert call(sb, "GET", "/imports").json()["results"] == []


def test_manual_syncs_share_the_hourly_limit_with_source_runs(sb: Sandbox) -> None:
    source = make_source(sb)
    import_id = call(sb, "POST", "/imports/event-stream", event_stream(1)).json()["results"]["id"]
    for _ in range(3):
        assert call(sb, "POST", f"/{source['id']}/runs").status_code == 200
    for _ in range(2):
        assert call(sb, "PUT", f"/imports/{import_id}/manual-sync", {}).status_code == 200
    limited = call(sb, "PUT", f"/imports/{import_id}/manual-sync", {})
    assert limited.status_code == 429 and limited.json()["status"] == "error"
    assert int(limited.headers["Retry-After"]) >= 1


@pytest.mark.parametrize(
    ("path", "body", "says"),
    [
        ("/imports/event-stream", {"import_type": "event_stream"}, "missing required fields"),
        ("/imports/people", event_stream(1), "missing required fields: user_column_name"),
        ("/imports/event-stream", event_stream(99), "warehouse source 99 not found"),
        ("/imports/event-stream", event_stream(1, sync_mode="sometimes"), "sync_mode"),
        ("/imports/event-stream", event_stream(1, run_every=5), "run_every"),
        ("/imports/event-stream", ["not", "an", "object"], "JSON object"),
    ],
)
def test_bad_imports_are_a_400_in_the_app_shape(
    sb: Sandbox, path: str, body: Any, says: str
) -> None:
    make_source(sb)
    answer = call(sb, "POST", path, body)
    assert answer.status_code == 400
    assert answer.json()["status"] == "error" and says in answer.json()["error"]


def test_bad_changes_and_unknown_imports(sb: Sandbox) -> None:
    make_source(sb)
    import_id = call(sb, "POST", "/imports/event-stream", event_stream(1)).json()["results"]["id"]
    assert (
        call(sb, "PATCH", f"/imports/{import_id}", {"paused": "yes", "run_every": 0}).status_code
        == 400
    )
    assert call(sb, "PATCH", f"/imports/{import_id}", {"paused": True}).status_code == 400
    assert call(sb, "DELETE", f"/imports/{import_id}", {"delete_data": "yes"}).status_code == 400
    assert call(sb, "GET", "/imports/12345").status_code == 404
    assert call(sb, "PUT", "/imports/12345/manual-sync", {}).status_code == 404
    assert call(sb, "GET", "/imports/abc").status_code == 404
    assert call(sb, "POST", "/imports").status_code == 405
