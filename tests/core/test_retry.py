"""The retry policy: which answers are repeated, how long to wait, and that the arithmetic is capped."""

from __future__ import annotations

import pytest

from mp_custom_action.core.retry import RetryPolicy, parse_retry_after
from mp_custom_action.settings import RETRIES_MAX


def low(a: float, b: float) -> float:
    return a


@pytest.mark.parametrize(
    ("method", "kwargs", "expected"),
    [
        ("GET", {"status": 429}, True),
        ("POST", {"status": 429}, True),
        ("GET", {"status": 503}, True),
        ("POST", {"status": 503}, False),
        ("POST", {"status": 503, "replay_safe": True}, True),
        ("POST", {"connect_error": True}, True),
        ("POST", {"sent_error": True}, False),
        ("PUT", {"sent_error": True}, True),
        ("GET", {"status": 500}, False),
    ],
)
def test_what_is_repeated(method: str, kwargs: dict[str, object], expected: bool) -> None:
    assert RetryPolicy().should_retry(1, method, **kwargs) is expected  # type: ignore[arg-type]


def test_retries_counts_attempts_after_the_first() -> None:
    policy = RetryPolicy(retries=2)
    assert policy.should_retry(2, "GET", status=429)
    assert not policy.should_retry(3, "GET", status=429)
    assert not RetryPolicy(retries=0).should_retry(1, "GET", status=429)


def test_backoff_doubles_up_to_its_cap_with_jitter() -> None:
    policy = RetryPolicy()
    assert [policy.wait(n, rng=low) for n in (1, 2, 3, 4, 5, 6, 7)] == [3, 5, 9, 17, 33, 60, 60]


@pytest.mark.parametrize("attempt", [1025, 1030, 10**6])
def test_backoff_arithmetic_never_overflows(attempt: int) -> None:
    # 2.0 ** 1024 is an OverflowError: the exponent is capped long before.
    assert RetryPolicy(retries=attempt).wait(attempt, rng=low) == 60.0


def test_retry_after_is_honoured_up_to_its_cap() -> None:
    policy = RetryPolicy()
    assert policy.wait(1, retry_after="7") == 7
    assert policy.wait(1, retry_after="0") == 0
    assert policy.wait(1, retry_after="99999") == policy.retry_after_cap
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("garbage", now=0) is None
    assert parse_retry_after("nan", now=0) is None


def test_retries_has_a_documented_maximum() -> None:
    from pathlib import Path

    from mp_custom_action.errors import InputError
    from mp_custom_action.settings import check_setting

    assert check_setting("retries", RETRIES_MAX) == RETRIES_MAX
    with pytest.raises(
        InputError, match=f"retries: expected a whole number from 0 to {RETRIES_MAX}"
    ):
        check_setting("retries", RETRIES_MAX + 1)
    docs = (Path(__file__).resolve().parents[2] / "docs" / "python.md").read_text(encoding="utf-8")
    assert f"at most {RETRIES_MAX}" in docs
