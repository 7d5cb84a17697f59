"""Every family preset sent over a real socket: what arrives is what the dry run said would go.

A loopback server stands in for Mixpanel (``origin`` keeps each API's base path); each preset's
example runs with the first credential its endpoint accepts (tests/conformance/ checks them all).
The request line, the query, ``Content-Type`` and the body bytes the server receives must be the
ones ``Runner.prepare`` built, and the answer comes back as the result.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from presets_support import RecordingServer, serving

from mp_custom_action.core.runner import Runner
from mp_custom_action.presets.docs import builtin_presets
from mp_custom_action.presets.model import Preset

FAMILY_PRESETS = [p for p in builtin_presets() if p.plugin.startswith("builtin.")]

#: The credential each family's example runs with (a kind its endpoints all accept).
CREDENTIALS: dict[str, dict[str, Any]] = {
    "service_account": {"username": "sa.e2e", "secret": "sa-e2e-secret", "project_id": 4242},
    "token": {"token": "e2etoken0123"},
    "oauth": {"oauth_token": "e2e-oauth", "token": "e2etoken0123"},
}


def credentials_for(preset: Preset) -> dict[str, Any]:
    if preset.plugin == "builtin.gdpr":
        return CREDENTIALS["oauth"]
    if preset.path in ("/track", "/engage", "/groups"):
        return CREDENTIALS["token"]
    return CREDENTIALS["service_account"]


@pytest.fixture(scope="module")
def server() -> Iterator[RecordingServer]:
    with serving() as running:
        running.answer = lambda method, path: (200, {"status": "ok", "method": method})
        yield running


@pytest.mark.parametrize("preset", FAMILY_PRESETS, ids=[p.name for p in FAMILY_PRESETS])
def test_the_wire_carries_what_the_dry_run_showed(server: RecordingServer, preset: Preset) -> None:
    assert len(FAMILY_PRESETS) == 90
    server.requests.clear()
    with Runner(origin=server.origin, env={}, retries=0, **credentials_for(preset)) as runner:
        inputs = preset.to_inputs(preset.example, project_id=runner.credentials.project_id)
        prepared = runner.prepare(inputs)
        result = runner.send(prepared)
    assert result.status_code == 200
    assert result.body == {"status": "ok", "method": preset.method}
    [received] = server.requests
    assert received.method == preset.method
    wire = urlsplit(getattr(prepared, "wire_url", lambda: prepared.url)())
    assert received.target == wire.path + (f"?{wire.query}" if wire.query else "")
    assert received.body == (prepared.body or b"")
    sent_type = {k.lower(): v for k, v in prepared.headers.items()}.get("content-type")
    assert {k.lower(): v for k, v in received.headers.items()}.get("content-type") == sent_type
    if preset.media_type:
        assert sent_type is not None
        assert sent_type.split(";")[0] == preset.media_type
