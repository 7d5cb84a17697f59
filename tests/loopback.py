"""A scripted HTTP/1.1 server on 127.0.0.1 for end-to-end and fault tests.

Unlike http.server it can misbehave on purpose: trickle bytes, cut a body short, reset the
connection, send broken encodings. Each test sets ``server.handler`` to a function that receives a
:class:`Received` request and returns a :class:`Reply`; every request is recorded in
``server.received``, so a test can assert that nothing was sent.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Optional, TypeVar
from urllib.parse import parse_qsl, urlsplit

_S = TypeVar("_S", bound="ScriptedServer")


@dataclass
class Received:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> list[tuple[str, str]]:
        return parse_qsl(urlsplit(self.target).query, keep_blank_values=True)

    def header(self, name: str) -> Optional[str]:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> object:
        """The body as JSON; ``None`` for an empty body."""
        return json.loads(self.body) if self.body else None


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    #: Write these bytes as the whole response instead (status line included), then close.
    raw: Optional[bytes] = None
    #: Seconds between single bytes of the response (a server that trickles).
    trickle: float = 0.0
    #: Close the connection without answering (after reading the request).
    drop: bool = False
    #: Reset (RST) the connection without answering.
    reset: bool = False
    #: Wait this long before answering.
    delay: float = 0.0

    @classmethod
    def json(
        cls, value: object, status: int = 200, headers: Optional[dict[str, str]] = None
    ) -> Reply:
        return cls(
            status,
            {"Content-Type": "application/json", **(headers or {})},
            json.dumps(value).encode(),
        )


def echo(req: Received) -> Reply:
    """Default handler: answer 200 with what was received (credentials included: tests only)."""
    return Reply.json(
        {
            "method": req.method,
            "target": req.target,
            "headers": req.headers,
            "body": req.body.decode("utf-8", "replace"),
        }
    )


_REASONS = {200: "OK", 201: "Created", 204: "No Content", 301: "Moved Permanently", 302: "Found",
            303: "See Other", 307: "Temporary Redirect", 308: "Permanent Redirect",
            400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
            413: "Payload Too Large", 429: "Too Many Requests", 500: "Internal Server Error",
            502: "Bad Gateway", 503: "Service Unavailable", 504: "Gateway Timeout"}  # fmt: skip


class ScriptedServer:
    """Serves ``handler``'s replies on ``host`` (any 127.x address), one thread per connection."""

    def __init__(
        self, handler: Callable[[Received], Reply] = echo, *, host: str = "127.0.0.1"
    ) -> None:
        self.handler = handler
        self.host = host
        self.received: list[Received] = []
        self.connections = 0
        self._sock: Optional[socket.socket] = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        assert self._sock is not None
        return int(self._sock.getsockname()[1])

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, 0))
        sock.listen(64)
        sock.settimeout(0.2)
        self._sock = sock
        thread = threading.Thread(target=self._accept_loop, daemon=True)
        thread.start()
        self._threads.append(thread)

    def __enter__(self: _S) -> _S:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._stopping.set()
        if self._sock is not None:
            try:
                self._sock.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept() at once
            except OSError:
                pass
            self._sock.close()
        for thread in self._threads:
            thread.join(timeout=5)

    def _accept_loop(self) -> None:
        assert self._sock is not None
        while not self._stopping.is_set():
            try:
                conn, _ = self._sock.accept()
            except (socket.timeout, OSError):
                continue
            with self._lock:
                self.connections += 1
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, conn: socket.socket) -> None:
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        conn.settimeout(10)
        reader = conn.makefile("rb")
        try:
            while not self._stopping.is_set():
                req = self._read_request(reader)
                if req is None:
                    return
                with self._lock:
                    self.received.append(req)
                reply = self.handler(req)
                if not self._write(conn, reply):
                    return
        except OSError:
            return
        finally:
            reader.close()
            conn.close()

    @staticmethod
    def _read_request(reader: object) -> Optional[Received]:
        line = reader.readline(65537)  # type: ignore[attr-defined]
        if not line:
            return None
        method, target, _ = line.decode("latin-1").split(" ", 2)
        headers: dict[str, str] = {}
        while True:
            h = reader.readline(65537).decode("latin-1")  # type: ignore[attr-defined]
            if h in ("\r\n", "\n", ""):
                break
            name, _, value = h.partition(":")
            headers[name.strip()] = value.strip()
        length = 0
        for name, value in headers.items():
            if name.lower() == "content-length":
                length = int(value)
        body = reader.read(length) if length else b""  # type: ignore[attr-defined]
        return Received(method, target, headers, body)

    def _write(self, conn: socket.socket, reply: Reply) -> bool:
        if reply.delay:
            time.sleep(reply.delay)
        if reply.reset:
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            return False
        if reply.drop:
            return False
        if reply.raw is not None:
            data = reply.raw
            keep = False
        else:
            headers = {"Content-Length": str(len(reply.body)), **reply.headers}
            head = f"HTTP/1.1 {reply.status} {_REASONS.get(reply.status, 'Status')}\r\n"
            head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            data = head.encode("latin-1") + reply.body
            keep = True
        if reply.trickle:
            for i in range(len(data)):
                if self._stopping.is_set():
                    return False
                conn.sendall(data[i : i + 1])
                time.sleep(reply.trickle)
        else:
            conn.sendall(data)
        return keep
