"""What the request-sending commands share: their options, building a Runner, printing results."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from .._text import PROG
from ..errors import ExitStatus, InputError, http_exit_status
from ..settings import ENV_VARS

if TYPE_CHECKING:
    from ..core.apis import ApiSpec
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner

__all__ = [
    "add_request_options",
    "exit_status_for",
    "open_runner",
    "print_json",
    "read_json_argument",
    "send_or_describe",
]


def add_request_options(
    parser: argparse.ArgumentParser, *, output: bool = True, check_status: bool = True
) -> None:
    """The connection and safety options of call, card, preset and run."""
    group = parser.add_argument_group("connection")
    group.add_argument("--region", help="us (standard, the default), eu, in (india); env MP_REGION")
    group.add_argument(
        "--auth",
        choices=("auto", "service-account", "secret", "token", "oauth"),
        help="force a credential kind (default auto: the first the endpoint accepts of service "
        "account, API secret, project token, OAuth token MP_OAUTH_TOKEN)",
    )
    group.add_argument(
        "--origin",
        metavar="URL",
        help="send to this scheme://host[:port] instead of Mixpanel, keeping each API's path "
        "(plain http only for loopback); for tests and the sandbox",
    )
    group.add_argument(
        "--sandbox",
        action="store_true",
        help="start the built-in local sandbox for this command and send to it, with its demo "
        "credentials (your MP_* and profile credentials are not used)",
    )
    group.add_argument(
        "--tls",
        action="store_true",
        help="with --sandbox: serve it over HTTPS with a throwaway certificate authority, "
        "trusted for this command only (needs mp-custom-action[tls])",
    )
    group.add_argument("--profile", help="profile from the config file (env MP_PROFILE)")
    group.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        help="total deadline of the call: connect, send and the whole response, across retries "
        "(default 300)",
    )
    group.add_argument(
        "--retries",
        type=int,
        metavar="N",
        help="retries on 429/502/503/504 and connection errors, with backoff (default 4, at most "
        "100; 0: off); each wait is announced on stderr",
    )
    behaviour = parser.add_argument_group("behaviour")
    behaviour.add_argument(
        "--no-wait",
        action="store_true",
        help="when a Mixpanel rate budget of the project is spent, fail (exit 9) instead of "
        "waiting for room (see: mp-custom-action budgets)",
    )
    behaviour.add_argument(
        "--dry-run",
        action="store_true",
        help="print the request that would be sent (credentials redacted) and send nothing",
    )
    if check_status:
        behaviour.add_argument(
            "--check-status",
            action="store_true",
            help="exit 4 on a 4xx answer and 5 on a 5xx answer (default: exit 0, status in output)",
        )
    if output:
        behaviour.add_argument(
            "--output",
            "-o",
            metavar="FILE",
            help="stream a successful body to FILE in bounded memory (for Export); the printed "
            "result then has body null, body_file and body_bytes",
        )


def read_json_argument(value: str, *, field: str) -> Any:
    """A JSON argument: inline text, ``@file`` for a file's content, or ``-`` for stdin."""
    from ..core.inputs import parse_json_text

    if value == "-":
        text = sys.stdin.read()
    elif value.startswith("@"):
        path = value[1:]
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except OSError as exc:
            raise InputError(f"cannot read {path!r}: {exc.strerror}", field=field) from None
        except UnicodeDecodeError:
            raise InputError(f"{path!r} is not UTF-8 text", field=field) from None
    else:
        text = value
    return parse_json_text(text, field=field)


@contextlib.contextmanager
def open_runner(args: argparse.Namespace) -> Iterator[Runner]:
    """The Runner for a command: flags > environment > profile > defaults, and ``--sandbox``."""
    from ..core.runner import Runner
    from ..settings import resolve_settings

    flags: dict[str, Any] = {
        "region": getattr(args, "region", None),
        "origin": getattr(args, "origin", None),
        "auth": getattr(args, "auth", None),
        "timeout": getattr(args, "timeout", None),
        "retries": getattr(args, "retries", None),
    }
    sandbox = getattr(args, "sandbox", False)
    env: Mapping[str, str] = os.environ
    profile = None
    if sandbox:
        # The sandbox's demo credentials replace the user's as one set: mixing a real
        # MP_PROJECT_ID with the demo service account would only get 403s, and real secrets have
        # no business going to a local test server. Neither profiles nor MP_* credentials are
        # read, so a broken default profile does not stop a sandbox run.
        env = {k: v for k, v in os.environ.items() if k not in ENV_VARS.values()}
    else:
        profile = _load_profile(args)
    with contextlib.ExitStack() as stack:
        sandbox_layer: dict[str, Any] = {}
        tls = bool(getattr(args, "tls", False))
        if tls and not sandbox:
            raise InputError("--tls is only used with --sandbox", field="--tls")
        if sandbox and not getattr(args, "dry_run", False):
            sandbox_layer = stack.enter_context(_sandbox(tls))
        elif sandbox:
            # A dry run sends nothing, so no server is started; the origin shown is a placeholder.
            sandbox_layer = {"origin": "http://127.0.0.1:0", **_sandbox_credentials()}
        settings = resolve_settings(flags, env, profile)
        ca_file: Optional[str] = None
        if sandbox_layer:
            ca_file = sandbox_layer.pop("ca_file", None)
            settings.update(_without(sandbox_layer, "origin"))
            if flags.get("origin") is None:
                settings["origin"] = sandbox_layer["origin"]
        transport_env: Mapping[str, str] = os.environ
        if ca_file is not None:  # trust the sandbox's throwaway CA, for this runner only
            transport_env = {**os.environ, "REQUESTS_CA_BUNDLE": ca_file}
        # Resolved once, here: the Runner checks these settings and does not read them again.
        runner = Runner.from_settings(
            settings,
            env=transport_env,
            apis=_api_lookup,
            on_retry=_retry_notice(args),
            pacer=_budgets(args),
        )
        stack.callback(runner.close)
        if getattr(args, "verbose", 0):
            from .._logs import hide

            hide(runner.credentials.secrets())
        yield runner


def _retry_notice(args: argparse.Namespace) -> Optional[Callable[[str], None]]:
    """Waiting is never silent: one stderr line before each retry waits (``-q`` silences it)."""
    if getattr(args, "quiet", False):
        return None

    def notice(text: str) -> None:
        print(f"{PROG}: retrying: {text}", file=sys.stderr, flush=True)

    return notice


def _api_lookup(name: object) -> ApiSpec:
    """The runner's seam to plugins: every command knows the API selectors plugins add.

    A built-in name is answered here, so that a plain ``call`` never imports the plugin manager.
    """
    from ..core.apis import builtin_registry

    if name in builtin_registry:
        return builtin_registry.get(name)
    from ..presets.plugins import api_lookup

    return api_lookup(name)


def _budgets(args: argparse.Namespace) -> Any:
    """The rate budgets every command shares (bulk/budgets.py), waiting unless --no-wait."""
    from ..bulk.budgets import Budgets

    def notify(line: str) -> None:
        if not getattr(args, "quiet", False):
            print(f"{PROG}: {line}", file=sys.stderr, flush=True)

    return Budgets(wait=not getattr(args, "no_wait", False), notify=notify)


def _without(mapping: Mapping[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k != key}


def _load_profile(args: argparse.Namespace) -> Optional[Mapping[str, Any]]:
    from ..profiles import load_profile

    # A manifest's ``profile`` (set on args by ``run``) comes after --profile and MP_PROFILE.
    return load_profile(
        getattr(args, "profile", None),
        os.environ,
        manifest_profile=getattr(args, "manifest_profile", None),
    )


def _sandbox_credentials() -> dict[str, Any]:
    from ..sandbox import DEMO_CREDENTIALS

    return dict(DEMO_CREDENTIALS)


@contextlib.contextmanager
def _sandbox(tls: bool = False) -> Iterator[dict[str, Any]]:
    from ..sandbox import Sandbox

    with Sandbox(port=0, tls=tls) as sandbox:
        yield {"origin": sandbox.origin, "ca_file": sandbox.ca_file, **sandbox.credentials}


def print_json(value: Any) -> None:
    """Print ``value`` as JSON, whole or not at all: an answer is never cut off half-way."""
    try:
        text = json.dumps(value, indent=2, ensure_ascii=False)
    except RecursionError:
        from ..errors import BrokenResponseError

        raise BrokenResponseError(
            "the response body is nested too deeply to print as JSON; "
            "save it with --output FILE instead"
        ) from None
    try:
        sys.stdout.write(text + "\n")
    except UnicodeEncodeError:
        # A response's JSON may hold a lone surrogate ("\ud800"), which no encoding can write,
        # or characters the terminal's encoding lacks: \uXXXX escapes are the same JSON value.
        sys.stdout.write(json.dumps(value, indent=2) + "\n")
    sys.stdout.flush()


def send_or_describe(
    runner: Runner,
    request: OutgoingRequest,
    args: argparse.Namespace,
    *,
    card: bool = False,
    after: Optional[Callable[[Result], object]] = None,
) -> int:
    """Print the dry run, or send and print the result: how call, card and preset end.

    ``card`` prints the card's output names; ``after`` sees the result before it is printed.
    Returns the exit status.
    """
    if args.dry_run:
        runner.warn_deprecated(request)
        print_json(request.describe())
        return int(ExitStatus.OK)
    result = runner.send(request, output=args.output)
    if after is not None:
        after(result)
    print_json(result.to_card() if card else result.to_dict())
    return exit_status_for(result, args.check_status)


def exit_status_for(result: Result, check_status: bool) -> int:
    if check_status and result.status_code >= 400:
        return int(http_exit_status(result.status_code))
    return int(ExitStatus.OK)
