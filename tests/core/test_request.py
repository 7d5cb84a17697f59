"""Built requests end to end: what reaches a real socket for each kind of endpoint."""

from __future__ import annotations

import gzip
import json
from typing import Any
from urllib.parse import parse_qsl

import pytest
from loopback import Reply, ScriptedServer

from mp_custom_action import Runner
from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.request import build_request
from mp_custom_action.errors import BodyError, MissingCredentialError

CREDS: dict[str, Any] = {
    "username": "sa.user",
    "secret": "sa-secret",
    "project_id": 7,
    "token": "proj-token-value",
    "oauth_token": "oauth-token-value",
}
SECRETS = ("sa-secret", "proj-token-value", "oauth-token-value")


def runner(server: ScriptedServer, **options: Any) -> Runner:
    return Runner(**{**CREDS, "env": {}, "origin": server.origin, **options})


def no_secret_in(*values: object) -> None:
    text = json.dumps([repr(v) if not isinstance(v, (dict, list, str)) else v for v in values])
    for secret in SECRETS:
        assert secret not in text


def test_gdpr_gets_the_bearer_token_and_the_project_token_as_query(
    server: ScriptedServer,
) -> None:
    body = {"distinct_ids": ["u1"], "compliance_type": "GDPR"}
    with runner(server) as r:
        req = r.prepare({"method": "POST", "api": "connectors",
                         "relative_url": "/data-retrievals/v3.0", "body": body})  # fmt: skip
        result = r.send(req)
    assert result.status_code == 200
    got = server.received[0]
    assert got.path == "/api/app/data-retrievals/v3.0"
    assert got.query == [("token", "proj-token-value")]
    assert got.header("Authorization") == "Bearer oauth-token-value"
    assert json.loads(got.body) == body
    shown = req.describe()
    assert shown["headers"]["Authorization"] == "Bearer ***"
    assert shown["url"].endswith("/api/app/data-retrievals/v3.0?token=***")
    assert "token" not in req.url, "the URL a request carries never holds the token"
    no_secret_in(shown, req, result, result.url)


def test_gdpr_without_an_oauth_token_is_refused_before_sending(server: ScriptedServer) -> None:
    with runner(server, oauth_token=None) as r:
        with pytest.raises(
            MissingCredentialError, match=r"needs an OAuth token \(MP_OAUTH_TOKEN\)"
        ):
            r.run({"method": "GET", "api": "connectors",
                   "relative_url": "/data-deletions/v3.0/abc"})  # fmt: skip
    assert server.received == []


def test_gdpr_without_a_project_token_is_refused() -> None:
    creds = Credentials.build(oauth_token="o")
    with pytest.raises(
        MissingCredentialError, match=r"project token \(MP_TOKEN\), sent as \?token="
    ):
        build_request({"method": "GET", "api": "connectors",
                       "relative_url": "/data-retrievals/v3.0/x"}, credentials=creds)  # fmt: skip
    given = build_request({"method": "GET", "api": "connectors",
                           "relative_url": "/data-retrievals/v3.0/x?token=t"},
                          credentials=creds)  # fmt: skip
    assert given.url.endswith("?token=t") and given.credential.query_token is None


def test_feature_flags_take_the_project_token_as_query(server: ScriptedServer) -> None:
    with runner(server, username=None, secret=None) as r:
        r.run({"method": "GET", "api": "ingestion", "relative_url": "/flags",
               "query": {"context": {"distinct_id": "u1"}}})  # fmt: skip
    got = server.received[0]
    assert got.header("Authorization") is None, "not Basic auth: the token goes as ?token="
    assert dict(got.query) == {"context": '{"distinct_id":"u1"}', "token": "proj-token-value"}


def test_feature_flags_prefer_a_service_account(server: ScriptedServer) -> None:
    with runner(server) as r:
        r.run({"method": "GET", "api": "ingestion", "relative_url": "/flags/definitions"})
    got = server.received[0]
    assert got.header(
        "Authorization",
    ).startswith("Basic ")  # type: ignore[union-attr]
    assert got.query == [("project_id", "7")]


def test_jql_form_over_the_wire(server: ScriptedServer) -> None:
    with runner(server) as r:
        r.run({"method": "POST", "api": "query", "relative_url": "/query/jql",
               "body": {"script": "function main(){}", "params": {"a": 1}}})  # fmt: skip
    got = server.received[0]
    assert got.header("Content-Type") == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(got.body.decode())) == {
        "script": "function main(){}",
        "params": '{"a":1}',
    }


def test_import_gzip_ndjson_over_the_wire(server: ScriptedServer) -> None:
    events = [{"event": "e", "properties": {"distinct_id": str(i)}} for i in range(3)]
    with runner(server) as r:
        r.run({"method": "POST", "api": "ingestion", "relative_url": "/import",
               "headers": {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
               "body": events})  # fmt: skip
    got = server.received[0]
    assert got.header("Content-Encoding") == "gzip"
    assert int(got.header("Content-Length") or 0) == len(got.body)
    lines = gzip.decompress(got.body).decode().splitlines()
    assert [json.loads(line) for line in lines] == events


def test_delete_with_a_documented_body_over_the_wire(server: ScriptedServer) -> None:
    with runner(server) as r:
        r.run({"method": "DELETE", "api": "connectors",
               "relative_url": "/projects/1/warehouse-sources/imports/9",
               "body": {"delete_data": True}})  # fmt: skip
        r.run({"method": "DELETE", "api": "connectors",
               "relative_url": "/projects/1/warehouse-sources/imports/9"})  # fmt: skip
    with_body, without = server.received
    assert with_body.method == "DELETE" and json.loads(with_body.body) == {"delete_data": True}
    assert with_body.header("Content-Type") == "application/json"
    assert without.body == b"" and without.header("Content-Type") is None


@pytest.mark.parametrize(
    ("api", "url"),
    [("connectors", "/projects/1/annotations/3"), ("lexicon", "/1/schemas"),
     ("connectors", "/data-deletions/v3.0/abc")],
)  # fmt: skip
def test_delete_elsewhere_takes_no_body(server: ScriptedServer, api: str, url: str) -> None:
    with (
        runner(server) as r,
        pytest.raises(BodyError, match=r"body: DELETE /api/app/.* takes no body"),
    ):
        r.run({"method": "DELETE", "api": api, "relative_url": url, "body": {"a": 1}})
    assert server.received == []


def test_export_asks_for_gzip(server: ScriptedServer) -> None:
    lines = b'{"event":"a","properties":{}}\n{"event":"b","properties":{}}\n'
    server.handler = lambda req: Reply(
        200, {"Content-Type": "text/plain", "Content-Encoding": "gzip"}, gzip.compress(lines)
    )
    with runner(server) as r:
        result = r.run({"method": "GET", "api": "export", "relative_url": "",
                        "query": {"from_date": "2024-01-01", "to_date": "2024-01-01"}})  # fmt: skip
    assert server.received[0].header("Accept-Encoding") == "gzip"
    assert result.body == [{"event": "a", "properties": {}}, {"event": "b", "properties": {}}]


def test_export_writes_decoded_lines_to_a_file(server: ScriptedServer, tmp_path: Any) -> None:
    lines = b"".join(b'{"event":"e%d","properties":{}}\n' % i for i in range(2000))
    server.handler = lambda req: Reply(
        200, {"Content-Type": "text/plain", "Content-Encoding": "gzip"}, gzip.compress(lines)
    )
    out = tmp_path / "export.jsonl"
    with runner(server) as r:
        result = r.run({"method": "GET", "api": "export", "relative_url": "?from_date=2024-01-01"},
                       output=out)  # fmt: skip
    assert out.read_bytes() == lines
    assert result.body_bytes == len(lines)


def test_a_caller_accept_encoding_wins_on_export(server: ScriptedServer) -> None:
    with runner(server) as r:
        r.run({"method": "GET", "api": "export", "relative_url": "",
               "headers": {"Accept-Encoding": "identity"}})  # fmt: skip
    assert server.received[0].header("Accept-Encoding") == "identity"


def test_other_endpoints_do_not_ask_for_gzip() -> None:
    req = build_request({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"},
                        credentials=Credentials.build(api_secret="x"))  # fmt: skip
    assert "Accept-Encoding" not in req.headers
