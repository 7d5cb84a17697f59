"""Faults, against purpose-built loopback servers: what the runner answers, after how many tries.

Every scenario runs for each kind of request: GET, PUT and DELETE (idempotent), POST and PATCH
(not), and a POST of an ``/import`` batch whose every event carries ``$insert_id`` (de-duplicated
by Mixpanel, so safe to repeat). For each, the test checks the documented outcome (the last HTTP
answer, or exactly one of our transport errors), the number of attempts and of requests the server
saw (a request that is unsafe to repeat is sent once), and the retry waits, on an injected clock:
nothing here sleeps for a retry.
"""

from __future__ import annotations

import gzip
import json
import time
import zlib
from dataclasses import dataclass, field
from email.utils import formatdate
from itertools import count
from typing import Any, Callable, Optional, Union

import pytest
from cli_helpers import cli
from clocks import WALL0, FakeClock
from faults_servers import CutReply, FaultServer, StreamReply
from hostile import CREDENTIALS, assert_clean_error, assert_no_leak
from loopback import Received, Reply

from mp_custom_action import Runner
from mp_custom_action.errors import (
    BrokenResponseError,
    ConnectError,
    DeadlineExceeded,
    MpError,
    RequestTimeout,
    ResponseTooLarge,
    TransportError,
)

RETRIES = 2
EVENTS = [
    {"event": "e", "properties": {"distinct_id": "u", "time": 1, "$insert_id": f"id-{i}"}}
    for i in range(3)
]
REQUESTS: dict[str, dict[str, Any]] = {
    "GET": {"method": "GET", "api": "query", "relative_url": "/2.0/events/names"},
    "PUT": {"method": "PUT", "api": "lexicon", "relative_url": "/4242/schemas", "body": {"e": []}},
    "DELETE": {"method": "DELETE", "api": "connectors", "relative_url": "/projects/4242/s/1"},
    "POST": {"method": "POST", "api": "connectors", "relative_url": "/projects/4242/s", "body": {}},
    "PATCH": {"method": "PATCH", "api": "connectors", "relative_url": "/projects/4242/s/1", "body": {}},
    "POST /import": {"method": "POST", "api": "ingestion", "relative_url": "/import", "body": EVENTS},
}  # fmt: skip
REPEATABLE = {"GET", "PUT", "DELETE", "POST /import"}

Handler = Callable[[Received], Reply]


@dataclass
class Scenario:
    """One fault. ``retry``: who may be retried after it ("all", "repeatable" or "none").

    ``waits``: the expected retry waits (after attempt 1, 2, ...) when retried; the default is the
    policy's backoff with jitter fixed at its low end: 2 s + 1, then 4 s + 1.
    """

    name: str
    handler: Callable[[], Handler]
    retry: str
    status: Optional[int] = None
    error: Optional[type[MpError]] = None
    waits: list[float] = field(default_factory=lambda: [3.0, 5.0])
    body: Any = None
    options: dict[str, Any] = field(default_factory=dict)
    #: The server is never reached (connection refused).
    unreachable: bool = False
    #: The statuses answered in turn (the final status is the one of the last attempt).
    codes: Optional[list[int]] = None
    #: Parse with the standard library, as an install without the ``fast`` extra does (CI's).
    stdlib_json: bool = False


def always(reply: Union[Reply, Callable[[], Reply]]) -> Callable[[], Handler]:
    def make() -> Handler:
        return lambda req: reply() if callable(reply) else reply

    return make


def raw(data: bytes) -> Callable[[], Handler]:
    return always(Reply(raw=data))


def status(code: int, **headers: str) -> Callable[[], Handler]:
    return always(Reply.json({"code": code, "error": "fault"}, status=code, headers=headers))


def numbered(codes: list[int]) -> Callable[[], Handler]:
    """Answer ``codes`` in turn (the last one for ever), each body saying which attempt it is."""

    def make() -> Handler:
        counter = count(1)

        def handler(req: Received) -> Reply:
            n = next(counter)
            code = codes[min(n, len(codes)) - 1]
            return Reply.json({"attempt": n}, status=code)

        return handler

    return make


HTTP_DATE_30 = formatdate(WALL0 + 1000 + 30, usegmt=True)
HTTP_DATE_PAST = formatdate(WALL0 - 86400, usegmt=True)
OK_BODY = b'{"ok":true}'
DEEP = b"[" * 100_000 + b"]" * 100_000
HEADERS_101 = "".join(f"X-H{i}: v\r\n" for i in range(101))

SCENARIOS = [
    # -- 429 and its Retry-After, in every form ------------------------------------------------------
    Scenario("429 Retry-After seconds", status(429, **{"Retry-After": "7"}), "all", 429, waits=[7, 7]),
    Scenario("429 Retry-After HTTP date", status(429, **{"Retry-After": HTTP_DATE_30}), "all", 429, waits=[30, 0]),
    Scenario("429 Retry-After date in the past", status(429, **{"Retry-After": HTTP_DATE_PAST}), "all", 429, waits=[0, 0]),
    Scenario("429 Retry-After negative", status(429, **{"Retry-After": "-5"}), "all", 429, waits=[0, 0]),
    Scenario("429 Retry-After fractional", status(429, **{"Retry-After": "1.5"}), "all", 429, waits=[1.5, 1.5]),
    Scenario("429 Retry-After garbage", status(429, **{"Retry-After": "soon"}), "all", 429),
    Scenario("429 Retry-After empty", status(429, **{"Retry-After": ""}), "all", 429),
    Scenario("429 Retry-After NaN", status(429, **{"Retry-After": "nan"}), "all", 429),
    Scenario("429 Retry-After infinite", status(429, **{"Retry-After": "1e400"}), "all", 429),
    Scenario("429 Retry-After two values", status(429, **{"Retry-After": "7, 8"}), "all", 429),
    Scenario("429 Retry-After huge (capped at 120 s)", status(429, **{"Retry-After": "100000"}), "all", 429, waits=[120, 120]),
    Scenario("429 Retry-After past the deadline (not waited)", status(429, **{"Retry-After": "90"}), "none", 429, options={"timeout": 60}),
    Scenario("429 without Retry-After", status(429), "all", 429),
    # -- 5xx ----------------------------------------------------------------------------------------
    Scenario("502", status(502), "repeatable", 502),
    Scenario("503", status(503), "repeatable", 503),
    Scenario("504", status(504), "repeatable", 504),
    Scenario("503 with Retry-After", status(503, **{"Retry-After": "4"}), "repeatable", 503, waits=[4, 4]),
    Scenario("500 (not retried)", status(500), "none", 500),
    Scenario("the last answer is returned", numbered([503, 502, 504]), "repeatable", codes=[503, 502, 504]),
    Scenario("recovers after a 429", numbered([429, 200]), "all", codes=[429, 200], waits=[3]),
    # -- the connection -----------------------------------------------------------------------------
    Scenario("connection refused", always(Reply()), "all", error=ConnectError, unreachable=True),
    Scenario("connection refused, a wait past the deadline", always(Reply()), "all", error=ConnectError, unreachable=True, waits=[3], options={"timeout": 5}),
    Scenario("reset before answering", always(Reply(reset=True)), "repeatable", error=BrokenResponseError),
    Scenario("closed before answering", always(Reply(drop=True)), "repeatable", error=BrokenResponseError),
    Scenario("reset mid-headers", always(CutReply(cut=b"HTTP/1.1 200 OK\r\nContent-Ty")), "repeatable", error=BrokenResponseError),
    Scenario("reset mid-body", always(CutReply(cut=b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"[1," * 50)), "repeatable", error=BrokenResponseError),
    Scenario("truncated short of Content-Length", raw(b'HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n{"partial":'), "repeatable", error=BrokenResponseError),
    Scenario("malformed chunked body", raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n"), "repeatable", error=BrokenResponseError),
    Scenario("chunked body cut short", raw(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nabc"), "repeatable", error=BrokenResponseError),
    Scenario("not HTTP at all", raw(b"SSH-2.0-OpenSSH_9.6\r\n"), "repeatable", error=BrokenResponseError),
    Scenario("status code not a number", raw(b"HTTP/1.1 abc OK\r\n\r\n"), "repeatable", error=BrokenResponseError),
    Scenario("more than 100 headers", raw(b"HTTP/1.1 200 OK\r\n" + HEADERS_101.encode() + b"Content-Length: 2\r\n\r\n{}"), "repeatable", error=BrokenResponseError),
    Scenario("a header line over 64 KiB", raw(b"HTTP/1.1 200 OK\r\nX-Long: " + b"a" * 70000 + b"\r\n\r\n"), "repeatable", error=BrokenResponseError),
    Scenario("two different Content-Lengths", raw(b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde"), "repeatable", error=BrokenResponseError),
    Scenario("read timeout", always(Reply(delay=0.4)), "repeatable", error=RequestTimeout, options={"read_timeout": 0.15}),
    # -- encodings ----------------------------------------------------------------------------------
    Scenario("gzip that is not gzip", always(Reply(200, {"Content-Encoding": "gzip"}, b"not gzip")), "repeatable", error=BrokenResponseError),
    Scenario("deflate that is not deflate", always(Reply(200, {"Content-Encoding": "deflate"}, b"nope")), "repeatable", error=BrokenResponseError),
    Scenario("gzip, gzip on a body gzipped once", always(Reply(200, {"Content-Encoding": "gzip, gzip"}, gzip.compress(OK_BODY))), "repeatable", error=BrokenResponseError),
    Scenario("gzip, gzip on a body gzipped twice", always(Reply(200, {"Content-Type": "application/json", "Content-Encoding": "gzip, gzip"}, gzip.compress(gzip.compress(OK_BODY)))), "none", 200, body={"ok": True}),
    Scenario("deflate", always(Reply(200, {"Content-Type": "application/json", "Content-Encoding": "deflate"}, zlib.compress(OK_BODY))), "none", 200, body={"ok": True}),
    Scenario("unknown Content-Encoding (returned as it came)", always(Reply(200, {"Content-Type": "application/json", "Content-Encoding": "x-bogus"}, OK_BODY)), "none", 200, body={"ok": True}),
    Scenario("eleven stacked encodings", always(Reply(200, {"Content-Encoding": ", ".join(["gzip"] * 11)}, b"x")), "repeatable", error=BrokenResponseError),
    # -- bodies -------------------------------------------------------------------------------------
    Scenario("a 1xx answer before the real one", raw(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n" + OK_BODY), "none", 200, body={"ok": True}),
    Scenario("JSON that is not UTF-8", always(Reply(200, {"Content-Type": "application/json"}, b'{"a": "\xff\xfe"}')), "none", 200, body='{"a": "\ufffd\ufffd"}'),
    Scenario("JSON holding a lone surrogate", always(Reply(200, {"Content-Type": "application/json"}, b'{"a": "\\ud800"}')), "none", 200),
    Scenario("JSON nested 100 000 deep", always(Reply(200, {"Content-Type": "application/json"}, DEEP)), "none", 200, body=DEEP.decode(), stdlib_json=True),
    Scenario("JSON Lines nested 100 000 deep", always(Reply(200, {"Content-Type": "application/x-ndjson"}, DEEP + b"\n")), "none", 200, body=DEEP.decode() + "\n", stdlib_json=True),
    Scenario("JSON nested 100 000 deep (orjson)", always(Reply(200, {"Content-Type": "application/json"}, DEEP)), "none", 200, body=DEEP.decode()),
    Scenario("a body over the in-memory cap", always(Reply(200, {"Content-Type": "text/plain"}, b"x" * 5000)), "none", error=ResponseTooLarge, options={"max_body_bytes": 1000}),
]  # fmt: skip


def expected_attempts(scenario: Scenario, kind: str) -> int:
    if scenario.retry == "all" or (scenario.retry == "repeatable" and kind in REPEATABLE):
        return 1 + len(scenario.waits)
    return 1


def refused_origin() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there now


def use_parser(scenario: Scenario, monkeypatch: pytest.MonkeyPatch) -> None:
    from mp_custom_action.core import results

    if scenario.stdlib_json:
        monkeypatch.setattr(results, "_loads", results._loads_stdlib)
    elif "orjson" in scenario.name:
        try:
            import orjson
        except ImportError:
            pytest.skip("orjson is not installed")
        version = tuple(int(p) for p in orjson.__version__.split(".")[:3])
        if version < (3, 9, 15):
            pytest.skip(f"orjson {orjson.__version__} does not limit nesting (needs 3.9.15)")


def run_scenario(
    scenario: Scenario, kind: str, server: FaultServer, clock: FakeClock
) -> tuple[Any, Optional[BaseException]]:
    server.handler = scenario.handler()
    origin = refused_origin() if scenario.unreachable else server.origin
    options: dict[str, Any] = {
        **CREDENTIALS,
        "env": {},
        "origin": origin,
        "retries": RETRIES,
        "clock": clock.monotonic,
        "wall_clock": clock.wall,
        "sleep": clock.sleep,
        "rng": lambda low, high: low,
        **scenario.options,
    }
    with Runner(**options) as runner:
        try:
            return runner.run(REQUESTS[kind]), None
        except Exception as exc:  # checked by the caller: our error, or a failed test
            return None, exc


@pytest.mark.parametrize("kind", list(REQUESTS))
@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fault(
    scenario: Scenario, kind: str, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_parser(scenario, monkeypatch)
    clock = FakeClock()
    result, error = run_scenario(scenario, kind, fault_server, clock)
    attempts = expected_attempts(scenario, kind)
    sent = 0 if scenario.unreachable else attempts
    assert len(fault_server.received) == sent, "requests the server saw"
    retried_waits = scenario.waits[: attempts - 1]
    assert clock.sleeps == pytest.approx(retried_waits, abs=1e-6), "retry waits"
    if scenario.error is not None:
        assert error is not None, f"expected {scenario.error.__name__}, got {result!r}"
        assert type(error) is scenario.error, f"{type(error).__name__}: {error}"
        assert isinstance(error, TransportError)
        assert error.attempts == attempts
        assert_clean_error(error)
        assert "Retry" not in str(error) and "urllib3" not in str(error)
        assert str(error).strip() and "project_id" not in str(error), str(error)
        if isinstance(error, ResponseTooLarge):
            assert "--output" in str(error)
        return
    if error is not None:
        raise error
    expected = scenario.codes[attempts - 1] if scenario.codes else scenario.status
    assert result.status_code == expected
    assert result.attempts == attempts
    if scenario.body is not None:
        assert result.body == scenario.body
    if scenario.codes:
        assert result.body == {"attempt": attempts}, "the final answer is the last response"
    assert_no_leak(repr(result), json.dumps(result.to_dict(), default=str))


# -- the CLI's view: one line on stderr and exit 6, or the answer on stdout ----------------------------

CLI_SCENARIOS = [s for s in SCENARIOS if s.name not in ("read timeout",)]


@pytest.mark.parametrize("scenario", CLI_SCENARIOS, ids=[s.name for s in CLI_SCENARIOS])
def test_fault_through_the_cli(
    scenario: Scenario, fault_server: FaultServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    use_parser(scenario, monkeypatch)
    fault_server.handler = scenario.handler()
    origin = refused_origin() if scenario.unreachable else fault_server.origin
    for name, var in (
        ("username", "MP_USERNAME"),
        ("secret", "MP_SECRET"),
        ("project_id", "MP_PROJECT_ID"),
    ):
        monkeypatch.setenv(var, CREDENTIALS[name])
    if "max_body_bytes" in scenario.options:
        from mp_custom_action import settings

        monkeypatch.setitem(
            settings.DEFAULTS,  # type: ignore[arg-type]
            "max_body_bytes",
            scenario.options["max_body_bytes"],
        )
    out = cli(
        "call",
        "GET",
        "query",
        "/2.0/events/names",
        "--origin",
        origin,
        "--retries",
        "0",
        "--timeout",
        "5",
    )
    assert_no_leak(out.stdout, out.stderr)
    if scenario.error is not None:
        assert out.exit_status == 6, out.stderr
        assert out.stdout == ""
        lines = out.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("mp-custom-action: error: "), out.stderr
        return
    assert out.exit_status == 0, out.stderr
    assert out.stderr == ""
    assert out.json["status_code"] == (scenario.codes[0] if scenario.codes else scenario.status)


# -- the total deadline, on a real clock ---------------------------------------------------------------


@pytest.mark.parametrize("where", ["body", "headers"])
@pytest.mark.parametrize("kind", ["GET", "POST"])
def test_a_server_sending_one_byte_at_a_time_is_cut_by_the_deadline(
    fault_server: FaultServer, where: str, kind: str
) -> None:
    body = b"[" + b"1," * 400 + b"1]"
    if where == "body":
        reply = Reply(200, {"Content-Type": "application/json"}, body, trickle=0.005)
    else:
        reply = Reply(
            raw=b"HTTP/1.1 200 OK\r\n" + b"X-Slow: " + b"s" * 400 + b"\r\n\r\n", trickle=0.005
        )
    fault_server.handler = lambda req: reply
    started = time.monotonic()
    with Runner(
        **CREDENTIALS, env={}, origin=fault_server.origin, timeout=0.5, read_timeout=5
    ) as runner:
        with pytest.raises(DeadlineExceeded, match=r"deadline of 0\.5 s passed") as info:
            runner.run(REQUESTS[kind])
    elapsed = time.monotonic() - started
    assert elapsed < 2.0, f"the call took {elapsed:.2f} s; per-read timeouts would never end it"
    assert info.value.attempts == 1
    assert len(fault_server.received) == 1
    assert_clean_error(info.value)


# -- bodies larger than memory should hold ----------------------------------------------------------------


def test_output_streams_a_body_far_larger_than_the_cap_in_bounded_memory(
    fault_server: FaultServer, tmp_path: Any
) -> None:
    import tracemalloc

    size = 48 * 1024 * 1024
    line = b'{"event":"e","properties":{"distinct_id":"u"}}\n'
    fault_server.handler = lambda req: StreamReply(piece=line, size=size)
    target = tmp_path / "export.jsonl"
    with Runner(
        **CREDENTIALS, env={}, origin=fault_server.origin, max_body_bytes=1024 * 1024
    ) as runner:
        tracemalloc.start()
        try:
            result = runner.run(
                {"method": "GET", "api": "export", "relative_url": ""}, output=target
            )
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.body_bytes == size == target.stat().st_size
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {size / 2**20:.0f} MiB body"


def test_the_cap_error_points_at_output_and_is_not_retried(fault_server: FaultServer) -> None:
    answers = numbered([429])()
    big = Reply(200, {"Content-Type": "text/plain"}, b"x" * 5000)
    calls = count(1)
    fault_server.handler = lambda req: answers(req) if next(calls) == 1 else big
    clock = FakeClock()
    with Runner(**CREDENTIALS, env={}, origin=fault_server.origin, max_body_bytes=1000,
                clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep,
                rng=lambda low, high: low) as runner:  # fmt: skip
        with pytest.raises(ResponseTooLarge, match="--output FILE") as info:
            runner.run(REQUESTS["GET"])
    assert len(fault_server.received) == 2
    assert info.value.attempts == 2, "the error counts the 429 attempt before it"
    assert info.value.url is not None and info.value.url.startswith(fault_server.origin)


# -- regressions: defects this suite found ------------------------------------------------------------


def test_closing_a_runner_closes_its_idle_connections(fault_server: FaultServer) -> None:
    """Found by this suite (a 5-second teardown): urllib3 2's PoolManager.clear() forgets its
    pools without closing them, so a closed runner's keep-alive sockets stayed open until garbage
    collection, and for ever while an error's traceback kept them."""
    fault_server.handler = lambda req: Reply(200, {"Content-Type": "text/plain"}, b"x" * 5000)
    runner = Runner(
        **CREDENTIALS, env={}, origin=fault_server.origin, retries=0, max_body_bytes=100
    )
    with pytest.raises(ResponseTooLarge) as kept:  # the traceback holds the connection
        runner.run(REQUESTS["GET"])
    runner.close()
    deadline = time.monotonic() + 2
    while (
        fault_server.connections
        and any(t.is_alive() for t in fault_server._threads[1:])
        and time.monotonic() < deadline
    ):
        time.sleep(0.01)
    assert not any(t.is_alive() for t in fault_server._threads[1:]), "the server saw the close"
    assert kept.value.attempts == 1


@pytest.mark.parametrize(
    "where", ["headers", "close-delimited body", "close-delimited body to a file"]
)
def test_a_deadline_cut_is_never_returned_as_a_complete_answer(
    fault_server: FaultServer, where: str, tmp_path: Any
) -> None:
    """Found by this suite: when the watchdog shut a socket mid-headers, http.client took the cut
    for the end of the headers and the runner returned "200, no headers, no body"; a body ended
    by the connection's close was returned (or written to --output's file) cut short."""
    if where == "headers":
        raw_reply = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"s" * 400 + b"\r\n\r\n{}"
    else:
        raw_reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 150
    fault_server.handler = lambda req: Reply(raw=raw_reply, trickle=0.005)
    target = tmp_path / "out.txt"
    output = target if where.endswith("file") else None
    with Runner(**CREDENTIALS, env={}, origin=fault_server.origin, timeout=0.4) as runner:
        with pytest.raises(DeadlineExceeded) as info:
            runner.run({"method": "GET", "api": "export", "relative_url": ""}, output=output)
    assert info.value.attempts == 1
    assert not target.exists() and list(tmp_path.iterdir()) == [], "no file, no partial file"


def test_a_close_delimited_trickle_is_cut_at_the_deadline(fault_server: FaultServer) -> None:
    raw_reply = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n" + b"x" * 600
    fault_server.handler = lambda req: Reply(raw=raw_reply, trickle=0.005)
    started = time.monotonic()
    with Runner(**CREDENTIALS, env={}, origin=fault_server.origin, timeout=0.3) as runner:
        with pytest.raises(DeadlineExceeded):
            runner.run({"method": "GET", "api": "export", "relative_url": ""})
    assert time.monotonic() - started < 1.5
