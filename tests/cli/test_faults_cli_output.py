"""What the command prints when a server's answer is valid JSON that is awkward to print.

These run the command in a subprocess, as a user does: an in-process run writes to a StringIO,
which accepts text a real UTF-8 stdout refuses. ``orjson`` is blocked in the child, so the
standard library parses the answer, as in an install without the ``fast`` extra (CI's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from faults_servers import FaultServer
from hostile import CREDENTIALS, assert_no_leak
from loopback import Reply

STDLIB_JSON_CLI = (
    "import sys; sys.modules['orjson'] = None; "
    "from mp_custom_action.cli import main; raise SystemExit(main())"
)


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MP_USERNAME": CREDENTIALS["username"],
        "MP_SECRET": CREDENTIALS["secret"],
        "MP_PROJECT_ID": CREDENTIALS["project_id"],
        "PYTHONIOENCODING": "utf-8",
    }
    return subprocess.run(
        [sys.executable, "-c", STDLIB_JSON_CLI, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_json_answer_holding_a_lone_surrogate_prints_whole(fault_server: FaultServer) -> None:
    """Found by the fault suite: the standard library parses "\\ud800" into a string no UTF-8
    stdout can write; the command printed half the JSON, then "internal error" (exit 1)."""
    fault_server.handler = lambda req: Reply(
        200, {"Content-Type": "application/json"}, b'{"a": "\\ud800", "b": "\xc3\xa9"}'
    )
    proc = run_cli("call", "GET", "query", "/x", "--origin", fault_server.origin)
    assert (proc.returncode, proc.stderr) == (0, "")
    printed = json.loads(proc.stdout)
    assert printed["body"] == {"a": "\ud800", "b": "\u00e9"}
    assert_no_leak(proc.stdout, proc.stderr)


def test_a_json_answer_nested_past_the_recursion_limit_is_returned_as_text(
    fault_server: FaultServer,
) -> None:
    """Found by the fault suite: the standard library's RecursionError escaped as "internal
    error" (exit 1); the body now comes back as text, like any JSON that does not parse."""
    nested = b"[" * 100_000 + b"]" * 100_000
    fault_server.handler = lambda req: Reply(200, {"Content-Type": "application/json"}, nested)
    proc = run_cli("call", "GET", "query", "/x", "--origin", fault_server.origin)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["body"] == nested.decode()
