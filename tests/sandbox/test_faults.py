"""Sandbox fault injection: reproducible 429/503 with a seed, a request rate limit, and latency."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sandbox_helpers import event, pid, sa

from mp_custom_action.sandbox import Faults, Sandbox


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def statuses(http: requests.Session, sb: Sandbox, count: int) -> list[int]:
    url = sb.origin + "/api/2.0/events/names"
    return [http.get(url, params=pid(sb), headers=sa(sb)).status_code for _ in range(count)]


def test_a_seed_makes_the_faults_reproducible(http: requests.Session) -> None:
    with Sandbox(fail_rate=0.5, seed=7) as first:
        one = statuses(http, first, 40)
    with Sandbox(fail_rate=0.5, seed=7) as second:
        two = statuses(http, second, 40)
    with Sandbox(fail_rate=0.5, seed=8) as third:
        three = statuses(http, third, 40)
    assert one == two
    assert one != three
    assert {200, 429, 503} <= set(one)


def test_the_same_request_number_gets_the_same_answer_whatever_came_before() -> None:
    now = [0.0]
    plain = Faults(fail_rate=0.3, seed=3)
    limited = Faults(
        fail_rate=0.3, seed=3, rate_limit=1, rate_limit_window=1.0, clock=lambda: now[0]
    )
    compared = 0
    for _ in range(40):
        expected = plain.decide()
        got = limited.decide()
        now[0] += 0.6  # one request in two is past the rate limit
        if got is not None and got.cause == "rate_limit":
            continue  # refused by the rate limit; the failure draws go on unchanged
        assert got == expected
        compared += 1
    assert compared >= 15


def test_fail_rate_1_answers_every_request_with_429_or_503_and_stores_nothing(
    http: requests.Session,
) -> None:
    with Sandbox(fail_rate=1.0, seed=1) as sb:
        answers = [
            http.post(
                sb.origin + "/import",
                params={**pid(sb), "strict": "1"},
                headers=sa(sb),
                json=[event("A", f"f{i}")],
            )
            for i in range(12)
        ]
        assert sb.state.events() == []
        assert [r.status for r in sb.requests] == [a.status_code for a in answers]
        assert sb.faults.injected == {
            429: sum(a.status_code == 429 for a in answers),
            503: sum(a.status_code == 503 for a in answers),
        }
    kinds = {a.status_code for a in answers}
    assert kinds == {429, 503}
    for answer in answers:
        if answer.status_code == 429:
            assert answer.headers["Retry-After"] == "1"
            assert answer.json() == {
                "code": 429,
                "error": "Project exceeded rate limits. Please retry the request with exponential backoff.",
                "status": "Too Many Requests",
            }
        else:
            assert "Retry-After" not in answer.headers
            assert answer.json()["code"] == 503
            assert answer.json()["status"] == "Service Unavailable"


def test_app_api_faults_answer_in_the_app_shape(http: requests.Session) -> None:
    with Sandbox(fail_rate=1.0, seed=2) as sb:
        url = f"{sb.origin}/api/app/projects/{sb.credentials['project_id']}/schemas"
        body: Any = http.get(url, headers=sa(sb)).json()
    assert body["status"] == "error" and body["error"]


def test_no_faults_by_default(http: requests.Session) -> None:
    with Sandbox() as sb:
        assert set(statuses(http, sb, 20)) == {200}
        assert not sb.faults.active


def test_rate_limit_answers_429_past_n_requests_a_window(http: requests.Session) -> None:
    with Sandbox(rate_limit=3, rate_limit_window=60) as sb:
        got = statuses(http, sb, 5)
        assert got == [200, 200, 200, 429, 429]
        refused = http.get(sb.origin + "/api/2.0/events/names", params=pid(sb), headers=sa(sb))
        assert 1 <= int(refused.headers["Retry-After"]) <= 60


def test_the_rate_limit_window_reopens() -> None:
    now = [100.0]
    faults = Faults(rate_limit=2, rate_limit_window=1.0, clock=lambda: now[0])
    assert [faults.decide() is None for _ in range(3)] == [True, True, False]
    refused = faults.decide()
    assert refused is not None and refused.status == 429 and refused.retry_after == 1
    now[0] += 1.0
    assert faults.decide() is None


def test_latency_delays_every_answer(http: requests.Session) -> None:
    with Sandbox(latency=0.15) as sb:
        started = time.perf_counter()
        assert http.get(sb.origin + "/api/2.0/events/names", params=pid(sb), headers=sa(sb)).ok
        assert time.perf_counter() - started >= 0.15
        with pytest.raises(requests.exceptions.ReadTimeout):
            http.get(
                sb.origin + "/api/2.0/events/names", params=pid(sb), headers=sa(sb), timeout=0.05
            )


def test_latency_uses_the_injected_sleep() -> None:
    slept: list[float] = []
    Faults(latency=2.5, sleep=slept.append).delay()
    Faults(sleep=slept.append).delay()
    assert slept == [2.5]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fail_rate": 1.5},
        {"fail_rate": -0.1},
        {"fail_rate": float("nan")},
        {"latency": -1.0},
        {"latency": float("inf")},
        {"rate_limit": 0},
        {"rate_limit_window": 0.0},
        {"retry_after": -1},
    ],
)
def test_bad_fault_settings_are_refused(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (each message names its own setting)
        Faults(**kwargs)
