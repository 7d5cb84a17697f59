"""``mixpanel-headless`` (0.4.x) Python API, unchanged, against the sandbox over HTTPS.

Pointed with its own settings: ``MP_API_BASE_URL`` (it then sends every family to that origin,
under Mixpanel's documented paths: ``/api/query/...``, ``/api/2.0/export``, ``/api/app/...``)
and ``SSL_CERT_FILE`` naming the sandbox's CA (httpx reads it). A service account session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from mixpanel_headless import Project, ServiceAccount, Session, Workspace

from mp_custom_action.sandbox import Sandbox

from .conftest import recent, today


@pytest.fixture
def ws(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Workspace]:
    monkeypatch.setenv("HOME", str(tmp_path))  # its config and caches stay in the test folder
    monkeypatch.setenv("MP_API_BASE_URL", sb.origin)
    monkeypatch.setenv("SSL_CERT_FILE", str(sb.ca_file))
    c = sb.credentials
    account = ServiceAccount(
        name="sandbox", region="us", username=c["username"], secret=c["secret"]
    )
    workspace = Workspace(
        session=Session(account=account, project=Project(id=str(c["project_id"])))
    )
    now = recent(60)
    sb.state.add_events(
        [
            {
                "event": "Signed up" if i < 3 else "Logged in",
                "properties": {"time": now + i, "distinct_id": f"u{i % 2}", "$insert_id": f"i{i}"},
            }
            for i in range(5)
        ]
    )
    with sb.state.write() as data:
        data.profiles.update({"u0": {"plan": "pro"}, "u1": {"plan": "free"}})
        data.schemas["event"] = {
            "Signed up": {
                "description": "A new account",
                "properties": {"plan": {"type": "string"}},
            }
        }
    yield workspace
    workspace.close()


def test_events(ws: Workspace) -> None:
    assert sorted(ws.events()) == ["Logged in", "Signed up"]


def test_profiles(ws: Workspace) -> None:
    profiles = {p["distinct_id"]: p["properties"] for p in ws.stream_profiles()}
    assert profiles == {"u0": {"plan": "pro"}, "u1": {"plan": "free"}}
    pro = [p["distinct_id"] for p in ws.stream_profiles(where='properties["plan"] == "pro"')]
    assert pro == ["u0"]


def test_segmentation(ws: Workspace) -> None:
    result = ws.segmentation("Signed up", from_date=today(), to_date=today())
    assert result.total == 3 and result.series == {"Signed up": {today(): 3}}


def test_export(ws: Workspace) -> None:
    events = list(ws.stream_events(from_date=today(), to_date=today()))
    assert sorted(e["insert_id"] for e in events) == [f"i{i}" for i in range(5)]
    only = list(ws.stream_events(from_date=today(), to_date=today(), events=["Logged in"]))
    assert {e["event_name"] for e in only} == {"Logged in"}


def test_lexicon(ws: Workspace) -> None:
    (schema,) = ws.lexicon_schemas()
    assert schema.name == "Signed up" and schema.entity_type == "event"
