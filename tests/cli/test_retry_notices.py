"""Waiting is never silent: before a retry waits, one stderr line says why, how long, which attempt."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli
from loopback import Reply, ScriptedServer

from mp_custom_action import Runner
from mp_custom_action.errors import ConnectError

ENV = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret", "MP_PROJECT_ID": "4242"}


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MP_CONFIG", str(tmp_path / "none.toml"))


def _busy_then_ok(server: ScriptedServer) -> None:
    replies = iter([Reply(429, {"Retry-After": "0"}), Reply(429, {"Retry-After": "0"})])
    server.handler = lambda req: next(replies, Reply.json({"ok": True}))


def test_each_wait_is_announced_on_stderr(server: ScriptedServer) -> None:
    _busy_then_ok(server)
    out = cli("call", "GET", "query", "/2.0/events/names", "--origin", server.origin)
    assert out.exit_status == 0, out.stderr
    lines = [line for line in out.stderr.splitlines() if "retrying" in line]
    assert lines == [
        f"mp-custom-action: retrying: GET {server.origin}/api/2.0/events/names: HTTP 429; "
        "attempt 2 of 5 in 0.0 s",
        f"mp-custom-action: retrying: GET {server.origin}/api/2.0/events/names: HTTP 429; "
        "attempt 3 of 5 in 0.0 s",
    ]
    assert out.json["status_code"] == 200


@pytest.mark.parametrize("where", ["before", "after"])
def test_quiet_silences_the_notices(server: ScriptedServer, where: str) -> None:
    _busy_then_ok(server)
    args = ["call", "GET", "query", "/2.0/events/names", "--origin", server.origin]
    out = cli(*(["-q", *args] if where == "before" else [*args, "-q"]))
    assert out.exit_status == 0, out.stderr
    assert out.stderr == ""


def test_verbose_works_after_the_subcommand(server: ScriptedServer) -> None:
    out = cli("call", "GET", "query", "/2.0/events/names", "--origin", server.origin, "-v")
    assert out.exit_status == 0, out.stderr
    assert "INFO mp_custom_action: GET" in out.stderr


def test_an_unresolvable_host_says_so_on_the_first_failure() -> None:
    notices: list[str] = []
    runner = Runner(
        origin="https://no-such-host.invalid",
        env={},
        **{k.lower()[3:]: v for k, v in ENV.items()},  # type: ignore[arg-type]
        retries=1,
        sleep=lambda seconds: None,
        on_retry=notices.append,
    )
    with runner, pytest.raises(ConnectError) as caught:
        runner.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
    assert "host name could not be resolved" in str(caught.value)
    assert len(notices) == 1
    assert "host name could not be resolved" in notices[0]
    assert "attempt 2 of 2" in notices[0]
