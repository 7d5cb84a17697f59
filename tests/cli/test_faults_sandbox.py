"""Faults injected by the sandbox: 429 with Retry-After and 503, at a share, seeded; a rate limit.

The runner's clock is injected (nothing sleeps). Each test reads the sandbox's request log to
check that the runner's attempts are exactly the requests the sandbox saw, that each wait follows
the answer before it (Retry-After for a 429, backoff for a 503), and that a request unsafe to
repeat was not repeated.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from clocks import FakeClock
from hostile import CREDENTIALS

from mp_custom_action import Runner
from mp_custom_action.sandbox import Sandbox

SANDBOX_CREDENTIALS = {**CREDENTIALS, "project_id": int(CREDENTIALS["project_id"])}
GET_NAMES = {"method": "GET", "api": "query", "relative_url": "/2.0/events/names"}
CREATE_SOURCE = {
    "method": "POST",
    "api": "connectors",
    "relative_url": f"/projects/{CREDENTIALS['project_id']}/warehouse-sources",
    "body": {
        "name": "s", "type": "bigquery", "schedule": "daily",
        "connectionDetails": {"gcpProjectId": "p", "dataset": "d"},
        "tables": [{"tableName": "d.e", "importType": "event", "eventNameColumn": "n",
                    "distinctIdColumn": "u", "timeColumn": "t"}],
    },
}  # fmt: skip
EVENTS = [
    {"event": "e", "properties": {"distinct_id": "u", "time": 1705312800, "$insert_id": f"f-{i}"}}
    for i in range(5)
]
IMPORT = {"method": "POST", "api": "ingestion", "relative_url": "/import", "body": EVENTS}


def runner(sb: Sandbox, clock: FakeClock, retries: int = 6) -> Runner:
    return Runner(**CREDENTIALS, env={}, origin=sb.origin, retries=retries,
                  clock=clock.monotonic, wall_clock=clock.wall, sleep=clock.sleep,
                  rng=lambda low, high: low)  # fmt: skip


def expected_waits(statuses: list[int]) -> list[float]:
    """The policy's wait after each answer but the last: Retry-After 1 for the sandbox's 429,
    backoff (2 s doubling, plus the low jitter of 1 s) for a 503."""
    return [1.0 if s == 429 else min(60.0, 2.0 * 2**i + 1.0) for i, s in enumerate(statuses[:-1])]


@pytest.fixture
def make_sandbox() -> Iterator[type[Sandbox]]:
    started: list[Sandbox] = []

    def make(**options: object) -> Sandbox:
        sb = Sandbox(port=0, credentials=SANDBOX_CREDENTIALS, **options)  # type: ignore[arg-type]
        sb.start()
        started.append(sb)
        return sb

    yield make  # type: ignore[misc]
    for sb in started:
        sb.stop()


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_a_get_is_retried_through_429_and_503_until_it_answers(make_sandbox, seed: int) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(fail_rate=0.6, seed=seed)
    clock = FakeClock()
    with runner(sb, clock) as r:
        result = r.run(GET_NAMES)
    statuses = [rec.status for rec in sb.requests]
    assert result.attempts == len(statuses)
    assert result.status_code == statuses[-1]
    assert all(s in (429, 503) for s in statuses[:-1]), statuses
    if result.status_code == 200:
        assert result.body is not None
    else:
        assert len(statuses) == 7, "retries exhausted: the last answer is returned"
    assert clock.sleeps == expected_waits(statuses)


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 6, 7, 8])
def test_a_post_is_repeated_after_429_only(make_sandbox, seed: int) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(fail_rate=0.6, seed=seed)
    clock = FakeClock()
    with runner(sb, clock) as r:
        result = r.run(CREATE_SOURCE)
    statuses = [rec.status for rec in sb.requests]
    assert result.attempts == len(statuses)
    assert result.status_code == statuses[-1]
    assert all(s == 429 for s in statuses[:-1]), f"only a 429 is retried for a POST: {statuses}"
    sources = sb.state.snapshot()["sources"]
    assert len(sources) == (1 if result.status_code in (200, 201) else 0), "created at most once"
    assert clock.sleeps == expected_waits(statuses)


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_a_deduplicated_import_is_repeated_after_503_and_counted_once(
    make_sandbox, seed: int
) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(fail_rate=0.6, seed=seed)
    clock = FakeClock()
    with runner(sb, clock, retries=10) as r:
        result = r.run(IMPORT)
    statuses = [rec.status for rec in sb.requests]
    assert result.status_code == 200, statuses
    assert result.attempts == len(statuses)
    assert result.body["num_records_imported"] == len(EVENTS)
    assert clock.sleeps == expected_waits(statuses)


def test_every_answer_a_fault_ends_with_the_last_answer(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(fail_rate=1.0, seed=11)
    clock = FakeClock()
    with runner(sb, clock, retries=4) as r:
        result = r.run(GET_NAMES)
    statuses = [rec.status for rec in sb.requests]
    assert len(statuses) == 5 == result.attempts
    assert result.status_code == statuses[-1] in (429, 503)
    assert clock.sleeps == expected_waits(statuses)


def test_a_rate_limit_is_waited_out_by_its_retry_after(make_sandbox) -> None:  # type: ignore[no-untyped-def]
    sb = make_sandbox(rate_limit=1, seed=1)
    clock = FakeClock()
    with runner(sb, clock, retries=3) as r:
        first = r.run(GET_NAMES)
        second = r.run(GET_NAMES)  # within the same real second: refused, Retry-After honoured
    assert first.status_code == 200
    statuses = [rec.status for rec in sb.requests][1:]
    assert second.attempts == len(statuses)
    if second.status_code == 429:
        assert all(s == 429 for s in statuses)
    assert all(w >= 1.0 for w in clock.sleeps) and all(w <= 120 for w in clock.sleeps)
