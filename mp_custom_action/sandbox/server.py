"""The sandbox's HTTP/1.1 server on 127.0.0.1: reading requests, writing answers, staying up.

Built on ``http.server`` so that importing it needs nothing outside the standard library, with
what the stdlib server lacks for a server clients lean on:

* ``TCP_NODELAY`` and a buffered writer: headers and body leave in one send. Without both, a
  keep-alive client waits for Nagle's algorithm and delayed ACKs, about 40 ms a call.
* A bounded body (413 past it, answered before the body is read when the client asked with
  ``Expect: 100-continue``), chunked request bodies, and streamed (chunked) answers for Export.
* Malformed requests get a JSON 400, a handler bug a JSON 500; the server keeps serving.
* ``Accept-Encoding: gzip`` honoured on every JSON and Export answer (streamed answers are
  compressed chunk by chunk, never held whole).
* HTTPS when given an ``ssl.SSLContext`` (``Sandbox(tls=True)``): the handshake runs in the
  connection's own thread, so a client that never completes one holds up no other.
* ``stop()`` closes idle keep-alive connections too, so a test leaves no thread or socket behind.
"""

from __future__ import annotations

import logging
import os
import socket
import socketserver
import ssl
import threading
import time
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qsl, urlsplit

from .._version import __version__
from .app import App
from .encoding import gzipped
from .messages import Request, Response, dumps, reason
from .pace import Pace
from .recorder import RequestLog, RequestRecord, redact
from .tls import refuse_plain_http

__all__ = ["HOST", "MAX_BODY_BYTES", "SandboxServer"]

log = logging.getLogger("mp_custom_action.sandbox")

#: The sandbox listens on the IPv4 loopback only: it accepts fake credentials, and must never be
#: reachable from another machine.
HOST = "127.0.0.1"
#: Default bound on a request body as received (before gzip is undone). /import's own limit is
#: 10 MB of uncompressed JSON; the margin lets the sandbox answer that with Mixpanel's message.
MAX_BODY_BYTES = 32 * 1024 * 1024


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung client must never keep the process alive
    # On Windows SO_REUSEADDR lets a second server take a port already in use; elsewhere it
    # only lets a restarted sandbox reuse its port while old connections linger in TIME_WAIT.
    allow_reuse_address = os.name != "nt"
    request_queue_size = 128

    def __init__(
        self,
        port: int,
        app: App,
        requests: RequestLog,
        max_body: int,
        *,
        ssl_context: Optional[ssl.SSLContext] = None,
        on_request: Optional[Callable[[RequestRecord], None]] = None,
        stream_rate: float = 0.0,
    ) -> None:
        self.app = app
        #: Bytes a second each streamed answer (Export) is held to; 0: as fast as possible.
        self.stream_rate = stream_rate
        self.request_log = requests
        self.max_body = max_body
        self.ssl_context = ssl_context
        self.on_request = on_request
        self._connections: set[socket.socket] = set()
        self._connections_changed = threading.Condition()
        super().__init__((HOST, port), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks the host's FQDN up in DNS, which can take seconds;
        # the name is only used in CGI variables, so it is skipped.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.ssl_context is None:
            super().finish_request(request, client_address)
            return
        # In the connection's own thread: a client that sends nothing holds up no other.
        try:
            request.settimeout(_Handler.timeout)
            first = request.recv(1, socket.MSG_PEEK)
        except OSError:
            return
        if first.isalpha():  # "GET ...": plain HTTP sent to the HTTPS port
            refuse_plain_http(request, f"https://{HOST}:{self.server_port}")
            return
        tls = self.ssl_context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
        with self._connections_changed:  # stop() must wake the TLS socket, not the detached one
            self._connections.discard(request)
            self._connections.add(tls)
        try:
            super().finish_request(tls, client_address)
        finally:
            with self._connections_changed:
                self._connections.discard(tls)
                self._connections_changed.notify_all()
            tls.close()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._connections_changed:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            with self._connections_changed:
                self._connections.discard(request)
                self._connections_changed.notify_all()

    def close_connections(self, timeout: float) -> None:
        """Wake every handler blocked on a keep-alive connection, and wait for them to end."""
        with self._connections_changed:
            for conn in list(self._connections):
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._connections_changed.wait_for(lambda: not self._connections, timeout)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up mid-request is normal; anything else is logged, not printed.
        log.debug("connection from %s ended with an error", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = f"mp-custom-action-sandbox/{__version__}"
    disable_nagle_algorithm = True
    wbufsize = 64 * 1024
    timeout = 60  # an idle keep-alive connection is closed after this many seconds
    server: SandboxServer

    def do_GET(self) -> None:
        self._serve()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def handle_expect_100(self) -> bool:
        # Refuse an oversized body before the client sends it, which is what Expect is for.
        length = self._declared_length()
        if length is not None and length > self.server.max_body:
            self._too_large(length)
            return False
        answer = super().handle_expect_100()
        # The writer is buffered (see the module docstring): the interim answer must leave now,
        # or the client waits for it while the server waits for the body.
        self.wfile.flush()
        return answer

    def _declared_length(self) -> Optional[int]:
        value = self.headers.get("Content-Length")
        if value is None or not value.strip().isdigit():
            return None
        return int(value)

    def _serve(self) -> None:
        started = time.time()
        clock = time.perf_counter()
        if self.headers.defects:
            # e.g. a header line without a colon, which the parser would read as the body.
            self.send_error(400, "Malformed header section")
            return
        try:
            body = self._read_body()
        except _BadRequest as exc:
            self.send_error(400, str(exc))
            return
        except _TooLarge as exc:
            self._too_large(exc.length)
            return
        if body is None:  # the client went away
            self.close_connection = True
            return
        parts = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = Request(
            method=self.command,
            path=parts.path or "/",
            query=tuple(parse_qsl(parts.query, keep_blank_values=True)),
            headers=headers,
            body=body,
        )
        try:
            response = self.server.app.handle(request)
        except Exception:  # App.handle guards handlers; this guards App itself
            log.exception("sandbox failed on %s %s", self.command, parts.path)
            response = Response(
                500,
                dumps({"code": 500, "error": "Internal error", "status": "Internal Server Error"}),
            )
        if request.accepts_gzip():
            response = gzipped(response)
        ms = (time.perf_counter() - clock) * 1000
        self._record(
            request.path,
            request.query,
            headers,
            len(body),
            response.status,
            started,
            ms=ms,
            auth=request.notes.get("auth", ""),
        )
        self._send(response)

    def _record(
        self,
        path: str,
        query: tuple[tuple[str, str], ...],
        headers: Mapping[str, str],
        length: int,
        status: int,
        started: float,
        *,
        ms: float = 0.0,
        auth: str = "",
    ) -> None:
        # Recorded before the answer is sent: once a client has its answer, the record exists.
        record = RequestRecord(
            self.command, path, query, redact(headers), length, status, started, ms, auth
        )
        self.server.request_log.append(record)
        if self.server.on_request is not None:
            try:
                self.server.on_request(record)
            except Exception:  # a broken log stream must not break the answer
                log.debug("the request log could not be written", exc_info=True)

    def _read_body(self) -> Optional[bytes]:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        value = self.headers.get("Content-Length")
        if value is None:
            return b""
        if not value.strip().isdigit():
            raise _BadRequest(f"invalid Content-Length {value!r}")
        length = int(value)
        if length > self.server.max_body:
            raise _TooLarge(length)
        data = self.rfile.read(length)
        return data if len(data) == length else None

    def _read_chunked(self) -> Optional[bytes]:
        chunks = []
        total = 0
        while True:
            line = self.rfile.readline(1026)
            if not line:
                return None
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadRequest("invalid chunk size in a chunked body") from None
            if size == 0:
                break
            total += size
            if total > self.server.max_body:
                raise _TooLarge(total)
            data = self.rfile.read(size)
            if len(data) != size or self.rfile.read(2) != b"\r\n":
                return None
            chunks.append(data)
        while True:  # trailer fields, then the empty line that ends the body
            line = self.rfile.readline(65537)
            if not line:
                return None
            if line in (b"\r\n", b"\n"):
                return b"".join(chunks)

    def _too_large(self, length: int) -> None:
        parts = urlsplit(self.path)
        query = tuple(parse_qsl(parts.query, keep_blank_values=True))
        headers = {k.lower(): v for k, v in self.headers.items()}
        self._record(parts.path or "/", query, headers, length, 413, time.time())
        # The body was not read, so this connection cannot carry another request.
        self.close_connection = True
        limit = self.server.max_body
        self._send(
            Response(
                413,
                dumps(
                    {
                        "code": 413,
                        "error": f"request exceeds max limit of {limit} bytes",
                        "status": "Request Entity Too Large",
                    }
                ),
            )
        )

    def _send(self, response: Response) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        if not response.streamed:
            body = next(response.chunks(), b"")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
            return
        if self.request_version < "HTTP/1.1":
            # HTTP/1.0 has no chunked encoding: the end of the body is the end of the connection.
            self.send_header("Connection", "close")
            self.end_headers()
            self._stream(response, chunked=False)
            return
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self._stream(response, chunked=True)

    def _stream(self, response: Response, *, chunked: bool) -> None:
        pace = Pace(self.server.stream_rate)
        try:
            for chunk in response.chunks():
                if not chunk:
                    continue
                pace.wait(len(chunk))
                if chunked:
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                else:
                    self.wfile.write(chunk)
                self.wfile.flush()
        except OSError:
            self.close_connection = True  # the client hung up mid-stream
            return
        except Exception:
            # Headers are gone already: all that is left is to end the body visibly incomplete.
            log.exception("sandbox failed while streaming %s", self.path)
            self.close_connection = True
            return
        if chunked:
            self.wfile.write(b"0\r\n\r\n")

    def send_error(
        self, code: int, message: Optional[str] = None, explain: Optional[str] = None
    ) -> None:
        # The stdlib answers malformed requests with an HTML page; Mixpanel clients expect JSON.
        self.close_connection = True
        if self.request_version == "HTTP/0.9":
            # The request line was not understood, so its version is the parser's default,
            # under which no status line nor header would be written.
            self.request_version = "HTTP/1.0"
        body = dumps({"code": code, "error": message or reason(code), "status": reason(code)})
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if getattr(self, "command", None) != "HEAD" and code >= 200 and code not in (204, 304):
            self.wfile.write(body)

    def version_string(self) -> str:
        return self.server_version  # no Python version: it tells clients nothing useful

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)


class _BadRequest(Exception):
    pass


class _TooLarge(Exception):
    def __init__(self, length: int) -> None:
        super().__init__(length)
        self.length = length
