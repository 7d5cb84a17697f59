"""Run the CLI in-process (fast) or as the installed command (real end to end)."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import warnings
from dataclasses import dataclass
from typing import Any, Optional

from mp_custom_action.cli import main


@dataclass
class CliResult:
    """The one result of running the command: exit status, stdout, stderr, stdout as JSON."""

    exit_status: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)


def cli(*args: str, stdin: str = "") -> CliResult:
    """Run ``mp-custom-action ARGS`` in this process, capturing stdout, stderr and exit status.

    Warnings are shown on stderr, as the command shows them: the test run turns warnings into
    errors, and catch_warnings puts the filters and the handler back afterwards.
    """
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with (
            warnings.catch_warnings(),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            warnings.simplefilter("always")
            try:
                status = main(list(args))
            except SystemExit as exc:  # argparse: --help, --version, usage errors
                status = exc.code if isinstance(exc.code, int) else 1
    finally:
        sys.stdin = old_stdin
    return CliResult(status, out.getvalue(), err.getvalue())


def cli_process(
    *args: str, stdin: str = "", env: Optional[dict[str, str]] = None, timeout: float = 60
) -> CliResult:
    """Run the installed ``mp-custom-action`` command in a subprocess."""
    full_env = {**os.environ, **(env or {})}
    proc = subprocess.run(
        [sys.executable, "-m", "mp_custom_action", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
        check=False,
    )
    return CliResult(proc.returncode, proc.stdout, proc.stderr)
