"""attempts: one call's loop of open, wait and try again, within one deadline (fake transport)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from clocks import FakeClock

from mp_custom_action.core.apis import builtin_registry
from mp_custom_action.core.attempts import Call, CallSetup
from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.deadline import Watchdog
from mp_custom_action.core.request import build_request
from mp_custom_action.core.retry import RetryPolicy
from mp_custom_action.core.transport import Failure, WireResponse
from mp_custom_action.errors import ConnectError, DeadlineExceeded

REQ = build_request(
    {"method": "GET", "api": "query", "relative_url": "/2.0/events/names"},
    credentials=Credentials.build(username="u", secret="s", project_id=1),
    apis=builtin_registry,
)


class Scripted:
    """A transport whose answers are scripted: a status, or a Failure to raise."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.opened = 0

    def open(self, req: Any, **kwargs: Any) -> WireResponse:
        self.opened += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Failure):
            raise answer

        def body(size: int) -> Iterator[bytes]:
            yield b'{"ok": true}'

        return WireResponse(answer, {"Content-Type": "application/json"}, body, lambda: None,
                            REQ.url)  # fmt: skip


def setup_for(transport: Scripted, clock: FakeClock, notices: list[str]) -> CallSetup:
    return CallSetup(
        transport=transport,  # type: ignore[arg-type]
        watchdog=Watchdog(clock.monotonic),
        active=set(),
        policy=RetryPolicy(retries=3),
        connect_timeout=10,
        read_timeout=60,
        max_body_bytes=1 << 20,
        clock=clock.monotonic,
        wall_clock=clock.wall,
        sleep=clock.sleep,
        rng=lambda low, high: low,
        on_retry=notices.append,
    )


def refused() -> Failure:
    return Failure(ConnectError("could not connect (refused)", url=REQ.url), connect_error=True)


def test_a_refused_connection_then_an_answer() -> None:
    clock, notices = FakeClock(), []
    transport = Scripted(refused(), 200)
    setup = setup_for(transport, clock, notices)
    result = Call(setup, REQ, None, 300).run()
    setup.watchdog.close()
    assert (result.status_code, result.attempts, result.body) == (200, 2, {"ok": True})
    assert notices == [f"GET {REQ.shown_url}: could not connect (refused); attempt 2 of 4 in 3.0 s"]
    assert setup.active == set()  # nothing of the call is left on the runner's side


def test_a_busy_answer_is_waited_for_and_the_last_one_returned() -> None:
    clock, notices = FakeClock(), []
    setup = setup_for(Scripted(503, 503, 503, 503), clock, notices)
    result = Call(setup, REQ, None, 300).run()
    setup.watchdog.close()
    assert (result.status_code, result.attempts, len(notices)) == (503, 4, 3)


def test_no_attempt_starts_after_the_deadline() -> None:
    clock, notices = FakeClock(), []
    transport = Scripted(refused(), refused())
    setup = setup_for(transport, clock, notices)
    with pytest.raises(ConnectError) as caught:
        Call(setup, REQ, None, 2.5).run()  # the first wait (3 s) would pass the deadline
    setup.watchdog.close()
    assert (transport.opened, caught.value.attempts, notices) == (1, 1, [])


def test_a_deadline_already_passed_sends_nothing() -> None:
    clock = FakeClock()
    transport = Scripted(200)
    setup = setup_for(transport, clock, [])
    call = Call(setup, REQ, None, 1)
    clock.sleep(2)
    with pytest.raises(DeadlineExceeded, match="before attempt 1"):
        call.run()
    setup.watchdog.close()
    assert transport.opened == 0
