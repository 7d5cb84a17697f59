"""Helpers for the sandbox tests: credentials in each wire form, events, and a raw HTTP exchange."""

from __future__ import annotations

import base64
import datetime as dt
import socket
import time
from typing import Any, Optional

from mp_custom_action.sandbox import Sandbox

NOW = int(time.time())
TODAY = dt.datetime.fromtimestamp(NOW, tz=dt.timezone.utc).date().isoformat()


def basic(user: str, password: str = "") -> str:
    """``Authorization`` value, base64 (standard alphabet) as RFC 7617 says."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


def plain(user: str, password: str = "") -> str:
    """``Authorization`` value with the pair in plain text, which Mixpanel also accepts."""
    return f"Basic {user}:{password}"


def sa(sb: Sandbox) -> dict[str, str]:
    c = sb.credentials
    return {"Authorization": basic(c["username"], c["secret"])}


def secret(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": basic(sb.credentials["api_secret"])}


def token_basic(sb: Sandbox) -> dict[str, str]:
    return {"Authorization": basic(sb.credentials["token"])}


def pid(sb: Sandbox) -> dict[str, Any]:
    return {"project_id": sb.credentials["project_id"]}


def event(
    name: str, insert_id: str, *, when: int = NOW, user: str = "u1", **props: Any
) -> dict[str, Any]:
    return {
        "event": name,
        "properties": {"time": when, "distinct_id": user, "$insert_id": insert_id, **props},
    }


def day(seconds: int) -> str:
    return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc).date().isoformat()


def raw_exchange(
    sb: Sandbox, data: bytes, *, read_until_close: bool = True, timeout: float = 5.0
) -> bytes:
    """Send raw bytes on a fresh connection and return what comes back (until close)."""
    port = int(sb.origin.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if not read_until_close:
                break
    return b"".join(chunks)


def status_of(raw: bytes) -> Optional[int]:
    line = raw.split(b"\r\n", 1)[0].split()
    return int(line[1]) if len(line) >= 2 and line[1].isdigit() else None
