"""``mp-custom-action run MANIFEST``: check a JSON manifest whole, then run its steps in order."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from .._text import PROG
from ..errors import ExitStatus
from .common import add_request_options, open_runner, print_json
from .presets import add_plugin_options, strict_flag

if TYPE_CHECKING:
    from ..manifests.progress import Progress

EXAMPLES = """\
examples:
  mp-custom-action run manifests/examples/quickstart.json --sandbox
  mp-custom-action run sync.json --profile eu-prod
  mp-custom-action run sync.json --dry-run
  mp-custom-action run reports.json --parallel 4

Every step is checked before the first request is sent (schema, presets and their inputs, card
inputs, references, output paths, credentials); a manifest that fails a check sends nothing
(exit 2 or 3).
Output: {"ok": true|false, "steps": [...]}. Exit 0 when ok, else the first failed step's code:
4 (a status outside the step's expect, 5 for a 5xx), 6 (transport), 2 (input) or 3 (credential).
With --parallel N (or "parallel": N in the manifest), up to N steps that do not read each other
run at once, within each API's limits (Query: 5 at once); the output stays in manifest order.
A run stopped early (Ctrl-C: exit 130, SIGTERM: 143, an internal error: 1) still prints the
output of the steps done; partial output files are removed. When stderr is a terminal, a line
per step (step, method, path, status, time) and a final line go there; stdout stays the JSON.
See docs/manifests.md.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a JSON manifest of steps (presets or raw calls)",
        description="Check a manifest, then send its steps in order with one connection pool. "
        "--region and --origin apply to every step; --check-status is implied.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", metavar="MANIFEST", help="the manifest JSON file (- for stdin)")
    parser.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help="run up to N (1-16) independent steps at once; overrides the manifest's parallel "
        "(default: the manifest's, else 1: in order)",
    )
    add_plugin_options(parser)
    # A manifest judges each step by its own `expect`, and a step says where its body goes.
    add_request_options(parser, output=False, check_status=False)
    parser.set_defaults(func=run_manifest_command)


def run_manifest_command(args: argparse.Namespace) -> int:
    from ..core.inputs import parse_json_text
    from ..manifests.load import load_manifest
    from ..manifests.run import check_manifest, check_parallel, dry_run, run_manifest

    source: Any = args.manifest
    if source == "-":
        source = parse_json_text(sys.stdin.read(), field="MANIFEST")
    if args.parallel is not None:
        check_parallel(args.parallel)  # refused before the manifest is even read
    manifest = load_manifest(source)
    # The manifest's profile applies when neither --profile nor MP_PROFILE chooses one.
    args.manifest_profile = manifest.profile
    strict = strict_flag(args)
    with open_runner(args) as runner:
        check_manifest(manifest, runner, region=args.region, strict_plugins=strict)
        if args.dry_run:
            print_json(dry_run(manifest, runner))
            return 0
        progress = _progress()
        with _sigterm_raises():
            try:
                outcome = run_manifest(
                    manifest, runner, strict_plugins=strict, parallel=args.parallel,
                    progress=progress,
                )  # fmt: skip
            except _Terminated:
                print_json(progress.stopped("terminated").to_dict())
                print(f"{PROG}: terminated", file=sys.stderr)
                return int(ExitStatus.TERMINATED)
            except KeyboardInterrupt:
                print_json(progress.stopped("interrupted").to_dict())
                raise  # the CLI says "interrupted" and exits 130
            except BaseException as exc:
                # Whatever stopped the run, what was already sent and answered is printed.
                print_json(progress.stopped(f"stopped by {_why(exc)}").to_dict())
                raise
    print_json(outcome.to_dict())
    return outcome.exit_status


class _Terminated(BaseException):
    """SIGTERM arrived during a run: raised like Ctrl-C, so partial files are cleaned up."""


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    # Only the main thread may set a handler; elsewhere (a library caller's thread) SIGTERM keeps
    # its own handling.
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def raise_terminated(signum: int, frame: object) -> None:
        raise _Terminated

    previous = signal.signal(signal.SIGTERM, raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress() -> Progress:
    """A terminal gets a line per step on stderr; anything else only the JSON on stdout."""
    from ..manifests.progress import Progress, TerminalProgress

    return TerminalProgress(sys.stderr) if stderr_is_terminal() else Progress()


def stderr_is_terminal() -> bool:
    """Is stderr a terminal (someone watching)? Tests replace this to see the lines."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _why(exc: BaseException) -> str:
    from ..errors import MpError

    if isinstance(exc, MpError):
        return f"an error ({type(exc).__name__})"
    return f"an internal error ({type(exc).__name__})"
