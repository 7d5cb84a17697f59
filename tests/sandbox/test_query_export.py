"""Sandbox Query API (event names, segmentation, profiles) and Raw Data Export over stored events."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from http.client import HTTPConnection
from typing import Any

import pytest
import requests
from sandbox_helpers import event, pid, raw_exchange, sa, secret

from mp_custom_action.sandbox import Sandbox

# Fixed instants, so the day buckets are known: 2024-03-01 00:00:00 UTC and the days after.
MAR1 = int(dt.datetime(2024, 3, 1, tzinfo=dt.timezone.utc).timestamp())
DAY = 86400


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        sandbox.state.add_events(
            [
                event("Signed up", "s1", when=MAR1 + 10, user="u1"),
                event("Signed up", "s2", when=MAR1 + 20, user="u1"),
                event("Signed up", "s3", when=(MAR1 + DAY + 5) * 1000, user="u2"),  # ms
                event("Purchase", "p1", when=MAR1 + 2 * DAY - 1, user="u2", amount=5),
                event("Purchase", "p2", when=MAR1 + 3 * DAY, user="u3"),  # 2024-03-04
                event("Viewed", "v1", when=MAR1 - 1, user="u1"),  # 2024-02-29
            ]
        )
        yield sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def get(http: requests.Session, sb: Sandbox, path: str, **params: Any) -> requests.Response:
    return http.get(sb.origin + path, params={**pid(sb), **params}, headers=sa(sb))


# -- Query ------------------------------------------------------------------------------------------


def test_event_names_most_frequent_first(http: requests.Session, sb: Sandbox) -> None:
    assert get(http, sb, "/api/2.0/events/names").json() == ["Signed up", "Purchase", "Viewed"]
    assert get(http, sb, "/api/2.0/events/names", limit=1).json() == ["Signed up"]


def test_segmentation_counts_per_day_in_mixpanels_shape(
    http: requests.Session, sb: Sandbox
) -> None:
    answer = get(
        http,
        sb,
        "/api/2.0/segmentation",
        event="Signed up",
        from_date="2024-03-01",
        to_date="2024-03-03",
    )
    assert answer.json() == {
        "data": {
            "series": ["2024-03-01", "2024-03-02", "2024-03-03"],
            "values": {"Signed up": {"2024-03-01": 2, "2024-03-02": 1, "2024-03-03": 0}},
        },
        "legend_size": 1,
    }


def test_segmentation_range_is_inclusive_and_unique_counts_people(
    http: requests.Session, sb: Sandbox
) -> None:
    values = get(
        http,
        sb,
        "/api/2.0/segmentation",
        event="Signed up",
        from_date="2024-03-01",
        to_date="2024-03-01",
        type="unique",
    ).json()["data"]["values"]
    assert values == {"Signed up": {"2024-03-01": 1}}


def test_segmentation_by_month(http: requests.Session, sb: Sandbox) -> None:
    data = get(
        http, sb, "/api/2.0/segmentation", event="Purchase", from_date="2024-02-01",
        to_date="2024-03-31", unit="month",
    ).json()["data"]  # fmt: skip
    assert data == {
        "series": ["2024-02-01", "2024-03-01"],
        "values": {"Purchase": {"2024-02-01": 0, "2024-03-01": 2}},
    }


@pytest.mark.parametrize(
    "params",
    [
        {"from_date": "2024-03-01", "to_date": "2024-03-02"},
        {"event": "A", "to_date": "2024-03-02"},
        {"event": "A", "from_date": "2024-03-05", "to_date": "2024-03-02"},
        {"event": "A", "from_date": "2024-02-30", "to_date": "2024-03-02"},
        {"event": "A", "from_date": "03/01/2024", "to_date": "2024-03-02"},
        {"event": "A", "from_date": "2024-03-01", "to_date": "2024-03-02", "where": "x"},
        {
            "event": "A",
            "from_date": "2024-03-01",
            "to_date": "2024-03-02",
            "on": 'number(properties["a"])',
        },
        {"event": "A", "from_date": "2024-03-01", "to_date": "2024-03-02", "unit": "hour"},
    ],
    ids=["no-event", "no-from", "reversed", "not-a-day", "format", "where", "on", "hour"],
)
def test_segmentation_refuses_what_it_cannot_answer_with_400(
    http: requests.Session, sb: Sandbox, params: dict[str, str]
) -> None:
    answer = get(http, sb, "/api/2.0/segmentation", **params)
    assert answer.status_code == 400
    assert answer.json()["code"] == 400


def test_segmentation_on_a_property_and_where(http: requests.Session, sb: Sandbox) -> None:
    sb.state.add_events(
        [
            event("Tap", "t1", when=MAR1 + 1, user="u1", os="ios"),
            event("Tap", "t2", when=MAR1 + 2, user="u1", os="ios"),
            event("Tap", "t3", when=MAR1 + DAY, user="u2", os="android"),
            event("Tap", "t4", when=MAR1 + DAY, user="u3"),
        ]
    )
    window = {"event": "Tap", "from_date": "2024-03-01", "to_date": "2024-03-02"}
    split = get(http, sb, "/api/query/segmentation", on='properties["os"]', **window).json()
    assert split["legend_size"] == 2
    assert split["data"]["values"] == {
        "android": {"2024-03-01": 0, "2024-03-02": 1},
        "ios": {"2024-03-01": 2, "2024-03-02": 0},
    }
    unique = get(
        http, sb, "/api/query/segmentation", on='properties["os"]', type="unique", **window
    ).json()
    assert unique["data"]["values"]["ios"] == {"2024-03-01": 1, "2024-03-02": 0}
    filtered = get(
        http, sb, "/api/query/segmentation", where='properties["os"] == "ios"', **window
    ).json()
    assert filtered["data"]["values"] == {"Tap": {"2024-03-01": 2, "2024-03-02": 0}}


def test_engage_query_lists_profiles_with_paging(http: requests.Session, sb: Sandbox) -> None:
    with sb.state.write() as data:
        for i in range(5):
            data.profiles[f"u{i}"] = {"$email": f"u{i}@example.com", "n": i}
    first = get(http, sb, "/api/2.0/engage", page_size=2).json()
    assert first["total"] == 5 and first["page"] == 0 and first["page_size"] == 2
    assert first["results"] == [
        {"$distinct_id": "u0", "$properties": {"$email": "u0@example.com", "n": 0}},
        {"$distinct_id": "u1", "$properties": {"$email": "u1@example.com", "n": 1}},
    ]
    last = get(
        http, sb, "/api/2.0/engage", page_size=2, page=2, session_id=first["session_id"]
    ).json()
    assert [r["$distinct_id"] for r in last["results"]] == ["u4"]


def test_engage_query_filters_and_takes_a_form_post(http: requests.Session, sb: Sandbox) -> None:
    with sb.state.write() as data:
        data.profiles.update({"a": {"x": 1, "y": 2}, "b": {"x": 3}})
    answer = http.post(
        sb.origin + "/api/2.0/engage",
        params=pid(sb),
        headers=secret(sb),
        data={"distinct_ids": json.dumps(["a"]), "output_properties": json.dumps(["x"])},
    )
    assert answer.json()["results"] == [{"$distinct_id": "a", "$properties": {"x": 1}}]
    assert answer.json()["total"] == 1


def test_engage_query_lists_group_profiles(http: requests.Session, sb: Sandbox) -> None:
    with sb.state.write() as data:
        data.groups["company"] = {"acme": {"size": 3}}
    answer = get(http, sb, "/api/2.0/engage", data_group_id="company").json()
    assert answer["results"] == [{"$distinct_id": "acme", "$properties": {"size": 3}}]


@pytest.mark.parametrize(
    "path", ["/api/2.0/funnels", "/api/query/insights", "/api/query/retention"]
)
def test_other_query_paths_are_a_clear_404(http: requests.Session, sb: Sandbox, path: str) -> None:
    answer = get(http, sb, path)
    assert answer.status_code == 404
    body = answer.json()
    assert body["code"] == 404 and body["status"] == "Not Found"
    assert "Not emulated" in body["error"] and path in body["error"]
    assert "/api/query/segmentation" in body["error"]


# -- Export -----------------------------------------------------------------------------------------


def export(http: requests.Session, sb: Sandbox, **params: Any) -> requests.Response:
    return get(http, sb, "/api/2.0/export", **params)


def lines(answer: requests.Response) -> list[dict[str, Any]]:
    return [json.loads(line) for line in answer.text.splitlines()]


def test_export_streams_jsonl_text_of_the_inclusive_range(
    http: requests.Session, sb: Sandbox
) -> None:
    answer = export(http, sb, from_date="2024-03-01", to_date="2024-03-02")
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.headers["Transfer-Encoding"] == "chunked"
    got = lines(answer)
    assert [e["properties"]["$insert_id"] for e in got] == ["s1", "s2", "s3", "p1"]
    # Times come out in seconds, also for an event sent in milliseconds.
    assert got[2]["properties"]["time"] == MAR1 + DAY + 5


def test_export_filters_by_event_names_and_limit(http: requests.Session, sb: Sandbox) -> None:
    got = lines(
        export(
            http, sb, from_date="2024-02-01", to_date="2024-03-31", event=json.dumps(["Purchase"])
        )
    )
    assert [e["properties"]["$insert_id"] for e in got] == ["p1", "p2"]
    got = lines(export(http, sb, from_date="2024-02-01", to_date="2024-03-31", limit=2))
    assert len(got) == 2


def test_export_time_in_ms(http: requests.Session, sb: Sandbox) -> None:
    got = lines(export(http, sb, from_date="2024-02-29", to_date="2024-02-29", time_in_ms="true"))
    assert got[0]["properties"]["time"] == (MAR1 - 1) * 1000


def test_export_of_an_empty_range_is_an_empty_body(http: requests.Session, sb: Sandbox) -> None:
    answer = export(http, sb, from_date="2020-01-01", to_date="2020-01-02")
    assert (answer.status_code, answer.text) == (200, "")


@pytest.mark.parametrize(
    "params",
    [
        {"to_date": "2024-03-01"},
        {"from_date": "2024-03-01", "to_date": "2024-03-01", "event": "Purchase"},
        {"from_date": "2024-03-01", "to_date": "2024-03-01", "limit": "0"},
        {"from_date": "2024-03-01", "to_date": "2024-03-01", "limit": "100001"},
        {"from_date": "2024-03-01", "to_date": "2024-03-01", "where": "true"},
    ],
    ids=["no-from", "event-not-json", "limit-0", "limit-too-big", "where"],
)
def test_export_refuses_bad_parameters(
    http: requests.Session, sb: Sandbox, params: dict[str, str]
) -> None:
    answer = export(http, sb, **params)
    assert answer.status_code == 400
    assert answer.json()["code"] == 400


def test_a_large_export_arrives_in_many_chunks(http: requests.Session) -> None:
    with Sandbox() as big:
        big.state.add_events([event("E", f"e{i}", when=MAR1, pad="x" * 200) for i in range(2000)])
        conn = http_client(big)
        try:
            conn.request(
                "GET",
                f"/api/2.0/export?project_id={big.credentials['project_id']}&from_date=2024-03-01&to_date=2024-03-01",
                headers=sa(big),
            )
            response = conn.getresponse()
            assert response.getheader("Transfer-Encoding") == "chunked"
            reads = []
            while True:
                chunk = response.read1(1 << 20)
                if not chunk:
                    break
                reads.append(chunk)
            body = b"".join(reads)
        finally:
            conn.close()
    assert body.count(b"\n") == 2000
    assert len(reads) > 1


def test_export_over_http_1_0_ends_with_the_connection(sb: Sandbox) -> None:
    c = sb.credentials
    target = f"/api/2.0/export?project_id={c['project_id']}&from_date=2024-03-01&to_date=2024-03-01"
    auth = sa(sb)["Authorization"]
    raw = raw_exchange(sb, f"GET {target} HTTP/1.0\r\nAuthorization: {auth}\r\n\r\n".encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.0 200") or head.startswith(b"HTTP/1.1 200")
    assert b"chunked" not in head.lower()
    assert len(body.splitlines()) == 2


def http_client(sb: Sandbox) -> HTTPConnection:
    return HTTPConnection("127.0.0.1", int(sb.origin.rsplit(":", 1)[1]), timeout=10)
