"""Base URL per API and region, relative URL joining, and the rules that keep requests home."""

from __future__ import annotations

import pytest

from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.request import build_request
from mp_custom_action.core.urls import split_relative_url, validate_origin
from mp_custom_action.errors import (
    OriginError,
    QueryError,
    RelativeUrlError,
    UnknownApiError,
    UnknownRegionError,
)

SA = Credentials.build(username="sa.user", secret="sa-secret", token="tok", project_id=12345)

EXPECTED_BASES = {
    ("ingestion", "us"): "https://api.mixpanel.com",
    ("ingestion", "eu"): "https://api-eu.mixpanel.com",
    ("ingestion", "in"): "https://api-in.mixpanel.com",
    ("query", "us"): "https://mixpanel.com/api",
    ("query", "eu"): "https://eu.mixpanel.com/api",
    ("query", "in"): "https://in.mixpanel.com/api",
    ("lexicon", "us"): "https://mixpanel.com/api/app/projects",
    ("lexicon", "eu"): "https://eu.mixpanel.com/api/app/projects",
    ("lexicon", "in"): "https://in.mixpanel.com/api/app/projects",
    ("export", "us"): "https://data.mixpanel.com/api/2.0/export",
    ("export", "eu"): "https://data-eu.mixpanel.com/api/2.0/export",
    ("export", "in"): "https://data-in.mixpanel.com/api/2.0/export",
    ("pipelines", "us"): "https://data.mixpanel.com/api/2.0/nessie",
    ("pipelines", "eu"): "https://data-eu.mixpanel.com/api/2.0/nessie",
    ("pipelines", "in"): "https://data-in.mixpanel.com/api/2.0/nessie",
    ("connectors", "us"): "https://mixpanel.com/api/app",
    ("connectors", "eu"): "https://eu.mixpanel.com/api/app",
    ("connectors", "in"): "https://in.mixpanel.com/api/app",
}


def url(api: str, relative_url: str, region: str = "us", **inputs: object) -> str:
    method = "POST" if api == "ingestion" else "GET"
    body = (
        {"body": [{"event": "e", "properties": {"distinct_id": "u"}}]} if api == "ingestion" else {}
    )
    req = build_request(
        {"method": method, "api": api, "relative_url": relative_url, **body, **inputs},
        credentials=SA,
        region=region,
    )
    return req.url.replace("project_id=12345", "").rstrip("?&")


@pytest.mark.parametrize(("api", "region"), sorted(EXPECTED_BASES))
def test_every_api_and_region_has_its_base_url(api: str, region: str) -> None:
    base = EXPECTED_BASES[(api, region)]
    assert url(api, "/x/y", region) == base + "/x/y"
    # "/" and "" address the base itself, with no slash added (how Export is called).
    assert url(api, "/", region) == base
    assert url(api, "", region) == base


@pytest.mark.parametrize(
    ("spelling", "region"),
    [("us", "us"), ("US", "us"), ("standard", "us"), ("Standard", "us"), (None, "us"),
     ("eu", "eu"), (" EU ", "eu"), ("in", "in"), ("india", "in"), ("India", "in")],
)  # fmt: skip
def test_region_spellings(spelling: str | None, region: str) -> None:
    assert url("query", "/2.0/jql", spelling) == EXPECTED_BASES[("query", region)] + "/2.0/jql"  # type: ignore[arg-type]


def test_unknown_region_names_the_field_and_choices() -> None:
    with pytest.raises(
        UnknownRegionError, match=r"^region: expected one of us \(standard\), eu, in"
    ):
        url("query", "/2.0/jql", "mars")


@pytest.mark.parametrize(
    "name",
    ["Ingestion API", "Query API", "Lexicon Schemas API", "Raw Data Export API",
     "Data Pipelines API", "Connectors API", "QUERY", "query api", "ExPoRt"],
)  # fmt: skip
def test_card_display_names_and_any_case(name: str) -> None:
    build_request({"method": "GET", "api": name, "relative_url": "/1"}, credentials=SA)


def test_unknown_api_lists_the_selectors() -> None:
    with pytest.raises(UnknownApiError, match="api: expected one of connectors, export, ingestion"):
        build_request(
            {"method": "GET", "api": "Feature Flags", "relative_url": "/"}, credentials=SA
        )


def test_worked_example_from_the_card() -> None:
    assert url("query", "/2.0/jql", "eu") == "https://eu.mixpanel.com/api/2.0/jql"
    assert url("lexicon", "/12345/schemas") == "https://mixpanel.com/api/app/projects/12345/schemas"


def test_fragment_names_the_operation_and_is_never_sent() -> None:
    assert url("ingestion", "/engage#profile-set") == "https://api.mixpanel.com/engage"
    assert url("ingestion", "/groups#group-set") == "https://api.mixpanel.com/groups"


def test_export_with_only_a_query_string() -> None:
    got = url("export", "?from_date=2024-01-01&to_date=2024-01-31", "eu")
    assert (
        got == "https://data-eu.mixpanel.com/api/2.0/export?from_date=2024-01-01&to_date=2024-01-31"
    )


def test_path_characters_are_encoded_and_escapes_kept() -> None:
    assert url("query", "/2.0/events/properties/Signed up") == (
        "https://mixpanel.com/api/2.0/events/properties/Signed%20up"
    )
    assert url("query", "/a%20b/c%2fd") == "https://mixpanel.com/api/a%20b/c%2Fd"
    assert url("query", "/100%") == "https://mixpanel.com/api/100%25"
    assert url("query", "/café") == "https://mixpanel.com/api/caf%C3%A9"


def test_query_object_merges_with_the_relative_urls_query() -> None:
    got = url(
        "query", "/2.0/events?type=general", query={"event": ["a b", "c"], "limit": 5, "flag": True}
    )
    assert (
        got
        == "https://mixpanel.com/api/2.0/events?type=general&event=a%20b&event=c&limit=5&flag=true"
    )


def test_same_key_same_value_is_sent_once() -> None:
    got = url("query", "/2.0/events?type=general", query={"type": "general"})
    assert got == "https://mixpanel.com/api/2.0/events?type=general"


def test_same_key_different_values_is_an_error() -> None:
    with pytest.raises(QueryError, match=r"^query\.type: 'type' is in both the relative URL"):
        url("query", "/2.0/events?type=general", query={"type": "unique"})


def test_a_query_key_in_both_places_quotes_neither_value() -> None:
    # Either value may be a secret (an api_key, a signed token): the message names the key only.
    with pytest.raises(QueryError) as info:
        url("query", "/2.0/events?api_key=from-url-s3cret", query={"api_key": "from-object-s3cret"})
    assert "s3cret" not in str(info.value)
    assert "'api_key' is in both the relative URL and the Query object" in str(info.value)


def test_nested_query_values_go_as_compact_json_and_none_is_dropped() -> None:
    got = url("export", "", query={"event": [["a", "b"]], "where": {"x": 1}, "skip": None})
    assert got.endswith("?event=%5B%22a%22%2C%22b%22%5D&where=%7B%22x%22%3A1%7D")


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ([1, 2], "query: expected an object of key/values, got list"),
        ({"n": float("nan")}, "query.n: expected a finite number"),
        ({"s": {1, 2}}, "query.s: expected a string, number, boolean, list or object, got set"),
        ({"l": [1, object()]}, r"query.l\[1\]: expected a string"),
    ],
)
def test_bad_query_objects(query: object, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        url("query", "/x", query=query)


def test_service_account_adds_project_id_unless_given() -> None:
    req = build_request({"method": "GET", "api": "query", "relative_url": "/x"}, credentials=SA)
    assert req.url.endswith("/api/x?project_id=12345")
    req = build_request(
        {"method": "GET", "api": "query", "relative_url": "/x?project_id=777"}, credentials=SA
    )
    assert req.url.endswith("/api/x?project_id=777")


REJECTED = [
    ("//evil.example/x", "must not start with '//'"),
    ("https://evil.example/x", "absolute URLs are not allowed"),
    ("HTTPS://evil.example/x", "absolute URLs are not allowed"),
    ("javascript:alert(1)", "absolute URLs are not allowed"),
    ("  https://evil.example", "must not start with whitespace"),
    ("\thttps://evil.example", "control characters"),
    ("evil.example/x", "must start with '/'"),
    ("/x@evil.example", "must not contain '@'"),
    ("/x%40evil.example", "also percent-encoded"),
    ("/x\\evil", "backslash"),
    ("/a/../b", r"'\.' or '\.\.' path segments"),
    ("/a/./b", r"'\.' or '\.\.' path segments"),
    ("/..", r"'\.' or '\.\.' path segments"),
    ("/a/%2e%2e/b", r"'\.' or '\.\.' path segments"),
    ("/a/%2E%2E/b", r"'\.' or '\.\.' path segments"),
    ("/a/%252e%252e/b", r"'\.' or '\.\.' path segments"),
    ("/a/..%2fb", r"'\.' or '\.\.' path segments"),
    ("/a/%2e%2e%5cb", r"'\.' or '\.\.' path segments"),
    ("/a\r\nHost: evil", "control characters"),
    ("/a\x00b", "control characters"),
    ("/a%0d%0ab", "control characters"),
    ("/a\uff0f..\uff0fb", "looks like '/'"),
    ("/a\uff0e\uff0e/b", "looks like '.'"),
    (42, "expected a string"),
]


@pytest.mark.parametrize(("relative_url", "message"), REJECTED)
def test_relative_urls_that_could_leave_the_base_are_rejected(
    relative_url: object, message: str
) -> None:
    with pytest.raises(RelativeUrlError, match=f"^relative_url: .*{message}"):
        split_relative_url(relative_url)


def test_dots_inside_segments_are_fine() -> None:
    assert split_relative_url("/2.0/a..b/.well/x.")[0] == "/2.0/a..b/.well/x."


def test_at_sign_in_the_query_is_data() -> None:
    assert split_relative_url("/engage?distinct_id=a@b.example")[1] == [
        ("distinct_id", "a@b.example")
    ]


@pytest.mark.parametrize(
    ("origin", "expected"),
    [
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        ("http://localhost:1", "http://localhost:1"),
        ("http://[::1]:9", "http://[::1]:9"),
        ("http://127.9.9.9", "http://127.9.9.9"),
        ("https://mock.example:8443/", "https://mock.example:8443"),
        ("HTTPS://Mock.Example", "https://mock.example"),
    ],
)
def test_valid_origins(origin: str, expected: str) -> None:
    assert validate_origin(origin) == expected


@pytest.mark.parametrize(
    ("origin", "message"),
    [
        ("http://example.com", "plain http is allowed only for loopback"),
        ("http://10.0.0.1:80", "plain http is allowed only for loopback"),
        ("ftp://127.0.0.1", r"expected http\(s\)://host"),
        ("https://u:p@example.com", "user info"),
        ("https://example.com/api", "only scheme://host"),
        ("https://example.com?x=1", "only scheme://host"),
        ("127.0.0.1:80", r"expected http\(s\)://host"),
        (" https://example.com", "whitespace"),
        ("http://127.0.0.1:99999", "not a valid URL"),
    ],
)
def test_bad_origins(origin: str, message: str) -> None:
    with pytest.raises(OriginError, match=f"^origin: .*{message}"):
        validate_origin(origin)


@pytest.mark.parametrize(
    ("api", "path"),
    [("query", "/api"), ("connectors", "/api/app"), ("ingestion", ""), ("lexicon", "/api/app/projects"),
     ("export", "/api/2.0/export"), ("pipelines", "/api/2.0/nessie")],
)  # fmt: skip
def test_origin_keeps_each_apis_path(api: str, path: str) -> None:
    for region in ("us", "eu", "in"):
        req = build_request(
            {"method": "GET", "api": api, "relative_url": "/p", "auth": "service-account"},
            credentials=SA,
            region=region,
            origin="http://127.0.0.1:9",
        )
        assert req.url.split("?")[0] == f"http://127.0.0.1:9{path}/p"


def test_json_array_parameters_as_documented_in_inputs_md() -> None:
    assert url("export", "", query={"event": ["Signed up", "Purchased"]}).endswith(
        "?event=Signed%20up&event=Purchased"
    )
    assert url("export", "", query={"event": [["Signed up", "Purchased"]]}).endswith(
        "?event=%5B%22Signed%20up%22%2C%22Purchased%22%5D"
    )
    assert url("export", "", query={"event": '["Signed up"]'}).endswith(
        "?event=%5B%22Signed%20up%22%5D"
    )
