"""The sandbox's HTTP server holds up: keep-alive without Nagle stalls, threads, bad input, bugs, stop, state file."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

import pytest
import requests
from sandbox_helpers import event, pid, raw_exchange, sa, status_of

from mp_custom_action.sandbox import Sandbox, State, StateFileError
from mp_custom_action.sandbox import query as query_module


@pytest.fixture
def sb() -> Iterator[Sandbox]:
    with Sandbox() as sandbox:
        yield sandbox


T = 10  # seconds: no test may hang on a sandbox bug


def connect(sb: Sandbox) -> HTTPConnection:
    return HTTPConnection("127.0.0.1", int(sb.origin.rsplit(":", 1)[1]), timeout=10)


def names_target(sb: Sandbox) -> str:
    return f"/api/2.0/events/names?project_id={sb.credentials['project_id']}"


def test_listens_on_ipv4_loopback_only_and_port_0_picks_a_free_port() -> None:
    with Sandbox(port=0) as first, Sandbox(port=0) as second:
        assert first.origin.startswith("http://127.0.0.1:")
        assert first.origin != second.origin
        assert first._server is not None
        assert first._server.server_address[0] == "127.0.0.1"


def test_origin_needs_a_started_sandbox_and_stop_is_idempotent() -> None:
    sandbox = Sandbox()
    with pytest.raises(RuntimeError, match="not started"):
        _ = sandbox.origin
    assert sandbox.start() is sandbox
    assert sandbox.start() is sandbox  # already started: nothing happens
    sandbox.stop()
    sandbox.stop()
    assert not sandbox.running


def test_keep_alive_calls_reuse_one_connection_without_nagle_delays(sb: Sandbox) -> None:
    conn = connect(sb)
    try:
        headers = sa(sb)
        conn.request("GET", names_target(sb), headers=headers)
        conn.getresponse().read()
        first_socket = conn.sock
        body = json.dumps([event("A", "k1")]).encode()
        started = time.perf_counter()
        calls = 30
        for i in range(calls):
            if i % 2:
                conn.request("GET", names_target(sb), headers=headers)
            else:
                target = f"/import?strict=1&project_id={sb.credentials['project_id']}"
                conn.request(
                    "POST",
                    target,
                    body=body,
                    headers={**headers, "Content-Type": "application/json"},
                )
            response = conn.getresponse()
            response.read()
            assert response.status == 200
        per_call = (time.perf_counter() - started) / calls
        assert conn.sock is first_socket, "every call went over the same keep-alive connection"
    finally:
        conn.close()
    # A Nagle/delayed-ACK stall costs about 40 ms a call; a healthy loopback call takes ~1 ms.
    assert per_call < 0.02, f"{per_call * 1000:.1f} ms per keep-alive call"


def test_concurrent_clients(sb: Sandbox) -> None:
    errors: list[BaseException] = []

    def client(worker: int) -> None:
        try:
            with requests.Session() as session:
                for i in range(10):
                    answer = session.post(
                        sb.origin + "/import",
                        params={**pid(sb), "strict": "1"},
                        headers=sa(sb),
                        json=[event("C", f"w{worker}-{i}")],
                    )
                    assert answer.status_code == 200
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(sb.state.events()) == 120
    assert len(sb.requests) == 120


@pytest.mark.parametrize(
    "raw",
    [
        b"NONSENSE\r\n\r\n",
        b"GET / HTTP/9.9\r\n\r\n",
        b"GET /track HTTP/1.1\r\nHost: x\r\nContent-Length: twelve\r\n\r\n",
        b"GET /track HTTP/1.1\r\nBad Header Line\r\n\r\n",
        b"POST /track HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    ],
    ids=["request-line", "version", "content-length", "header", "chunk-size"],
)
def test_malformed_requests_get_a_json_400_and_the_server_keeps_serving(
    sb: Sandbox, raw: bytes
) -> None:
    answer = raw_exchange(sb, raw)
    assert status_of(answer) in (400, 505)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"application/json" in head
    assert json.loads(body)["code"] in (400, 505)
    assert requests.get(sb.origin + "/", timeout=T).status_code == 200


def test_unsupported_methods_get_json(sb: Sandbox) -> None:
    answer = raw_exchange(sb, b"OPTIONS /track HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status_of(answer) == 501
    assert json.loads(answer.partition(b"\r\n\r\n")[2])["code"] == 501


def test_a_body_past_the_bound_is_a_413_before_it_is_read() -> None:
    with Sandbox(max_body_bytes=1024) as small:
        answer = requests.post(small.origin + "/track", data=b"x" * 2048, timeout=T)
        assert answer.status_code == 413
        assert answer.json()["status"] == "Request Entity Too Large"
        assert answer.headers["Connection"] == "close"
        # With Expect: 100-continue the client is told before it sends the body.
        head = (
            "POST /track HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n"
            "Expect: 100-continue\r\n\r\n"
        )
        assert status_of(raw_exchange(small, head.encode())) == 413
        assert [r.status for r in small.requests] == [413, 413]


def test_expect_100_continue_within_the_bound_is_served(sb: Sandbox) -> None:
    body = json.dumps([{"event": "e", "properties": {"token": sb.credentials["token"]}}]).encode()
    port = int(sb.origin.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(
            b"POST /track HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Expect: 100-continue\r\nContent-Length: %d\r\n\r\n" % len(body)
        )
        assert conn.recv(100).startswith(b"HTTP/1.1 100")
        conn.sendall(body)
        assert conn.recv(1000).split(b"\r\n\r\n")[-1] == b"1"


def test_a_chunked_request_body_is_read(sb: Sandbox) -> None:
    payload = json.dumps([event("Chunked", "c1")]).encode()

    def pieces() -> Iterator[bytes]:
        yield payload[:10]
        yield payload[10:]

    answer = requests.post(
        sb.origin + "/import",
        params={**pid(sb), "strict": "1"},
        headers={**sa(sb), "Content-Type": "application/json"},
        data=pieces(),
        timeout=T,
    )
    assert answer.json()["num_records_imported"] == 1
    assert sb.requests[-1].headers["transfer-encoding"] == "chunked"


def test_a_handler_exception_is_a_json_500_and_the_server_survives(
    sb: Sandbox, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(ctx: Any, params: Any) -> Any:
        raise RuntimeError("boom")

    monkeypatch.setitem(query_module._ROUTES, "events/names", broken)
    with caplog.at_level("ERROR", logger="mp_custom_action.sandbox"):
        answer = requests.get(sb.origin + names_target(sb), headers=sa(sb), timeout=T)
    assert answer.status_code == 500
    assert answer.json()["code"] == 500
    assert "boom" not in answer.text  # no internals leak to the client
    assert "sandbox handler failed" in caplog.text
    monkeypatch.undo()
    assert requests.get(sb.origin + names_target(sb), headers=sa(sb), timeout=T).status_code == 200


def test_unknown_paths_and_the_root(sb: Sandbox) -> None:
    missing = requests.get(sb.origin + "/decide", timeout=T)
    assert missing.status_code == 404 and "Not found" in missing.json()["error"]
    about = requests.get(sb.origin + "/", timeout=T).json()
    assert about["project_id"] == sb.credentials["project_id"]


def test_the_request_log_records_without_credentials(sb: Sandbox) -> None:
    requests.post(
        sb.origin + "/import",
        params={**pid(sb), "strict": "1"},
        headers={**sa(sb), "Cookie": "session=abc"},
        json=[event("A", "r1")],
        timeout=T,
    )
    requests.post(
        sb.origin + "/track",
        json=[{"event": "T", "properties": {"token": sb.credentials["token"]}}],
        timeout=T,
    )
    first, second = sb.requests
    assert (first.method, first.path, first.status) == ("POST", "/import", 200)
    assert first.param("project_id") == str(sb.credentials["project_id"])
    assert first.headers["authorization"] == "Basic ***"
    assert first.headers["cookie"] == "***"
    assert first.body_length > 0
    shown = repr(list(sb.requests))
    for value in (sb.credentials["secret"], sb.credentials["token"], "abc"):
        assert value not in shown
    assert second.path == "/track"
    assert sb.requests == [first, second] and sb.requests != []
    sb.requests.clear()
    assert sb.requests == []


def test_stop_closes_idle_keep_alive_connections_promptly() -> None:
    sandbox = Sandbox().start()
    conn = connect(sandbox)
    try:
        conn.request("GET", "/")
        conn.getresponse().read()
        started = time.perf_counter()
        sandbox.stop()
        assert time.perf_counter() - started < 2
        assert conn.sock is not None
        conn.sock.settimeout(2)
        assert conn.sock.recv(1) == b""  # the server closed its end
    finally:
        conn.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{sandbox.port}/", timeout=2)


# -- the state file ---------------------------------------------------------------------------------


def test_state_survives_a_restart_and_the_file_is_replaced_atomically(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with Sandbox(state_file=path) as first:
        requests.post(
            first.origin + "/import",
            params={**pid(first), "strict": "1"},
            headers=sa(first),
            json=[event("Kept", "k1")],
            timeout=T,
        )
        port = first.port
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]  # no temporary file left over
    assert json.loads(path.read_text())["events"][0]["event"] == "Kept"
    with Sandbox(port=port, state_file=path) as second:
        assert [e["event"] for e in second.state.events()] == ["Kept"]
        answer = requests.get(
            second.origin + "/api/2.0/events/names",
            params=pid(second),
            headers=sa(second),
            timeout=T,
        )
        assert answer.json() == ["Kept"]


def test_a_killed_sandbox_loses_nothing_it_acknowledged(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    proc = subprocess.Popen(
        [sys.executable, "-m", "mp_custom_action", "sandbox", "--state", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        auth = (info["username"], info["secret"])
        for i in range(5):
            answer = requests.post(
                info["origin"] + "/import",
                params={"project_id": info["project_id"], "strict": "1"},
                auth=auth,
                json=[event("Acked", f"a{i}")],
                timeout=T,
            )
            assert answer.status_code == 200
        proc.kill()  # SIGKILL: no cleanup runs
        proc.wait(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert len(State(path).events()) == 5


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("{not json", "not valid JSON"),
        ('{"events": []}', "not a sandbox state file"),
        ("[]", "not a sandbox"),
    ],
    ids=["garbage", "foreign", "list"],
)
def test_an_unreadable_state_file_is_a_clear_error(
    tmp_path: Path, content: str, words: str
) -> None:
    path = tmp_path / "state.json"
    path.write_text(content)
    with pytest.raises(StateFileError, match=words):
        Sandbox(state_file=path)
    assert path.read_text() == content  # left as it was


def test_an_empty_state_file_is_an_empty_state(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    path.touch()
    assert State(path).events() == []
    assert json.loads(path.read_text())["format"] == "mp-custom-action-sandbox-state"


def test_a_state_file_in_a_missing_directory_is_reported_at_start(tmp_path: Path) -> None:
    with pytest.raises(StateFileError, match="cannot write"):
        Sandbox(state_file=tmp_path / "missing" / "state.json")


def test_state_reset_and_snapshot(sb: Sandbox) -> None:
    sb.state.add_events([event("A", "x1")])
    assert sb.state.snapshot()["events"][0]["event"] == "A"
    sb.state.reset()
    assert sb.state.events() == []
    assert len(sb.state.lookup_tables()) == 1  # the demo table comes back


def test_importing_the_sandbox_needs_only_the_standard_library() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"  # what the interpreter's site setup loaded already
        "import mp_custom_action.sandbox\n"
        "names = {m.split('.')[0] for m in set(sys.modules) - before}\n"
        "stdlib = getattr(sys, 'stdlib_module_names', None)\n"
        "if stdlib is None:\n"
        "    third = {'requests', 'urllib3', 'jsonschema', 'pluggy', 'charset_normalizer', 'idna',\n"
        "             'certifi', 'tomli', 'orjson'} & names\n"
        "else:\n"
        "    third = {n for n in names if n not in stdlib and n not in ('mp_custom_action', '__main__')\n"
        "             and not n.startswith('_')}\n"
        "print(sorted(third))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert out.stdout.strip() == "[]"


def test_public_names() -> None:
    import mp_custom_action.sandbox as package

    assert sorted(package.__all__) == [
        "DEMO_CREDENTIALS",
        "Faults",
        "RequestLog",
        "RequestRecord",
        "Sandbox",
        "State",
        "StateFileError",
    ]
    for name in package.__all__:
        assert getattr(package, name) is not None
    sandbox = Sandbox()
    for attribute in ("credentials", "requests", "state", "start", "stop", "env", "info"):
        assert hasattr(sandbox, attribute)
