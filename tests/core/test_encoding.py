"""Body encodings chosen from the endpoint: JSON, JSON Lines, form fields, CSV, gzip, caller bytes."""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest

from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.encoding import encode_body, form_fields
from mp_custom_action.core.request import build_request
from mp_custom_action.errors import BodyError, HeaderError, InputError

CREDS = Credentials.build(
    username="sa.user", secret="sa-secret", project_id=7, token="proj-token", api_secret="api-s"
)


def build(method: str, api: str, url: str, body: Any = None, headers: Any = None, **extra: Any):  # type: ignore[no-untyped-def]
    creds = extra.pop("credentials", CREDS)
    inputs: dict[str, Any] = {"method": method, "api": api, "relative_url": url, **extra}
    if body is not None:
        inputs["body"] = body
    if headers is not None:
        inputs["headers"] = headers
    return build_request(inputs, credentials=creds)


def form(req: Any) -> dict[str, str]:
    return dict(parse_qsl(req.body.decode("ascii"), keep_blank_values=True, strict_parsing=True))


# -- forms ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", ["/2.0/jql", "/query/jql"])
def test_jql_is_a_form_with_params_as_json_text(url: str) -> None:
    script = "function main(){ return Events(params).groupBy(['name'], mixpanel.reducer.count()) }"
    req = build("POST", "query", url, {"script": script, "params": {"from_date": "2024-01-01"}})
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert form(req) == {"script": script, "params": '{"from_date":"2024-01-01"}'}
    assert b"+" not in req.body, "spaces are %20: a '+' would be read as a space"
    assert req.url.endswith("/jql?project_id=7")
    assert req.describe()["body"] == {"script": script, "params": '{"from_date":"2024-01-01"}'}


def test_query_engage_form_arrays_and_scalars() -> None:
    req = build("POST", "query", "/query/engage",
                {"output_properties": ["$email"], "page": 2, "session_id": "s1",
                 "include_all_users": False, "where": None})  # fmt: skip
    assert form(req) == {"output_properties": '["$email"]', "page": "2", "session_id": "s1",
                         "include_all_users": "false"}  # fmt: skip


@pytest.mark.parametrize("op", ["create", "edit", "cancel", "pause", "resume"])
def test_pipelines_posts_carry_project_id_in_the_form(op: str) -> None:
    req = build("POST", "pipelines", f"/pipeline/{op}", {"name": "daily"})
    assert form(req) == {"name": "daily", "project_id": "7"}
    assert "project_id" not in req.url


def test_pipelines_form_keeps_the_callers_project_id_and_secret_sends_none() -> None:
    assert form(build("POST", "pipelines", "/pipeline/pause", {"name": "a", "project_id": 9})) == {
        "name": "a",
        "project_id": "9",
    }
    secret = Credentials.build(api_secret="api-s")
    req = build("POST", "pipelines", "/pipeline/pause", {"name": "a"}, credentials=secret)
    assert form(req) == {"name": "a"}


def test_pipelines_post_without_a_body_still_sends_the_project_id() -> None:
    req = build("POST", "pipelines", "/pipeline/cancel")
    assert form(req) == {"project_id": "7"}


@pytest.mark.parametrize("body", [[{"name": "a"}], "name=a", 5])
def test_a_form_body_must_be_an_object(body: Any) -> None:
    with pytest.raises(BodyError, match=r"body: .*expected|body: expected"):
        build("POST", "query", "/2.0/jql", body)


def test_track_identity_form_holds_the_event_as_json_text_with_the_token() -> None:
    event = {"event": "$identify", "properties": {"$identified_id": "u1", "$anon_id": "a1"}}
    for data in (event, json.dumps(event)):
        req = build("POST", "ingestion", "/track#create-identity", {"data": data},
                    {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        sent = json.loads(form(req)["data"])
        assert sent["properties"] == {**event["properties"], "token": "proj-token"}
        shown = req.describe()
        assert "proj-token" not in json.dumps(shown)
        assert json.loads(shown["body"]["data"])["properties"]["token"] == "***"
        assert "Authorization" not in req.wire_headers()


@pytest.mark.parametrize("fragment", ["create-identity", "identity-create-alias"])
def test_the_identity_operations_named_by_their_fragment_are_forms(fragment: str) -> None:
    req = build("POST", "ingestion", f"/track#{fragment}", {"data": {"event": "$x"}})
    assert req.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert json.loads(form(req)["data"]) == {"event": "$x", "properties": {"token": "proj-token"}}
    plain = build("POST", "ingestion", "/track", [{"event": "e"}])
    assert plain.headers["Content-Type"] == "application/json"


def test_track_form_without_data_is_refused() -> None:
    with pytest.raises(BodyError, match=r"body.data: /track takes a form whose 'data' field"):
        build("POST", "ingestion", "/track", {"event": "x"},
              {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip


def test_form_fields_unit() -> None:
    assert form_fields({"a": 1.5, "b": True, "c": {"x": [1]}, "d": None}, field="body") == {
        "a": "1.5",
        "b": "true",
        "c": '{"x":[1]}',
    }


# -- JSON Lines and gzip on /import ---------------------------------------------------------------

EVENTS = [
    {"event": "a", "properties": {"time": 1, "distinct_id": "u", "$insert_id": "i1"}},
    {"event": "b", "properties": {"time": 2, "distinct_id": "u", "$insert_id": "i2"}},
]


def test_import_ndjson_one_line_per_element() -> None:
    req = build("POST", "ingestion", "/import", EVENTS, {"Content-Type": "application/x-ndjson"})
    lines = req.body.decode().splitlines()
    assert [json.loads(line) for line in lines] == EVENTS
    assert req.body.endswith(b"\n")
    assert req.headers["Content-Type"] == "application/x-ndjson"
    assert req.describe()["body"] == req.body.decode()
    assert req.replay_safe, "every record has an $insert_id"


@pytest.mark.parametrize("content_type", ["application/json", "application/x-ndjson"])
def test_import_gzip_we_compress(content_type: str) -> None:
    req = build("POST", "ingestion", "/import", EVENTS,
                {"Content-Type": content_type, "Content-Encoding": "gzip"})  # fmt: skip
    assert req.headers["Content-Encoding"] == "gzip"
    plain = gzip.decompress(req.body)
    expected = encode_body(EVENTS, content_type, field="body")[0]
    assert plain == expected
    shown = req.describe()
    assert shown["body_bytes"] == len(req.body)
    assert shown["headers"]["Content-Encoding"] == "gzip"


def test_gzip_is_deterministic() -> None:
    headers = {"Content-Encoding": "GZIP"}
    first = build("POST", "ingestion", "/import", EVENTS, headers).body
    assert first == build("POST", "ingestion", "/import", EVENTS, headers).body


def test_identity_encoding_means_none() -> None:
    req = build("POST", "ingestion", "/import", EVENTS, {"Content-Encoding": "identity"})
    assert "Content-Encoding" not in req.headers
    assert json.loads(req.body) == EVENTS


# -- CSV ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "sent"),
    [
        ("id,name\n1,a\n", b"id,name\n1,a\n"),
        (
            [{"id": 1, "name": "a"}, {"id": 2, "extra": True}],
            b"id,name,extra\r\n1,a,\r\n2,,true\r\n",
        ),
        ([["id", "name"], [1, "a, b"]], b'id,name\r\n1,"a, b"\r\n'),
    ],
)
def test_lookup_table_replace_takes_csv(body: Any, sent: bytes) -> None:
    req = build("PUT", "ingestion", "/lookup-tables/t1", body)
    assert req.headers["Content-Type"] == "text/csv"
    assert req.body == sent
    assert req.describe()["body"] == sent.decode()


@pytest.mark.parametrize("body", [[1, 2], [{"a": 1}, [1]], [{"a": {"nested": 1}}], {"a": 1}])
def test_csv_needs_rows(body: Any) -> None:
    with pytest.raises(BodyError, match=r"body(\[0\])?: .*CSV|body: this endpoint takes text/csv"):
        build("PUT", "ingestion", "/lookup-tables/t1", body)


# -- media types and encodings an endpoint does not take ------------------------------------------


@pytest.mark.parametrize(
    ("method", "api", "url", "headers", "field", "takes"),
    [
        ("POST", "ingestion", "/import", {"Content-Type": "text/csv"}, "headers.Content-Type",
         "POST /import takes application/json or application/x-ndjson, not 'text/csv'"),
        ("POST", "query", "/2.0/jql", {"Content-Type": "application/json"}, "headers.Content-Type",
         "POST /api/2.0/jql takes application/x-www-form-urlencoded, not 'application/json'"),
        ("POST", "connectors", "/projects/1/annotations", {"content-type": "application/x-ndjson"},
         "headers.content-type", "takes application/json, not"),
        ("POST", "query", "/2.0/jql", {"Content-Encoding": "gzip"}, "headers.Content-Encoding",
         "POST /api/2.0/jql takes no Content-Encoding"),
        ("POST", "ingestion", "/import", {"Content-Encoding": "br"}, "headers.Content-Encoding",
         "POST /import takes gzip, not 'br'"),
        ("POST", "ingestion", "/track", {"Content-Encoding": "gzip"}, "headers.Content-Encoding",
         "POST /track takes no Content-Encoding"),
    ],
)  # fmt: skip
def test_refused_media_and_encodings_name_what_the_endpoint_takes(
    method: str, api: str, url: str, headers: dict[str, str], field: str, takes: str
) -> None:
    with pytest.raises(HeaderError) as info:
        build(method, api, url, [{"event": "x", "properties": {}}] if "import" in url or "track" in
              url else {"script": "x"}, headers)  # fmt: skip
    assert str(info.value).startswith(f"{field}: ")
    assert takes in str(info.value)
    assert info.value.exit_status == 2


def test_content_headers_without_a_body_are_refused() -> None:
    with pytest.raises(HeaderError, match=r"headers.Content-Type: describes a body, and none"):
        build("POST", "ingestion", "/import", headers={"Content-Type": "application/json"})


def test_a_string_body_is_only_csv() -> None:
    with pytest.raises(BodyError, match=r"body: expected a JSON object or array .*text/csv"):
        build("POST", "ingestion", "/import", "text")


# -- the bytes contract (the bulk importer encodes and compresses itself) -------------------------


def test_bytes_are_sent_as_they_are_and_the_dry_run_shows_their_size() -> None:
    raw = gzip.compress(b'{"event":"a"}\n{"event":"b"}\n')
    req = build("POST", "ingestion", "/import", raw,
                {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"})  # fmt: skip
    assert req.body is raw, "no copy"
    assert req.headers["Content-Type"] == "application/x-ndjson"
    assert req.headers["Content-Encoding"] == "gzip"
    shown = req.describe()
    assert shown["body"] is None
    assert shown["body_bytes"] == len(raw)
    assert not req.replay_safe, "records we cannot see are not known to carry $insert_id"


def test_bytes_are_not_checked_as_json() -> None:
    req = build("POST", "ingestion", "/import", b"not json at all",
                {"Content-Type": "application/json"})  # fmt: skip
    assert req.body == b"not json at all"


def test_bytes_need_a_content_type_the_endpoint_takes() -> None:
    with pytest.raises(BodyError, match=r"body: a body given as bytes .*Content-Type"):
        build("POST", "ingestion", "/import", b"{}")
    with pytest.raises(HeaderError, match=r"headers.Content-Type: POST /import takes"):
        build("POST", "ingestion", "/import", b"{}", {"Content-Type": "text/csv"})
    with pytest.raises(HeaderError, match=r"headers.Content-Encoding: POST /api/2.0/jql takes no"):
        build("POST", "query", "/2.0/jql", b"script=x",
              {"Content-Type": "application/x-www-form-urlencoded", "Content-Encoding": "gzip"})  # fmt: skip


def test_bytes_in_json_text_inputs_are_still_refused() -> None:
    # Only the Python body may be bytes; nested bytes are not JSON.
    with pytest.raises(InputError, match=r"body\.a: expected a JSON value, got bytes"):
        build("POST", "ingestion", "/import", {"a": b"x"})


@pytest.mark.parametrize(
    ("method", "api", "url", "message"),
    [
        ("POST", "query", "/2.0/cohorts/list", "body: POST /api/2.0/cohorts/list takes no body"),
        ("DELETE", "lexicon", "/1/schemas/event", "body: DELETE /api/app/projects/1/schemas/event "
         "takes no body"),
        ("GET", "ingestion", "/flags", "body: a body is only sent with POST, PUT or PATCH"),
    ],
)  # fmt: skip
def test_a_body_for_an_endpoint_that_takes_none(
    method: str, api: str, url: str, message: str
) -> None:
    with pytest.raises(BodyError) as info:
        build(method, api, url, {"a": 1})
    assert str(info.value).startswith(message)
    assert info.value.exit_status == 2


def test_ndjson_needs_at_least_one_record() -> None:
    with pytest.raises(BodyError, match=r"body: an empty array gives no lines"):
        build("POST", "ingestion", "/import", [], {"Content-Type": "application/x-ndjson"})
    one = build(
        "POST", "ingestion", "/import", {"event": "e"}, {"Content-Type": "application/x-ndjson"}
    )
    assert one.body == b'{"event":"e"}\n'
