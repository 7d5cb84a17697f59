"""The :class:`Sandbox` object tests, scripts and the CLI hold: start, stop, origin, credentials, state."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Mapping
from typing import IO, Any, Callable, Optional, Union

from .app import App
from .auth import DEMO_CREDENTIALS, Keys
from .context import Context
from .faults import Faults
from .recorder import DEFAULT_HISTORY, RequestLog, RequestRecord, log_line
from .server import HOST, MAX_BODY_BYTES, SandboxServer
from .state import State
from .tls import TlsFiles, make_tls

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
    ``tls=True`` serves HTTPS with a throwaway CA (tls.py) whose PEM is at :attr:`ca_file`
    (``ca_file`` chooses where). ``log`` gets one line per request (recorder.log_line);
    ``history`` bounds :attr:`requests` to the newest N requests.
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
        tls: bool = False,
        ca_file: Union[str, os.PathLike[str], None] = None,
        log: Optional[IO[str]] = None,
        history: int = DEFAULT_HISTORY,
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
        self.requests = RequestLog(history)
        self.max_body_bytes = max_body_bytes
        self.tls = tls
        self._ca_choice = ca_file
        self._tls: Optional[TlsFiles] = None
        self._log = log
        self._log_lock = threading.Lock()
        self._app = App(Context(self.keys, self.state, clock), self.faults)
        self._server: Optional[SandboxServer] = None
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()

    @property
    def origin(self) -> str:
        if self._server is None:
            raise RuntimeError("the sandbox is not started: call start() or use it in a with block")
        return f"{'https' if self.tls else 'http'}://{HOST}:{self.port}"

    @property
    def ca_file(self) -> Optional[str]:
        """The CA certificate (PEM) a client trusts to reach ``tls=True``; None for http."""
        return str(self._tls.ca_file) if self._tls is not None else None

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
        """What ``mp-custom-action sandbox`` prints: the origin (and CA file), then the credentials."""
        shown: dict[str, Any] = {"origin": self.origin}
        if self.ca_file is not None:
            shown["ca_file"] = self.ca_file
        return {**shown, **self.credentials}

    def _write_log(self, record: RequestRecord) -> None:
        if self._log is None:
            return
        line = log_line(record)
        with self._log_lock:
            self._log.write(line + "\n")
            self._log.flush()

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Sandbox:
        """Bind and listen (before returning), then serve from a background thread."""
        with self._lock:
            if self._server is not None:
                return self
            tls = make_tls(self._ca_choice) if self.tls else None
            try:
                server = SandboxServer(
                    self.port,
                    self._app,
                    self.requests,
                    self.max_body_bytes,
                    ssl_context=tls.context if tls is not None else None,
                    on_request=self._write_log if self._log is not None else None,
                    stream_rate=self.stream_rate,
                )
            except BaseException:
                if tls is not None:
                    tls.cleanup()
                raise
            self._tls = tls
            self.port = int(server.server_address[1])
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"mp-sandbox-{self.port}",
                daemon=True,
            )
            thread.start()
            self._server, self._thread = server, thread
            log.info("sandbox listening on %s", self.origin)
            return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving and close every connection; safe to call twice."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
            tls, self._tls = self._tls, None
        if tls is not None:
            tls.cleanup()
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
        where = self.origin if self.running else "stopped"
        return f"Sandbox({where}, project_id={self.keys.project_id})"
