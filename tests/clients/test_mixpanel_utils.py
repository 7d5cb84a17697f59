"""``mixpanel-utils`` (2.2.x), unchanged, against the sandbox over HTTPS.

Pointed with its own attributes (``raw_api``, ``import_api``, ``formatted_api``: the base URLs
it builds every request from) and ``SSL_CERT_FILE`` naming the sandbox's CA (urllib's default
context reads it). The library logs failures instead of raising, so each test reads back.
"""

from __future__ import annotations

import csv
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from mixpanel_utils import MixpanelUtils

from mp_custom_action.sandbox import Sandbox

from .conftest import engaged, exported, recent, today


@pytest.fixture
def mu(sb: Sandbox, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> MixpanelUtils:
    monkeypatch.setenv("SSL_CERT_FILE", str(sb.ca_file))
    monkeypatch.chdir(tmp_path)  # it writes import_backup.txt / invalid_events.txt on failure
    c = sb.credentials
    utils = MixpanelUtils(
        c["secret"],
        token=c["token"],
        service_account_username=c["username"],
        project_id=c["project_id"],
        pool_size=2,
        max_retries=1,
    )
    utils.raw_api = sb.origin + "/api"
    utils.import_api = sb.origin
    utils.formatted_api = sb.origin + "/api"
    return utils


def some_events(n: int) -> list[dict[str, Any]]:
    now = recent(100)
    return [
        {
            "event": "Viewed" if i % 2 else "Bought",
            "properties": {"time": now + i, "distinct_id": f"u{i}", "$insert_id": f"id-{i}"},
        }
        for i in range(n)
    ]


def test_import_events(sb: Sandbox, mu: MixpanelUtils, tmp_path: Path) -> None:
    mu.import_events(some_events(5), timezone_offset=0)
    assert sorted(e["properties"]["$insert_id"] for e in exported(sb)) == [
        f"id-{i}" for i in range(5)
    ]
    assert not (tmp_path / "import_backup.txt").exists()


def test_import_people_and_engage_without_and_with_where(sb: Sandbox, mu: MixpanelUtils) -> None:
    profiles = [
        {"$distinct_id": "a", "$properties": {"plan": "pro", "seats": 5}},
        {"$distinct_id": "b", "$properties": {"plan": "free", "seats": 1}},
        {"$distinct_id": "c", "$properties": {"plan": "pro", "seats": 50}},
    ]
    mu.import_people(profiles)
    assert set(engaged(sb)) == {"a", "b", "c"}
    everyone = mu.query_engage()
    assert sorted(p["$distinct_id"] for p in everyone) == ["a", "b", "c"]
    picked = mu.query_engage({"where": 'properties["plan"] == "pro" and properties["seats"] > 10'})
    assert [p["$distinct_id"] for p in picked] == ["c"]


def test_export_as_json_csv_and_gzip(sb: Sandbox, mu: MixpanelUtils, tmp_path: Path) -> None:
    sb.state.add_events(some_events(4))
    params = {"from_date": today(), "to_date": today()}
    mu.export_events(str(tmp_path / "events.json"), dict(params))
    shown = json.loads((tmp_path / "events.json").read_text())
    assert sorted(e["properties"]["$insert_id"] for e in shown) == [f"id-{i}" for i in range(4)]
    mu.export_events(str(tmp_path / "events.csv"), dict(params), format="csv")
    with open(tmp_path / "events.csv", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == 5 and "event" in rows[0]
    # Asked with Accept-Encoding: gzip and written raw: the file must be real gzip.
    mu.export_events(
        str(tmp_path / "events.gz"), dict(params), add_gzip_header=True, raw_stream=True
    )
    lines = gzip.decompress((tmp_path / "events.gz").read_bytes()).decode().splitlines()
    assert len(lines) == 4 and all(json.loads(line)["event"] for line in lines)


def test_jql(sb: Sandbox, mu: MixpanelUtils) -> None:
    sb.state.add_events(some_events(5))
    script = (
        "function main() { return Events({from_date: params.from_date, to_date: params.to_date})"
        '.groupBy(["name"], mixpanel.reducer.count()); }'
    )
    rows = mu.query_jql(script, params={"from_date": today(), "to_date": today()})
    assert rows == [{"key": ["Bought"], "value": 3}, {"key": ["Viewed"], "value": 2}]
    assert sb.requests[-1].method == "POST" and sb.requests[-1].status == 200
