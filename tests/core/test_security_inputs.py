"""Hostile card inputs, property-based: a clean refusal or a request that stays home, always.

Every example either raises our input or credential error (one line, no credential in it or in
anything chained to it) or builds a request whose host is exactly the resolved Mixpanel host (or
the explicit origin) and whose path stays under the API's base path as urllib.parse, urllib3 and
requests' request line each read it. Any other exception fails the example.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import hypothesis_profiles
import pytest
from hostile import (
    CREDENTIALS,
    apis,
    assert_clean_refusal,
    assert_no_leak,
    assert_stays_home,
    attack_url,
    bodies,
    card_inputs,
    expected_base,
    header_maps,
    methods,
    origins,
    query_objects,
    regions,
    relative_urls,
)
from hypothesis import given, settings
from hypothesis import strategies as st
from loopback import ScriptedServer

from mp_custom_action import Runner
from mp_custom_action.core.request import OutgoingRequest
from mp_custom_action.core.urls import split_relative_url, validate_origin
from mp_custom_action.errors import InputError, MpError, OriginError, RelativeUrlError

API_NAMES = ["ingestion", "query", "lexicon", "export", "pipelines", "connectors"]
LOOPBACK = "http://127.0.0.1:8080"


def runner(**options: Any) -> Runner:
    return Runner(**{**CREDENTIALS, "env": {}, "retries": 0, **options})


RUNNERS = {
    (region, origin): runner(region=region, origin=origin)
    for region in ("us", "eu", "in")
    for origin in (None, LOOPBACK)
}


def prepare_or_refuse(r: Runner, inputs: Any) -> OutgoingRequest | None:
    """The built request, or ``None`` after checking the refusal is clean."""
    try:
        req = r.prepare(inputs)
    except MpError as exc:
        assert_clean_refusal(exc)
        return None
    assert_stays_home(req, r.origin)
    return req


# -- the whole card ----------------------------------------------------------------------------------


@given(
    inputs=card_inputs(),
    region=st.sampled_from(["us", "eu", "in"]),
    origin=st.sampled_from([None, LOOPBACK]),
)
def test_card_inputs_are_refused_cleanly_or_stay_home(
    inputs: Any, region: str, origin: str | None
) -> None:
    prepare_or_refuse(RUNNERS[(region, origin)], inputs)


@given(
    method=methods(),
    api=apis(),
    relative_url=relative_urls(),
    query=query_objects(),
    headers=header_maps(),
    body=bodies(),
    region=regions(),
)
def test_each_field_hostile_under_card_names(
    method: Any, api: Any, relative_url: Any, query: Any, headers: Any, body: Any, region: Any
) -> None:
    card = {
        "Request Type": method,
        "Select API": api,
        "Relative URL": relative_url,
        "Query": query,
        "Headers": headers,
        "Body": body,
        "region": region,
    }
    prepare_or_refuse(RUNNERS[("us", None)], card)


# -- one field at a time, everything else valid --------------------------------------------------------


@given(
    relative_url=relative_urls(),
    api=st.sampled_from(API_NAMES),
    region=st.sampled_from(["us", "eu", "in"]),
    origin=st.sampled_from([None, LOOPBACK]),
)
def test_relative_urls_never_leave_the_base(
    relative_url: Any, api: str, region: str, origin: str | None
) -> None:
    method = "POST" if api == "ingestion" else "GET"
    body = [{"event": "e"}] if api == "ingestion" else None
    inputs = {"method": method, "api": api, "relative_url": relative_url, "body": body}
    prepare_or_refuse(RUNNERS[(region, origin)], inputs)


@given(relative_url=attack_url())
def test_attack_forms_are_refused_or_stay_literal(relative_url: str) -> None:
    """An attack form may pass only if what is sent is a harmless literal path under the base."""
    try:
        path, _ = split_relative_url(relative_url)
    except RelativeUrlError as exc:
        assert_clean_refusal(exc)
        return
    except InputError as exc:  # a bad query string in it
        assert_clean_refusal(exc)
        return
    req = prepare_or_refuse(
        RUNNERS[("eu", None)], {"method": "GET", "api": "query", "relative_url": relative_url}
    )
    assert req is not None
    assert urlsplit(req.url).path == "/api" + (path if path != "/" else "")


@given(query=query_objects())
def test_query_objects_cannot_change_the_path_or_host(query: Any) -> None:
    inputs = {"method": "GET", "api": "query", "relative_url": "/2.0/jql", "query": query}
    req = prepare_or_refuse(RUNNERS[("us", None)], inputs)
    if req is not None:
        assert urlsplit(req.url).path == "/api/2.0/jql"


@given(headers=header_maps())
def test_header_maps_cannot_inject_or_replace_owned_headers(headers: Any) -> None:
    inputs = {"method": "GET", "api": "query", "relative_url": "/x", "headers": headers}
    req = prepare_or_refuse(RUNNERS[("us", None)], inputs)
    if req is not None:
        wire = req.wire_headers()
        assert wire["User-Agent"].startswith("mp-custom-action/")
        assert sum(1 for k in wire if k.lower() == "authorization") == 1


@given(body=bodies(), method=st.sampled_from(["POST", "PUT", "PATCH", "GET", "DELETE"]))
def test_bodies_are_json_or_refused(body: Any, method: str) -> None:
    import json

    inputs = {"method": method, "api": "connectors", "relative_url": "/projects/1/x", "body": body}
    req = prepare_or_refuse(RUNNERS[("us", None)], inputs)
    if req is not None and req.body is not None:
        assert json.loads(req.body) == json.loads(json.dumps(body))


@given(origin=origins())
def test_origins_are_refused_or_one_clean_loopback_or_https_origin(origin: Any) -> None:
    try:
        clean = validate_origin(origin)
    except OriginError as exc:
        assert_clean_refusal(exc)
        return
    if clean is None:
        assert origin in (None, "")
        return
    parts = urlsplit(clean)
    assert clean == f"{parts.scheme}://{parts.netloc}"
    assert parts.username is None and parts.password is None and "@" not in clean
    assert (
        parts.scheme == "https"
        or parts.hostname in ("localhost", "::1")
        or (parts.hostname or "").startswith("127.")
    )
    r = runner(origin=origin)
    req = prepare_or_refuse(r, {"method": "GET", "api": "query", "relative_url": "/x"})
    assert req is not None
    assert req.url.startswith(clean + "/api/x")


# -- sent for real: what a server on the other end of a socket sees --------------------------------------


@pytest.fixture(scope="module")
def module_server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@settings(max_examples=hypothesis_profiles.SOCKET_EXAMPLES)
@given(inputs=card_inputs())
def test_what_the_server_receives_stays_under_the_base(
    module_server: ScriptedServer, inputs: Any
) -> None:
    with runner(origin=module_server.origin) as r:
        try:
            req = r.prepare(inputs)
        except MpError as exc:
            assert_clean_refusal(exc)
            return
        before = len(module_server.received)
        result = r.send(req)
    assert result.status_code == 200
    received = module_server.received[before:]
    assert len(received) == 1
    got = received[0]
    base_path = urlsplit(expected_base(req, module_server.origin)).path
    assert got.path == base_path or got.path.startswith(base_path + "/"), got.target
    assert got.header("Host") == urlsplit(module_server.origin).netloc
    assert got.method == req.method
    assert_no_leak(repr(result), result.url)


# -- a fixed table of attack forms, each refused whatever the draw ----------------------------------

MUST_REFUSE = [
    "https://evil.example/x", "HTTPS://evil.example", " https://evil.example", "\thttp://evil.example",
    "\u3000https://evil.example", "javascript:alert(1)", "//evil.example/x", "///evil.example",
    "/\\evil.example", "\\\\evil.example", "/x@evil.example", "/%40evil.example", "/x%2540evil",
    "/user:pw@evil.example", "/..", "/../x", "/x/../../y", "/x/.", "/%2e%2e/x", "/%2E%2e/x",
    "/%252e%252e/x", "/%25252e%25252e/x", "/x/..%2fy", "/x/%2e%2e%5cy", "/x\\..\\y",
    "/x/\u2025/y", "/x/\uff0e\uff0e/y", "/x/\ufe52\ufe52/y", "/x/%E2%80%A5/y", "/x/%EF%BC%8E%EF%BC%8E/y",
    "/x\uff0fy", "/x\ufe68y", "/x\uff20evil", "/x\ufe6bevil", "/\uff0f\uff0fevil.example",
    "/x/\uff05\u0032e\uff05\u0032e/y", "/x\r\nHost: evil.example", "/x\ny", "/x\x00y", "/x%00y",
    "/x%0d%0aHost:%20evil", "/x%250d%250a", "/x\x7f", "/x\u2028y", "/x\x85y",
]  # fmt: skip


@pytest.mark.parametrize("relative_url", MUST_REFUSE)
def test_known_attack_forms_are_refused(relative_url: str) -> None:
    for api in API_NAMES:
        with pytest.raises(InputError) as info:
            RUNNERS[("us", None)].prepare(
                {"method": "GET", "api": api, "relative_url": relative_url}
            )
        assert_clean_refusal(info.value)


# -- regressions: defects this suite found --------------------------------------------------------------


def test_a_key_holding_a_newline_cannot_forge_a_second_line_of_error() -> None:
    """Found by test_query_objects_...: the JSON path in a message quoted the caller's key raw."""
    forged = "k\r\nmp-custom-action: error: all is well\x1f"
    with pytest.raises(InputError) as info:
        RUNNERS[("us", None)].prepare(
            {"method": "GET", "api": "query", "relative_url": "/x", "query": {forged: float("nan")}}
        )
    assert_clean_refusal(info.value)
    assert str(info.value).startswith("query.k\\r\\nmp-custom-action: error: all is well\\x1f: ")
    assert info.value.field == f"query.{forged}", "the field itself stays the caller's key"


@pytest.mark.parametrize(
    "origin",
    [
        "https://\uff45\uff56\uff49\uff4c.example",
        "http://\uff11\uff12\uff17.0.0.1",
        "https://ex ample.com",
    ],
)
def test_an_origin_host_must_be_plain_ascii(origin: str) -> None:
    """Found by test_origins_...: a full-width host passed the check, and urllib3 (IDNA) would
    have connected to the ASCII host it normalises to, which the check never saw."""
    with pytest.raises(OriginError, match="must be an ASCII host name"):
        validate_origin(origin)


@pytest.mark.parametrize(
    "inputs",
    [
        {"method": "POST", "api": "connectors", "relative_url": "/x", "body": ["\ud800"]},
        {"method": "POST", "api": "connectors", "relative_url": "/x", "body": {"\udc00": 1}},
        {
            "method": "PUT",
            "api": "ingestion",
            "relative_url": "/lookup-tables/t",
            "body": "a,\ud800",
        },
        {"method": "GET", "api": "query", "relative_url": "/x\ud800"},
        {"method": "GET", "api": "query", "relative_url": "/x?a=\ud800"},
        {"method": "GET", "api": "query", "relative_url": "/x", "query": {"a": "\ud800"}},
        {"method": "GET", "api": "query", "relative_url": "/x", "query": {"\ud800": "a"}},
        {"method": "GET", "api": "query", "relative_url": "/x", "query": {"a": {"b": "\ud800"}}},
    ],
)
def test_a_lone_surrogate_is_an_input_error_not_a_crash(inputs: dict[str, Any]) -> None:
    """Found by test_bodies_...: JSON's "\\ud800" escape parses to a string UTF-8 cannot encode;
    it raised UnicodeEncodeError (exit 1, "internal error") instead of an input error."""
    with pytest.raises(InputError, match="lone surrogate") as info:
        RUNNERS[("us", None)].prepare(inputs)
    assert_clean_refusal(info.value)


def test_a_query_value_nested_past_the_recursion_limit_is_an_input_error() -> None:
    from hostile import deep

    with pytest.raises(InputError, match="nested too deeply") as info:
        RUNNERS[("us", None)].prepare(
            {"method": "GET", "api": "query", "relative_url": "/x", "query": {"where": deep(5001)}}
        )
    assert_clean_refusal(info.value)
