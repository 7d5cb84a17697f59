"""Sandbox Lexicon Schemas, Warehouse Connectors and Data Pipelines: stateful round trips and validation."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import pid, sa

from mp_custom_action.sandbox import Sandbox


class Clock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: float = 1_714_564_800.0) -> None:  # 2024-05-01T12:00:00Z
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sb(clock: Clock) -> Iterator[Sandbox]:
    with Sandbox(clock=clock) as sandbox:
        yield sandbox


@pytest.fixture
def http(sb: Sandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.headers.update(sa(sb))
        yield session


def app_url(sb: Sandbox, rest: str) -> str:
    return f"{sb.origin}/api/app/projects/{sb.credentials['project_id']}/{rest}"


# -- Lexicon Schemas --------------------------------------------------------------------------------

CART = {
    "entityType": "event",
    "name": "Added To Cart",
    "schemaJson": {
        "description": "A product went into the cart",
        "properties": {
            "item_id": {"type": "string", "description": "SKU"},
            "price": {"type": "number", "metadata": {"com.mixpanel": {"displayName": "Price"}}},
        },
        "metadata": {"com.mixpanel": {"tags": ["commerce"], "hidden": False}},
    },
}
PLAN = {"entityType": "profile", "name": "plan", "schemaJson": {"description": "Billing plan"}}


def test_schemas_batch_upload_list_and_delete(http: requests.Session, sb: Sandbox) -> None:
    added = http.post(app_url(sb, "schemas"), json={"entries": [CART, PLAN]})
    assert added.json() == {"results": {"added": 2, "deleted": 0}, "status": "ok"}
    listed = http.get(app_url(sb, "schemas")).json()
    assert listed == {"results": [CART, PLAN], "status": "ok"}
    events = http.get(app_url(sb, "schemas/event")).json()["results"]
    assert [e["name"] for e in events] == ["Added To Cart"]
    one = http.get(app_url(sb, "schemas/event/Added%20To%20Cart"))
    assert one.json() == CART["schemaJson"]
    deleted = http.delete(app_url(sb, "schemas/event/Added%20To%20Cart"))
    assert deleted.json() == {"results": {"delete_count": 1}, "status": "ok"}
    assert http.get(app_url(sb, "schemas/event/Added%20To%20Cart")).status_code == 404
    assert http.delete(app_url(sb, "schemas")).json()["results"] == {"delete_count": 1}
    assert sb.state.schemas() == {}


def test_schema_upload_one_and_truncate(http: requests.Session, sb: Sandbox) -> None:
    one = http.post(app_url(sb, "schemas/profile/plan"), json={"description": "Plan"})
    assert one.json() == {"status": "ok"}
    replaced = http.post(app_url(sb, "schemas"), json={"entries": [CART], "truncate": True})
    assert replaced.json()["results"] == {"added": 1, "deleted": 1}
    assert list(sb.state.schemas()) == ["event"]


def test_schema_delete_by_entity_name_query(http: requests.Session, sb: Sandbox) -> None:
    http.post(app_url(sb, "schemas"), json={"entries": [CART, PLAN]})
    answer = http.delete(app_url(sb, "schemas/event"), params={"entity_name": "Added To Cart"})
    assert answer.json()["results"]["delete_count"] == 1
    assert sb.state.schemas() == {"profile": {"plan": PLAN["schemaJson"]}}


@pytest.mark.parametrize(
    "body",
    [
        [CART],
        {"entries": CART},
        {"entries": [CART], "extra": 1},
        {"entries": [{**CART, "entityType": "user"}]},
        {"entries": [{"entityType": "event", "name": "x"}]},
        {"entries": [{**CART, "schemaJson": {"properties": {"a": {"type": "text"}}}}]},
        {
            "entries": [
                {**CART, "schemaJson": {"properties": {"a": {"type": "string", "colour": 1}}}}
            ]
        },
        {"entries": [{**CART, "schemaJson": {"metadata": {"com.mixpanel": {"hidden": "yes"}}}}]},
        {"entries": [CART], "truncate": "yes"},
    ],
    ids=[
        "bare-list",
        "entries-object",
        "extra-field",
        "entity-type",
        "no-schema",
        "property-type",
        "property-field",
        "metadata-type",
        "truncate-type",
    ],
)
def test_invalid_schema_uploads_store_nothing(
    http: requests.Session, sb: Sandbox, body: Any
) -> None:
    answer = http.post(app_url(sb, "schemas"), json=body)
    assert answer.status_code == 400
    assert answer.json()["status"] == "error" and answer.json()["error"]
    assert sb.state.schemas() == {}


def test_schema_entity_type_in_the_path_is_checked(http: requests.Session, sb: Sandbox) -> None:
    assert http.get(app_url(sb, "schemas/user")).status_code == 400
    assert http.post(app_url(sb, "schemas/event")).status_code == 405


# -- Warehouse Connectors ---------------------------------------------------------------------------

SOURCE = {
    "name": "Warehouse",
    "type": "bigquery",
    "schedule": "hourly",
    "connectionDetails": {"project": "acme", "serviceAccountKey": "very-secret-key"},
    "tables": [
        {"tableName": "analytics.events", "importType": "event", "eventNameColumn": "name"},
        {"tableName": "analytics.users", "importType": "user", "distinctIdColumn": "id"},
    ],
}


def create_source(http: requests.Session, sb: Sandbox, **changes: Any) -> dict[str, Any]:
    answer = http.post(app_url(sb, "warehouse-sources"), json={**SOURCE, **changes})
    assert answer.status_code == 200, answer.text
    source: dict[str, Any] = answer.json()
    return source


def test_source_create_read_update_delete(http: requests.Session, sb: Sandbox) -> None:
    source = create_source(http, sb)
    assert source == {
        "id": source["id"],
        "name": "Warehouse",
        "type": "bigquery",
        "status": "active",
        "schedule": "hourly",
        "createdAt": "2024-05-01T12:00:00Z",
    }  # no lastRunAt before a run: the seed types it as a date-time string, never null
    url = app_url(sb, f"warehouse-sources/{source['id']}")
    assert http.get(url).json() == source
    assert http.get(app_url(sb, "warehouse-sources")).json() == {"results": [source]}
    patched = http.patch(url, json={"name": "Renamed", "schedule": "weekly"}).json()
    assert (patched["name"], patched["schedule"], patched["type"]) == (
        "Renamed",
        "weekly",
        "bigquery",
    )
    assert http.delete(url).status_code == 200
    assert http.get(url).status_code == 404
    assert http.get(app_url(sb, "warehouse-sources")).json() == {"results": []}


def test_connection_details_never_come_back_nor_reach_the_state(
    http: requests.Session, sb: Sandbox
) -> None:
    source = create_source(http, sb)
    assert "connectionDetails" not in source
    assert "very-secret-key" not in str(sb.state.snapshot())
    assert "very-secret-key" not in http.get(app_url(sb, f"warehouse-sources/{source['id']}")).text


def test_source_ids_are_repeatable(http: requests.Session, sb: Sandbox) -> None:
    first = create_source(http, sb)["id"]
    with Sandbox() as other, requests.Session() as session:
        session.headers.update(sa(other))
        assert create_source(session, other)["id"] == first


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"name": None}, "name"),
        ({"type": "oracle"}, "type must be one of"),
        ({"schedule": "monthly"}, "schedule must be one of"),
        ({"connectionDetails": "host=x"}, "connectionDetails"),
        ({"tables": [{"tableName": "t"}]}, "importType"),
        ({"tables": [{"tableName": "t", "importType": "rows"}]}, "importType"),
        ({"tables": "t"}, "tables must be an array"),
        ({"shedule": "daily"}, "unknown fields"),
    ],
    ids=["name", "type", "schedule", "details", "no-import-type", "import-type", "tables", "typo"],
)
def test_invalid_sources_are_refused(
    http: requests.Session, sb: Sandbox, changes: dict[str, Any], words: str
) -> None:
    body = {k: v for k, v in {**SOURCE, **changes}.items() if v is not None}
    answer = http.post(app_url(sb, "warehouse-sources"), json=body)
    assert answer.status_code == 400
    assert answer.json()["status"] == "error"
    assert words in answer.json()["error"]
    assert sb.state.sources() == {}


@pytest.mark.parametrize("missing", ["name", "type", "connectionDetails"])
def test_required_fields(http: requests.Session, sb: Sandbox, missing: str) -> None:
    body = {k: v for k, v in SOURCE.items() if k != missing}
    answer = http.post(app_url(sb, "warehouse-sources"), json=body)
    assert answer.status_code == 400
    assert missing in answer.json()["error"]


def test_patch_refuses_read_only_and_invalid_fields(http: requests.Session, sb: Sandbox) -> None:
    url = app_url(sb, f"warehouse-sources/{create_source(http, sb)['id']}")
    assert http.patch(url, json={"type": "redshift"}).status_code == 400
    assert http.patch(url, json={"schedule": "never"}).status_code == 400
    assert http.patch(url, data=b"not json").status_code == 400
    assert http.get(url).json()["schedule"] == "hourly"


def test_tables_have_row_counts(http: requests.Session, sb: Sandbox) -> None:
    source = create_source(http, sb)
    tables = http.get(app_url(sb, f"warehouse-sources/{source['id']}/tables")).json()["results"]
    assert [(t["tableName"], t["importType"], t.get("lastImportedAt")) for t in tables] == [
        ("analytics.events", "event", None),
        ("analytics.users", "user", None),
    ]
    assert all(isinstance(t["rowCount"], int) and t["rowCount"] > 0 for t in tables)
    assert http.get(app_url(sb, "warehouse-sources/nope/tables")).status_code == 404


def test_a_triggered_run_completes_when_next_read(
    http: requests.Session, sb: Sandbox, clock: Clock
) -> None:
    source = create_source(http, sb)
    runs_url = app_url(sb, f"warehouse-sources/{source['id']}/runs")
    run = http.post(runs_url).json()
    assert run["status"] == "running" and run["recordsImported"] == 0 and "endTime" not in run
    clock.now += 30
    (done,) = http.get(runs_url).json()["results"]
    assert done["id"] == run["id"]
    assert done["status"] == "completed"
    assert done["endTime"] == "2024-05-01T12:00:30Z"
    tables = http.get(app_url(sb, f"warehouse-sources/{source['id']}/tables")).json()["results"]
    assert done["recordsImported"] == sum(t["rowCount"] for t in tables)
    assert all(t["lastImportedAt"] == done["endTime"] for t in tables)
    assert (
        http.get(app_url(sb, f"warehouse-sources/{source['id']}")).json()["lastRunAt"]
        == run["startTime"]
    )


def test_a_run_of_a_source_without_tables_fails(http: requests.Session, sb: Sandbox) -> None:
    source = create_source(http, sb, tables=[])
    runs_url = app_url(sb, f"warehouse-sources/{source['id']}/runs")
    http.post(runs_url)
    (run,) = http.get(runs_url).json()["results"]
    assert run["status"] == "failed" and run["errors"]


def test_the_sixth_trigger_within_an_hour_is_429(
    http: requests.Session, sb: Sandbox, clock: Clock
) -> None:
    first = create_source(http, sb)["id"]
    second = create_source(http, sb, name="Other")["id"]
    for index in range(5):
        source = first if index % 2 else second  # the limit is per project, not per source
        assert http.post(app_url(sb, f"warehouse-sources/{source}/runs")).status_code == 200
        clock.now += 60
    refused = http.post(app_url(sb, f"warehouse-sources/{first}/runs"))
    assert refused.status_code == 429
    assert refused.json()["status"] == "error"
    assert int(refused.headers["Retry-After"]) == 3600 - 5 * 60
    clock.now += 3600 - 5 * 60  # the first trigger leaves the hour
    assert http.post(app_url(sb, f"warehouse-sources/{first}/runs")).status_code == 200
    assert http.post(app_url(sb, f"warehouse-sources/{first}/runs")).status_code == 429


def test_unknown_sources_and_paths(http: requests.Session, sb: Sandbox) -> None:
    assert http.post(app_url(sb, "warehouse-sources/nope/runs")).status_code == 404
    assert http.get(app_url(sb, "warehouse-sources/nope/runs")).status_code == 404
    assert http.patch(app_url(sb, "warehouse-sources/nope"), json={"name": "x"}).status_code == 404
    assert http.get(app_url(sb, "warehouse-sources/nope/other")).status_code == 404
    assert http.put(app_url(sb, "warehouse-sources")).status_code == 405
    assert http.get(app_url(sb, "something-else")).status_code == 404


# -- Data Pipelines ---------------------------------------------------------------------------------


def nessie(
    http: requests.Session, sb: Sandbox, method: str, op: str, **kwargs: Any
) -> requests.Response:
    params = {**pid(sb), **kwargs.pop("params", {})}
    return http.request(
        method, f"{sb.origin}/api/2.0/nessie/pipeline/{op}", params=params, **kwargs
    )


def test_pipeline_round_trip(http: requests.Session, sb: Sandbox) -> None:
    created = nessie(
        http,
        sb,
        "POST",
        "create",
        json={"type": "gcs-raw", "from_date": "2024-01-01", "frequency": "hourly"},
    )
    assert created.json() == {"pipeline_names": ["events-hourly-gcs-raw"]}
    jobs = nessie(http, sb, "GET", "jobs").json()
    assert [j["name"] for j in jobs[str(sb.credentials["project_id"])]] == ["events-hourly-gcs-raw"]
    status = nessie(http, sb, "GET", "status", params={"name": "events-hourly-gcs-raw"}).json()
    assert status["succeeded"][0]["name"] == "events-hourly-gcs-raw"
    assert status["succeeded"][0]["from_date"] == "2024-01-01"
    assert status["canceled"] == [] and status["retried"] == []
    assert (
        nessie(http, sb, "POST", "pause", data={"name": "events-hourly-gcs-raw"}).status_code == 200
    )
    assert (
        nessie(http, sb, "GET", "jobs").json()[str(sb.credentials["project_id"])][0]["sync_enabled"]
        == "false"
    )
    assert nessie(http, sb, "POST", "cancel", data={"name": "events-hourly-gcs-raw"}).json() == {
        "status": "ok"
    }
    assert (
        nessie(http, sb, "GET", "status", params={"name": "events-hourly-gcs-raw"}).status_code
        == 404
    )
    assert sb.state.pipelines() == {}


def test_trial_schematized_pipeline_exports_events_and_people(
    http: requests.Session, sb: Sandbox
) -> None:
    created = nessie(http, sb, "POST", "create", data={"type": "bigquery", "trial": "true"}).json()
    assert created["pipeline_names"] == [
        "trial-events-daily-bigquery-monoschema",
        "trial-people-daily-bigquery-monoschema",
    ]
    assert "bigquery_dataset_name" in created


@pytest.mark.parametrize(
    "body",
    [
        {"from_date": "2024-01-01"},
        {"type": "ftp", "from_date": "2024-01-01"},
        {"type": "s3-raw"},
        {"type": "s3-raw", "from_date": "2024-01-01", "frequency": "weekly"},
        {"type": "s3-raw", "from_date": "2024-01-01", "data_source": "people"},
    ],
    ids=["no-type", "bad-type", "no-from-date", "frequency", "raw-people"],
)
def test_invalid_pipelines_are_refused(
    http: requests.Session, sb: Sandbox, body: dict[str, Any]
) -> None:
    answer = nessie(http, sb, "POST", "create", json=body)
    assert answer.status_code == 400
    assert answer.json()["status"] == "error"
    assert sb.state.pipelines() == {}


def test_a_pipeline_name_is_taken_once(http: requests.Session, sb: Sandbox) -> None:
    body = {"type": "s3-raw", "from_date": "2024-01-01"}
    assert nessie(http, sb, "POST", "create", json=body).status_code == 200
    assert nessie(http, sb, "POST", "create", json=body).status_code == 400


def test_pipeline_methods_and_paths(http: requests.Session, sb: Sandbox) -> None:
    assert nessie(http, sb, "GET", "create").status_code == 405
    assert nessie(http, sb, "GET", "edit").status_code == 405
    assert nessie(http, sb, "GET", "pipeline-list").status_code == 404
    assert nessie(http, sb, "POST", "cancel", data={"name": "nope"}).status_code == 404
    assert nessie(http, sb, "POST", "cancel").status_code == 400
