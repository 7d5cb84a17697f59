"""A fast loopback HTTP/1.1 server for the benchmark, run as its own process.

``python -m bench.server [--cpu N]`` listens on 127.0.0.1 (a free port), prints the port on one
line and serves until its standard input closes. It is deliberately minimal, so that the client
is what a figure measures:

* ``/export...`` answers ``?bytes=N`` bytes of JSON Lines, generated on the fly from one
  pre-built block (a gigabyte is never held in memory), chunked like Mixpanel's Export;
* ``/engage`` answers one page of Query engage (``?page=P&pages=N``: ten profiles a page,
  ``N`` pages in all, ``session_id`` "bench"), for the pagination figure;
* any other path answers a small canned JSON object, keeping the connection alive.

Pinning the server to the client's core (``--cpu``) makes a per-call CPU figure independent of
the other core's wake-ups.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
from collections.abc import Iterator
from urllib.parse import parse_qsl, urlsplit

from .common import serve_until_stdin_closes

__all__ = ["JSON_BODY", "export_body", "jsonl_block"]

#: The per-call answer: a small JSON object, like Query's event names.
JSON_BODY = json.dumps(
    {
        "status": "ok",
        "computed_at": "2024-01-31T12:00:00",
        "data": ["Signed up", "Logged in", "Viewed page", "Purchased", "Shared"],
        "legend_size": 5,
    }
).encode()

_CHUNK = 1 << 20  # bytes per chunk of an export body


def jsonl_block(size: int = _CHUNK) -> bytes:
    """About ``size`` bytes of whole Export-like JSON lines (each ~260 bytes)."""
    lines = []
    total = 0
    i = 0
    while total < size:
        line = json.dumps(
            {
                "event": "Viewed page",
                "properties": {
                    "time": 1706702400 + i,
                    "distinct_id": f"user-{i % 9973}",
                    "$insert_id": f"{i:032x}",
                    "mp_lib": "web",
                    "$browser": "Firefox",
                    "$city": "Lisbon",
                    "page": f"/docs/{i % 97}",
                    "duration_ms": i % 5000,
                    "ok": i % 3 == 0,
                },
            },
            separators=(",", ":"),
        ).encode()
        lines.append(line)
        total += len(line) + 1
        i += 1
    return b"\n".join(lines) + b"\n"


def _read_request(conn: socket.socket, buf: bytearray) -> tuple[str, bytes] | None:
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    target = lines[0].split(b" ")[1].decode()
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            return None
        rest += data
    buf[:] = rest[length:]
    return target, rest[:length]


_JSON_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
    + str(len(JSON_BODY)).encode()
    + b"\r\nRequest-Id: 0123456789abcdef\r\nConnection: keep-alive\r\n\r\n"
    + JSON_BODY
)


def export_body(total: int, block: bytes) -> Iterator[bytes]:
    """The Export body of about ``total`` bytes: ``block`` repeated, cut after a whole line."""
    sent = 0
    while total - sent >= len(block):
        yield block
        sent += len(block)
    left = total - sent
    if left > 0:
        tail = block[: block.rfind(b"\n", 0, left) + 1]
        if tail:
            yield tail


def _export(conn: socket.socket, total: int, block: bytes) -> None:
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Transfer-Encoding: chunked\r\nConnection: keep-alive\r\n\r\n"
    )
    framed = b"%x\r\n" % len(block) + block + b"\r\n"  # the common piece, framed once
    for piece in export_body(total, block):
        conn.sendall(framed if piece is block else b"%x\r\n" % len(piece) + piece + b"\r\n")
    conn.sendall(b"0\r\n\r\n")


_PAGE_SIZE = 10


def _engage(conn: socket.socket, query: dict[str, str]) -> None:
    page, pages = int(query.get("page", "0")), int(query.get("pages", "1"))
    results = (
        [
            {"$distinct_id": f"user-{page}-{i}", "$properties": {"$city": "Lisbon", "n": i}}
            for i in range(_PAGE_SIZE)
        ]
        if page < pages
        else []
    )
    body = json.dumps(
        {
            "page": page,
            "page_size": _PAGE_SIZE,
            "session_id": "bench",
            "status": "ok",
            "total": pages * _PAGE_SIZE + 1,
            "results": results,
        }
    ).encode()
    conn.sendall(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: keep-alive\r\n\r\n"
        + body
    )


def _serve(conn: socket.socket, block: bytes) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = bytearray()
    try:
        while True:
            request = _read_request(conn, buf)
            if request is None:
                return
            target, _ = request
            parts = urlsplit(target)
            if parts.path.startswith("/export") or parts.path.endswith("/export"):
                query = dict(parse_qsl(parts.query))
                _export(conn, int(query.get("bytes", "0")), block)
            elif parts.path.endswith("/engage"):
                _engage(conn, dict(parse_qsl(parts.query)))
            else:
                conn.sendall(_JSON_REPLY)
    except OSError:
        return
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.server")
    parser.add_argument("--cpu", type=int, help="pin the server to this CPU")
    args = parser.parse_args()
    if args.cpu is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.cpu})
    block = jsonl_block()
    serve_until_stdin_closes(lambda conn: _serve(conn, block))


if __name__ == "__main__":
    main()
