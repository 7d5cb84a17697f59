"""Which credential each API takes, how it is applied, and that it is never shown."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from mp_custom_action.core.credentials import Credentials, Secret
from mp_custom_action.core.request import build_request
from mp_custom_action.errors import CredentialNotAcceptedError, InputError, MissingCredentialError

SA = {"username": "sa.user", "secret": "sa-secret"}
ALL = Credentials.build(**SA, api_secret="api-secret", token="proj-token", project_id=12345)


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def build(creds: Credentials, method: str, api: str, relative_url: str, **extra: object):  # type: ignore[no-untyped-def]
    return build_request(
        {"method": method, "api": api, "relative_url": relative_url, **extra}, credentials=creds
    )


EVENTS = [{"event": "Signed up", "properties": {"distinct_id": "u1"}}]


@pytest.mark.parametrize(
    ("api", "method", "path", "project_id_in_query"),
    [
        ("query", "GET", "/2.0/events/names", True),
        ("export", "GET", "", True),
        ("pipelines", "GET", "/pipeline/jobs", True),
        ("ingestion", "POST", "/import", True),
        ("ingestion", "GET", "/lookup-tables", True),
        ("lexicon", "GET", "/12345/schemas", False),
        ("connectors", "GET", "/projects/12345/warehouse-sources", False),
    ],
)
def test_service_account_is_preferred_where_accepted(
    api: str, method: str, path: str, project_id_in_query: bool
) -> None:
    extra = {"body": EVENTS} if method == "POST" else {}
    req = build(ALL, method, api, path, **extra)
    assert req.credential.kind == "service_account"
    assert req.wire_headers()["Authorization"] == basic("sa.user", "sa-secret")
    assert ("project_id=12345" in req.url) is project_id_in_query


@pytest.mark.parametrize(("api", "path"), [("query", "/x"), ("export", ""), ("pipelines", "/x")])
def test_api_secret_is_next_with_empty_password(api: str, path: str) -> None:
    creds = Credentials.build(api_secret="api-secret", token="proj-token")
    req = build(creds, "GET", api, path)
    assert req.credential.kind == "secret"
    assert req.wire_headers()["Authorization"] == basic("api-secret", "")
    assert "project_id" not in req.url


def test_service_account_without_project_id_falls_back_to_secret_where_needed() -> None:
    creds = Credentials.build(**SA, api_secret="api-secret")
    assert build(creds, "GET", "query", "/x").credential.kind == "secret"
    # Connectors are scoped by the path: no project_id needed.
    assert (
        build(creds, "GET", "connectors", "/projects/1/warehouse-sources").credential.kind
        == "service_account"
    )


def test_import_takes_the_token_as_basic_username_last() -> None:
    creds = Credentials.build(token="proj-token")
    req = build(creds, "POST", "ingestion", "/import", body=EVENTS)
    assert req.credential.kind == "token_basic"
    assert req.wire_headers()["Authorization"] == basic("proj-token", "")
    assert json.loads(req.body or b"") == EVENTS  # the data is untouched


def test_track_writes_the_token_into_each_event_lacking_one() -> None:
    body = [
        {"event": "a", "properties": {"distinct_id": "u1"}},
        {"event": "b", "properties": {"distinct_id": "u2", "token": "other"}},
        {"event": "c"},
    ]
    req = build(ALL, "POST", "ingestion", "/track", body=body)
    assert req.credential.kind == "token_data"
    assert "Authorization" not in req.wire_headers()
    sent = json.loads(req.body or b"")
    assert [e["properties"].get("token") for e in sent] == ["proj-token", "other", "proj-token"]
    assert body[0]["properties"] == {"distinct_id": "u1"}, "the caller's body is not mutated"
    shown = req.describe()["body"]
    assert shown[0]["properties"]["token"] == "***"
    assert "proj-token" not in json.dumps(req.describe())


@pytest.mark.parametrize("path", ["/engage", "/engage#profile-set", "/groups"])
def test_engage_and_groups_get_dollar_token(path: str) -> None:
    single = {"$distinct_id": "u1", "$set": {"plan": "pro"}}
    req = build(ALL, "POST", "ingestion", path, body=single)
    assert json.loads(req.body or b"") == {**single, "$token": "proj-token"}
    assert req.describe()["body"]["$token"] == "***"


def test_token_endpoints_need_a_json_body() -> None:
    with pytest.raises(InputError, match="body: /track takes the project token inside the data"):
        build(ALL, "POST", "ingestion", "/track")


@pytest.mark.parametrize(
    ("api", "path", "creds", "message"),
    [
        (
            "query",
            "/x",
            {},
            "the Query API \\(/x\\) needs a service account \\(MP_USERNAME and MP_SECRET with MP_PROJECT_ID\\) or a project API secret \\(MP_API_SECRET\\)",
        ),
        ("query", "/x", {"token": "t"}, "needs a service account"),
        (
            "connectors",
            "/x",
            {"api_secret": "s", "token": "t"},
            "the Connectors API \\(/x\\) needs a service account \\(MP_USERNAME and MP_SECRET\\)$",
        ),
        (
            "lexicon",
            "/1/schemas",
            {"api_secret": "s"},
            "the Lexicon Schemas API .* needs a service account",
        ),
        ("ingestion", "/track", {**SA, "project_id": 1}, "needs a project token \\(MP_TOKEN\\)"),
        ("export", "", {**SA}, "needs MP_PROJECT_ID with a service account$"),
    ],
)
def test_missing_credentials_name_the_variables(
    api: str, path: str, creds: dict[str, object], message: str
) -> None:
    with pytest.raises(MissingCredentialError, match=message):
        build(Credentials.build(**creds), "GET", api, path)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("auth", "api", "path", "kind"),
    [
        ("service-account", "query", "/x", "service_account"),
        ("secret", "query", "/x", "secret"),
        ("token", "ingestion", "/import", "token_basic"),
        ("secret", "ingestion", "/import", "secret"),
        ("SERVICE_ACCOUNT", "export", "", "service_account"),
    ],
)
def test_auth_input_forces_a_kind(auth: str, api: str, path: str, kind: str) -> None:
    extra = {"body": EVENTS} if path == "/import" else {}
    method = "POST" if extra else "GET"
    assert build(ALL, method, api, path, auth=auth, **extra).credential.kind == kind


@pytest.mark.parametrize(
    ("auth", "api", "path"),
    [
        ("token", "query", "/x"),
        ("secret", "connectors", "/x"),
        ("service-account", "ingestion", "/track"),
    ],
)
def test_forced_kind_the_api_does_not_take_is_refused(auth: str, api: str, path: str) -> None:
    with pytest.raises(CredentialNotAcceptedError, match=f"does not accept auth='{auth}'"):
        build(ALL, "GET", api, path, auth=auth)


def test_lookup_tables_list_takes_only_a_service_account_and_replace_takes_a_secret_too() -> None:
    creds = Credentials.build(api_secret="api-secret")
    with pytest.raises(MissingCredentialError):
        build(creds, "GET", "ingestion", "/lookup-tables")
    req = build(creds, "PUT", "ingestion", "/lookup-tables/abc", body="id,name\n1,a\n")
    assert req.credential.kind == "secret"
    assert req.headers["Content-Type"] == "text/csv"
    assert req.body == b"id,name\n1,a\n"


def test_unknown_auth_value() -> None:
    with pytest.raises(
        InputError, match="auth: expected one of auto, service-account, secret, token, oauth"
    ):
        build(ALL, "GET", "query", "/x", auth="bearer")


def test_credentials_from_env_and_arguments_win() -> None:
    env = {
        "MP_USERNAME": "env.user",
        "MP_SECRET": "env-secret",
        "MP_PROJECT_ID": "99",
        "MP_TOKEN": "env-token",
    }
    creds = Credentials.build(username="arg.user").over(Credentials.from_env(env))
    assert creds.username == Secret("arg.user")
    assert creds.secret == Secret("env-secret")
    assert creds.project_id == "99"


@pytest.mark.parametrize("bad", ["abc", "-1", "0", "1.5", True])
def test_project_id_must_be_a_positive_integer(bad: object) -> None:
    with pytest.raises(InputError, match="project_id: expected a positive integer"):
        Credentials.build(project_id=bad)


def test_secrets_never_show_in_repr_str_or_format() -> None:
    secret = Secret("hunter2")
    assert "hunter2" not in repr(secret) + str(secret) + f"{secret}" + f"{secret!r}"
    text = repr(ALL)
    for value in ("sa.user", "sa-secret", "api-secret", "proj-token"):
        assert value not in text
    req = build(ALL, "GET", "query", "/x")
    assert "c2EudXNlcjpzYS1zZWNyZXQ" not in repr(req) + json.dumps(req.describe()) + repr(
        req.credential
    )
    import pickle

    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_credential_errors_say_where_the_action_sits() -> None:
    with pytest.raises(
        MissingCredentialError, match=r"^steps\[3\]: the Query API \(/x\) needs"
    ) as info:
        build_request(
            {"method": "GET", "api": "query", "relative_url": "/x"},
            credentials=Credentials.build(),
            field_prefix="steps[3].call.",
        )
    assert info.value.field == "steps[3]"


# -- OAuth bearer token (GDPR; /import) -----------------------------------------------------------


def test_oauth_token_from_the_environment_is_the_bearer_for_gdpr() -> None:
    from mp_custom_action import Runner

    env = {"MP_OAUTH_TOKEN": "oauth-from-env", "MP_TOKEN": "proj-token", "MP_USERNAME": "sa",
           "MP_SECRET": "sa-secret", "MP_PROJECT_ID": "7"}  # fmt: skip
    with Runner(env=env) as runner:
        req = runner.prepare(
            {"method": "GET", "api": "connectors", "relative_url": "/data-retrievals/v3.0/t1"}
        )
        assert req.credential.kind == "oauth", "the only credential GDPR takes"
        assert req.wire_headers()["Authorization"] == "Bearer oauth-from-env"
        text = repr(runner) + repr(runner.credentials) + repr(req) + json.dumps(req.describe())
    assert "oauth-from-env" not in text
    assert "oauth_token" in repr(runner.credentials), "present, by name only"


def test_oauth_is_accepted_on_import_but_a_service_account_comes_first() -> None:
    creds = Credentials.build(**SA, project_id=1, oauth_token="oauth-value")
    assert build(creds, "POST", "ingestion", "/import", body=EVENTS).credential.kind == (
        "service_account"
    )
    forced = build(creds, "POST", "ingestion", "/import", body=EVENTS, auth="oauth")
    assert forced.wire_headers()["Authorization"] == "Bearer oauth-value"
    assert forced.describe()["headers"]["Authorization"] == "Bearer ***"
    assert "project_id" not in forced.url, "project_id goes with a service account only"
    only = Credentials.build(oauth_token="oauth-value")
    assert build(only, "POST", "ingestion", "/import", body=EVENTS).credential.kind == "oauth"


@pytest.mark.parametrize(
    ("api", "path"),
    [("query", "/2.0/events/names"), ("lexicon", "/1/schemas"), ("export", ""),
     ("connectors", "/projects/1/warehouse-sources/imports")],
)  # fmt: skip
def test_a_bearer_token_is_refused_where_the_endpoint_takes_none(api: str, path: str) -> None:
    only = Credentials.build(oauth_token="oauth-value")
    with pytest.raises(MissingCredentialError) as missing:
        build(only, "GET", api, path)
    assert "MP_OAUTH_TOKEN" not in str(missing.value), "the token it has is no use here"
    with pytest.raises(CredentialNotAcceptedError, match="does not accept auth='oauth'"):
        build(only, "GET", api, path, auth="oauth")


def test_gdpr_refuses_every_other_credential() -> None:
    for auth in ("service-account", "secret", "token"):
        with pytest.raises(CredentialNotAcceptedError, match=r"it takes an OAuth token"):
            build(ALL, "POST", "connectors", "/data-deletions/v3.0", body={"x": 1}, auth=auth)
    with pytest.raises(MissingCredentialError, match=r"needs an OAuth token \(MP_OAUTH_TOKEN\)"):
        build(ALL, "GET", "connectors", "/data-deletions/v3.0/t1")


def test_cli_auth_oauth_dry_run_shows_bearer_redacted(monkeypatch: pytest.MonkeyPatch) -> None:
    from cli_helpers import cli

    monkeypatch.setenv("MP_OAUTH_TOKEN", "oauth-cli-value")
    monkeypatch.setenv("MP_TOKEN", "proj-cli-token")
    out = cli("call", "GET", "connectors", "/data-deletions/v3.0/t1", "--auth", "oauth",
              "--dry-run")  # fmt: skip
    assert out.exit_status == 0, out.stderr
    shown = out.json
    assert shown["headers"]["Authorization"] == "Bearer ***"
    assert shown["url"] == "https://mixpanel.com/api/app/data-deletions/v3.0/t1?token=***"
    assert "oauth-cli-value" not in out.stdout + out.stderr
    assert "proj-cli-token" not in out.stdout + out.stderr


def test_cli_repeated_base_path_exits_2_before_sending() -> None:
    from cli_helpers import cli

    out = cli("call", "GET", "query", "/api/2.0/events/names", "--dry-run")
    assert out.exit_status == 2
    assert "did you mean '/2.0/events/names'?" in out.stderr
    out = cli("call", "GET", "export", "/2.0/export")
    assert out.exit_status == 2
    assert "repeats the Raw Data Export API's base path '/api/2.0/export'" in out.stderr


OAUTH = "QZXVoauth+/9=Kx%21~bearer"
PROJECT_TOKEN = "QZXVtoken8e1d%2F+"


@pytest.mark.parametrize(
    ("args", "status"),
    [
        (["--dry-run"], 200),
        ([], 200),
        ([], 500),
        (["--check-status"], 401),
    ],
)
def test_oauth_and_query_token_never_show_in_cli_output_or_logs(
    server: Any, monkeypatch: pytest.MonkeyPatch, args: list[str], status: int
) -> None:
    from cli_helpers import cli
    from hostile import CREDENTIALS, assert_no_leak, secret_forms
    from loopback import Reply

    forms = {
        **secret_forms({**CREDENTIALS, "token": OAUTH}),
        **secret_forms({**CREDENTIALS, "token": PROJECT_TOKEN}),
    }
    server.handler = lambda req: Reply.json({"status": "error", "error": "x"}, status=status)
    monkeypatch.setenv("MP_OAUTH_TOKEN", OAUTH)
    monkeypatch.setenv("MP_TOKEN", PROJECT_TOKEN)
    out = cli("call", "POST", "connectors", "/data-retrievals/v3.0", "--origin", server.origin,
              "--body", '{"distinct_ids": ["u1"]}', "-vv", *args)  # fmt: skip
    assert out.exit_status in (0, 4), out.stderr
    assert_no_leak(out.stdout, out.stderr, forms=forms)
    if "--dry-run" not in args:
        got = server.received[0]
        assert got.header("Authorization") == f"Bearer {OAUTH}"
        assert dict(got.query) == {"token": PROJECT_TOKEN}
