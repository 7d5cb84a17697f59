"""The deadline thread: callbacks fire at their deadline unless disarmed; a fired call's sockets are cut."""

from __future__ import annotations

import socket
import threading

from mp_custom_action.core.deadline import CallSockets, Watchdog


def test_a_callback_fires_at_its_deadline_and_a_disarmed_one_never() -> None:
    watchdog = Watchdog()
    fired = threading.Event()
    never: list[int] = []
    try:
        entry = watchdog.arm(0.0, lambda: never.append(1))  # already due...
        watchdog.disarm(entry)  # ...but disarmed: may have fired only if the thread was quicker
        watchdog.arm(0.0, fired.set)
        assert fired.wait(10)
    finally:
        watchdog.close()


def test_abort_marks_the_call_and_shuts_its_sockets() -> None:
    left, right = socket.socketpair()
    try:

        class Conn:
            sock = left

        sockets = CallSockets()
        sockets.conns.append(Conn())
        sockets.abort()
        assert sockets.fired
        assert left.recv(1) == b""  # shut down: a blocked read would wake at once
    finally:
        left.close()
        right.close()


def test_release_forgets_the_connections() -> None:
    sockets = CallSockets()
    sockets.conns.append(object())
    sockets.release()
    sockets.abort()  # nothing left to cut
    assert sockets.conns == [] and sockets.fired
