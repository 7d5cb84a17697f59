"""The runner end to end: sending, result shaping, redirects, retries, deadlines, streaming."""

from __future__ import annotations

import base64
import json
import threading
import time
from email.utils import formatdate
from pathlib import Path

import pytest
import responses
from clocks import FakeClock
from loopback import Reply, ScriptedServer

import mp_custom_action
from mp_custom_action import Runner
from mp_custom_action.errors import (
    ApiSecretDeprecationWarning,
    BrokenResponseError,
    ConnectError,
    DeadlineExceeded,
    ResponseTooLarge,
)

SA = {"username": "sa.user", "secret": "sa-secret", "project_id": 4242}
GET_NAMES = {
    "method": "GET",
    "api": "query",
    "relative_url": "/2.0/events/names",
    "query": {"type": "general"},
}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_runner(clock: FakeClock, **options: object) -> Runner:
    defaults: dict[str, object] = {**SA, "env": {}, "clock": clock.monotonic, "wall_clock": clock.wall,
                                   "sleep": clock.sleep, "rng": lambda low, high: low}  # fmt: skip
    return Runner(**{**defaults, **options})  # type: ignore[arg-type]


# -- unit level, with responses ------------------------------------------------------------------


@responses.activate(assert_all_requests_are_fired=True)
def test_get_with_service_account_query_merge_and_json_body(clock: FakeClock) -> None:
    responses.get(
        "https://eu.mixpanel.com/api/2.0/events/names",
        json=["Signed up", "Purchased"],
        match=[
            responses.matchers.query_param_matcher({"type": "general", "project_id": "4242"}),
            responses.matchers.header_matcher(
                {"Authorization": "Basic " + base64.b64encode(b"sa.user:sa-secret").decode()}
            ),
        ],
    )
    with make_runner(clock, region="eu") as runner:
        result = runner.run(GET_NAMES)
    assert result.status_code == 200
    assert result.body == ["Signed up", "Purchased"]
    assert result.headers["Content-Type"] == "application/json"
    assert result.to_card() == {"Status Code": 200, "Headers": result.headers, "Body": result.body}


@responses.activate(assert_all_requests_are_fired=True)
def test_post_json_body_and_token_in_track_events(clock: FakeClock) -> None:
    events = [{"event": "Signed up", "properties": {"distinct_id": "u1"}}]
    responses.post(
        "https://api.mixpanel.com/track",
        body="1",
        content_type="text/plain",
        match=[responses.matchers.json_params_matcher(
            [{"event": "Signed up", "properties": {"distinct_id": "u1", "token": "tok"}}]
        )],
    )  # fmt: skip
    with make_runner(clock, token="tok") as runner:
        result = runner.run(
            {"method": "POST", "api": "ingestion", "relative_url": "/track", "body": events}
        )
    assert result.body == "1"
    assert "Authorization" not in responses.calls[0].request.headers
    assert responses.calls[0].request.headers["Content-Type"] == "application/json"


@responses.activate
def test_http_errors_are_results_not_exceptions(clock: FakeClock) -> None:
    body = {"code": 403, "error": "Forbidden", "status": "Forbidden"}
    responses.get("https://mixpanel.com/api/2.0/events/names", json=body, status=403)
    with make_runner(clock) as runner:
        result = runner.run(GET_NAMES)
    assert (result.status_code, result.body, result.ok) == (403, body, False)


@pytest.mark.parametrize(
    ("content_type", "payload", "expected"),
    [
        ("text/plain", b'{"event":"a"}\n{"event":"b"}\n', [{"event": "a"}, {"event": "b"}]),
        ("text/plain; charset=utf-8", b"", None),
        ("text/plain", b"not json lines\n", "not json lines\n"),
        ("application/json", b"{broken", "{broken"),
        ("text/html", b"<p>hi</p>", "<p>hi</p>"),
        ("application/json; charset=utf-8", b'{"a": "\xc3\xa9"}', {"a": "é"}),
    ],
)
@responses.activate
def test_export_jsonl_and_other_bodies(
    clock: FakeClock, content_type: str, payload: bytes, expected: object
) -> None:
    responses.get(
        "https://data.mixpanel.com/api/2.0/export", body=payload, content_type=content_type
    )
    with make_runner(clock) as runner:
        result = runner.run(
            {"method": "GET", "api": "export", "relative_url": "?from_date=2024-01-01"}
        )
    assert result.body == expected


def test_api_secret_warns_of_its_retirement(clock: FakeClock) -> None:
    with responses.RequestsMock() as rsps:
        rsps.get("https://mixpanel.com/api/x", json={})
        with (
            make_runner(clock, username=None, secret=None, api_secret="api-s") as runner,
            pytest.warns(ApiSecretDeprecationWarning, match="retires it on 2027-03-03"),
        ):
            runner.run({"method": "GET", "api": "query", "relative_url": "/x"})


def test_public_names_are_exported() -> None:
    for name in mp_custom_action.__all__:
        assert getattr(mp_custom_action, name) is not None
    assert callable(mp_custom_action.run)


# -- real sockets, with the scripted loopback server ---------------------------------------------


def loopback_runner(
    server: ScriptedServer, clock: FakeClock | None = None, **options: object
) -> Runner:
    if clock is None:
        return Runner(**{**SA, "env": {}, "origin": server.origin, **options})  # type: ignore[arg-type]
    return make_runner(clock, origin=server.origin, **options)


def test_end_to_end_over_a_real_socket(server: ScriptedServer) -> None:
    with loopback_runner(server) as runner:
        result = runner.run(GET_NAMES)
        runner.run(GET_NAMES)
    assert result.status_code == 200
    first = server.received[0]
    assert len(server.received) == 2
    assert first.target == "/api/2.0/events/names?type=general&project_id=4242"
    assert first.header(
        "User-Agent",
    ).startswith("mp-custom-action/")  # type: ignore[union-attr]
    assert server.connections == 1, "the session keeps the connection alive between calls"


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_redirects_are_returned_not_followed(server: ScriptedServer, status: int) -> None:
    server.handler = lambda req: Reply(status, {"Location": "https://evil.example/steal"}, b"")
    with loopback_runner(server) as runner:
        result = runner.run(GET_NAMES)
    assert result.status_code == status
    assert result.headers["Location"] == "https://evil.example/steal"
    assert len(server.received) == 1


def test_retries_429_then_answers(server: ScriptedServer, clock: FakeClock) -> None:
    replies = iter([Reply(429, {"Retry-After": "7"}), Reply(503), Reply.json({"ok": True})])
    server.handler = lambda req: next(replies)
    with loopback_runner(server, clock) as runner:
        result = runner.run(GET_NAMES)
    assert (result.status_code, result.attempts) == (200, 3)
    assert clock.sleeps == [7.0, 4.0 + 1.0]  # Retry-After honoured; then backoff 2*2^1 + jitter 1


def test_retry_after_as_http_date(server: ScriptedServer, clock: FakeClock) -> None:
    when = formatdate(clock.wall() + 30, usegmt=True)
    replies = iter([Reply(429, {"Retry-After": when}), Reply.json({})])
    server.handler = lambda req: next(replies)
    with loopback_runner(server, clock) as runner:
        runner.run(GET_NAMES)
    assert clock.sleeps == [pytest.approx(30, abs=1)]


def test_post_is_not_repeated_after_a_503(server: ScriptedServer, clock: FakeClock) -> None:
    server.handler = lambda req: Reply(503)
    with loopback_runner(server, clock) as runner:
        result = runner.run(
            {"method": "POST", "api": "connectors", "relative_url": "/projects/4242/x", "body": {}}
        )
    assert (result.status_code, result.attempts, len(server.received)) == (503, 1, 1)


def test_post_is_repeated_after_a_429(server: ScriptedServer, clock: FakeClock) -> None:
    replies = iter([Reply(429), Reply.json({})])
    server.handler = lambda req: next(replies)
    with loopback_runner(server, clock) as runner:
        result = runner.run(
            {"method": "POST", "api": "connectors", "relative_url": "/projects/4242/x", "body": {}}
        )
    assert (result.status_code, result.attempts) == (200, 2)


def test_deduplicated_ingestion_batch_is_repeated_after_a_503(
    server: ScriptedServer, clock: FakeClock
) -> None:
    replies = iter([Reply(503), Reply.json({"code": 200, "num_records_imported": 1})])
    server.handler = lambda req: next(replies)
    events = [{"event": "e", "properties": {"distinct_id": "u", "time": 1, "$insert_id": "abc-1"}}]
    with loopback_runner(server, clock) as runner:
        result = runner.run(
            {"method": "POST", "api": "ingestion", "relative_url": "/import", "body": events}
        )
    assert (result.status_code, result.attempts) == (200, 2)
    assert server.received[0].body == server.received[1].body


def test_retries_exhausted_returns_the_last_response(
    server: ScriptedServer, clock: FakeClock
) -> None:
    server.handler = lambda req: Reply.json({"code": 429}, status=429)
    with loopback_runner(server, clock, retries=2) as runner:
        result = runner.run(GET_NAMES)
    assert (result.status_code, result.attempts, len(server.received)) == (429, 3, 3)
    assert clock.sleeps == [3.0, 5.0]


def test_retries_zero_turns_retrying_off(server: ScriptedServer, clock: FakeClock) -> None:
    server.handler = lambda req: Reply(503)
    with loopback_runner(server, clock, retries=0) as runner:
        assert runner.run(GET_NAMES).attempts == 1


def test_a_wait_past_the_deadline_is_not_taken(server: ScriptedServer, clock: FakeClock) -> None:
    server.handler = lambda req: Reply(429, {"Retry-After": "100"})
    with loopback_runner(server, clock, timeout=50) as runner:
        result = runner.run(GET_NAMES)
    assert (result.status_code, clock.sleeps) == (429, [])


def test_connection_refused_is_one_transport_error(clock: FakeClock) -> None:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    with make_runner(clock, origin=f"http://127.0.0.1:{port}", retries=2) as runner:
        with pytest.raises(
            ConnectError,
            match=r"could not connect to http://127\.0\.0\.1:\d+/api/2\.0/events/names",
        ) as info:
            runner.run(
                {"method": "POST", "api": "query", "relative_url": "/2.0/events/names", "body": {}}
            )
    assert info.value.attempts == 3, "a connect error is retried even for POST: nothing was sent"
    assert "sa-secret" not in str(info.value)


def test_a_body_cut_short_is_a_broken_response(server: ScriptedServer, clock: FakeClock) -> None:
    server.handler = lambda req: Reply(
        raw=b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":'
    )
    with (
        loopback_runner(server, clock, retries=0) as runner,
        pytest.raises(BrokenResponseError, match="broken response"),
    ):
        runner.run(GET_NAMES)


def test_the_total_deadline_ends_a_trickling_response(server: ScriptedServer) -> None:
    server.handler = lambda req: Reply(
        200, {"Content-Type": "application/json"}, b"[" + b"1," * 500 + b"1]", trickle=0.01
    )
    started = time.monotonic()
    with loopback_runner(server, timeout=0.6, read_timeout=5) as runner:
        with pytest.raises(DeadlineExceeded, match=r"deadline of 0\.6 s passed"):
            runner.run(GET_NAMES)
    assert time.monotonic() - started < 2.5


def test_output_streams_a_2xx_body_to_a_file(server: ScriptedServer, tmp_path: Path) -> None:
    payload = b"".join(json.dumps({"event": "e", "i": i}).encode() + b"\n" for i in range(5000))
    server.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, payload)
    target = tmp_path / "events.jsonl"
    with loopback_runner(server) as runner:
        result = runner.run({"method": "GET", "api": "export", "relative_url": ""}, output=target)
    assert target.read_bytes() == payload
    assert (result.body, result.body_file, result.body_bytes) == (None, str(target), len(payload))
    assert list(tmp_path.iterdir()) == [target], "no temporary file is left behind"


def test_output_keeps_an_error_body_in_the_result(server: ScriptedServer, tmp_path: Path) -> None:
    server.handler = lambda req: Reply.json({"error": "Invalid credentials"}, status=401)
    target = tmp_path / "events.jsonl"
    with loopback_runner(server) as runner:
        result = runner.run({"method": "GET", "api": "export", "relative_url": ""}, output=target)
    assert result.body == {"error": "Invalid credentials"}
    assert not target.exists()


def test_in_memory_bodies_have_a_cap_that_points_at_output(server: ScriptedServer) -> None:
    server.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, b"x" * 5000)
    with (
        loopback_runner(server, max_body_bytes=1000) as runner,
        pytest.raises(ResponseTooLarge, match="--output FILE"),
    ):
        runner.run({"method": "GET", "api": "export", "relative_url": ""})


def test_netrc_is_never_used(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    netrc = tmp_path / ".netrc"
    netrc.write_text("machine 127.0.0.1 login stolen password hunter2\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("NETRC", str(netrc))
    with Runner(token="tok", origin=server.origin) as runner:
        runner.run(
            {
                "method": "POST",
                "api": "ingestion",
                "relative_url": "/track",
                "body": [{"event": "e"}],
            }
        )
    assert server.received[0].header("Authorization") is None


def test_a_runner_is_safe_to_share_between_threads(server: ScriptedServer) -> None:
    server.handler = lambda req: Reply.json({"target": req.target})
    errors: list[BaseException] = []
    results: list[int] = []
    with loopback_runner(server) as runner:

        def work(i: int) -> None:
            try:
                for j in range(10):
                    result = runner.run({**GET_NAMES, "query": {"i": i, "j": j}})
                    assert result.body == {
                        "target": f"/api/2.0/events/names?i={i}&j={j}&project_id=4242"
                    }
                    results.append(result.status_code)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert not errors
    assert results == [200] * 80


def test_proxies_are_read_once_and_loopback_bypasses_them() -> None:
    from mp_custom_action.core.transport import Transport

    transport = Transport(
        {"HTTPS_PROXY": "http://proxy.internal:3128", "no_proxy": "data.mixpanel.com"}
    )
    assert transport.proxies_for("https://mixpanel.com/api/x") == {
        "https": "http://proxy.internal:3128"
    }
    assert transport.proxies_for("https://data.mixpanel.com/api/2.0/export") == {}
    assert transport.proxies_for("http://127.0.0.1:8080/api") == {}
    transport.close()


def test_all_lists_exactly_the_lazy_exports() -> None:
    from mp_custom_action import _EXPORTS

    assert sorted(mp_custom_action.__all__) == sorted([*_EXPORTS, "__version__"])


def test_output_file_mode_follows_the_umask(server: ScriptedServer, tmp_path: Path) -> None:
    import os

    server.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, b"{}\n")
    old = os.umask(0o022)
    try:
        with loopback_runner(server) as runner:
            runner.run(
                {"method": "GET", "api": "export", "relative_url": ""}, output=tmp_path / "e.jsonl"
            )
    finally:
        os.umask(old)
    assert (tmp_path / "e.jsonl").stat().st_mode & 0o777 == 0o644


def test_log_lines_and_reprs_leave_the_query_out(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    replies = iter([Reply(503), Reply.json({})])
    server.handler = lambda req: next(replies)
    clock = FakeClock()
    with caplog.at_level(logging.INFO, logger="mp_custom_action"):
        with loopback_runner(server, clock) as runner:
            result = runner.run({**GET_NAMES, "query": {"where": "private-value"}})
            request = runner.prepare({**GET_NAMES, "query": {"where": "private-value"}})
    text = caplog.text + repr(result) + repr(request)
    assert "/api/2.0/events/names" in caplog.text
    assert "retrying" in caplog.text
    assert "private-value" not in text
    assert "project_id" not in text


def test_output_path_that_cannot_be_written_is_refused_before_sending(
    server: ScriptedServer, tmp_path: Path
) -> None:
    from mp_custom_action.errors import InputError

    with loopback_runner(server) as runner:
        with pytest.raises(InputError, match=r"^output: directory .* does not exist"):
            runner.run({"method": "GET", "api": "export"}, output=tmp_path / "missing" / "e.jsonl")
        with pytest.raises(InputError, match=r"^output: .* is a directory"):
            runner.run({"method": "GET", "api": "export"}, output=tmp_path)
    assert server.received == []


def test_environment_gives_timeout_and_retries_after_arguments() -> None:
    env = {"MP_TIMEOUT": "7.5", "MP_RETRIES": "1", "MP_REGION": "eu", "MP_TOKEN": "t"}
    with Runner(env=env) as runner:
        assert (runner.timeout, runner.retry_policy.retries, runner.region) == (7.5, 1, "eu")
    with Runner(env=env, timeout=3, retries=0, region="in") as runner:
        assert (runner.timeout, runner.retry_policy.retries, runner.region) == (3.0, 0, "in")


def test_one_loopback_rule_for_origins_and_proxies() -> None:
    from mp_custom_action.core.transport import Transport
    from mp_custom_action.core.urls import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("[::1]") and is_loopback("LOCALHOST")
    assert not is_loopback("127.evil.example")
    transport = Transport({"HTTPS_PROXY": "http://proxy.internal:3128"})
    assert transport.proxies_for("https://127.evil.example/api") == {
        "https": "http://proxy.internal:3128"
    }
    transport.close()


def test_a_post_whose_answer_broke_mid_body_is_not_repeated(
    server: ScriptedServer, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A TLS error in the middle of a body is an SSLError, which classify() files with failed
    # handshakes as "nothing was sent"; once the answer has begun, the request was sent.
    from mp_custom_action.core import transport
    from mp_custom_action.errors import ConnectError

    def as_connect_error(exc: BaseException, url: str) -> transport.Failure:
        return transport.Failure(ConnectError("tls record broken", url=url), connect_error=True)

    monkeypatch.setattr(transport, "classify", as_connect_error)
    server.handler = lambda req: Reply(raw=b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{")
    body = {"name": "x"}
    with loopback_runner(server, clock) as runner, pytest.raises(ConnectError) as info:
        runner.run(
            {
                "method": "POST",
                "api": "connectors",
                "relative_url": "/projects/4242/x",
                "body": body,
            }
        )
    assert info.value.attempts == 1
    assert len(server.received) == 1


@pytest.mark.parametrize("value", ["inf", "nan", "1e308", "0", "-5"])
def test_unbounded_or_odd_timeouts_are_refused(value: str) -> None:
    from mp_custom_action.errors import InputError

    with pytest.raises(
        InputError, match="MP_TIMEOUT: expected a number of seconds > 0 and at most"
    ):
        Runner(env={"MP_TIMEOUT": value})


def test_a_finished_call_lets_go_of_its_pooled_connection() -> None:
    # Once a body is complete its connection is back in the pool and may serve another call:
    # the finished call's deadline must not shut that socket down.
    import socket

    from mp_custom_action.core.deadline import CallSockets

    mine, peer = socket.socketpair()

    class Conn:
        sock = mine

    sockets = CallSockets()
    sockets.conns.append(Conn())
    sockets.release()
    sockets.abort()
    peer.sendall(b"still open")
    assert mine.recv(16) == b"still open"
    mine.close()
    peer.close()


def test_abort_all_cuts_the_calls_in_flight(server: ScriptedServer) -> None:
    server.handler = lambda req: Reply(200, {"Content-Type": "application/json"}, b"{}", delay=1.5)
    errors: list[BaseException] = []
    with loopback_runner(server, retries=0) as runner:

        def call() -> None:
            try:
                runner.run(GET_NAMES)
            except BaseException as exc:
                errors.append(exc)

        thread = threading.Thread(target=call)
        started = time.monotonic()
        thread.start()
        while not server.received and time.monotonic() - started < 2:
            time.sleep(0.01)
        runner.abort_all()
        thread.join(timeout=5)
        cut_after = time.monotonic() - started
    assert cut_after < 1.2, "the call ended when cut, not when the server answered"
    assert len(errors) == 1 and isinstance(errors[0], DeadlineExceeded)
