"""_logs: every log record that leaves the process, ours and urllib3's, passes one masking."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

from cli_helpers import cli_process
from loopback import ScriptedServer

from mp_custom_action import _logs

SECRET = "s3cr3t-Path/Value+x"
QUERY_SECRET = "hunter2-in-a-query"


def test_query_values_and_hidden_values_are_masked_in_any_record() -> None:
    stream = io.StringIO()
    undo = _logs.install(logging.DEBUG, stream, "%(name)s: %(message)s")
    try:
        _logs.hide([SECRET, "5"])
        logging.getLogger("urllib3.connectionpool").debug(
            '%s "%s %s HTTP/1.1" 200 None',
            "http://127.0.0.1:1",
            "GET",
            "/api/s3cr3t-Path%2FValue%2Bx/x?type=general&key=" + QUERY_SECRET,
        )
        logging.getLogger("mp_custom_action").info("project 5 in 2025, %s", SECRET)
    finally:
        undo()
    text = stream.getvalue()
    assert QUERY_SECRET not in text and "s3cr3t" not in text
    assert "?type=***&key=***" in text
    assert "/api/***/x" in text
    assert "project *** in 2025, ***" in text  # a short value only where it stands alone


def test_undo_forgets_the_hidden_values() -> None:
    undo = _logs.install(logging.INFO, io.StringIO(), "%(message)s")
    _logs.hide([SECRET])
    undo()
    assert _logs.mask(SECRET) == SECRET


def test_at_vv_no_secret_in_a_url_reaches_stderr(server: ScriptedServer, tmp_path: Path) -> None:
    env = {
        "MP_USERNAME": "sa.user",
        "MP_SECRET": SECRET,
        "MP_PROJECT_ID": "42",
        "MP_CONFIG": str(tmp_path / "none.toml"),
    }
    path = "/2.0/" + SECRET.replace("/", "%2F").replace("+", "%2B") + "/names?k=" + QUERY_SECRET
    done = cli_process(
        "call", "GET", "query", path, "--origin", server.origin, "--retries", "0", "-vv",
        env={k: v for k, v in {**os.environ, **env}.items() if k != "MP_TOKEN"},
    )  # fmt: skip
    assert done.exit_status == 0, done.stderr
    assert "urllib3" in done.stderr  # -vv after the subcommand turned debug logging on
    assert QUERY_SECRET not in done.stderr
    assert "s3cr3t" not in done.stderr
    assert server.received  # it was sent: the masking is in the log only
