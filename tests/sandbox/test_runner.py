"""End to end: the real client (Runner) against the sandbox over sockets, one round trip per API family."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from sandbox_helpers import NOW, TODAY, event

from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import ApiSecretDeprecationWarning
from mp_custom_action.sandbox import Sandbox


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


def runner(sb: Sandbox, **overrides: Any) -> Runner:
    """A Runner with the service account and the token; no waiting between retries."""
    c = sb.credentials
    settings: dict[str, Any] = {
        "origin": sb.origin,
        "username": c["username"],
        "secret": c["secret"],
        "project_id": c["project_id"],
        "token": c["token"],
        "region": "us",
        "env": {},
        "sleep": lambda seconds: None,
        **overrides,
    }
    return Runner(**settings)


@pytest.fixture
def run(sb: Sandbox) -> Iterator[Runner]:
    with runner(sb) as r:
        yield r


def test_ingestion_import_track_engage(run: Runner, sb: Sandbox) -> None:
    imported = run.run(
        {
            "method": "POST",
            "api": "ingestion",
            "relative_url": "/import",
            "query": {"strict": "1"},
            "body": [event("Imported", "r1"), event("Imported", "r2")],
        }
    )
    assert imported.status_code == 200
    assert imported.body == {"code": 200, "num_records_imported": 2, "status": "OK"}
    tracked = run.run(
        {
            "method": "POST",
            "api": "Ingestion API",
            "relative_url": "/track",
            "body": [{"event": "Tracked", "properties": {"distinct_id": "u9"}}],
        }
    )
    assert tracked.status_code == 200 and tracked.body in (1, "1")
    engaged = run.run(
        {
            "method": "POST",
            "api": "ingestion",
            "relative_url": "/engage#profile-set",
            "body": [{"$distinct_id": "u9", "$set": {"plan": "pro"}}],
        }
    )
    assert engaged.status_code == 200
    assert sorted(e["event"] for e in sb.state.events()) == ["Imported", "Imported", "Tracked"]
    assert sb.state.profiles() == {"u9": {"plan": "pro"}}
    # The token went inside the data, never into a header; the service account into the header.
    track_record = sb.requests[1]
    assert "authorization" not in track_record.headers
    assert sb.requests[0].headers["authorization"] == "Basic ***"
    assert sb.requests[0].param("project_id") == str(sb.credentials["project_id"])


def test_ingestion_lookup_table_replace_with_csv(run: Runner, sb: Sandbox) -> None:
    table = next(iter(sb.state.lookup_tables()))
    result = run.run(
        {
            "method": "PUT",
            "api": "ingestion",
            "relative_url": f"/lookup-tables/{table}",
            "body": "id,name\n7,seven\n",
        }
    )
    assert result.status_code == 200
    assert sb.state.lookup_tables()[table]["rows"] == [["7", "seven"]]


def test_query_event_names_and_segmentation(run: Runner, sb: Sandbox) -> None:
    sb.state.add_events([event("Signed up", "q1"), event("Signed up", "q2", when=NOW - 1)])
    names = run.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
    assert names.body == ["Signed up"]
    counted = run.run(
        {
            "method": "GET",
            "api": "Query API",
            "relative_url": "/2.0/segmentation",
            "query": {"event": "Signed up", "from_date": TODAY, "to_date": TODAY},
        }
    )
    assert counted.body["data"]["values"] == {"Signed up": {TODAY: 2}}


def test_export_jsonl_to_memory_and_to_a_file(run: Runner, sb: Sandbox, tmp_path: Any) -> None:
    sb.state.add_events([event("Exported", f"x{i}") for i in range(3)])
    inputs = {
        "method": "GET",
        "api": "export",
        "relative_url": "",
        # Mixpanel reads `event` as JSON text; a list in the Query object would repeat the key.
        "query": {"from_date": TODAY, "to_date": TODAY, "event": '["Exported"]'},
    }
    result = run.run(inputs)
    assert result.status_code == 200
    assert [e["properties"]["$insert_id"] for e in result.body] == ["x0", "x1", "x2"]
    target = tmp_path / "events.jsonl"
    streamed = run.run(inputs, output=str(target))
    assert streamed.body_file is not None
    assert target.read_text().count("\n") == 3


def test_pipelines_round_trip(run: Runner, sb: Sandbox) -> None:
    created = run.run(
        {
            "method": "POST",
            "api": "pipelines",
            "relative_url": "/pipeline/create",
            "body": {"type": "s3-raw", "from_date": "2024-01-01"},
        }
    )
    assert created.body == {"pipeline_names": ["events-daily-s3-raw"]}
    jobs = run.run({"method": "GET", "api": "Data Pipelines API", "relative_url": "/pipeline/jobs"})
    assert jobs.body[str(sb.credentials["project_id"])][0]["name"] == "events-daily-s3-raw"


def test_lexicon_schemas_round_trip(run: Runner, sb: Sandbox) -> None:
    project = sb.credentials["project_id"]
    entry = {"entityType": "event", "name": "Played", "schemaJson": {"description": "A game"}}
    added = run.run(
        {
            "method": "POST",
            "api": "lexicon",
            "relative_url": f"/{project}/schemas",
            "body": {"entries": [entry]},
        }
    )
    assert added.body == {"results": {"added": 1, "deleted": 0}, "status": "ok"}
    listed = run.run(
        {"method": "GET", "api": "lexicon", "relative_url": f"/{project}/schemas/event"}
    )
    assert listed.body["results"] == [entry]
    # Lexicon scopes by the path: no project_id query parameter goes out.
    assert sb.requests[-1].param("project_id") is None


def test_connectors_source_and_run(run: Runner, sb: Sandbox) -> None:
    project = sb.credentials["project_id"]
    base = f"/projects/{project}/warehouse-sources"
    source = run.run(
        {
            "method": "POST",
            "api": "connectors",
            "relative_url": base,
            "body": {
                "name": "DW",
                "type": "snowflake",
                "connectionDetails": {"account": "x"},
                "tables": [{"tableName": "s.events", "importType": "event"}],
            },
        }
    ).body
    started = run.run(
        {"method": "POST", "api": "connectors", "relative_url": f"{base}/{source['id']}/runs"}
    )
    assert started.body["status"] == "running"
    runs = run.run(
        {"method": "GET", "api": "Connectors API", "relative_url": f"{base}/{source['id']}/runs"}
    )
    assert runs.body["results"][0]["status"] == "completed"


def test_the_project_secret_works_where_accepted(sb: Sandbox) -> None:
    c = sb.credentials
    with Runner(origin=sb.origin, api_secret=c["api_secret"], env={}) as secret_runner:
        with pytest.warns(ApiSecretDeprecationWarning):
            result = secret_runner.run(
                {"method": "GET", "api": "query", "relative_url": "/2.0/events/names"}
            )
    assert result.status_code == 200
    assert sb.requests[-1].param("project_id") is None


def test_wrong_credentials_come_back_as_a_401_result(sb: Sandbox) -> None:
    with runner(sb, secret="not-the-secret") as wrong:
        result = wrong.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
    assert result.status_code == 401
    assert result.body == {"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}


def test_the_runner_retries_through_injected_faults() -> None:
    # With this seed the first requests draw 429s and 503s; the runner retries a GET through both.
    with Sandbox(fail_rate=0.6, seed=11) as sb, runner(sb, retries=8) as r:
        result = r.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
        statuses = [rec.status for rec in sb.requests]
    assert result.status_code == 200
    assert statuses[-1] == 200 and len(statuses) > 1
    assert set(statuses[:-1]) <= {429, 503}
    assert result.attempts == len(statuses)


def test_a_deduplicated_import_is_retried_after_a_503_without_double_counting() -> None:
    with Sandbox(fail_rate=0.6, seed=11) as sb, runner(sb, retries=8) as r:
        result = r.run(
            {
                "method": "POST",
                "api": "ingestion",
                "relative_url": "/import",
                "query": {"strict": "1"},
                "body": [event("Once", "only-once")],
            }
        )
        assert result.status_code == 200
        assert [rec.status for rec in sb.requests] == [503, 200]  # retried: it carries $insert_id
        assert len(sb.state.events()) == 1
