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
from typing import Callable, Optional, TextIO

from ._text import PROG
from ._version import __version__
from .errors import ExitStatus, MpError, MpWarning

#: Command modules under mp_custom_action.commands, in the order --help lists them.
COMMAND_MODULES = (
    "call",
    "card",
    "presets",
    "preset",
    "run",
    "import_",
    "export",
    "profiles",
    "sandbox",
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
  8  the answer came, but its --output file could not be written (disk full, ...)
  9  rate budget spent: --no-wait, or the wait would pass the deadline (nothing sent)
130  interrupted
143  terminated (SIGTERM during run)

environment:
  MP_USERNAME, MP_SECRET   service account       MP_API_SECRET  project API secret (deprecated)
  MP_TOKEN                 project token         MP_PROJECT_ID  project id
  MP_OAUTH_TOKEN           OAuth bearer token (GDPR APIs; /import)
  MP_REGION                us (standard), eu, in (india)
  MP_TIMEOUT, MP_RETRIES   total deadline in seconds (default 300); retries (default 4, max 100)
  MP_PROFILE, MP_CONFIG    profile name and config file (see docs/configuration.md)
  MP_STRICT_PLUGINS=1      a plugin that fails to load is an error, not a warning
  MP_BUDGETS, MP_BUDGETS_FILE  rate budgets: on (default), all (loopback too), off; the ledger
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Authenticated custom calls to Mixpanel's HTTP APIs.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {__version__}")
    _add_global_options(parser, argparse.SUPPRESS)
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(f".commands.{name}", __package__).add_parser(subparsers)
    for name, command in subparsers.choices.items():
        # After the subcommand too (``call ... -v``), as httpie and curl users expect. The
        # sandbox serves rather than sends: its options are its own.
        if name != "sandbox":
            _add_global_options(command, argparse.SUPPRESS)
    return parser


def _add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    # SUPPRESS: an option not given leaves the attribute alone, so the subcommand's copy of an
    # option never resets what was given before the subcommand. main() fills in the defaults.
    group = parser.add_argument_group("output") if parser.prog != PROG else parser
    group.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=default,
        help="log requests to stderr (-vv: debug, urllib3's too; secrets masked)",
    )
    group.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        default=default,
        help="no notices on stderr (a retry's wait); errors and warnings still show",
    )
    group.add_argument(
        "--debug",
        action="store_true",
        default=default,
        help="show a traceback for unexpected errors",
    )


_GLOBAL_DEFAULTS = {"verbose": 0, "quiet": False, "debug": False}


def _asks_version(argv: Sequence[str]) -> bool:
    """``--version`` among the options before the command: answered before anything is imported."""
    for arg in argv:
        if arg == "--version":
            return True
        if arg == "--" or not arg.startswith("-"):
            return False
    return False


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
    arguments = sys.argv[1:] if argv is None else list(argv)
    if _asks_version(arguments):
        # Before the parser: building it imports every command module.
        print(f"{PROG} {__version__}")
        return int(ExitStatus.OK)
    # Parse first: --help must not pay for requests, jsonschema or pluggy.
    parser = build_parser()
    args = parser.parse_args(arguments)
    for name, value in _GLOBAL_DEFAULTS.items():
        if not hasattr(args, name):
            setattr(args, name, value)
    # The command shows our warnings as one line each, whatever filters the embedding process
    # has set, and puts the process's warning machinery back as it was when it returns.
    with warnings.catch_warnings():
        warnings.simplefilter("always", MpWarning)
        warnings.showwarning = _show_warning
        return _dispatch(args)


def _dispatch(args: argparse.Namespace) -> int:
    undo_logging = _start_logging(args.verbose, args.debug) if args.verbose else None
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
    finally:
        if undo_logging is not None:
            undo_logging()


def _start_logging(verbose: int, debug: bool) -> Callable[[], None]:
    """-v: our request lines; -vv: debug, urllib3's too. Every record passes one masking."""
    import logging
    import os

    from . import _logs
    from .settings import ENV_VARS

    # The credential variables' values, and any variable named like a secret (a manifest may
    # read one into a path): hidden before the first record is written.
    secretive = ("SECRET", "TOKEN", "PASSWORD", "PASSWD", "KEY")
    credential_vars = {var for name, var in ENV_VARS.items() if name != "project_id"}
    # (A short value of a variable merely named like a secret, SOME_TOKEN_ENABLED=1, is a flag,
    # not a secret: masking every "1" would only blur the log.)
    _logs.hide(
        value
        for name, value in os.environ.items()
        if name in credential_vars
        or (len(value) >= 8 and any(word in name.upper() for word in secretive))
    )
    return _logs.install(
        logging.DEBUG if verbose > 1 else logging.INFO,
        sys.stderr,
        f"{PROG}: %(levelname)s %(name)s: %(message)s",
        tracebacks=debug,
    )


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
