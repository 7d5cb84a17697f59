"""--output: a local write failure is an OutputError (exit 8, never retried); the pre-send check
asks the file system whether it can hold the name."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli
from loopback import Reply, ScriptedServer

from mp_custom_action.core.results import check_output_path
from mp_custom_action.errors import InputError

ENV = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret", "MP_PROJECT_ID": "4242"}


def _small_files() -> None:  # pragma: no cover (runs in the child)
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, 4096))


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_write_that_fails_is_one_output_error_and_is_not_retried(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, b"x" * 200_000)
    target = tmp_path / "export.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "mp_custom_action", "call", "GET", "export", "",
         "--origin", server.origin, "-o", str(target)],
        env={**os.environ, **ENV, "MP_CONFIG": str(tmp_path / "none.toml")},
        capture_output=True, text=True, timeout=60, preexec_fn=_small_files, check=False,
    )  # fmt: skip
    assert done.returncode == 8, done.stderr
    assert f"cannot write {str(target)!r}: file too large" in done.stderr
    assert "broken response" not in done.stderr
    assert len(server.received) == 1  # not downloaded again
    assert list(tmp_path.iterdir()) == []  # no partial file left


def test_a_name_the_file_system_cannot_hold_is_refused_before_sending(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MP_CONFIG", str(tmp_path / "none.toml"))
    long_name = str(tmp_path / ("n" * 300))
    out = cli("call", "GET", "export", "", "--origin", server.origin, "-o", long_name)
    assert out.exit_status == 2, out.stderr
    assert "output: cannot create a file named" in out.stderr
    assert "name too long" in out.stderr.lower()
    assert server.received == []
    assert list(tmp_path.iterdir()) == []


def test_a_nul_byte_in_the_name_is_an_input_error() -> None:
    with pytest.raises(InputError, match="output: must not contain a NUL character"):
        check_output_path("a\x00b")


def test_the_output_check_creates_no_part_file_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A .part file means a download in progress (a watcher may act on it): the check before a
    run probes with a name as long, but not that one."""
    created: list[str] = []
    real_open = os.open

    def recording_open(path: str, flags: int, mode: int = 0o777) -> int:
        created.append(os.path.basename(path))
        return real_open(path, flags, mode)

    monkeypatch.setattr(os, "open", recording_open)
    check_output_path(str(tmp_path / "events.jsonl"))
    assert created and not any(name.endswith(".part") for name in created)
    assert [len(name) for name in created if name != "events.jsonl"] == [len(".events.jsonl.") + 17]
    assert list(tmp_path.iterdir()) == []
