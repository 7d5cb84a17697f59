"""The endpoint table: facts looked up by the joined URL, the same whichever selector reached it."""

from __future__ import annotations

from pathlib import Path

import pytest

from mp_custom_action.core.apis import CREDENTIAL_KINDS, REGIONS, builtin_registry
from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.endpoints import (
    CSV,
    ENDPOINTS,
    FORM,
    JSON,
    NDJSON,
    PAGING_SESSION_PAGE,
    find_endpoint,
    host_family,
)
from mp_custom_action.core.request import build_request, endpoint_for
from mp_custom_action.errors import CredentialNotAcceptedError, MissingCredentialError

DOCS = Path(__file__).resolve().parents[2] / "docs" / "apis.md"
SA = Credentials.build(username="sa", secret="sa-secret", project_id=7)
SECRET = Credentials.build(api_secret="api-secret")


def row(api: str, method: str, path: str, region: str = "us"):  # type: ignore[no-untyped-def]
    return endpoint_for(builtin_registry.get(api), region, method, path)


@pytest.mark.parametrize("region", REGIONS)
@pytest.mark.parametrize(
    ("a", "b"),
    [
        # Lexicon through its own selector, through connectors, and through query.
        (("lexicon", "/1/schemas"), ("connectors", "/projects/1/schemas")),
        (("lexicon", "/1/schemas"), ("query", "/app/projects/1/schemas")),
        (("connectors", "/data-retrievals/v3.0"), ("query", "/app/data-retrievals/v3.0")),
    ],
)
def test_the_row_depends_on_the_url_not_the_selector(
    region: str, a: tuple[str, str], b: tuple[str, str]
) -> None:
    assert row(a[0], "POST", a[1], region) == row(b[0], "POST", b[1], region)


def test_app_paths_through_query_get_the_app_rule_service_account_only() -> None:
    # The seed sent a project API secret here: 32 App operations are service-account only.
    with pytest.raises(MissingCredentialError, match="needs a service account"):
        build_request(
            {"method": "GET", "api": "query", "relative_url": "/app/projects/1/schemas"},
            credentials=SECRET,
        )
    req = build_request(
        {"method": "GET", "api": "query", "relative_url": "/app/projects/1/schemas"},
        credentials=SA,
    )
    assert req.credential.kind == "service_account"
    assert "project_id" not in req.url, "the project is in the path"


@pytest.mark.parametrize(
    ("api", "method", "path", "accepts", "project_id", "media"),
    [
        ("ingestion", "POST", "/import", ("service_account", "secret", "token_basic", "oauth"),
         "query", (JSON, NDJSON)),
        ("ingestion", "POST", "/track", ("token_data",), "", (JSON, FORM)),
        ("ingestion", "POST", "/engage", ("token_data",), "", (JSON,)),
        ("ingestion", "POST", "/groups", ("token_data",), "", (JSON,)),
        ("ingestion", "GET", "/lookup-tables", ("service_account",), "query", ()),
        ("ingestion", "PUT", "/lookup-tables/abc", ("service_account", "secret"), "query", (CSV,)),
        ("ingestion", "GET", "/flags", ("service_account", "secret", "token_query"), "query", ()),
        ("ingestion", "GET", "/flags/definitions", ("service_account", "secret", "token_query"),
         "query", ()),
        ("query", "POST", "/2.0/jql", ("service_account", "secret"), "query", (FORM,)),
        ("query", "POST", "/query/jql", ("service_account", "secret"), "query", (FORM,)),
        ("query", "POST", "/query/engage", ("service_account", "secret"), "query", (FORM,)),
        ("query", "POST", "/query/cohorts/list", ("service_account", "secret"), "query", ()),
        ("query", "GET", "/query/insights", ("service_account", "secret"), "query", ()),
        ("export", "GET", "", ("service_account", "secret"), "query", ()),
        ("pipelines", "POST", "/pipeline/create", ("service_account", "secret"), "form", (FORM,)),
        ("pipelines", "POST", "/pipeline/resume", ("service_account", "secret"), "form", (FORM,)),
        ("pipelines", "GET", "/pipeline/jobs", ("service_account", "secret"), "query", ()),
        ("lexicon", "POST", "/1/schemas", ("service_account",), "", (JSON,)),
        ("lexicon", "DELETE", "/1/schemas", ("service_account",), "", ()),
        ("connectors", "POST", "/data-retrievals/v3.0", ("oauth",), "", (JSON,)),
        ("connectors", "GET", "/data-deletions/v3.0/abc", ("oauth",), "", ()),
        ("connectors", "DELETE", "/data-deletions/v3.0/abc", ("oauth",), "", ()),
        ("connectors", "DELETE", "/projects/1/warehouse-sources/imports/9", ("service_account",),
         "", (JSON,)),
        ("connectors", "DELETE", "/projects/1/annotations/9", ("service_account",), "", ()),
        ("connectors", "GET", "/organizations/3/service-accounts", ("service_account",), "", ()),
    ],
)  # fmt: skip
def test_rows(
    api: str,
    method: str,
    path: str,
    accepts: tuple[str, ...],
    project_id: str,
    media: tuple[str, ...],
) -> None:
    for region in REGIONS:
        endpoint = row(api, method, path, region)
        assert endpoint.accepts == accepts
        assert endpoint.project_id == project_id
        assert endpoint.body_media(method) == media


def test_facts_beyond_credentials() -> None:
    assert row("ingestion", "POST", "/import").encodings == ("gzip",)
    assert row("query", "POST", "/2.0/jql").encodings == ()
    assert row("export", "GET", "").accept_encoding == "gzip"
    assert row("query", "GET", "/2.0/events/names").accept_encoding == ""
    assert row("query", "POST", "/query/engage").paging == PAGING_SESSION_PAGE
    assert row("query", "POST", "/2.0/engage").paging == PAGING_SESSION_PAGE
    assert row("ingestion", "POST", "/engage").paging == ""
    assert row("connectors", "POST", "/data-retrievals/v3.0").project_token == "query"
    assert row("ingestion", "POST", "/import").deduplicated
    assert not row("query", "POST", "/2.0/jql").deduplicated


def test_every_kind_has_a_place_and_an_auth_value_that_forces_it() -> None:
    from mp_custom_action.core.credentials import AUTH_FOR_KIND
    from mp_custom_action.core.endpoints import PLACEMENT

    assert set(PLACEMENT) == set(CREDENTIAL_KINDS) == set(AUTH_FOR_KIND)
    creds = Credentials.build(username="sa", secret="s", project_id=7, api_secret="a", token="t",
                              oauth_token="o")  # fmt: skip
    cases = {"service_account": ("ingestion", "POST", "/import"), "secret": ("query", "GET", "/x"),
             "token_basic": ("ingestion", "POST", "/import"),
             "token_data": ("ingestion", "POST", "/engage"),
             "token_query": ("ingestion", "GET", "/flags"),
             "oauth": ("connectors", "GET", "/data-retrievals/v3.0/1")}  # fmt: skip
    for kind, (api, method, path) in cases.items():
        inputs = {"method": method, "api": api, "relative_url": path, "auth": AUTH_FOR_KIND[kind]}
        if method == "POST":
            inputs["body"] = [{"event": "e", "properties": {}}]
        req = build_request(inputs, credentials=creds)
        assert req.credential.kind == kind
        place = PLACEMENT[kind]
        auth_header = req.wire_headers().get("Authorization", "")
        assert auth_header.startswith({"basic": "Basic ", "bearer": "Bearer "}.get(place, "~")) == (
            place in ("basic", "bearer")
        )
        assert (req.credential.query_token is not None) == (place == "query" or kind == "oauth")
        assert (req.credential.data_token is not None) == (place == "data")


def test_every_row_is_well_formed() -> None:
    for endpoint in ENDPOINTS:
        assert endpoint.accepts, endpoint
        assert set(endpoint.accepts) <= set(CREDENTIAL_KINDS), endpoint
        assert endpoint.project_id in ("", "query", "form"), endpoint
        assert set(endpoint.media) <= {JSON, NDJSON, FORM, CSV}, endpoint
        assert endpoint.family in ("api", "app", "data"), endpoint
        assert endpoint.summary


def test_each_host_family_ends_with_a_catch_all() -> None:
    for family, host in (("api", "api-eu.mixpanel.com"), ("app", "in.mixpanel.com"),
                         ("data", "data.mixpanel.com")):  # fmt: skip
        assert host_family(f"https://{host}/x") == family
        found = find_endpoint(f"https://{host}/api/2.0/nowhere/known", "PATCH")
        assert found is not None and found.family == family


def test_other_hosts_are_off_the_table() -> None:
    assert find_endpoint("https://example.com/import", "POST") is None
    assert find_endpoint("https://eu.example.mixpanel.com/api/app/x", "GET") is None


def test_a_plugin_selector_on_a_known_host_gets_the_table_row() -> None:
    from mp_custom_action.core.apis import ApiSpec, EndpointRule

    spec = ApiSpec(
        name="my-app",
        display_name="My App",
        base_urls=dict.fromkeys(REGIONS, "https://mixpanel.com/api/app"),
        default=EndpointRule(("secret",)),
    )
    assert endpoint_for(spec, "us", "GET", "/projects/1/schemas").accepts == ("service_account",)
    off = ApiSpec(
        name="off",
        display_name="Off",
        base_urls=dict.fromkeys(REGIONS, "https://other.mixpanel.com/v1"),
        default=EndpointRule(("secret",)),
    )
    assert endpoint_for(off, "us", "GET", "/x").accepts == ("secret",)


def test_oauth_is_refused_where_the_endpoint_takes_none() -> None:
    creds = Credentials.build(oauth_token="oauth-value")
    with pytest.raises(CredentialNotAcceptedError, match="does not accept auth='oauth'"):
        build_request(
            {"method": "GET", "api": "query", "relative_url": "/2.0/events", "auth": "oauth"},
            credentials=creds,
        )


# -- docs/apis.md: its table of credentials per endpoint is checked against ENDPOINTS -------------

_KIND_COLUMNS = ("service_account", "secret", "token_basic", "token_data", "token_query", "oauth")


def _doc_rows() -> dict[str, dict[str, str]]:
    text = DOCS.read_text(encoding="utf-8")
    start = text.index("<!-- endpoint-table -->")
    end = text.index("<!-- /endpoint-table -->")
    rows: dict[str, dict[str, str]] = {}
    lines = [line for line in text[start:end].splitlines() if line.startswith("|")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    for line in lines[2:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells))
    return rows


def test_docs_table_matches_the_code_table() -> None:
    documented = _doc_rows()
    assert len(documented) == len(ENDPOINTS), "one line per row of ENDPOINTS"
    for endpoint in ENDPOINTS:
        key = f"{endpoint.methods_text} `{endpoint.family}` `{endpoint.pattern}`"
        assert key in documented, key
        line = documented[key]
        kinds = tuple(k for k in _KIND_COLUMNS if line[k] == "yes")
        assert set(kinds) == set(endpoint.accepts), key
        assert line["project_id"] == (endpoint.project_id or "-"), key
        media = tuple(m.strip("` ") for m in line["body"].split(",") if m.strip() != "-")
        assert media == endpoint.media, key
        encodings = tuple(e.strip("` ") for e in line["encodings"].split(",") if e.strip() != "-")
        assert encodings == endpoint.encodings, key


def test_every_row_says_where_its_facts_come_from() -> None:
    import inspect

    from mp_custom_action.core import endpoints

    source = inspect.getsource(endpoints)
    table = source[source.index("ENDPOINTS: tuple[Endpoint, ...] = (") : source.index("# fmt: on")]
    rows = 0
    comment = ""
    for line in table.splitlines()[1:]:
        stripped = line.strip()
        if stripped.startswith("#"):
            comment = stripped if not comment.startswith("#") else comment + " " + stripped
        elif stripped.startswith("_row("):
            rows += 1
            assert "[F]" in comment or "[O:" in comment or "our default" in comment, line
        elif not stripped:
            comment = ""
    assert rows == len(ENDPOINTS)
