"""What every API family handler is given: the sandbox's credentials, its state and its clock."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Callable

from .auth import Keys
from .messages import Request, Response, error
from .state import State

__all__ = ["Context", "method_not_allowed", "segments"]


@dataclass
class Context:
    keys: Keys
    state: State
    #: Wall-clock seconds; tests may pass a fake one to move time (run completion, hourly limits).
    clock: Callable[[], float] = field(default=time.time)

    def now_iso(self) -> str:
        return iso(self.clock())


def iso(seconds: float) -> str:
    """``2024-05-01T12:00:00Z``: the date-time form Mixpanel's App APIs answer."""
    moment = dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).replace(microsecond=0)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def segments(path: str, prefix: str) -> list[str]:
    """The still-encoded path segments after ``prefix``: ``/a/b/c`` under ``/a`` is ``[b, c]``."""
    rest = path[len(prefix) :].strip("/")
    return rest.split("/") if rest else []


def method_not_allowed(request: Request, allowed: tuple[str, ...], style: str) -> Response:
    answer = error(405, f"{request.method} is not allowed here; use {', '.join(allowed)}", style)
    answer.headers.append(("Allow", ", ".join(allowed)))
    return answer
