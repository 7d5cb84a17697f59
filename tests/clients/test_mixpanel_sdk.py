"""The official ``mixpanel`` SDK (5.x), unchanged, against the sandbox over HTTPS.

Pointed with its own settings only: ``Consumer(api_host="127.0.0.1:PORT")`` (it builds
``https://{api_host}/track`` ...) and ``REQUESTS_CA_BUNDLE`` naming the sandbox's CA file. Every
call must return without raising (the SDK raises unless the answer is JSON with ``status`` 1),
and what it sent must read back through ``call GET export`` and the engage query.
"""

from __future__ import annotations

from typing import Any

import mixpanel
import pytest

from mp_custom_action.sandbox import Sandbox

from .conftest import engaged, exported, recent


@pytest.fixture
def host(sb: Sandbox, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sb.ca_file))
    return sb.origin.removeprefix("https://")


def client(sb: Sandbox, host: str, *, service_account: bool = False) -> mixpanel.Mixpanel:
    credentials = None
    if service_account:
        c = sb.credentials
        credentials = mixpanel.ServiceAccountCredentials(
            username=c["username"], secret=c["secret"], project_id=str(c["project_id"])
        )
    consumer = mixpanel.Consumer(api_host=host, credentials=credentials, retry_limit=0)
    return mixpanel.Mixpanel(sb.credentials["token"], consumer=consumer)


def events_named(sb: Sandbox, name: str) -> list[dict[str, Any]]:
    return [e for e in exported(sb) if e["event"] == name]


def test_track(sb: Sandbox, host: str) -> None:
    client(sb, host).track("u1", "Signed up", {"plan": "pro"})
    (event,) = events_named(sb, "Signed up")
    assert event["properties"]["distinct_id"] == "u1" and event["properties"]["plan"] == "pro"
    assert "token" not in event["properties"]


def test_import_data_with_a_service_account(sb: Sandbox, host: str) -> None:
    when = recent(3600)
    mp = client(sb, host, service_account=True)
    mp.import_data(None, "u2", "Old purchase", when, {"amount": 5})
    (event,) = events_named(sb, "Old purchase")
    assert event["properties"]["time"] == when and event["properties"]["amount"] == 5
    assert sb.requests[-2].auth == "service_account"


def test_import_data_with_the_api_secret(sb: Sandbox, host: str) -> None:
    when = recent(60)
    client(sb, host).import_data(
        "legacy-api-key", "u3", "Imported", when, api_secret=sb.credentials["api_secret"]
    )
    assert [e["properties"]["distinct_id"] for e in events_named(sb, "Imported")] == ["u3"]
    assert sb.requests[-2].auth == "secret"


def test_alias(sb: Sandbox, host: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # alias() always sends with a Consumer() of its own, built for api.mixpanel.com: the SDK has
    # no setting for it, so its default host is what this test points at the sandbox.
    class HereConsumer(mixpanel.Consumer):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs.setdefault("api_host", host)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(mixpanel, "Consumer", HereConsumer)
    mixpanel.Mixpanel(sb.credentials["token"]).alias("new-id", "u1")
    (event,) = events_named(sb, "$create_alias")
    assert event["properties"]["alias"] == "new-id" and event["properties"]["distinct_id"] == "u1"


def test_merge_with_the_api_secret(sb: Sandbox, host: str) -> None:
    client(sb, host).merge("legacy-key", "a", "b", api_secret=sb.credentials["api_secret"])
    (event,) = events_named(sb, "$merge")
    assert event["properties"]["$distinct_ids"] == ["a", "b"]


def test_merge_with_a_service_account(sb: Sandbox, host: str) -> None:
    client(sb, host, service_account=True).merge(None, "c", "d")
    assert [e["properties"]["$distinct_ids"] for e in events_named(sb, "$merge")] == [["c", "d"]]


def test_people_calls(sb: Sandbox, host: str) -> None:
    mp = client(sb, host)
    mp.people_set("p1", {"name": "Ada", "plan": "free"})
    mp.people_set_once("p1", {"name": "not this", "first_seen": "today"})
    mp.people_increment("p1", {"logins": 2})
    mp.people_append("p1", {"pages": "/a"})
    mp.people_union("p1", {"tags": ["x", "y"]})
    mp.people_remove("p1", {"tags": "x"})
    mp.people_unset("p1", ["plan"])
    mp.people_track_charge("p1", 9.5, {"sku": "s1"})
    mp.people_update({"$distinct_id": "p1", "$set": {"via": "people_update"}})
    profile = engaged(sb)["p1"]
    assert profile["name"] == "Ada" and profile["first_seen"] == "today"
    assert profile["logins"] == 2 and profile["pages"] == ["/a"] and profile["tags"] == ["y"]
    assert "plan" not in profile and profile["via"] == "people_update"
    assert profile["$transactions"][0]["$amount"] == 9.5
    mp.people_clear_charges("p1")
    assert "$transactions" not in engaged(sb)["p1"]
    mp.people_delete("p1")
    assert "p1" not in engaged(sb)


def test_group_calls(sb: Sandbox, host: str) -> None:
    mp = client(sb, host)
    mp.group_set("company", "acme", {"size": 10, "plan": "pro"})
    mp.group_set_once("company", "acme", {"size": 99, "founded": 1999})
    mp.group_union("company", "acme", {"regions": ["eu", "us"]})
    mp.group_remove("company", "acme", {"regions": "us"})
    mp.group_unset("company", "acme", ["plan"])
    mp.group_update({"$group_key": "company", "$group_id": "acme", "$set": {"via": "update"}})
    group = engaged(sb, "data_group_id=company")["acme"]
    assert group == {"size": 10, "founded": 1999, "regions": ["eu"], "via": "update"}
    mp.group_delete("company", "acme")
    assert engaged(sb, "data_group_id=company") == {}


def test_buffered_consumer_flushes_events_people_and_imports(sb: Sandbox, host: str) -> None:
    c = sb.credentials
    credentials = mixpanel.ServiceAccountCredentials(
        username=c["username"], secret=c["secret"], project_id=str(c["project_id"])
    )
    buffered = mixpanel.BufferedConsumer(
        max_size=3, api_host=host, credentials=credentials, retry_limit=0
    )
    mp = mixpanel.Mixpanel(c["token"], consumer=buffered)
    for n in range(4):  # the third fills the buffer and is sent; flush sends the fourth
        mp.track(f"b{n}", "Buffered")
    mp.people_set("b0", {"buffered": True})
    mp.import_data(None, "b9", "Buffered import", recent(10))
    buffered.flush()
    assert sorted(e["properties"]["distinct_id"] for e in events_named(sb, "Buffered")) == [
        "b0",
        "b1",
        "b2",
        "b3",
    ]
    assert [e["properties"]["distinct_id"] for e in events_named(sb, "Buffered import")] == ["b9"]
    assert engaged(sb)["b0"] == {"buffered": True}
