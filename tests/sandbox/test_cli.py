"""``mp-custom-action sandbox``: one JSON line first, serves until SIGINT/SIGTERM, exits 0 without a traceback."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cli_helpers import cli

from mp_custom_action.cli import build_parser
from mp_custom_action.sandbox import DEMO_CREDENTIALS, Sandbox

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Served:
    """A ``mp-custom-action sandbox`` subprocess and the JSON line it printed."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mp_custom_action", "sandbox", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        self.first_line = self.proc.stdout.readline()

    def finish(self, signum: int) -> tuple[int, str, str]:
        self.proc.send_signal(signum)
        out, err = self.proc.communicate(timeout=10)
        return self.proc.returncode, out, err

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.communicate(timeout=10)


@pytest.fixture
def served() -> Iterator[Served]:
    running = Served("--seed", "1")
    try:
        yield running
    finally:
        running.close()


def test_help_lists_the_knobs() -> None:
    result = cli("sandbox", "--help")
    assert result.exit_status == 0
    for option in ("--port", "--state", "--fail-rate", "--latency", "--rate-limit", "--seed"):
        assert option in result.stdout
    assert "127.0.0.1" in result.stdout


def test_the_main_help_lists_the_command() -> None:
    assert "sandbox" in cli("--help").stdout


@posix_only
@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_first_line_is_json_then_it_serves_until_a_signal(served: Served, signum: int) -> None:
    info = json.loads(served.first_line)
    assert list(info) == ["origin", "project_id", "username", "secret", "api_secret", "token"]
    assert info["origin"].startswith("http://127.0.0.1:")
    assert {k: v for k, v in info.items() if k != "origin"} == dict(DEMO_CREDENTIALS)
    answer = requests.get(
        info["origin"] + "/api/2.0/events/names",
        params={"project_id": info["project_id"]},
        auth=(info["username"], info["secret"]),
        timeout=10,
    )
    assert answer.json() == []
    status, out, err = served.finish(signum)
    assert status == 0
    assert out == ""  # nothing after the JSON line
    assert "Traceback" not in err
    assert "stopped" in err


@pytest.mark.parametrize(
    "args",
    [
        ["--fail-rate", "2"],
        ["--fail-rate", "often"],
        ["--latency", "-1"],
        ["--rate-limit", "0"],
        ["--port", "70000"],
        ["--seed", "x"],
    ],
)
def test_bad_options_are_usage_errors(args: list[str]) -> None:
    result = cli("sandbox", *args)
    assert result.exit_status == 2
    assert "error" in result.stderr


def test_an_unusable_state_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "state.json"
    bad.write_text("{not json")
    result = cli("sandbox", "--state", str(bad))
    assert result.exit_status == 2
    assert result.stderr.count("\n") == 1 and "not valid JSON" in result.stderr
    assert result.stdout == ""


def test_a_state_file_that_is_not_utf8_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """It was an internal error (UnicodeDecodeError), exit 1."""
    bad = tmp_path / "state.json"
    bad.write_bytes(b"\xff\xfe")
    result = cli("sandbox", "--state", str(bad))
    assert result.exit_status == 2
    assert result.stderr == f"mp-custom-action: error: state file {bad} is not UTF-8 text\n"


def test_a_state_file_error_is_an_input_error_the_cli_prints(tmp_path: Path) -> None:
    from mp_custom_action.commands.sandbox import run_sandbox
    from mp_custom_action.errors import ExitStatus, InputError
    from mp_custom_action.sandbox import StateFileError

    bad = tmp_path / "state.json"
    bad.write_text("[]")
    args = build_parser().parse_args(["sandbox", "--state", str(bad)])
    with pytest.raises(StateFileError) as info:
        run_sandbox(args)  # raised, not printed: cli._dispatch prints it like any input error
    assert isinstance(info.value, InputError)
    assert info.value.exit_status == ExitStatus.INPUT_ERROR


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with Sandbox() as busy:
        result = cli("sandbox", "--port", str(busy.port))
    assert result.exit_status == 2
    assert result.stderr.startswith("mp-custom-action: error: --port: cannot listen on 127.0.0.1:")
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr


@posix_only
def test_fault_options_reach_the_server(tmp_path: Path) -> None:
    running = Served("--fail-rate", "1", "--seed", "3", "--state", str(tmp_path / "s.json"))
    try:
        info = json.loads(running.first_line)
        answer = requests.get(info["origin"] + "/api/2.0/events/names", timeout=10)
        assert answer.status_code in (429, 503)
        assert running.finish(signal.SIGTERM)[0] == 0
    finally:
        running.close()
    assert (
        json.loads((tmp_path / "s.json").read_text())["format"] == "mp-custom-action-sandbox-state"
    )
