"""The ``mp-custom-action`` command: argparse wiring only; each command lives in ``commands/``.

An error the program understands prints one line on stderr (``mp-custom-action: error: ...``)
and exits with its documented code; there is never a traceback unless ``--debug`` asks for one.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from collections.abc import Sequence
from typing import Optional, TextIO

from ._version import __version__
from .errors import ExitStatus, MpError, MpWarning

PROG = "mp-custom-action"

#: Command modules under mp_custom_action.commands, in the order --help lists them.
COMMAND_MODULES = (
    "call",
    "card",
    "presets",
    "preset",
    "run",
    "profiles",
    "sandbox",
    "export",
    "budgets",
)

EXIT_CODES_HELP = """\
exit status:
  0  success (an HTTP error status too, unless --check-status)
  1  unexpected internal error
  2  bad input: arguments, card inputs, preset input, manifest or config (nothing was sent)
  3  credentials: none that this API accepts, or the one asked for is not accepted (nothing sent)
  4  HTTP 4xx answer, with --check-status (or a failed manifest step)
  5  HTTP 5xx answer, with --check-status (or a failed manifest step)
  6  transport: connection failed, timed out, deadline passed, broken or oversized response
  7  plugin error (--strict-plugins, or two plugins claim the same preset)
  9  rate budget spent: --no-wait, or the wait would pass the deadline (nothing sent)
130  interrupted

environment:
  MP_USERNAME, MP_SECRET   service account       MP_API_SECRET  project API secret (deprecated)
  MP_TOKEN                 project token         MP_PROJECT_ID  project id
  MP_REGION                us (standard), eu, in (india)
  MP_TIMEOUT, MP_RETRIES   total deadline in seconds (default 300); retries (default 4)
  MP_PROFILE, MP_CONFIG    profile name and config file (see docs/configuration.md)
  MP_STRICT_PLUGINS=1      a plugin that fails to load is an error, not a warning
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Authenticated custom calls to Mixpanel's HTTP APIs.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="log requests to stderr (-vv: debug)"
    )
    parser.add_argument(
        "--debug", action="store_true", help="show a traceback for unexpected errors"
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f".commands.{name}", __package__).add_parser(subparsers)
    return parser


def _show_warning(
    message: Warning | str,
    category: type[Warning],
    filename: str,
    lineno: int,
    file: Optional[TextIO] = None,
    line: Optional[str] = None,
) -> None:
    print(f"{PROG}: warning: {message}", file=file or sys.stderr)


def main(argv: Optional[Sequence[str]] = None) -> int:
    # Parse first: --help and --version must not pay for requests, jsonschema or pluggy.
    parser = build_parser()
    args = parser.parse_args(argv)
    # The command shows our warnings as one line each, whatever filters the embedding process
    # has set, and puts the process's warning machinery back as it was when it returns.
    with warnings.catch_warnings():
        warnings.simplefilter("always", MpWarning)
        warnings.showwarning = _show_warning
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    if args.verbose:
        import logging

        logging.basicConfig(
            level=logging.DEBUG if args.verbose > 1 else logging.INFO,
            format=f"{PROG}: %(levelname)s %(name)s: %(message)s",
            stream=sys.stderr,
        )
    try:
        return int(args.func(args))
    except MpError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return int(exc.exit_status)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return int(ExitStatus.INTERRUPTED)
    except BrokenPipeError:
        return int(ExitStatus.ERROR)
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"{PROG}: internal error: {type(exc).__name__} (run with --debug for a traceback)",
            file=sys.stderr,
        )
        return int(ExitStatus.ERROR)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
