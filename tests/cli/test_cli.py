"""The call and card commands: output shapes, exit codes, and one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli, cli_process
from loopback import Reply, ScriptedServer

SA_ENV = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret", "MP_PROJECT_ID": "4242"}


@pytest.fixture
def sa_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in SA_ENV.items():
        monkeypatch.setenv(name, value)


@pytest.mark.usefixtures("sa_env")
def test_call_dry_run_prints_the_request_with_credentials_redacted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MP_REGION", "eu")
    result = cli(
        "call", "GET", "query", "/2.0/events/names", "--query", '{"type": "general"}', "--dry-run"
    )
    assert result.exit_status == 0
    assert result.json == {
        "method": "GET",
        "url": "https://eu.mixpanel.com/api/2.0/events/names?type=general&project_id=4242",
        "headers": {
            "User-Agent": result.json["headers"]["User-Agent"],
            "Accept": result.json["headers"]["Accept"],
            "Authorization": "Basic ***",
        },
        "body": None,
    }
    assert "sa-secret" not in result.stdout + result.stderr


@pytest.mark.usefixtures("sa_env")
def test_call_over_a_real_socket(server: ScriptedServer) -> None:
    server.handler = lambda req: Reply.json(["Signed up"])
    result = cli(
        "call", "get", "Query API", "/2.0/events/names", "--query-param", "type=general",
        "--query-param", "e=a", "--query-param", "e=b", "--header", "X-Trace=1", "--origin", server.origin,
    )  # fmt: skip
    assert result.exit_status == 0, result.stderr
    assert set(result.json) == {"status_code", "headers", "body"}
    assert (result.json["status_code"], result.json["body"]) == (200, ["Signed up"])
    (req,) = server.received
    assert req.target == "/api/2.0/events/names?type=general&e=a&e=b&project_id=4242"
    assert req.header("X-Trace") == "1"


@pytest.mark.usefixtures("sa_env")
@pytest.mark.parametrize(
    ("status", "code"), [(200, 0), (302, 0), (403, 4), (404, 4), (500, 5), (503, 5)]
)
def test_check_status_exit_codes(server: ScriptedServer, status: int, code: int) -> None:
    server.handler = lambda req: Reply.json({"status": status}, status=status)
    plain = cli(
        "call", "GET", "connectors", "/projects/4242/x", "--origin", server.origin, "--retries", "0"
    )
    checked = cli(
        "call",
        "GET",
        "connectors",
        "/projects/4242/x",
        "--origin",
        server.origin,
        "--retries",
        "0",
        "--check-status",
    )
    assert plain.exit_status == 0
    assert checked.exit_status == code
    assert checked.json["status_code"] == status


def test_card_reads_stdin_and_prints_card_names(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MP_TOKEN", "proj-token")
    server.handler = lambda req: Reply(200, {"Content-Type": "application/json"}, b"1")
    card = {"Request Type": "POST", "Select API": "Ingestion API", "Relative URL": "/track",
            "Body": [{"event": "Signed up", "properties": {"distinct_id": "u1"}}]}  # fmt: skip
    result = cli("card", "--origin", server.origin, stdin=json.dumps(card))
    assert result.exit_status == 0, result.stderr
    assert result.json == {"Status Code": 200, "Headers": result.json["Headers"], "Body": 1}
    assert server.received[0].json() == [
        {"event": "Signed up", "properties": {"distinct_id": "u1", "token": "proj-token"}}
    ]


@pytest.mark.usefixtures("sa_env")
def test_card_from_a_file_with_our_names(server: ScriptedServer, tmp_path: Path) -> None:
    path = tmp_path / "card.json"
    path.write_text(
        json.dumps(
            {
                "method": "DELETE",
                "api": "connectors",
                "relative_url": "/projects/4242/warehouse-sources/s1",
            }
        )
    )
    result = cli("card", str(path), "--origin", server.origin)
    assert result.exit_status == 0
    assert server.received[0].method == "DELETE"


@pytest.mark.usefixtures("sa_env")
def test_body_from_file_and_stdin(server: ScriptedServer, tmp_path: Path) -> None:
    body = tmp_path / "body.json"
    body.write_text('{"name": "from file"}')
    assert (
        cli(
            "call",
            "POST",
            "connectors",
            "/projects/4242/x",
            "--body",
            f"@{body}",
            "--origin",
            server.origin,
        ).exit_status
        == 0
    )
    assert (
        cli(
            "call",
            "POST",
            "connectors",
            "/projects/4242/x",
            "--body",
            "-",
            "--origin",
            server.origin,
            stdin='{"name": "stdin"}',
        ).exit_status
        == 0
    )
    assert [r.json() for r in server.received] == [{"name": "from file"}, {"name": "stdin"}]


@pytest.mark.usefixtures("sa_env")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["call", "HEAD", "query", "/x"],
            "method: expected one of GET, POST, PUT, PATCH, DELETE, got 'HEAD'",
        ),
        (["call", "GET", "nope", "/x"], "api: expected one of"),
        (["call", "GET", "query", "//evil.example"], "relative_url: must not start with '//'"),
        (
            ["call", "GET", "query", "/x", "--body", "{}"],
            "body: a body is only sent with POST, PUT or PATCH",
        ),
        (["call", "POST", "query", "/x", "--body", "{nope"], "--body: is not valid JSON"),
        (
            ["call", "POST", "query", "/x", "--body", "[NaN]"],
            "--body: is not valid JSON (NaN is not valid JSON)",
        ),
        (
            ["call", "GET", "query", "/x", "--header", "Authorization=Basic x"],
            "headers.Authorization: is set by the connector",
        ),
        (["call", "GET", "query", "/x", "--header", "novalue"], "--header: expected KEY=VALUE"),
        (["call", "GET", "query", "/x", "--query", "[1]"], "--query: expected a JSON object"),
        (
            ["call", "GET", "query", "/x", "--region", "mars"],
            "region: expected one of us (standard), eu, in",
        ),
        (
            ["call", "GET", "query", "/x", "--origin", "http://example.com"],
            "origin: plain http is allowed only for loopback",
        ),
        (
            ["call", "GET", "query", "/x", "--timeout", "-1"],
            "timeout: expected a number of seconds > 0",
        ),
        (["card"], "card: is not valid JSON"),
    ],
)
def test_input_errors_exit_2_with_one_line_and_send_nothing(
    server: ScriptedServer, args: list[str], message: str
) -> None:
    result = cli(*args, stdin="")
    assert result.exit_status == 2, result.stderr
    assert result.stderr == f"mp-custom-action: error: {message}\n" or message in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert server.received == []


def test_credential_errors_exit_3() -> None:
    result = cli("call", "GET", "connectors", "/projects/1/warehouse-sources")
    assert result.exit_status == 3
    assert result.stderr == (
        "mp-custom-action: error: the Connectors API (/projects/1/warehouse-sources) needs a service account "
        "(MP_USERNAME and MP_SECRET)\n"
    )


@pytest.mark.usefixtures("sa_env")
def test_transport_errors_exit_6_with_one_line() -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    result = cli(
        "call", "GET", "query", "/x", "--origin", f"http://127.0.0.1:{port}", "--retries", "0"
    )
    assert result.exit_status == 6
    assert result.stderr.startswith(
        "mp-custom-action: error: could not connect to http://127.0.0.1:"
    )
    assert result.stderr.count("\n") == 1


@pytest.mark.usefixtures("sa_env")
def test_output_file(server: ScriptedServer, tmp_path: Path) -> None:
    server.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, b'{"event":"a"}\n')
    target = tmp_path / "out.jsonl"
    result = cli(
        "call",
        "GET",
        "export",
        "",
        "--query-param",
        "from_date=2024-01-01",
        "-o",
        str(target),
        "--origin",
        server.origin,
    )
    assert result.exit_status == 0
    assert result.json["body"] is None and result.json["body_bytes"] == 14
    assert target.read_text() == '{"event":"a"}\n'


def test_api_secret_warning_is_one_line_on_stderr(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MP_API_SECRET", "api-secret-value")
    result = cli("call", "GET", "query", "/x", "--origin", server.origin)
    assert result.exit_status == 0
    assert result.stderr.startswith(
        "mp-custom-action: warning: the project API secret is deprecated"
    )
    assert "api-secret-value" not in result.stdout + result.stderr


def test_version_and_help_document_exit_codes() -> None:
    assert cli("--version").stdout.startswith("mp-custom-action 0.")
    help_text = cli("--help").stdout
    for line in ("2  bad input", "3  credentials", "4  HTTP 4xx", "5  HTTP 5xx", "6  transport"):
        assert line in help_text
    call_help = cli("call", "--help").stdout
    for option in ("--query", "--query-param", "--header", "--body", "--region", "--auth", "--dry-run",
                   "--check-status", "--timeout", "--retries", "--output", "--origin"):  # fmt: skip
        assert option in call_help


def test_python_dash_m_and_the_console_script(server: ScriptedServer) -> None:
    env = {**SA_ENV}
    result = cli_process(
        "call", "GET", "query", "/2.0/events/names", "--origin", server.origin, env=env
    )
    assert result.exit_status == 0, result.stderr
    assert result.json["status_code"] == 200
    # The console script installed beside this interpreter, never one found on PATH: a fresh
    # clone's README command does not activate the virtual environment.
    console_script = Path(sys.executable).with_name("mp-custom-action")
    script = subprocess.run(
        [str(console_script), "--version"], capture_output=True, text=True, check=False
    )
    assert script.returncode == 0 and script.stdout.startswith("mp-custom-action ")


def test_cheap_commands_do_not_import_heavy_libraries() -> None:
    code = (
        "import sys\n"
        "from mp_custom_action.cli import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "assert 'requests' not in sys.modules, 'requests imported by --version'\n"
        "main(['call', 'GET', 'query', '/x', '--dry-run'])\n"
        "heavy = sorted(m for m in ('jsonschema', 'pluggy', 'requests') if m in sys.modules)\n"
        "print(heavy)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False,
                          env={"MP_API_SECRET": "s", "PATH": ""})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_sandbox_flag_uses_the_demo_credentials_not_the_users(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name, value in {**SA_ENV, "MP_PROJECT_ID": "12345", "MP_TOKEN": "real-token"}.items():
        monkeypatch.setenv(name, value)
    result = cli("call", "GET", "query", "/2.0/events/names", "--sandbox", "--check-status")
    assert result.exit_status == 0, result.stdout + result.stderr
    dry = cli("call", "GET", "query", "/2.0/events/names", "--sandbox", "--dry-run")
    assert "project_id=4242424" in dry.json["url"]
    assert dry.json["url"].startswith("http://127.0.0.1:0/api/")


def test_a_very_long_manifest_path_is_quoted_short() -> None:
    result = cli("run", "x" * 5000)
    assert result.exit_status == 2
    assert result.stderr.startswith("mp-custom-action: error: cannot read xxx")
    assert len(result.stderr) < 300


def test_version_answers_before_any_command_module_is_imported() -> None:
    code = (
        "import sys\n"
        "from mp_custom_action.cli import main\n"
        "assert main(['--version']) == 0\n"
        "loaded = sorted(m for m in sys.modules if m.startswith('mp_custom_action.'))\n"
        "print(loaded)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={"PATH": ""})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("mp-custom-action ")
    loaded = proc.stdout.strip().splitlines()[-1]
    assert "commands" not in loaded and "core" not in loaded and "settings" not in loaded


def test_a_dry_run_loads_neither_the_transport_nor_the_attempt_loop() -> None:
    code = (
        "import sys\n"
        "from mp_custom_action.cli import main\n"
        "main(['call', 'GET', 'query', '/x', '--dry-run', '-q'])\n"
        "names = ('core.transport', 'core.attempts', 'core.deadline', '_logs')\n"
        "print(sorted(n for n in names if 'mp_custom_action.' + n in sys.modules))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=False, env={"MP_API_SECRET": "s", "PATH": ""})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"
