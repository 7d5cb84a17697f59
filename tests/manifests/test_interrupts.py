"""Ctrl-C and SIGTERM during a parallel run act where the scheduler checks, not inside a lock:
the handler the signal would have run still runs, and the handlers are put back."""

from __future__ import annotations

import os
import signal
import threading
from types import FrameType
from typing import Any, Optional

import pytest

from mp_custom_action.manifests.interrupts import DeferredSignals


class Terminated(BaseException):
    pass


def raise_terminated(signum: int, frame: Optional[FrameType]) -> None:
    raise Terminated


@pytest.fixture
def sigterm_raises() -> Any:
    previous = signal.signal(signal.SIGTERM, raise_terminated)
    yield
    signal.signal(signal.SIGTERM, previous)


def test_ctrl_c_is_noted_then_raised_at_the_check_and_the_handler_put_back() -> None:
    before = signal.getsignal(signal.SIGINT)
    with DeferredSignals() as signals:
        assert signals.active
        os.kill(os.getpid(), signal.SIGINT)  # not raised where the signal arrives
        with pytest.raises(KeyboardInterrupt):
            signals.check()
    assert signal.getsignal(signal.SIGINT) is before


def test_sigterm_runs_the_handler_it_would_have_run(sigterm_raises: None) -> None:
    with DeferredSignals() as signals:
        os.kill(os.getpid(), signal.SIGTERM)
        with pytest.raises(Terminated):
            signals.check()
        assert signal.getsignal(signal.SIGTERM) is raise_terminated
        signals.check()  # acted on once


def test_a_signal_after_the_last_check_is_acted_on_when_the_block_ends(
    sigterm_raises: None,
) -> None:
    signals = DeferredSignals().__enter__()
    os.kill(os.getpid(), signal.SIGTERM)
    with pytest.raises(Terminated):
        signals.__exit__(None, None, None)
    assert signal.getsignal(signal.SIGTERM) is raise_terminated


def test_without_a_signal_nothing_happens_and_the_handlers_are_put_back(
    sigterm_raises: None,
) -> None:
    before = signal.getsignal(signal.SIGINT)
    with DeferredSignals() as signals:
        signals.check()
    assert signal.getsignal(signal.SIGINT) is before
    assert signal.getsignal(signal.SIGTERM) is raise_terminated


def test_an_ignored_signal_stays_ignored() -> None:
    previous = signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        with DeferredSignals() as signals:
            assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
            signals.check()
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_off_the_main_thread_no_handler_is_touched() -> None:
    seen: list[bool] = []

    def body() -> None:
        with DeferredSignals() as signals:
            seen.append(signals.active)
            signals.check()

    thread = threading.Thread(target=body)
    thread.start()
    thread.join(timeout=10)
    assert seen == [False]
