"""Redirects are answers, never followed: no credential or caller header reaches another host.

A 3xx from the resolved host (or the origin) comes back as the result, ``Location`` as data.
Following one would send the ``Authorization`` header (or, for ``/track``, the token in the
body) wherever the server points: another host, plain http, or a path outside the API.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_helpers import cli
from faults_servers import FaultServer, loopback_alias_available
from hostile import CREDENTIALS, assert_no_leak
from loopback import Reply

CODES = [301, 302, 303, 307, 308]
CALLER_HEADER = {"X-Caller-Secret": "caller-value-9f2"}


@pytest.fixture
def other_server() -> Iterator[FaultServer]:
    """Another host: 127.0.0.2 where the system routes it, else another port of 127.0.0.1."""
    with FaultServer("127.0.0.2" if loopback_alias_available() else "127.0.0.1") as srv:
        yield srv


def targets(origin: FaultServer, other: FaultServer) -> dict[str, str]:
    return {
        "another host": f"{other.origin}/steal",
        "another host, https": f"https://{other.host}:{other.port}/steal",
        "plain http to Mixpanel's name": "http://mixpanel.com/api/2.0/events/names",
        "the same host, another path": f"{origin.origin}/elsewhere",
        "a relative Location": "/api/2.0/other",
        "a scheme-relative Location": f"//{other.host}:{other.port}/steal",
    }


REQUESTS = {
    "GET": {"method": "GET", "api": "query", "relative_url": "/2.0/events/names"},
    "POST": {"method": "POST", "api": "connectors", "relative_url": "/projects/4242/s", "body": {}},
    "POST /track": {"method": "POST", "api": "ingestion", "relative_url": "/track", "body": [{"event": "e"}]},
}  # fmt: skip
TARGETS = [
    "another host",
    "another host, https",
    "plain http to Mixpanel's name",
    "the same host, another path",
    "a relative Location",
    "a scheme-relative Location",
]


@pytest.mark.parametrize("kind", list(REQUESTS))
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("code", CODES)
def test_a_redirect_is_returned_as_data_and_never_followed(
    fault_server: FaultServer, other_server: FaultServer, code: int, target: str, kind: str
) -> None:
    from mp_custom_action import Runner

    location = targets(fault_server, other_server)[target]
    fault_server.handler = lambda req: Reply(code, {"Location": location}, b"moved")
    inputs = {**REQUESTS[kind], "headers": CALLER_HEADER}
    with Runner(**CREDENTIALS, env={}, origin=fault_server.origin, retries=3) as runner:
        result = runner.run(inputs)
    assert result.status_code == code
    assert result.headers["Location"] == location
    assert result.body == "moved"
    assert result.attempts == 1
    assert len(fault_server.received) == 1, "sent once: neither followed nor retried"
    assert other_server.received == [], "nothing reached the other host"
    sent = fault_server.received[0]
    assert sent.header("X-Caller-Secret") == CALLER_HEADER["X-Caller-Secret"]
    assert_no_leak(repr(result), result.to_dict())


@pytest.mark.parametrize("code", CODES)
def test_the_command_prints_a_redirect_and_exits_0_even_with_check_status(
    fault_server: FaultServer,
    other_server: FaultServer,
    code: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MP_USERNAME", CREDENTIALS["username"])
    monkeypatch.setenv("MP_SECRET", CREDENTIALS["secret"])
    monkeypatch.setenv("MP_PROJECT_ID", CREDENTIALS["project_id"])
    location = f"{other_server.origin}/steal"
    fault_server.handler = lambda req: Reply(code, {"Location": location}, b"")
    out = cli("call", "GET", "query", "/2.0/events/names", "--origin", fault_server.origin,
              "--check-status", "--header", "X-Caller-Secret=caller-value-9f2")  # fmt: skip
    assert out.exit_status == 0, out.stderr
    assert out.json["status_code"] == code
    assert out.json["headers"]["Location"] == location
    assert other_server.received == []
    assert_no_leak(out.stdout, out.stderr)
