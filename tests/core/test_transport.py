"""The transport: the one module that touches requests/urllib3, its response type, its one error table."""

from __future__ import annotations

import ast
import socket
from pathlib import Path

import pytest
import requests
import urllib3.exceptions
from loopback import Reply, ScriptedServer

import mp_custom_action
from mp_custom_action.core import transport
from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.deadline import CallSockets
from mp_custom_action.core.request import build_request
from mp_custom_action.errors import BrokenResponseError, ConnectError, RequestTimeout

URL = "https://mixpanel.com/api/2.0/events/names?type=general"
PACKAGE = Path(mp_custom_action.__file__).parent


def _connect_failure() -> requests.ConnectionError:
    inner = urllib3.exceptions.NewConnectionError(None, "refused")  # type: ignore[arg-type]
    return requests.ConnectionError(urllib3.exceptions.MaxRetryError(None, URL, inner))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("exc", "error", "connect_error", "text"),
    [
        (requests.exceptions.ConnectTimeout(), RequestTimeout, True, "connect timed out: "),
        (requests.exceptions.ReadTimeout(), RequestTimeout, False, "read timed out: "),
        (requests.exceptions.SSLError(), ConnectError, True, "could not connect to "),
        (requests.exceptions.ProxyError(), ConnectError, True, "could not connect to "),
        (_connect_failure(), ConnectError, True, "could not connect to "),
        (
            requests.exceptions.ConnectionError(),
            BrokenResponseError,
            False,
            "broken response from ",
        ),
        (requests.exceptions.ChunkedEncodingError(), BrokenResponseError, False, "broken response"),
        (urllib3.exceptions.ProtocolError("x"), BrokenResponseError, False, "broken response"),
        (
            ConnectionResetError(104, "Connection reset by peer"),
            BrokenResponseError,
            False,
            "reset",
        ),
    ],
)
def test_one_table_maps_every_library_exception(
    exc: BaseException, error: type, connect_error: bool, text: str
) -> None:
    failure = transport.classify(exc, URL)
    assert type(failure.error) is error
    assert failure.connect_error is connect_error
    assert text in str(failure.error)
    assert "type=general" not in str(failure.error)  # the query never appears in a message


def test_requests_and_urllib3_are_imported_only_by_the_transport() -> None:
    for path in PACKAGE.rglob("*.py"):
        if path.name == "transport.py" and path.parent.name == "core":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else []
            )
            for name in names:
                assert name.split(".")[0] not in ("requests", "urllib3"), path


def _request(origin: str) -> object:
    return build_request(
        {"method": "GET", "api": "query", "relative_url": "/2.0/events/names"},
        credentials=Credentials.build(username="u", secret="s", project_id=1),
        origin=origin,
    )


def test_open_returns_a_wire_response_of_its_own(server: ScriptedServer) -> None:
    server.handler = lambda req: Reply(200, {"X-Thing": "yes"}, b'{"a": 1}')
    t = transport.Transport({})
    try:
        response = t.open(
            _request(server.origin),  # type: ignore[arg-type]
            connect_timeout=5,
            read_timeout=5,
            sockets=CallSockets(),
        )
        assert isinstance(response, transport.WireResponse)
        assert response.status == 200
        assert response.header("x-thing") == "yes"
        assert isinstance(response.headers, dict)
        assert b"".join(response.chunks(1024)) == b'{"a": 1}'
        response.close()
    finally:
        t.close()


def test_a_body_cut_short_is_raised_as_a_failure_not_a_library_error(
    server: ScriptedServer,
) -> None:
    server.handler = lambda req: Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    t = transport.Transport({})
    try:
        response = t.open(
            _request(server.origin),  # type: ignore[arg-type]
            connect_timeout=5,
            read_timeout=5,
            sockets=CallSockets(),
        )
        with pytest.raises(transport.Failure) as caught:
            b"".join(response.chunks(1024))
        assert isinstance(caught.value.error, BrokenResponseError)
        assert not caught.value.connect_error
    finally:
        t.close()


def test_a_refused_connection_is_a_connect_failure() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    t = transport.Transport({})
    try:
        with pytest.raises(transport.Failure) as caught:
            t.open(
                _request(f"http://127.0.0.1:{port}"),  # type: ignore[arg-type]
                connect_timeout=5,
                read_timeout=5,
                sockets=CallSockets(),
            )
        assert isinstance(caught.value.error, ConnectError)
        assert caught.value.connect_error
    finally:
        t.close()


@pytest.mark.skipif(
    __import__("importlib.util").util.find_spec("socks") is not None,
    reason="PySocks is installed: a SOCKS proxy is usable",
)
def test_a_socks_proxy_without_the_extra_is_a_config_error_up_front(
    server: ScriptedServer, tmp_path: Path
) -> None:
    from cli_helpers import cli_process

    done = cli_process(
        "call", "GET", "query", "/2.0/events/names", "--origin", "https://mixpanel.com",
        env={"HTTPS_PROXY": "socks5://user:pw@127.0.0.1:1", "MP_USERNAME": "u", "MP_SECRET": "s",
             "MP_PROJECT_ID": "1", "MP_CONFIG": str(tmp_path / "none.toml")},
        timeout=30,
    )  # fmt: skip
    assert done.exit_status == 2, done.stderr
    assert "HTTPS_PROXY: is a SOCKS proxy, which needs the SOCKS extra" in done.stderr
    assert "pw" not in done.stderr
    assert "retrying" not in done.stderr


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen):
            continue
        seen.append(item)
        todo += [item.__context__, item.__cause__]
    return seen


@pytest.mark.parametrize("fault", ["refused", "cut"])
def test_our_errors_keep_no_library_request_in_their_chain(
    server: ScriptedServer, fault: str
) -> None:
    from mp_custom_action import Runner
    from mp_custom_action.errors import TransportError

    if fault == "refused":
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            origin = f"http://127.0.0.1:{probe.getsockname()[1]}"
    else:
        server.handler = lambda req: Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n{")
        origin = server.origin
    runner = Runner(username="sa.user", secret="sa-secret", project_id=1, env={}, origin=origin,
                    retries=0)  # fmt: skip
    with runner, pytest.raises(TransportError) as caught:
        runner.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
    chain = _chain(caught.value)
    assert chain == [caught.value]  # no __context__, no __cause__
    for exc in chain:
        for value in vars(exc).values():
            assert not isinstance(value, (requests.PreparedRequest, requests.Response))
