"""The :class:`Sandbox` object tests, scripts and the CLI hold: start, stop, origin, credentials, state."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import Any, Callable, Optional, Union

from .app import App
from .auth import DEMO_CREDENTIALS, Keys
from .context import Context
from .faults import Faults
from .recorder import RequestLog
from .server import HOST, MAX_BODY_BYTES, SandboxServer
from .state import State

__all__ = ["Sandbox"]

log = logging.getLogger("mp_custom_action.sandbox")


class Sandbox:
    """A local server answering Mixpanel's API families, with demo credentials.

    ::

        with Sandbox(seed=1) as sb:
            requests.get(sb.origin + "/api/2.0/events/names",
                         params={"project_id": sb.credentials["project_id"]},
                         auth=(sb.credentials["username"], sb.credentials["secret"]))

    ``port=0`` picks a free port. ``state_file`` keeps the state across runs (see state.py).
    ``fail_rate``, ``latency``, ``rate_limit`` and ``seed`` inject faults (see faults.py).
    ``credentials`` replaces the demo credentials (same keys as :data:`DEMO_CREDENTIALS`);
    ``clock`` replaces ``time.time`` for run completion and the hourly trigger limit.
    ``stream_rate`` (bytes a second) caps each connection's streamed answers (Export).
    """

    def __init__(
        self,
        port: int = 0,
        state_file: Union[str, os.PathLike[str], None] = None,
        fail_rate: float = 0.0,
        latency: float = 0.0,
        rate_limit: Optional[int] = None,
        seed: Optional[int] = None,
        *,
        rate_limit_window: float = 1.0,
        retry_after: int = 1,
        credentials: Optional[Mapping[str, Any]] = None,
        max_body_bytes: int = MAX_BODY_BYTES,
        clock: Callable[[], float] = time.time,
        stream_rate: float = 0.0,
    ) -> None:
        if not 0 <= port <= 65535:
            raise ValueError(f"port must be 0..65535, got {port}")
        if max_body_bytes < 1:
            raise ValueError("max_body_bytes must be positive")
        if not 0 <= stream_rate < float("inf"):
            raise ValueError(f"stream_rate must be bytes a second >= 0, got {stream_rate!r}")
        #: Bytes a second each streamed answer (Export) is held to, per connection; 0: no cap.
        self.stream_rate = stream_rate
        self.port = port
        self.keys = Keys.from_mapping(credentials if credentials is not None else DEMO_CREDENTIALS)
        self.state = State(state_file)
        self.faults = Faults(
            fail_rate=fail_rate,
            latency=latency,
            rate_limit=rate_limit,
            rate_limit_window=rate_limit_window,
            retry_after=retry_after,
            seed=seed,
        )
        self.requests = RequestLog()
        self.max_body_bytes = max_body_bytes
        self._app = App(Context(self.keys, self.state, clock), self.faults)
        self._server: Optional[SandboxServer] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started: call start() or use it in a with block")
        return f"http://{HOST}:{self.port}"

    @property
    def credentials(self) -> dict[str, Any]:
        """The credentials this sandbox accepts: project_id (int), username, secret, api_secret, token."""
        return self.keys.as_dict()

    def env(self) -> dict[str, str]:
        """The ``MP_*`` environment variables that point mp-custom-action at these credentials."""
        keys = self.keys
        return {
            "MP_USERNAME": keys.username,
            "MP_SECRET": keys.secret,
            "MP_API_SECRET": keys.api_secret,
            "MP_TOKEN": keys.token,
            "MP_PROJECT_ID": str(keys.project_id),
        }

    def info(self) -> dict[str, Any]:
        """What ``mp-custom-action sandbox`` prints: the origin, then the credentials."""
        return {"origin": self.origin, **self.credentials}

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Sandbox:
        """Bind and listen (before returning), then serve from a background thread."""
        with self._lock:
            if self._server is not None:
                return self
            server = SandboxServer(
                self.port, self._app, self.requests, self.max_body_bytes, self.stream_rate
            )
            self.port = int(server.server_address[1])
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"mp-sandbox-{self.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            log.info("sandbox listening on http://%s:%s", HOST, self.port)
            return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close every connection; safe to call twice."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        server.close_connections(timeout)
        if thread is not None:
            thread.join(timeout)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = f"http://{HOST}:{self.port}" if self.running else "stopped"
        return f"Sandbox({where}, project_id={self.keys.project_id})"
