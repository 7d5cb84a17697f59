"""Every preset, every region, every credential its endpoint accepts: the request matches our table.

For each case the preset's example becomes card inputs (``Preset.to_inputs``), the runner builds
the request without sending it (``Runner.prepare``, what ``--dry-run`` prints), and we check
against :mod:`.expectations`, never against the connector's own tables:

* the URL: ``https``, the region's host, the path, and the query (the example's parameters, plus
  ``project_id`` for a service account where the endpoint wants it there, plus ``token`` where
  the project token travels as ``?token=``);
* where the credential went: Basic ``user:secret``, Basic ``secret:``, Basic ``token:``,
  ``Bearer``, ``?token=``, or inside the data, and no other credential anywhere;
* the headers (``Content-Type`` of the media type, none without a body) and the encoded body
  (JSON, form fields with nested values as JSON text, CSV text);
* the dry run itself: the same URL and headers with every credential shown as ``***``.

Every credential is given to the runner, and ``auth`` forces the one under test, so a case also
shows the others stay out of the request.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import parse_qsl, urlsplit

import pytest

from mp_custom_action.core.request import OutgoingRequest
from mp_custom_action.core.runner import Runner
from mp_custom_action.presets.docs import builtin_presets
from mp_custom_action.presets.model import Preset

from .expectations import EXPECTED, FORM, HOSTS, JSON, Expected

USERNAME = "sa.conformance"
SECRET = "sa-secret-7f3e9a"
API_SECRET = "api-secret-5b1c2d"
TOKEN = "projtoken0123abcd"
OAUTH = "oauth-token-9e8d7c"
PROJECT_ID = 4242
SECRETS = (USERNAME, SECRET, API_SECRET, TOKEN, OAUTH)
REGIONS = ("us", "eu", "in")

#: The ``auth`` value that forces each credential kind.
AUTH = {
    "service_account": "service-account",
    "secret": "secret",
    "token_basic": "token",
    "token_data": "token",
    "token_query": "token",
    "oauth": "oauth",
}

PRESETS: dict[str, Preset] = {p.name: p for p in builtin_presets()}
CASES = [
    (name, region, kind)
    for name, expected in EXPECTED.items()
    for region in REGIONS
    for kind in expected.accepts
]


def runner(region: str, kind: str) -> Runner:
    """A runner holding every credential (the OAuth token only when it is the one under test)."""
    credentials: dict[str, Any] = {
        "username": USERNAME,
        "secret": SECRET,
        "api_secret": API_SECRET,
        "token": TOKEN,
        "project_id": PROJECT_ID,
    }
    if kind == "oauth":
        credentials["oauth_token"] = OAUTH
    return Runner(region=region, auth=AUTH[kind], env={}, **credentials)


def prepared(name: str, region: str, kind: str) -> OutgoingRequest:
    preset = PRESETS[name]
    assert preset.example is not None
    r = runner(region, kind)
    return r.prepare(preset.to_inputs(preset.example, project_id=r.credentials.project_id))


def basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def wire_url(request: OutgoingRequest) -> str:
    # The URL as the transport sends it: a project token sent as ?token= is added only there.
    wire = getattr(request, "wire_url", None)
    return wire() if callable(wire) else request.url


# -- what we expect ------------------------------------------------------------------------------


def scalar(value: Any) -> str:
    """A query or form value as Mixpanel reads it: JSON's spelling, nested values as JSON text."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def expected_query(example: Mapping[str, Any], want: Expected, kind: str) -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in (example.get("query") or {}).items():
        values = value if isinstance(value, list) else [value]
        items.extend((key, scalar(v)) for v in values)
    if kind == "service_account" and want.project_id == "query":
        items.append(("project_id", str(PROJECT_ID)))
    if kind == "token_query" or (kind == "oauth" and want.accepts == ("oauth",)):
        items.append(("token", TOKEN))  # flags: the credential; GDPR: beside the bearer
    return sorted(items)


def expected_authorization(kind: str) -> Optional[str]:
    return {
        "service_account": basic(USERNAME, SECRET),
        "secret": basic(API_SECRET),
        "token_basic": basic(TOKEN),
        "oauth": f"Bearer {OAUTH}",
    }.get(kind)


def with_token(body: Any, path: str) -> Any:
    """The records with the project token written in, where the caller gave none."""
    records = body if isinstance(body, list) else [body]
    out = []
    for record in records:
        record = dict(record)
        if path == "/track":
            record["properties"] = {"token": TOKEN, **record.get("properties", {})}
        else:
            record = {"$token": TOKEN, **record}
        out.append(record)
    return out if isinstance(body, list) else out[0]


def expected_form(body: Mapping[str, Any], want: Expected, kind: str) -> dict[str, Any]:
    fields = {key: scalar(value) for key, value in body.items() if value is not None}
    if kind == "service_account" and want.project_id == "form":
        fields["project_id"] = str(PROJECT_ID)
    if kind == "token_data":  # the /track identity forms: the event is the JSON text of data
        fields["data"] = with_token(body["data"], want.path)
    return fields


def decoded_form(raw: bytes, kind: str) -> dict[str, Any]:
    pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    fields: dict[str, Any] = dict(pairs)
    assert len(fields) == len(pairs), "a form field is repeated"
    if kind == "token_data":
        fields["data"] = json.loads(fields["data"])
    return fields


# -- the checks ----------------------------------------------------------------------------------


def test_the_table_covers_every_preset_and_nothing_else() -> None:
    assert sorted(EXPECTED) == sorted(PRESETS)
    assert len(EXPECTED) == 98  # 90 operations of the reference and the seed's eight
    for name, want in EXPECTED.items():
        assert PRESETS[name].method == want.method, name


@pytest.mark.parametrize(("name", "region", "kind"), CASES)
def test_url_credential_headers_and_body(name: str, region: str, kind: str) -> None:
    want = EXPECTED[name]
    example = PRESETS[name].example or {}
    request = prepared(name, region, kind)
    assert request.method == want.method

    url = urlsplit(wire_url(request))
    assert (url.scheme, url.hostname, url.port) == ("https", HOSTS[want.host][region], None)
    assert url.path == want.path
    assert sorted(parse_qsl(url.query, keep_blank_values=True)) == expected_query(
        example, want, kind
    )
    assert url.fragment == ""

    headers = request.wire_headers()
    lower = {k.lower(): v for k, v in headers.items()}
    assert lower.get("authorization") == expected_authorization(kind)
    assert lower["user-agent"].startswith("mp-custom-action/")
    if want.host == "data" and want.path == "/api/2.0/export":
        assert lower.get("accept-encoding") == "gzip"  # Export asks for gzip

    check_body(request, lower, want, example, kind)
    check_no_stray_credential(request, kind)


def check_body(
    request: OutgoingRequest,
    headers: Mapping[str, str],
    want: Expected,
    example: Mapping[str, Any],
    kind: str,
) -> None:
    body = example.get("body")
    if kind == "service_account" and want.project_id == "form" and body is None:
        body = {}  # a pipelines form still carries the service account's project_id
    if not want.media or body is None:
        assert request.body in (None, b""), "a request without a body sends none"
        assert "content-type" not in headers
        return
    assert request.body is not None
    assert headers["content-type"].split(";")[0].strip() == want.media
    if want.media == JSON:
        sent = json.loads(request.body)
        assert sent == (with_token(body, want.path) if kind == "token_data" else body)
    elif want.media == FORM:
        assert decoded_form(request.body, kind) == expected_form(body, want, kind)
    else:  # CSV: the text as given
        assert request.body.decode("utf-8") == body


def check_no_stray_credential(request: OutgoingRequest, kind: str) -> None:
    """Only the credential under test is in the request; the dry run shows none at all."""
    wire = " ".join(
        [wire_url(request), json.dumps(request.wire_headers()), (request.body or b"").decode()]
    )
    used = {
        "service_account": {USERNAME, SECRET},
        "secret": {API_SECRET},
        "token_basic": {TOKEN},
        "token_data": {TOKEN},
        "token_query": {TOKEN},
        "oauth": {OAUTH, TOKEN} if "/v3.0" in request.url else {OAUTH},
    }[kind]
    for value in SECRETS:
        if value in used:
            continue
        assert value not in wire, f"a credential not under test reached the request ({kind})"
        encoded = base64.b64encode(f"{value}:".encode()).decode()[:-4]
        assert encoded not in wire

    shown = json.dumps(request.describe())
    for value in SECRETS:
        assert value not in shown, "a credential appears in the dry run"
    # The Authorization header, where there is one, is shown as "<scheme> ***".
    described = request.describe()
    authorization = {k.lower(): v for k, v in described["headers"].items()}.get("authorization")
    expected = expected_authorization(kind)
    if expected is None:
        assert authorization is None
    else:
        assert authorization == f"{expected.split()[0]} ***"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_dry_run_shows_the_url_with_every_credential_masked(name: str) -> None:
    want = EXPECTED[name]
    kind = want.accepts[-1]  # the last accepted kind: ?token= for flags, the token for /track
    request = prepared(name, "eu", kind)
    shown = request.describe()
    assert shown["method"] == want.method
    shown_url = urlsplit(shown["url"])
    wire = urlsplit(wire_url(request))
    assert (shown_url.hostname, shown_url.path) == (wire.hostname, wire.path)
    masked = [
        (k, "***" if k == "token" and v == TOKEN else v)
        for k, v in parse_qsl(wire.query, keep_blank_values=True)
    ]
    assert sorted(parse_qsl(shown_url.query, keep_blank_values=True)) == sorted(masked)
    if want.media and request.body:
        assert shown["headers"]["Content-Type"].split(";")[0] == want.media
        assert shown["body"] is not None
