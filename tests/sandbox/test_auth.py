"""The sandbox checks credentials as Mixpanel does: each rule accepts the right one and refuses the rest."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Optional

import pytest
import requests
from sandbox_helpers import NOW, TODAY, basic, plain

from mp_custom_action.sandbox import DEMO_CREDENTIALS, Sandbox

C = DEMO_CREDENTIALS
PID = C["project_id"]
KINDS = {
    "service_account": basic(C["username"], C["secret"]),
    "secret": basic(C["api_secret"]),
    "token": basic(C["token"]),
}
LOOKUP_ID = "5a4d1b0e-5a4d-4b0e-8a4d-5a4d1b0e0001"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    accepts: tuple[str, ...]
    project_id: bool  # does a service account need ?project_id=
    style: str = "classic"
    params: dict[str, Any] = field(default_factory=dict)
    json: Any = None
    data: Optional[bytes] = None
    headers: dict[str, str] = field(default_factory=dict)


ENDPOINTS = (
    Endpoint(
        "import",
        "POST",
        "/import",
        ("service_account", "secret", "token"),
        True,
        params={"strict": "1"},
        json=[{"event": "e", "properties": {"time": NOW, "distinct_id": "u", "$insert_id": "i1"}}],
    ),
    Endpoint("lookup-list", "GET", "/lookup-tables", ("service_account",), True),
    Endpoint(
        "lookup-replace",
        "PUT",
        f"/lookup-tables/{LOOKUP_ID}",
        ("service_account", "secret"),
        True,
        data=b"id,name\n1,a\n",
        headers={"Content-Type": "text/csv"},
    ),
    Endpoint("query", "GET", "/api/2.0/events/names", ("service_account", "secret"), True),
    Endpoint(
        "export",
        "GET",
        "/api/2.0/export",
        ("service_account", "secret"),
        True,
        params={"from_date": TODAY, "to_date": TODAY},
    ),
    Endpoint(
        "pipelines",
        "GET",
        "/api/2.0/nessie/pipeline/jobs",
        ("service_account", "secret"),
        True,
        "app",
    ),
    Endpoint(
        "lexicon", "GET", f"/api/app/projects/{PID}/schemas", ("service_account",), False, "app"
    ),
    Endpoint(
        "connectors",
        "GET",
        f"/api/app/projects/{PID}/warehouse-sources",
        ("service_account",),
        False,
        "app",
    ),
)
IDS = [e.name for e in ENDPOINTS]


@pytest.fixture(scope="module")
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def call(
    http: requests.Session,
    sb: Sandbox,
    ep: Endpoint,
    authorization: Optional[str],
    *,
    project_id: Any = PID,
) -> requests.Response:
    params = dict(ep.params)
    if project_id is not None:
        params["project_id"] = project_id
    headers = dict(ep.headers)
    if authorization is not None:
        headers["Authorization"] = authorization
    return http.request(
        ep.method, sb.origin + ep.path, params=params, headers=headers, json=ep.json, data=ep.data
    )


def assert_error_shape(answer: requests.Response, ep: Endpoint) -> None:
    body = answer.json()
    if ep.style == "app":
        assert body["status"] == "error" and isinstance(body["error"], str)
    else:
        assert body["code"] == answer.status_code and isinstance(body["error"], str)
        assert body["status"] == HTTPStatus(answer.status_code).phrase


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_each_credential_kind_is_accepted_or_refused_with_401(
    http: requests.Session, sb: Sandbox, ep: Endpoint, kind: str
) -> None:
    answer = call(http, sb, ep, KINDS[kind])
    if kind in ep.accepts:
        assert answer.status_code == 200, answer.text
    else:
        assert answer.status_code == 401, answer.text
        assert_error_shape(answer, ep)
        assert "not accepted here" in answer.json()["error"]


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_the_pair_in_plain_text_is_accepted_as_mixpanel_does(
    http: requests.Session, sb: Sandbox, ep: Endpoint
) -> None:
    answer = call(http, sb, ep, plain(C["username"], C["secret"]))
    assert answer.status_code == 200, answer.text


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        basic(C["username"], "wrong-secret"),
        basic("someone-else", C["secret"]),
        basic(C["api_secret"], "not-empty"),
        basic("not-the-secret"),
        plain(C["username"], "wrong"),
        "Basic !!!not-base64!!!",
        "Basic ",
        f"Bearer {C['secret']}",
    ],
    ids=[
        "missing",
        "wrong-secret",
        "wrong-username",
        "secret-with-password",
        "unknown-secret",
        "plain-wrong",
        "bad-base64",
        "empty-basic",
        "bearer",
    ],
)
@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_missing_or_wrong_values_get_401_in_the_familys_shape(
    http: requests.Session, sb: Sandbox, ep: Endpoint, authorization: Optional[str]
) -> None:
    answer = call(http, sb, ep, authorization)
    assert answer.status_code == 401
    assert_error_shape(answer, ep)
    if authorization is not None:
        assert answer.json()["error"] == "Invalid credentials"


def test_classic_401_body_is_mixpanels(http: requests.Session, sb: Sandbox) -> None:
    answer = call(http, sb, ENDPOINTS[3], basic("nobody", "nothing"))
    assert answer.json() == {"code": 401, "error": "Invalid credentials", "status": "Unauthorized"}


def test_app_api_401_body_is_mixpanels(http: requests.Session, sb: Sandbox) -> None:
    answer = call(http, sb, ENDPOINTS[-1], basic("nobody", "nothing"))
    assert answer.json() == {"status": "error", "error": "Invalid credentials"}


@pytest.mark.parametrize("ep", ENDPOINTS, ids=IDS)
def test_a_service_account_needs_project_id_where_mixpanel_requires_it(
    http: requests.Session, sb: Sandbox, ep: Endpoint
) -> None:
    answer = call(http, sb, ep, KINDS["service_account"], project_id=None)
    if ep.project_id:
        assert answer.status_code == 401
        assert "project_id" in answer.json()["error"]
    else:
        assert answer.status_code == 200


@pytest.mark.parametrize(
    "ep", [e for e in ENDPOINTS if "secret" in e.accepts], ids=lambda e: e.name
)
def test_the_project_secret_needs_no_project_id(
    http: requests.Session, sb: Sandbox, ep: Endpoint
) -> None:
    assert call(http, sb, ep, KINDS["secret"], project_id=None).status_code == 200


@pytest.mark.parametrize("ep", [e for e in ENDPOINTS if e.project_id], ids=lambda e: e.name)
def test_another_projects_id_gets_403_and_a_non_number_400(
    http: requests.Session, sb: Sandbox, ep: Endpoint
) -> None:
    other = call(http, sb, ep, KINDS["service_account"], project_id=PID + 1)
    assert other.status_code == 403
    assert_error_shape(other, ep)
    assert call(http, sb, ep, KINDS["service_account"], project_id="12ab").status_code == 400


@pytest.mark.parametrize("family", ["schemas", "warehouse-sources"])
def test_app_apis_refuse_another_project_in_the_path(
    http: requests.Session, sb: Sandbox, family: str
) -> None:
    auth = {"Authorization": KINDS["service_account"]}
    other = http.get(f"{sb.origin}/api/app/projects/{PID + 1}/{family}", headers=auth)
    assert other.status_code == 403
    assert other.json()["status"] == "error"
    assert http.get(f"{sb.origin}/api/app/projects/abc/{family}", headers=auth).status_code == 404
    # Credentials are checked before the project: a stranger learns nothing about projects.
    stranger = {"Authorization": basic("x", "y")}
    assert (
        http.get(f"{sb.origin}/api/app/projects/{PID + 1}/{family}", headers=stranger).status_code
        == 401
    )


# -- the project token inside the data: /track, /engage, /groups ----------------------------------


def _track(token: Any) -> list[dict[str, Any]]:
    props: dict[str, Any] = {"distinct_id": "u1", "time": NOW}
    if token is not None:
        props["token"] = token
    return [{"event": "Signed up", "properties": props}]


def _engage(token: Any) -> list[dict[str, Any]]:
    update: dict[str, Any] = {"$distinct_id": "u1", "$set": {"plan": "pro"}}
    if token is not None:
        update["$token"] = token
    return [update]


def _groups(token: Any) -> list[dict[str, Any]]:
    update: dict[str, Any] = {"$group_key": "company", "$group_id": "acme", "$set": {"size": 3}}
    if token is not None:
        update["$token"] = token
    return [update]


DATA_TOKEN = [("/track", _track), ("/engage", _engage), ("/groups", _groups)]


@pytest.mark.parametrize(("path", "body"), DATA_TOKEN, ids=[p for p, _ in DATA_TOKEN])
def test_the_right_token_in_the_data_is_accepted(
    http: requests.Session, sb: Sandbox, path: str, body: Any
) -> None:
    answer = http.post(sb.origin + path, json=body(C["token"]))
    assert (answer.status_code, answer.text) == (200, "1")


@pytest.mark.parametrize(
    ("token", "authorization"),
    [
        ("wrong-token", None),
        (None, None),
        ("", None),
        (None, KINDS["service_account"]),
        (None, KINDS["token"]),
        (C["api_secret"], None),
    ],
    ids=[
        "wrong",
        "missing",
        "empty",
        "service-account-header",
        "token-in-header",
        "secret-as-token",
    ],
)
@pytest.mark.parametrize(("path", "body"), DATA_TOKEN, ids=[p for p, _ in DATA_TOKEN])
def test_a_wrong_or_missing_token_in_the_data_gets_401(
    http: requests.Session,
    sb: Sandbox,
    path: str,
    body: Any,
    token: Optional[str],
    authorization: Optional[str],
) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    answer = http.post(sb.origin + path, json=body(token), headers=headers)
    assert answer.status_code == 401
    assert answer.json()["code"] == 401


def test_one_bad_token_in_a_batch_refuses_the_whole_batch(http: requests.Session) -> None:
    with Sandbox() as fresh:
        batch = _track(C["token"]) + _track("wrong")
        assert http.post(fresh.origin + "/track", json=batch).status_code == 401
        assert fresh.state.events() == []


def test_refused_requests_store_nothing(http: requests.Session) -> None:
    with Sandbox() as fresh:
        ep = ENDPOINTS[0]
        for authorization in (None, KINDS["token"] + "x", basic("a", "b")):
            assert call(http, fresh, ep, authorization).status_code == 401
        assert (
            call(http, fresh, ep, KINDS["service_account"], project_id=PID + 1).status_code == 403
        )
        assert fresh.state.events() == []
        assert [r.status for r in fresh.requests] == [401, 401, 401, 403]


def test_custom_credentials_replace_the_demo_ones(http: requests.Session) -> None:
    mine = {"project_id": 7, "username": "me", "secret": "s3", "api_secret": "as", "token": "tk"}
    with Sandbox(credentials=mine) as custom:
        assert custom.credentials == mine
        url = custom.origin + "/api/2.0/events/names"
        assert http.get(url, params={"project_id": 7}, auth=("me", "s3")).status_code == 200
        demo = (C["username"], C["secret"])
        assert http.get(url, params={"project_id": 7}, auth=demo).status_code == 401
