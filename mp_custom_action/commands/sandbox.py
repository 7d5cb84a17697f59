"""``mp-custom-action sandbox``: serve the local Mixpanel-compatible sandbox until interrupted."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
import threading
from types import FrameType
from typing import Any, Callable, Optional, Union

from ..errors import ExitStatus, InputError

EXAMPLES = """\
examples:
  mp-custom-action sandbox                      # a free port; the first line says which
  mp-custom-action sandbox --port 8787 --state sandbox.json
  mp-custom-action sandbox --fail-rate 0.2 --latency 0.05 --seed 7
  mp-custom-action sandbox --tls                # HTTPS; trust the printed ca_file

The first line printed is JSON: {"origin", ["ca_file",] "project_id", "username", "secret",
"api_secret", "token"}. The credentials are the sandbox's own fake ones (docs/sandbox.md); they
open nothing at Mixpanel. Then one line per request on stderr (time, method, path with query
parameter names only, status, milliseconds, the credential kind accepted or why it was
refused); --quiet turns it off. The server listens on 127.0.0.1 only and stops on Ctrl-C or
SIGTERM.
"""


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds (>= 0), got {text!r}") from None
    if not 0.0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"expected seconds (>= 0), got {text!r}")
    return value


def _port(text: str) -> int:
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"expected a port from 0 to 65535, got {text!r}")
    return int(text)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def _megabytes(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected megabytes a second (> 0), got {text!r}"
        ) from None
    if not 0.0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected megabytes a second (> 0), got {text!r}")
    return value


def _seed(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer seed, got {text!r}") from None


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "sandbox",
        help="serve a local Mixpanel-compatible sandbox (no account needed)",
        description="Serve the six Mixpanel API families on http://127.0.0.1:PORT with demo "
        "credentials, until interrupted. Try cards, presets and manifests with --sandbox, or "
        "point --origin at the printed origin.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=_port, default=0, help="port on 127.0.0.1 (default 0: a free one)"
    )
    parser.add_argument(
        "--state",
        metavar="FILE",
        help="keep events, profiles, schemas, sources... in FILE across runs "
        "(written atomically after every change; default: memory only)",
    )
    parser.add_argument(
        "--fail-rate",
        type=_fraction,
        default=0.0,
        metavar="SHARE",
        help="answer this share of requests (0..1) with 429 + Retry-After or 503, half each",
    )
    parser.add_argument(
        "--latency",
        type=_seconds,
        default=0.0,
        metavar="SECONDS",
        help="delay every answer by this many seconds",
    )
    parser.add_argument(
        "--rate-limit",
        type=_positive,
        default=None,
        metavar="N",
        help="handle at most N requests a second; answer the others 429 with Retry-After",
    )
    parser.add_argument(
        "--stream-rate",
        type=_megabytes,
        default=0.0,
        metavar="MBPS",
        help="send each streamed answer (Export) at most MBPS megabytes a second, per connection",
    )
    parser.add_argument(
        "--seed",
        type=_seed,
        default=None,
        help="make --fail-rate reproducible: the n-th request always gets the same answer",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="serve HTTPS with a throwaway certificate authority made at start (needs "
        "mp-custom-action[tls]); its PEM file is printed as ca_file",
    )
    parser.add_argument(
        "--ca-file",
        metavar="FILE",
        help="with --tls, write the CA certificate (PEM) to FILE (default: a new temporary "
        "folder, removed on stop)",
    )
    parser.add_argument(
        "-q",
        "--quiet",
        action="store_true",
        # SUPPRESS: `mp-custom-action -q sandbox` (the global -q) is not reset by this copy.
        default=argparse.SUPPRESS,
        help="do not log each request on stderr",
    )
    parser.set_defaults(func=run_sandbox)


Handler = Union[Callable[[int, Optional[FrameType]], Any], int, None]


def run_sandbox(args: argparse.Namespace) -> int:
    # Imported here: `mp-custom-action --help` must not pay for the server.
    from ..sandbox import Sandbox

    if args.ca_file and not args.tls:
        raise InputError("--ca-file is only used with --tls", field="--ca-file")
    # A bad --state file is a StateFileError (an InputError): the CLI prints it, exit 2.
    sandbox = Sandbox(
        port=args.port,
        state_file=args.state,
        fail_rate=args.fail_rate,
        latency=args.latency,
        rate_limit=args.rate_limit,
        seed=args.seed,
        tls=args.tls,
        ca_file=args.ca_file,
        log=None if getattr(args, "quiet", False) else sys.stderr,
        stream_rate=args.stream_rate * 1e6,
    )
    try:
        sandbox.start()
    except OSError as exc:
        # The port is the user's choice (--port), so this is an input error like any other.
        raise InputError(
            f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}", field="--port"
        ) from None
    stop = threading.Event()
    previous: dict[int, Handler] = {}
    try:
        previous = _install_handlers(stop)
        print(json.dumps(sandbox.info()), flush=True)
        # A timed wait, so that Ctrl-C is seen promptly on every platform.
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        sandbox.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    print("mp-custom-action: sandbox stopped", file=sys.stderr)
    return int(ExitStatus.OK)


def _install_handlers(stop: threading.Event) -> dict[int, Handler]:
    """SIGINT and SIGTERM end the wait; signals can only be set from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return {}

    def on_signal(signum: int, frame: Optional[FrameType]) -> None:
        stop.set()

    previous: dict[int, Handler] = {}
    for name in ("SIGINT", "SIGTERM"):
        signum = getattr(signal, name, None)
        if signum is not None:
            previous[signum] = signal.signal(signum, on_signal)
    return previous
