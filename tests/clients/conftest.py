"""The real Mixpanel clients against the sandbox over HTTPS on loopback (.ci/run's clients leg).

These suites need the clients themselves (``pip install ".[clients]"``), so they run only in the
leg that installs them: ``MP_CLIENTS_LEG=1 pytest tests/clients``. Anywhere else this folder
collects nothing (the main suite runs without the clients installed); inside the leg a client
that is missing makes its tests fail, never skip. ``MP_CLIENTS`` (comma-separated module names)
narrows the leg to the clients that could be installed on this Python; .ci/run says which not.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from mp_custom_action.sandbox import Sandbox

_SUITES = {
    "mixpanel": "test_mixpanel_sdk.py",
    "mixpanel_utils": "test_mixpanel_utils.py",
    "mixpanel_headless": "test_mixpanel_headless.py",
}

if os.environ.get("MP_CLIENTS_LEG") != "1":
    collect_ignore_glob = ["test_*.py"]
elif os.environ.get("MP_CLIENTS"):
    wanted = {name.strip() for name in os.environ["MP_CLIENTS"].split(",")}
    collect_ignore = [path for module, path in _SUITES.items() if module not in wanted]


@pytest.fixture
def sb(tmp_path: Any) -> Iterator[Sandbox]:
    """A fresh HTTPS sandbox per test, its CA in the test's folder."""
    with Sandbox(tls=True, ca_file=tmp_path / "ca.pem") as sandbox:
        yield sandbox


def today() -> str:
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


def recent(seconds: int) -> int:
    """A moment about ``seconds`` ago, but not before today began (UTC): the tests read their
    events back from today's data, and a run just after midnight must find them there."""
    now = dt.datetime.now(dt.timezone.utc)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(int(now.timestamp()) - seconds, int(midnight.timestamp()))


def our_call(sb: Sandbox, *args: str) -> Any:
    """``python -m mp_custom_action call ...`` against ``sb``; the JSON body of its answer."""
    env = {**os.environ, **sb.env(), "REQUESTS_CA_BUNDLE": str(sb.ca_file)}
    done = subprocess.run(
        [sys.executable, "-m", "mp_custom_action", "call", *args, "--origin", sb.origin],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)["body"]


def exported(sb: Sandbox) -> list[dict[str, Any]]:
    """Every event of today, read back through ``call GET export``."""
    day = today()
    body = our_call(
        sb,
        "GET",
        "export",
        "",
        "--query-param",
        f"from_date={day}",
        "--query-param",
        f"to_date={day}",
    )
    return list(body) if isinstance(body, list) else ([body] if body else [])


def engaged(sb: Sandbox, *params: str) -> dict[str, dict[str, Any]]:
    """Profiles read back through ``call POST query /query/engage``: distinct_id -> properties."""
    args = [p for param in params for p in ("--query-param", param)]
    body = our_call(sb, "POST", "query", "/query/engage", *args)
    return {r["$distinct_id"]: r["$properties"] for r in body["results"]}
