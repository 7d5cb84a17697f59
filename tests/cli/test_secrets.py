"""Distinctive credentials, every command, every output: not one byte of a credential shows.

The credentials (tests/hostile.py, ``CREDENTIALS``) hold characters that change under URL- and
base64-encoding. Each command below runs with them in ``MP_*`` and in a profile, with ``-vv``
(DEBUG logging on), against a sandbox that accepts them; the test scans stdout, stderr and every
log record for each credential, its base64 forms (alone and inside a longer encoded run, at each
alignment), and its URL- and form-encoded forms. Errors of each kind are driven too, and library
calls scan exception messages, reprs and whole chains, suppressed contexts included.
"""

from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Callable

import pytest
from cli_helpers import cli
from faults_servers import FaultServer
from hostile import CREDENTIALS, assert_no_leak, exception_texts
from loopback import Reply

from mp_custom_action import Runner
from mp_custom_action.core.credentials import Credentials, Secret
from mp_custom_action.errors import MpError
from mp_custom_action.sandbox import Sandbox

ENV = {
    "MP_USERNAME": CREDENTIALS["username"],
    "MP_SECRET": CREDENTIALS["secret"],
    "MP_API_SECRET": CREDENTIALS["api_secret"],
    "MP_TOKEN": CREDENTIALS["token"],
    "MP_PROJECT_ID": CREDENTIALS["project_id"],
}
PROFILE = f"""\
[default]
profile = "scan"

[profiles.scan]
region = "us"
project_id = {CREDENTIALS["project_id"]}
username = "{CREDENTIALS["username"]}"
secret = "{CREDENTIALS["secret"]}"
api_secret = "{CREDENTIALS["api_secret"]}"
token = "{CREDENTIALS["token"]}"
"""
EVENTS = [
    {
        "event": "Signed up",
        "properties": {"distinct_id": "u1", "time": 1705312800, "$insert_id": "s-1"},
    }
]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    creds = {**CREDENTIALS, "project_id": int(CREDENTIALS["project_id"])}
    with Sandbox(port=0, credentials=creds) as sb:
        yield sb


@pytest.fixture(scope="module")
def failing_server() -> Iterator[FaultServer]:
    srv = FaultServer()
    srv.handler = lambda req: Reply.json({"error": "boom"}, status=500)
    with srv:
        yield srv


@pytest.fixture(scope="module")
def trickling_server() -> Iterator[FaultServer]:
    srv = FaultServer()
    srv.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, b"x" * 400, trickle=0.01)
    with srv:
        yield srv


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    config = tmp_path / "config.toml"
    config.write_text(PROFILE)
    config.chmod(0o600)
    monkeypatch.setenv("MP_CONFIG", str(config))
    for name, value in ENV.items():
        monkeypatch.setenv(name, value)
    return tmp_path


def refused_origin() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def manifest(path: Path, data: dict[str, Any]) -> str:
    path.write_text(json.dumps(data))
    return str(path)


# Each case: (arguments, stdin, expected exit status). "{O}" is the sandbox origin, "{F}" a server
# answering 500, "{T}" one that trickles, "{R}" a port nothing listens on, "{D}" the test folder.
CASES: dict[str, tuple[list[str], str, int]] = {
    "call": (["call", "GET", "query", "/2.0/events/names", "--origin", "{O}"], "", 0),
    "call --dry-run": (["call", "GET", "query", "/2.0/events/names", "--origin", "{O}", "--dry-run"], "", 0),
    "call /track (token in the data)": (["call", "POST", "ingestion", "/track", "--body", json.dumps(EVENTS), "--origin", "{O}"], "", 0),
    "call /track --dry-run": (["call", "POST", "ingestion", "/track", "--body", json.dumps(EVENTS), "--dry-run"], "", 0),
    "call /import (token as Basic)": (["call", "POST", "ingestion", "/import", "--auth", "token", "--body", json.dumps(EVENTS), "--origin", "{O}"], "", 0),
    "call with the API secret": (["call", "GET", "query", "/2.0/events/names", "--auth", "secret", "--origin", "{O}"], "", 0),
    "call export -o": (["call", "GET", "export", "", "--query-param", "from_date=2024-01-01", "--query-param", "to_date=2024-01-31", "-o", "{D}/events.jsonl", "--origin", "{O}"], "", 0),
    "call --profile": (["call", "GET", "query", "/2.0/events/names", "--profile", "scan", "--origin", "{O}"], "", 0),
    "card": (["card", "--origin", "{O}"], json.dumps({"Request Type": "GET", "Select API": "Query API", "Relative URL": "/2.0/events/names"}), 0),
    "card --dry-run": (["card", "--dry-run"], json.dumps({"Request Type": "POST", "Select API": "Ingestion API", "Relative URL": "/import", "Body": EVENTS}), 0),
    "preset": (["preset", "listWarehouseSources", "--origin", "{O}"], "", 0),
    "preset create": (["preset", "createWarehouseSource", "--input", "@{D}/source.json", "--origin", "{O}"], "", 0),
    "preset --dry-run": (["preset", "createWarehouseSource", "--input", "@{D}/source.json", "--dry-run"], "", 0),
    "presets list": (["presets", "list"], "", 0),
    "presets list --json": (["presets", "list", "--json"], "", 0),
    "presets show": (["presets", "show", "createWarehouseSource"], "", 0),
    "run": (["run", "{QUICKSTART}", "--origin", "{O}"], "", 0),
    "run --dry-run": (["run", "{QUICKSTART}", "--dry-run"], "", 0),
    "profiles list": (["profiles", "list"], "", 0),
    "profiles show": (["profiles", "show", "scan"], "", 0),
    # -- errors of each kind --------------------------------------------------------------------------
    "input error: relative URL": (["call", "GET", "query", "//evil.example/x", "--origin", "{O}"], "", 2),
    "input error: owned header": (["card"], json.dumps({"Request Type": "GET", "Select API": "query", "Relative URL": "/x", "Headers": {"Authorization": "Basic x"}}), 2),
    "input error: credentials in --origin": (["call", "GET", "query", "/x", "--origin", "https://{USER}:{SECRET}@evil.example"], "", 2),
    "input error: credential in a manifest": (["run", "{D}/creds.json"], "", 2),
    "input error: manifest reference": (["run", "{D}/badref.json"], "", 2),
    "config error: broken TOML": (["--debug", "call", "GET", "query", "/x", "--profile", "broken"], "", 2),
    "credential error": (["call", "GET", "lexicon", "/4242/schemas", "--auth", "secret", "--origin", "{O}"], "", 3),
    "4xx with --check-status": (["call", "GET", "connectors", "/projects/999999/warehouse-sources", "--origin", "{O}", "--check-status"], "", 4),
    "5xx with --check-status": (["call", "GET", "query", "/x", "--origin", "{F}", "--check-status", "--retries", "0"], "", 5),
    "transport: refused": (["call", "GET", "query", "/x", "--origin", "{R}", "--retries", "0"], "", 6),
    "transport: deadline": (["call", "GET", "query", "/x", "--origin", "{T}", "--timeout", "0.3"], "", 6),
    "manifest step fails": (["run", "{D}/fails.json", "--origin", "{F}", "--retries", "0"], "", 5),
    "plugin error": (["presets", "list", "--strict-plugins"], "", 7),
}  # fmt: skip


def _prepare_files(folder: Path, failing: FaultServer) -> dict[str, str]:
    from mp_custom_action.presets.plugins import preset_registry

    example = dict(preset_registry().get("createWarehouseSource").example or {})
    example.pop("projectId", None)
    (folder / "source.json").write_text(json.dumps(example))
    manifest(folder / "creds.json", {"version": 1, "steps": [{"name": "a", "call": {
        "method": "GET", "api": "query", "relative_url": "/x", "headers": {"X-Api-Secret": CREDENTIALS["secret"]}}}]})  # fmt: skip
    manifest(folder / "badref.json", {"version": 1, "steps": [{"name": "a", "preset": "getWarehouseSource",
        "input": {"sourceId": "${steps.nope.body.id}"}}]})  # fmt: skip
    manifest(folder / "fails.json", {"version": 1, "steps": [{"name": "a", "call": {
        "method": "GET", "api": "query", "relative_url": "/x"}}]})  # fmt: skip
    broken = folder / "broken.toml"
    broken.write_text(
        f'[profiles.broken]\nsecret = "{CREDENTIALS["secret"]}\ntoken = {CREDENTIALS["token"]}\n'
    )
    broken.chmod(0o600)
    quickstart = Path(__file__).resolve().parents[2] / "manifests" / "examples" / "quickstart.json"
    return {"D": str(folder), "QUICKSTART": str(quickstart)}


class _BadPlugin:
    """An entry point whose hook raises with a credential-looking message of its own."""

    name = "bad-plugin"
    value = "bad_plugin:module"

    def load(self) -> Any:
        raise RuntimeError("plugin could not start")


@pytest.mark.parametrize("case", list(CASES))
def test_no_command_shows_a_credential(
    case: str,
    home: Path,
    sandbox: Sandbox,
    failing_server: FaultServer,
    trickling_server: FaultServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    args, stdin, expected = CASES[case]
    values = {
        "O": sandbox.origin,
        "F": failing_server.origin,
        "T": trickling_server.origin,
        "R": refused_origin(),
        "USER": CREDENTIALS["username"],
        "SECRET": CREDENTIALS["secret"],
        **_prepare_files(home, failing_server),
    }
    argv = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace("{" + key + "}", value)
        argv.append(arg)
    if case == "config error: broken TOML":
        monkeypatch.setenv("MP_CONFIG", str(home / "broken.toml"))
    if case == "call --profile":
        for name in ENV:
            monkeypatch.delenv(name)  # the profile's credentials are the ones used
    if case == "plugin error":
        from mp_custom_action.presets import plugins

        monkeypatch.setattr(plugins, "_entry_points", lambda: [_BadPlugin()])
        plugins.reset_plugins()
    caplog.set_level(logging.DEBUG)
    try:
        out = cli("-vv", *argv, stdin=stdin)
    finally:
        if case == "plugin error":
            from mp_custom_action.presets import plugins

            plugins.reset_plugins()
    assert out.exit_status == expected, out.stderr
    if expected in (2, 3, 6, 7):
        errors = [
            line for line in out.stderr.splitlines() if line.startswith("mp-custom-action: error:")
        ]
        assert len(errors) == 1, out.stderr
    assert "Traceback" not in out.stderr
    logged = [f"{r.name} {r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records]
    assert_no_leak(out.stdout, out.stderr, *logged)
    for path in home.iterdir():
        if path.suffix in (".jsonl",):
            assert_no_leak(path.read_bytes())


# -- a real process, with -vv logging to its real stderr ----------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["call", "GET", "query", "/2.0/events/names"],
        ["call", "POST", "ingestion", "/track", "--body", json.dumps(EVENTS)],
        ["call", "GET", "query", "/2.0/events/names", "--auth", "secret"],
        ["call", "GET", "query", "//evil.example"],
    ],
    ids=["service account", "token in the data", "API secret", "input error"],
)
def test_debug_logging_of_a_real_process_shows_no_credential(
    argv: list[str], sandbox: Sandbox, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        **ENV,
        "MP_CONFIG": str(tmp_path / "none.toml"),
        "PYTHONIOENCODING": "utf-8",
    }
    proc = subprocess.run(
        [sys.executable, "-m", "mp_custom_action", "-vv", *argv, "--origin", sandbox.origin],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode in (0, 2), proc.stderr
    assert "DEBUG" in proc.stderr or proc.returncode == 2, "urllib3 logged at DEBUG"
    assert_no_leak(proc.stdout, proc.stderr)


def test_the_sandbox_command_prints_its_own_demo_credentials_never_the_environments(
    tmp_path: Path,
) -> None:
    env = {**os.environ, **ENV, "MP_CONFIG": str(tmp_path / "none.toml")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mp_custom_action", "-vv", "sandbox", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert json.loads(first)["origin"].startswith("http://127.0.0.1:")
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    assert_no_leak(first, out, err)


# -- the library: reprs, messages and exception chains ----------------------------------------------------


def _raises(call: Callable[[], Any]) -> MpError:
    try:
        call()
    except MpError as exc:
        return exc
    raise AssertionError("expected an error")


def test_library_objects_and_every_error_chain_are_clean(
    sandbox: Sandbox, failing_server: FaultServer, trickling_server: FaultServer
) -> None:
    runner = Runner(**CREDENTIALS, env={}, origin=sandbox.origin, retries=0)
    with runner:
        request = runner.prepare(
            {"method": "POST", "api": "ingestion", "relative_url": "/track", "body": EVENTS}
        )
        result = runner.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
        errors = [
            _raises(lambda: runner.prepare({"method": "GET", "api": "query", "relative_url": "//x"})),
            _raises(lambda: runner.prepare({"method": "GET", "api": "lexicon", "relative_url": "/1/s", "auth": "token"})),
            _raises(lambda: Runner(**CREDENTIALS, env={}, origin=refused_origin(), retries=0).run(
                {"method": "GET", "api": "query", "relative_url": "/x"})),
            _raises(lambda: Runner(**CREDENTIALS, env={}, origin=trickling_server.origin, timeout=0.3).run(
                {"method": "GET", "api": "query", "relative_url": "/x"})),
            _raises(lambda: Runner(**CREDENTIALS, env={}, origin=failing_server.origin, max_body_bytes=5).run(
                {"method": "GET", "api": "query", "relative_url": "/x"})),
            _raises(lambda: Runner(**CREDENTIALS, env={"HTTPS_PROXY": "http://u:p/q@h:1"}).run(
                {"method": "GET", "api": "query", "relative_url": "/x"})),
        ]  # fmt: skip
    texts: list[Any] = [
        repr(runner), str(runner), repr(vars(runner)), repr(runner.credentials), str(runner.credentials),
        repr(request), str(request), request.describe(), repr(request.credential),
        repr(request.authorization), f"{request.authorization}", str(request.authorization),
        repr(result), result.to_dict(), result.to_card(),
    ]  # fmt: skip
    for error in errors:
        texts.extend(exception_texts(error))
    assert_no_leak(*texts)
    assert request.describe()["body"][0]["properties"]["token"] == "***"


def test_secrets_refuse_to_be_pickled() -> None:
    with pytest.raises(TypeError, match="cannot be pickled"):
        pickle.dumps(Secret(CREDENTIALS["secret"]))
    with pytest.raises(TypeError):
        pickle.dumps(Credentials.build(secret=CREDENTIALS["secret"]))


def test_the_wire_carries_the_credential_only_in_authorization_or_the_token_field(
    sandbox: Sandbox,
) -> None:
    """The other half of the invariant: the credential does go where it must, and only there."""
    with FaultServer() as srv, Runner(**CREDENTIALS, env={}, origin=srv.origin) as runner:
        runner.run({"method": "GET", "api": "query", "relative_url": "/x", "query": {"a": "b"}})
        runner.run({"method": "POST", "api": "ingestion", "relative_url": "/track", "body": EVENTS})
    first, second = srv.received
    assert_no_leak(
        first.target, {k: v for k, v in first.headers.items() if k != "Authorization"}, first.body
    )
    assert second.header("Authorization") is None
    assert_no_leak(second.target, second.headers)
    assert json.loads(second.body)[0]["properties"]["token"] == CREDENTIALS["token"]
