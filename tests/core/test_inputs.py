"""Card inputs: names, methods, headers and bodies, each rejected with the field named."""

from __future__ import annotations

import pytest

from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.request import USER_AGENT, build_request
from mp_custom_action.errors import BodyError, HeaderError, InputError, MethodError

CREDS = Credentials.build(username="u", secret="s", project_id=1, token="t")


def build(**inputs: object):  # type: ignore[no-untyped-def]
    return build_request(
        {"method": "POST", "api": "connectors", "relative_url": "/x", **inputs}, credentials=CREDS
    )


def test_card_names_and_ours_are_both_accepted() -> None:
    card = build_request(
        {"Request Type": "get", "Select API": "Query API", "Relative URL": "/2.0/jql", "Query": {"a": 1},
         "Headers": {"X-Trace": "1"}},
        credentials=CREDS,
    )  # fmt: skip
    ours = build_request(
        {
            "method": "GET",
            "api": "query",
            "relative_url": "/2.0/jql",
            "query": {"a": 1},
            "headers": {"X-Trace": "1"},
        },
        credentials=CREDS,
    )
    assert card.url == ours.url and card.headers == ours.headers


def test_a_field_given_twice_is_an_error() -> None:
    with pytest.raises(InputError, match="method: given twice, as 'method' and 'Request Type'"):
        build_request({"method": "GET", "Request Type": "GET", "api": "query"}, credentials=CREDS)


def test_unknown_input_key_is_named() -> None:
    with pytest.raises(
        InputError, match=r"^Reltive URL: unknown input 'Reltive URL'; accepted: Request Type"
    ):
        build_request({"method": "GET", "api": "query", "Reltive URL": "/x"}, credentials=CREDS)


@pytest.mark.parametrize("missing", ["method", "api"])
def test_method_and_api_are_required(missing: str) -> None:
    inputs = {"method": "GET", "api": "query"}
    del inputs[missing]
    with pytest.raises(InputError, match=f"^{missing}: is required"):
        build_request(inputs, credentials=CREDS)


@pytest.mark.parametrize("method", ["get", "Post", "PUT", "patch", "delete"])
def test_methods_any_case(method: str) -> None:
    assert build(method=method, body=None).method == method.upper()


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS", "TRACE", "CONNECT", "G ET", "", 1])
def test_other_methods_are_rejected(method: object) -> None:
    with pytest.raises((MethodError, InputError), match="method: "):
        build(method=method)


def test_no_body_with_get() -> None:
    with pytest.raises(BodyError, match=r"body: a body is only sent with POST, PUT or PATCH .*GET"):
        build(method="GET", body={"a": 1})


def test_no_body_with_delete_unless_the_endpoint_documents_one() -> None:
    with pytest.raises(BodyError, match="body: DELETE /api/app/x takes no body"):
        build(method="DELETE", body={"a": 1})


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"a": float("nan")}, r"body\.a: NaN and infinity are not valid JSON"),
        ([1, {"b": float("inf")}], r"body\[1\]\.b: NaN and infinity"),
        ({"a": {1, 2}}, r"body\.a: expected a JSON value, got set"),
        ({1: "x"}, "body: object keys must be strings"),
        ("text", "body: expected a JSON object or array"),
        (42, "body: expected a JSON object or array, got int"),
        ({"a": b"bytes"}, r"body\.a: expected a JSON value, got bytes"),
    ],
)
def test_bad_bodies(body: object, message: str) -> None:
    with pytest.raises(BodyError, match=message):
        build(body=body)


def test_deeply_nested_body_is_an_error_not_a_crash() -> None:
    deep: object = 1
    for _ in range(300):
        deep = [deep]
    with pytest.raises(BodyError, match="nested more than 200 levels"):
        build(body=deep)


def test_json_body_is_compact_utf8_with_content_type() -> None:
    req = build(body={"name": "café", "n": [1, 2]})
    assert req.body == '{"name":"café","n":[1,2]}'.encode()
    assert req.headers["Content-Type"] == "application/json"


def test_every_request_names_us_in_user_agent() -> None:
    assert build().headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("mp-custom-action/")


def test_caller_headers_are_added() -> None:
    req = build(headers={"X-Request-Id": "abc", "Accept-Language": "en", "X-N": 5})
    assert req.headers["X-Request-Id"] == "abc"
    assert req.headers["X-N"] == "5"


@pytest.mark.parametrize(
    "name",
    ["Authorization", "authorization", "Proxy-Authorization", "Cookie", "Host", "Content-Length",
     "Transfer-Encoding", "Connection",
     "Keep-Alive", "Proxy-Connection", "TE", "Trailer", "Upgrade", "Expect"],
)  # fmt: skip
def test_connector_owned_headers_are_refused(name: str) -> None:
    with pytest.raises(HeaderError, match=f"headers.{name}: is set by the connector"):
        build(headers={name: "x"})


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({"X-A": "a\r\nInjected: 1"}, "value must not contain CR, LF or NUL"),
        ({"X-A": "a\nb"}, "value must not contain CR, LF or NUL"),
        ({"X-A": "a\x00"}, "value must not contain CR, LF or NUL"),
        ({"X-A": "café"}, "value must be ASCII"),
        ({"X A": "1"}, "not a valid HTTP header name"),
        ({"X-A\r\n": "1"}, "not a valid HTTP header name"),
        ({"Ünï": "1"}, "not a valid HTTP header name"),
        ({"": "1"}, "not a valid HTTP header name"),
        ({"X-A": None}, "expected a string value, got NoneType"),
        ({"X-A": ["1"]}, "expected a string value, got list"),
        ({"X-A": "1", "x-a": "2"}, "given twice"),
        (["X-A"], "expected an object of name/values"),
    ],
)
def test_bad_headers(headers: object, message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        build(headers=headers)


def test_unknown_api_is_named_under_the_callers_prefix() -> None:
    from mp_custom_action.errors import UnknownApiError

    with pytest.raises(UnknownApiError, match=r"^steps\[2\]\.call\.api: expected one of") as info:
        build_request(
            {"method": "GET", "api": "nope"}, credentials=CREDS, field_prefix="steps[2].call."
        )
    assert info.value.field == "steps[2].call.api"
