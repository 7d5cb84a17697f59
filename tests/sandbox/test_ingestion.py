"""Sandbox ingestion: /import (strict, limits, NDJSON, gzip, $insert_id), /track, /engage, /groups, lookup tables."""

from __future__ import annotations

import base64
import gzip
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import NOW, event, pid, sa, secret

from mp_custom_action.sandbox import Sandbox

LOOKUP_ID = "5a4d1b0e-5a4d-4b0e-8a4d-5a4d1b0e0001"


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def post_import(
    http: requests.Session, sb: Sandbox, body: Any, *, strict: bool = True, **kwargs: Any
) -> requests.Response:
    params = {**pid(sb), "strict": "1" if strict else "0"}
    headers = {**sa(sb), **kwargs.pop("headers", {})}
    if isinstance(body, (bytes, str)):
        return http.post(sb.origin + "/import", params=params, headers=headers, data=body, **kwargs)
    return http.post(sb.origin + "/import", params=params, headers=headers, json=body, **kwargs)


# -- /import ----------------------------------------------------------------------------------------


def test_import_stores_events_and_answers_mixpanels_shape(
    http: requests.Session, sb: Sandbox
) -> None:
    answer = post_import(http, sb, [event("A", "a1"), event("B", "b1")])
    assert answer.json() == {"code": 200, "num_records_imported": 2, "status": "OK"}
    stored = sb.state.events()
    assert [e["event"] for e in stored] == ["A", "B"]
    assert stored[0]["properties"]["$insert_id"] == "a1"


def test_import_accepts_a_single_object(http: requests.Session, sb: Sandbox) -> None:
    assert post_import(http, sb, event("A", "a1")).json()["num_records_imported"] == 1


def test_strict_import_reports_each_failed_record_and_keeps_the_valid_ones(
    http: requests.Session, sb: Sandbox
) -> None:
    bad_time = event("A", "bad1")
    bad_time["properties"]["time"] = "yesterday"
    no_insert_id = event("A", "x")
    del no_insert_id["properties"]["$insert_id"]
    batch = [event("A", "ok1"), bad_time, {"properties": {}}, no_insert_id, event("A", "bad id!")]
    answer = post_import(http, sb, batch)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 400 and body["status"] == "Bad Request"
    assert body["num_records_imported"] == 1
    failed = {f["index"]: f for f in body["failed_records"]}
    assert sorted(failed) == [1, 2, 3, 4]
    assert failed[1]["field"] == "properties.time" and failed[1]["insert_id"] == "bad1"
    assert failed[2]["field"] == "event"
    assert failed[3]["field"] == "properties.$insert_id"
    assert failed[4]["field"] == "properties.$insert_id"
    assert [e["properties"]["$insert_id"] for e in sb.state.events()] == ["ok1"]


def test_non_strict_import_drops_invalid_records_quietly(
    http: requests.Session, sb: Sandbox
) -> None:
    no_insert_id = event("A", "x")
    del no_insert_id["properties"]["$insert_id"]
    answer = post_import(http, sb, [event("A", "ok"), {"event": ""}, no_insert_id], strict=False)
    assert answer.status_code == 200
    assert answer.json()["num_records_imported"] == 2


def test_insert_id_deduplicates(http: requests.Session, sb: Sandbox) -> None:
    first = event("A", "same", plan="free")
    again = event("A", "same", plan="pro")
    post_import(http, sb, [first])
    post_import(http, sb, [again, event("A", "other")])
    stored = sb.state.events()
    assert len(stored) == 2
    assert stored[0]["properties"]["plan"] == "pro"  # the latest one wins, as in Mixpanel


def test_same_insert_id_with_another_time_is_another_event(
    http: requests.Session, sb: Sandbox
) -> None:
    post_import(http, sb, [event("A", "same", when=NOW), event("A", "same", when=NOW - 60)])
    assert len(sb.state.events()) == 2


def test_seconds_and_milliseconds_of_the_same_instant_deduplicate(
    http: requests.Session, sb: Sandbox
) -> None:
    post_import(http, sb, [event("A", "same", when=NOW), event("A", "same", when=NOW * 1000)])
    assert len(sb.state.events()) == 1


def test_import_takes_ndjson(http: requests.Session, sb: Sandbox) -> None:
    lines = "\n".join(json.dumps(event("A", f"n{i}")) for i in range(3)) + "\n\n"
    answer = post_import(http, sb, lines, headers={"Content-Type": "application/x-ndjson"})
    assert answer.json()["num_records_imported"] == 3


def test_import_reports_the_bad_ndjson_line(http: requests.Session, sb: Sandbox) -> None:
    lines = json.dumps(event("A", "n1")) + "\n{oops\n"
    answer = post_import(http, sb, lines, headers={"Content-Type": "application/x-ndjson"})
    assert answer.status_code == 400
    assert "line 2" in answer.json()["error"]


def test_import_takes_gzip(http: requests.Session, sb: Sandbox) -> None:
    body = gzip.compress(json.dumps([event("A", "g1"), event("A", "g2")]).encode())
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    answer = post_import(http, sb, body, headers=headers)
    assert answer.json()["num_records_imported"] == 2


def test_broken_gzip_is_a_400(http: requests.Session, sb: Sandbox) -> None:
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    assert post_import(http, sb, b"\x1f\x8bnot gzip", headers=headers).status_code == 400


def test_more_than_2000_events_is_a_413(http: requests.Session, sb: Sandbox) -> None:
    answer = post_import(http, sb, [event("A", f"i{i}") for i in range(2001)])
    assert answer.status_code == 413
    assert answer.json()["status"] == "Request Entity Too Large"
    assert sb.state.events() == []
    assert post_import(http, sb, [event("A", f"i{i}") for i in range(2000)]).status_code == 200


def test_more_than_10_mb_uncompressed_is_a_413_also_when_gzipped(
    http: requests.Session, sb: Sandbox
) -> None:
    big = [event("A", f"b{i}", pad="x" * 600_000) for i in range(18)]  # about 10.8 MB
    raw = json.dumps(big).encode()
    assert len(raw) > 10 * 1024 * 1024
    assert (
        post_import(http, sb, raw, headers={"Content-Type": "application/json"}).status_code == 413
    )
    headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
    zipped = gzip.compress(raw)
    assert len(zipped) < 1024 * 1024  # small on the wire, too large once inflated
    assert post_import(http, sb, zipped, headers=headers).status_code == 413
    assert sb.state.events() == []


def test_an_event_over_1_mb_fails_alone(http: requests.Session, sb: Sandbox) -> None:
    answer = post_import(http, sb, [event("A", "big", pad="x" * 1_100_000), event("A", "ok")])
    assert answer.status_code == 400
    assert answer.json()["num_records_imported"] == 1


def test_invalid_json_is_a_400(http: requests.Session, sb: Sandbox) -> None:
    answer = post_import(http, sb, b"[{", headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert answer.json()["code"] == 400


def test_import_is_post_only(http: requests.Session, sb: Sandbox) -> None:
    answer = http.get(sb.origin + "/import", params=pid(sb), headers=sa(sb))
    assert answer.status_code == 405
    assert answer.headers["Allow"] == "POST"


# -- /track -----------------------------------------------------------------------------------------


def tracked(sb: Sandbox, name: str = "Signed up", **props: Any) -> list[dict[str, Any]]:
    return [{"event": name, "properties": {"token": sb.credentials["token"], **props}}]


def test_track_answers_1_and_stores_without_the_token(http: requests.Session, sb: Sandbox) -> None:
    answer = http.post(sb.origin + "/track", json=tracked(sb, distinct_id="u1", time=NOW))
    assert (answer.text, answer.headers["Content-Type"]) == ("1", "text/plain")
    (stored,) = sb.state.events()
    assert stored["event"] == "Signed up"
    assert "token" not in stored["properties"]
    assert stored["properties"]["time"] == NOW


def test_track_answers_0_for_invalid_events(http: requests.Session, sb: Sandbox) -> None:
    body = [{"event": "", "properties": {"token": sb.credentials["token"]}}]
    assert http.post(sb.origin + "/track", json=body).text == "0"
    assert sb.state.events() == []


def test_track_verbose_answers_json(http: requests.Session, sb: Sandbox) -> None:
    ok = http.post(sb.origin + "/track", params={"verbose": "1"}, json=tracked(sb))
    assert ok.json() == {"error": None, "status": 1}
    body = [{"event": "", "properties": {"token": sb.credentials["token"]}}]
    bad = http.post(sb.origin + "/track", params={"verbose": "1"}, json=body)
    assert bad.json()["status"] == 0 and bad.json()["error"]


def test_track_takes_the_older_data_field_in_base64(http: requests.Session, sb: Sandbox) -> None:
    data = base64.b64encode(json.dumps(tracked(sb)).encode()).decode()
    assert http.post(sb.origin + "/track", data={"data": data}).text == "1"
    assert (
        http.get(sb.origin + "/track", params={"data": json.dumps(tracked(sb, "Other"))}).text
        == "1"
    )
    assert [e["event"] for e in sb.state.events()] == ["Signed up", "Other"]


def test_track_sets_a_missing_or_future_time_to_now(http: requests.Session, sb: Sandbox) -> None:
    # "now" is read here, not at import: a slow suite must not turn minutes of waiting into a failure.
    sent_at = time.time()
    http.post(
        sb.origin + "/track", json=tracked(sb, "a") + tracked(sb, "b", time=sent_at + 86400 * 30)
    )
    times = [e["properties"]["time"] for e in sb.state.events()]
    assert all(sent_at - 1 <= t <= time.time() + 1 for t in times)


def test_track_deduplicates_by_insert_id(http: requests.Session, sb: Sandbox) -> None:
    body = tracked(sb, distinct_id="u", time=NOW, **{"$insert_id": "t1"})
    http.post(sb.origin + "/track", json=body)
    http.post(sb.origin + "/track", json=body)
    assert len(sb.state.events()) == 1


# -- /engage and /groups ----------------------------------------------------------------------------


def engage(
    http: requests.Session, sb: Sandbox, *updates: dict[str, Any], path: str = "/engage"
) -> str:
    token = sb.credentials["token"]
    body = [{"$token": token, **u} for u in updates]
    return http.post(sb.origin + path, json=body).text


def test_engage_operations(http: requests.Session, sb: Sandbox) -> None:
    assert (
        engage(http, sb, {"$distinct_id": "u1", "$set": {"plan": "free", "n": 1, "tags": ["a"]}})
        == "1"
    )
    engage(
        http,
        sb,
        {"$distinct_id": "u1", "$set_once": {"plan": "pro", "first": "2024-01-01"}},
        {"$distinct_id": "u1", "$add": {"n": 2, "visits": 1}},
        {"$distinct_id": "u1", "$append": {"tags": "b"}},
        {"$distinct_id": "u1", "$union": {"tags": ["b", "c"]}},
        {"$distinct_id": "u1", "$remove": {"tags": "a"}},
        {"$distinct_id": "u1", "$unset": ["first"]},
    )
    assert sb.state.profiles() == {"u1": {"plan": "free", "n": 3, "visits": 1, "tags": ["b", "c"]}}
    assert engage(http, sb, {"$distinct_id": "u1", "$delete": ""}) == "1"
    assert sb.state.profiles() == {}


def test_engage_takes_a_single_object(http: requests.Session, sb: Sandbox) -> None:
    update = {"$token": sb.credentials["token"], "$distinct_id": 42, "$set": {"a": 1}}
    assert http.post(sb.origin + "/engage", json=update).text == "1"
    assert sb.state.profiles() == {"42": {"a": 1}}


@pytest.mark.parametrize(
    "update",
    [
        {"$set": {"a": 1}},
        {"$distinct_id": "u1"},
        {"$distinct_id": "u1", "$set": ["a"]},
        {"$distinct_id": "u1", "$unset": "a"},
        {"$distinct_id": "u1", "$add": {"n": "one"}},
        {"$distinct_id": "u1", "$sett": {"a": 1}},
    ],
    ids=["no-id", "no-operation", "set-list", "unset-string", "add-text", "typo"],
)
def test_invalid_updates_change_nothing(
    http: requests.Session, sb: Sandbox, update: dict[str, Any]
) -> None:
    assert engage(http, sb, update) == "0"
    assert sb.state.profiles() == {}


def test_groups_operations(http: requests.Session, sb: Sandbox) -> None:
    key = {"$group_key": "company", "$group_id": "acme"}
    assert engage(http, sb, {**key, "$set": {"size": 10}}, path="/groups") == "1"
    engage(http, sb, {**key, "$set_once": {"size": 99, "tier": "gold"}}, path="/groups")
    engage(http, sb, {**key, "$unset": ["tier"]}, path="/groups")
    assert sb.state.groups() == {"company": {"acme": {"size": 10}}}
    engage(http, sb, {**key, "$delete": ""}, path="/groups")
    assert sb.state.groups() == {}
    assert engage(http, sb, {"$group_key": "company", "$set": {"a": 1}}, path="/groups") == "0"


# -- lookup tables ----------------------------------------------------------------------------------


def test_lookup_tables_list(http: requests.Session, sb: Sandbox) -> None:
    answer = http.get(sb.origin + "/lookup-tables", params=pid(sb), headers=sa(sb))
    assert answer.json() == {
        "code": 200,
        "status": "OK",
        "results": [{"id": LOOKUP_ID, "name": "Sandbox Demo Table"}],
    }


def put_csv(
    http: requests.Session, sb: Sandbox, text: str, table: str = LOOKUP_ID
) -> requests.Response:
    headers = {**secret(sb), "Content-Type": "text/csv"}
    return http.put(f"{sb.origin}/lookup-tables/{table}", headers=headers, data=text.encode())


def test_lookup_table_replace(http: requests.Session, sb: Sandbox) -> None:
    answer = put_csv(http, sb, 'sku,title\nA1,Apple\nB2,"Banana, ripe"\n')
    assert answer.json() == {"code": 200, "status": "OK"}
    table = sb.state.lookup_tables()[LOOKUP_ID]
    assert table["header"] == ["sku", "title"]
    assert table["rows"] == [["A1", "Apple"], ["B2", "Banana, ripe"]]


def test_lookup_table_invalid_rows_replace_nothing(http: requests.Session, sb: Sandbox) -> None:
    answer = put_csv(http, sb, "id,name\n1,a\n,blank\n3,a,extra\n")
    assert answer.status_code == 400
    assert answer.json()["failed_records"] == [
        {"index": 1, "message": "primary key is required and cannot be blank"},
        {"index": 2, "message": "invalid row: wrong number of fields"},
    ]
    assert sb.state.lookup_tables()[LOOKUP_ID]["rows"] == [["1", "first"], ["2", "second"]]


def test_lookup_table_unknown_id_is_404(http: requests.Session, sb: Sandbox) -> None:
    answer = put_csv(http, sb, "id\n1\n", table="00000000-0000-0000-0000-000000000000")
    assert answer.status_code == 404
    assert "was not found" in answer.json()["error"]


def test_lookup_table_replace_needs_csv(http: requests.Session, sb: Sandbox) -> None:
    answer = http.put(
        f"{sb.origin}/lookup-tables/{LOOKUP_ID}", headers=secret(sb), json=[{"id": 1}]
    )
    assert answer.status_code == 400
    assert "text/csv" in answer.json()["error"]
