"""The sandbox answers Mixpanel's documented paths and wire forms (issue: a drop-in for real clients)."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import NOW, TODAY, event, pid, sa, secret

from mp_custom_action.sandbox import Sandbox
from mp_custom_action.sandbox.claims import CLAIMS

T = 10


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        sandbox.state.add_events(
            [
                event("Signed up", "s1", user="u1"),
                event("Signed up", "s2", user="u2"),
                event("Purchase", "p1", user="u2", amount=5),
            ]
        )
        with sandbox.state.write() as data:
            data.profiles.update(
                {
                    "a": {"plan": "pro", "seats": 5, "email": "a@x"},
                    "b": {"plan": "free", "seats": 1},
                    "c": {"plan": "pro", "seats": 50},
                }
            )
        yield sandbox


def post_form(sb: Sandbox, path: str, form: dict[str, Any], **kw: Any) -> requests.Response:
    return requests.post(sb.origin + path, data=form, timeout=T, **kw)


# -- Query under /api/query, project_id in a form ----------------------------------------------


@pytest.mark.parametrize("prefix", ["/api/query", "/api/2.0"])
def test_query_answers_under_both_documented_prefixes(sb: Sandbox, prefix: str) -> None:
    answer = requests.get(
        sb.origin + prefix + "/segmentation",
        params={**pid(sb), "event": "Signed up", "from_date": TODAY, "to_date": TODAY},
        headers=sa(sb),
        timeout=T,
    )
    assert answer.status_code == 200
    assert answer.json()["data"]["values"] == {"Signed up": {TODAY: 2}}


def test_project_id_in_a_form_body_is_read_as_in_the_query(sb: Sandbox) -> None:
    answer = post_form(sb, "/api/query/engage", {**pid(sb), "page": "0"}, headers=sa(sb))
    assert answer.status_code == 200 and answer.json()["total"] == 3
    assert sb.requests[-1].auth == "service_account"


def test_a_project_id_of_another_project_in_the_form_is_403(sb: Sandbox) -> None:
    answer = post_form(sb, "/api/query/engage", {"project_id": "1"}, headers=sa(sb))
    assert answer.status_code == 403
    assert sb.requests[-1].auth == "refused: service_account for another project"


# -- engage where ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "ids"),
    [
        ('properties["plan"] == "pro"', ["a", "c"]),
        ('properties["plan"] != "pro"', ["b"]),
        ('properties["seats"] >= 5 and properties["seats"] < 50', ["a"]),
        ('defined(properties["email"])', ["a"]),
        ('not defined(properties["email"])', ["b", "c"]),
        ('properties["plan"] == "free" or (properties["seats"] > 10)', ["b", "c"]),
        ('user["plan"] == "pro" and properties["seats"] > "x"', []),  # number vs string: false
        ('properties["seats"] == true', []),  # true is not 1
    ],
)
def test_engage_where_filters_profiles(sb: Sandbox, where: str, ids: list[str]) -> None:
    answer = post_form(sb, "/api/2.0/engage", {**pid(sb), "where": where}, headers=sa(sb))
    assert answer.status_code == 200
    assert [r["$distinct_id"] for r in answer.json()["results"]] == ids


@pytest.mark.parametrize(
    "where",
    ['properties["a"] in ["x"]', 'regex(properties["a"], "x")', '"x" == properties["a"]', "((("],
)
def test_engage_where_beyond_the_subset_is_a_400_saying_so(sb: Sandbox, where: str) -> None:
    answer = post_form(sb, "/api/2.0/engage", {**pid(sb), "where": where}, headers=sa(sb))
    assert answer.status_code == 400
    body = answer.json()
    assert body["status"] == "Bad Request" and "'where'" in body["error"]


def test_engage_takes_a_json_object_body_too(sb: Sandbox) -> None:
    answer = requests.post(
        sb.origin + "/api/query/engage",
        params=pid(sb),
        json={"page": 0, "where": 'properties["plan"] == "pro"'},
        headers=sa(sb),
        timeout=T,
    )
    assert [r["$distinct_id"] for r in answer.json()["results"]] == ["a", "c"]


# -- JQL ------------------------------------------------------------------------------------------


def jql(sb: Sandbox, script: str, params: Any = None) -> requests.Response:
    form = {**pid(sb), "script": script}
    if params is not None:
        form["params"] = json.dumps(params)
    return post_form(sb, "/api/2.0/jql", form, headers=sa(sb))


def test_jql_events_grouped_and_counted(sb: Sandbox) -> None:
    script = (
        "function main() { return Events({from_date: params.d, to_date: params.d})"
        '.groupBy(["name"], mixpanel.reducer.count()); }'
    )
    assert jql(sb, script, {"d": TODAY}).json() == [
        {"key": ["Purchase"], "value": 1},
        {"key": ["Signed up"], "value": 2},
    ]


def test_jql_events_with_selectors_and_reduce(sb: Sandbox) -> None:
    script = (
        f"function main() {{ return Events({{from_date: '{TODAY}', to_date: '{TODAY}', "
        "event_selectors: [{event: 'Signed up'}]}).reduce(mixpanel.reducer.count()); }"
    )
    assert jql(sb, script).json() == [2]


def test_jql_events_listed_and_people_selected(sb: Sandbox) -> None:
    listed = jql(
        sb, f'function main() {{ return Events({{from_date: "{TODAY}", to_date: "{TODAY}"}}); }}'
    ).json()
    assert sorted(e["name"] for e in listed) == ["Purchase", "Signed up", "Signed up"]
    assert all(e["time"] == NOW * 1000 for e in listed)
    people = jql(
        sb,
        "function main() { return People({user_selectors: [{selector: params.s}]})"
        '.groupBy(["properties.plan"], mixpanel.reducer.count()); }',
        {"s": 'properties["seats"] > 2'},
    ).json()
    assert people == [{"key": ["pro"], "value": 2}]


@pytest.mark.parametrize(
    "script",
    [
        "function main() { return Events({}).filter(function(e) { return true; }); }",
        "function main() { return Funnel(); }",
        "var x = 1;",
        "function main() { return People().map(function(u) { return u; }); }",
    ],
)
def test_jql_outside_the_subset_is_a_400_not_emulated(sb: Sandbox, script: str) -> None:
    answer = jql(sb, script)
    assert answer.status_code == 400
    body = answer.json()
    assert body["code"] == 400 and "not emulated" in body["error"]


# -- the official SDKs' forms: verbose=1 and data= in the body ------------------------------------


def sdk_form(records: list[dict[str, Any]]) -> dict[str, str]:
    return {"data": json.dumps(records), "verbose": "1", "ip": "0"}


def test_track_with_verbose_in_the_form_answers_json_status_1(sb: Sandbox) -> None:
    record = {"event": "e", "properties": {"token": sb.credentials["token"], "distinct_id": "x"}}
    answer = post_form(sb, "/track", sdk_form([record]))
    assert answer.json() == {"error": None, "status": 1}
    assert sb.requests[-1].auth == "token"


@pytest.mark.parametrize("path", ["/engage", "/groups"])
def test_profile_updates_with_verbose_in_the_form(sb: Sandbox, path: str) -> None:
    update: dict[str, Any] = {"$token": sb.credentials["token"], "$set": {"n": 1}}
    update.update(
        {"$group_key": "co", "$group_id": "g"} if path == "/groups" else {"$distinct_id": "z"}
    )
    assert post_form(sb, path, sdk_form([update])).json() == {"error": None, "status": 1}


def test_import_with_verbose_answers_what_the_sdk_requires(sb: Sandbox) -> None:
    record = event("Imported", "imp-1")
    answer = post_form(sb, "/import", sdk_form([record]), headers=secret(sb))
    assert answer.json() == {"code": 200, "error": None, "num_records_imported": 1, "status": 1}


def test_a_merge_event_needs_two_distinct_ids_and_no_time(sb: Sandbox) -> None:
    merge = {"event": "$merge", "properties": {"$distinct_ids": ["a", "b"]}}
    answer = requests.post(
        sb.origin + "/import", params={"strict": "1"}, json=[merge], headers=secret(sb), timeout=T
    )
    assert answer.json()["num_records_imported"] == 1
    bad = {"event": "$merge", "properties": {"$distinct_ids": ["a"]}}
    refused = requests.post(
        sb.origin + "/import", params={"strict": "1"}, json=[bad], headers=secret(sb), timeout=T
    )
    assert refused.status_code == 400
    assert refused.json()["failed_records"][0]["field"] == "properties.$distinct_ids"


# -- Accept-Encoding: gzip ------------------------------------------------------------------------


def test_export_is_gzip_when_asked_and_streamed(sb: Sandbox) -> None:
    answer = requests.get(
        sb.origin + "/api/2.0/export",
        params={**pid(sb), "from_date": TODAY, "to_date": TODAY},
        headers={**sa(sb), "Accept-Encoding": "gzip"},
        timeout=T,
        stream=True,
    )
    assert answer.headers["Content-Encoding"] == "gzip"
    assert answer.headers["Transfer-Encoding"] == "chunked"
    raw = answer.raw.read(decode_content=False)
    lines = gzip.decompress(raw).decode().splitlines()
    assert sorted(json.loads(line)["properties"]["$insert_id"] for line in lines) == [
        "p1",
        "s1",
        "s2",
    ]


def test_json_answers_are_gzip_when_asked_and_plain_otherwise(sb: Sandbox) -> None:
    url = sb.origin + "/api/query/events/names"
    packed = requests.get(
        url, params=pid(sb), headers={**sa(sb), "Accept-Encoding": "gzip"}, timeout=T, stream=True
    )
    assert packed.headers["Content-Encoding"] == "gzip"
    assert json.loads(zlib.decompress(packed.raw.read(), 16 + zlib.MAX_WBITS)) == [
        "Signed up",
        "Purchase",
    ]
    plain = requests.get(
        url, params=pid(sb), headers={**sa(sb), "Accept-Encoding": "identity"}, timeout=T
    )
    assert "Content-Encoding" not in plain.headers and plain.json() == ["Signed up", "Purchase"]
    refused = requests.get(
        url, params=pid(sb), headers={**sa(sb), "Accept-Encoding": "gzip;q=0"}, timeout=T
    )
    assert "Content-Encoding" not in refused.headers


# -- pipelines ------------------------------------------------------------------------------------


def test_pipelines_take_project_id_in_the_form_and_timeline_needs_no_name(sb: Sandbox) -> None:
    form = {**pid(sb), "type": "s3-raw", "from_date": "2024-01-01"}
    created = post_form(sb, "/api/2.0/nessie/pipeline/create", form, headers=sa(sb))
    assert created.status_code == 200, created.text
    (name,) = created.json()["pipeline_names"]
    timeline = requests.get(
        sb.origin + "/api/2.0/nessie/pipeline/timeline", params=pid(sb), headers=sa(sb), timeout=T
    ).json()
    (day,) = timeline["day_syncs"]
    assert day["status"] == "synced" and len(day["sync_times"]) == 1
    paused = post_form(
        sb, "/api/2.0/nessie/pipeline/pause", {**pid(sb), "name": name}, headers=sa(sb)
    )
    assert paused.json() == {"status": "ok"}
    edit = [*pid(sb).items(), ("name", name), ("events", "a"), ("events", "b"), ("where", "x")]
    edited = post_form(sb, "/api/2.0/nessie/pipeline/edit", edit, headers=sa(sb))  # type: ignore[arg-type]
    assert edited.json() == {"status": "ok"}
    stored = sb.state.pipelines()[name]
    assert stored["events"] == ["a", "b"] and stored["where"] == "x"
    unknown = post_form(
        sb, "/api/2.0/nessie/pipeline/edit", {**pid(sb), "name": "nope"}, headers=sa(sb)
    )
    assert unknown.status_code == 404 and unknown.json()["status"] == "error"


# -- families not emulated --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "family"),
    [
        ("/api/app/projects/4242424/annotations", "Annotations"),
        ("/api/app/projects/4242424/service-accounts", "Service Accounts"),
        ("/api/app/organizations/1/service-accounts", "Service Accounts"),
        ("/api/app/data-retrievals/v3.0", "GDPR"),
        ("/api/app/data-deletions/v3.0/abc", "GDPR"),
    ],
)
def test_app_families_not_emulated_are_a_404_in_the_app_shape(
    sb: Sandbox, path: str, family: str
) -> None:
    answer = requests.get(sb.origin + path, headers=sa(sb), timeout=T)
    assert answer.status_code == 404
    body = answer.json()
    assert body["status"] == "error" and "Not emulated" in body["error"] and family in body["error"]


def test_feature_flags_are_a_404_in_the_classic_shape(sb: Sandbox) -> None:
    answer = requests.get(sb.origin + "/flags/definitions", timeout=T)
    assert answer.status_code == 404
    assert answer.json()["code"] == 404 and "Feature Flags" in answer.json()["error"]


# -- bad input is a 4xx in the family's shape, never a 5xx ---------------------------------------

_BASES = {
    "ingestion": "",
    "query": "/api",
    "export": "/api/2.0/export",
    "pipelines": "/api/2.0/nessie",
    "lexicon": "/api/app/projects",
    "connectors": "/api/app",
}
_HOSTILE = [
    b"",
    b"[" * 50_000,
    b"\xff\xfe\x00",
    b'{"a":',
    b"null",
    b"[1, 2]",
    b"data=%7B&verbose=1",
]


@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: f"{c[1]} {c[0]}{c[2]}")
def test_hostile_bodies_on_every_claimed_operation_are_answered_below_500(
    sb: Sandbox, claim: tuple[str, str, str]
) -> None:
    api, method, template = claim
    path = re.sub(r"\{projectId\}", str(sb.credentials["project_id"]), template)
    path = re.sub(r"\{[^}]+\}", "1", path)
    url = sb.origin + _BASES[api] + path
    with requests.Session() as http:
        for body in _HOSTILE:
            for kind in ("application/json", "application/x-www-form-urlencoded", "text/csv"):
                answer = http.request(
                    method,
                    url,
                    params=pid(sb),
                    data=body,
                    headers={**sa(sb), "Content-Type": kind},
                    timeout=T,
                )
                assert answer.status_code < 500, (body[:20], kind, answer.text)
                parsed = answer.json() if answer.text.startswith(("{", "[")) else None
                if answer.status_code >= 400:
                    assert isinstance(parsed, dict) and "error" in parsed, answer.text
