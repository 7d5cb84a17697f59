"""More misbehaving servers for the fault and secrets suites, on loopback only.

* :class:`FaultServer`: the scripted server, on any loopback address, that can also send part of
  a response and then reset the connection (:class:`CutReply`).
* :func:`make_tls_files`: a throwaway CA and a certificate for ``mixpanel.com`` and its
  subdomains (made with the ``openssl`` command), so a test can stand in for Mixpanel over real TLS.
* :class:`TlsServer`: an HTTPS server presenting that certificate, recording what it receives.
* :class:`ConnectProxy`: a forward proxy speaking ``CONNECT`` that demands ``Proxy-Authorization``
  and tunnels every connection to the :class:`TlsServer`, whatever host was asked for.

Together they let the runner talk to "https://mixpanel.com" through an authenticating proxy with
nothing leaving the machine: the proxy sees only the CONNECT line, the server only the tunnelled
request, and the test sees both.
"""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from loopback import Received, Reply, ScriptedServer


@dataclass
class CutReply(Reply):
    """Send ``raw`` (part of a response), then reset the connection (RST, not FIN)."""

    cut: bytes = b""


@dataclass
class StreamReply(Reply):
    """A 200 whose body is ``size`` bytes of ``piece`` repeated, sent without ever holding it whole."""

    piece: bytes = b"x"
    size: int = 0


class FaultServer(ScriptedServer):
    """A :class:`ScriptedServer` that also does :class:`CutReply` and :class:`StreamReply`."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__(host=host)

    def _write(self, conn: socket.socket, reply: Reply) -> bool:
        if isinstance(reply, CutReply):
            conn.sendall(reply.cut)
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            return False
        if isinstance(reply, StreamReply):
            count, rest = divmod(reply.size, len(reply.piece))
            head = f"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {count * len(reply.piece) + rest}\r\n\r\n"
            conn.sendall(head.encode())
            block = reply.piece * max(1, (64 * 1024) // len(reply.piece))
            per_block = len(block) // len(reply.piece)
            full, left = divmod(count, per_block)
            for _ in range(full):
                conn.sendall(block)
            conn.sendall(reply.piece * left + reply.piece[:rest])
            return True
        return super()._write(conn, reply)


def loopback_alias_available(host: str = "127.0.0.2") -> bool:
    try:
        with socket.socket() as sock:
            sock.bind((host, 0))
    except OSError:
        return False
    return True


# -- TLS: a throwaway CA and a certificate for mixpanel.com ------------------------------------------------


@dataclass(frozen=True)
class TlsFiles:
    ca: Path
    cert: Path
    key: Path


def openssl_available() -> bool:
    return shutil.which("openssl") is not None


def make_tls_files(folder: Path) -> TlsFiles:
    """A CA, and a leaf certificate for mixpanel.com and *.mixpanel.com signed by it."""

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    ext = folder / "leaf.ext"
    ext.write_text(
        "basicConstraints=CA:FALSE\n"
        "keyUsage=digitalSignature,keyEncipherment\n"
        "extendedKeyUsage=serverAuth\n"
        "subjectAltName=DNS:mixpanel.com,DNS:*.mixpanel.com\n"
    )
    ca_ext = folder / "ca.ext"
    ca_ext.write_text(
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
        "subjectKeyIdentifier=hash\n"
    )
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "2", "-subj", "/CN=mp-custom-action test CA", "-addext",
        "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "leaf.key", "-out", "leaf.csr",
        "-subj", "/CN=mixpanel.com")  # fmt: skip
    run("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "leaf.pem", "-days", "2", "-extfile", "leaf.ext")  # fmt: skip
    return TlsFiles(folder / "ca.pem", folder / "leaf.pem", folder / "leaf.key")


class TlsServer(ScriptedServer):
    """An HTTPS server on 127.0.0.1 presenting the mixpanel.com test certificate."""

    def __init__(self, files: TlsFiles) -> None:
        super().__init__()
        self._context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._context.load_cert_chain(str(files.cert), str(files.key))

    def _serve(self, conn: socket.socket) -> None:
        try:
            conn.settimeout(10)
            tls = self._context.wrap_socket(conn, server_side=True)
        except (OSError, ssl.SSLError):
            conn.close()
            return
        super()._serve(tls)


class ConnectProxy(ScriptedServer):
    """A CONNECT proxy on 127.0.0.1 that requires ``Proxy-Authorization: Basic <expected>`` and
    tunnels to ``target`` (host, port) whatever the client asked for. Records each CONNECT.

    It listens and accepts like :class:`ScriptedServer`; only what it does with a connection
    differs (``_serve``)."""

    def __init__(self, target: tuple[str, int], expected_auth: Optional[str]) -> None:
        super().__init__()
        self.target = target
        self.expected_auth = expected_auth
        #: (request line, headers) of each CONNECT, and every byte seen before the tunnel opened.
        self.connects: list[tuple[str, dict[str, str]]] = []
        self.before_tunnel: list[bytes] = []

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(10)
        head = b""
        try:
            while b"\r\n\r\n" not in head:
                chunk = conn.recv(4096)
                if not chunk:
                    return
                head += chunk
            self.before_tunnel.append(head)
            text = head.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            line, *header_lines = text.split("\r\n")
            headers = {}
            for h in header_lines:
                name, _, value = h.partition(":")
                headers[name.strip()] = value.strip()
            self.connects.append((line, headers))
            auth = next((v for k, v in headers.items() if k.lower() == "proxy-authorization"), None)
            if not line.startswith("CONNECT "):
                conn.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
                return
            if self.expected_auth is not None and auth != self.expected_auth:
                conn.sendall(
                    b"HTTP/1.1 407 Proxy Authentication Required\r\n"
                    b'Proxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n'
                )
                return
            upstream = socket.create_connection(self.target, timeout=10)
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            self._pipe(conn, upstream)
        except OSError:
            return
        finally:
            conn.close()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        def copy(src: socket.socket, dst: socket.socket) -> None:
            try:
                while True:
                    data = src.recv(65536)
                    if not data:
                        break
                    dst.sendall(data)
            except OSError:
                pass
            finally:
                try:
                    dst.shutdown(socket.SHUT_WR)
                except OSError:
                    pass

        other = threading.Thread(target=copy, args=(b, a), daemon=True)
        other.start()
        copy(a, b)
        other.join(timeout=10)
        b.close()


__all__ = [
    "ConnectProxy",
    "CutReply",
    "FaultServer",
    "Received",
    "StreamReply",
    "TlsFiles",
    "TlsServer",
    "loopback_alias_available",
    "make_tls_files",
    "openssl_available",
]
