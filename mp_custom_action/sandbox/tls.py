"""HTTPS for the sandbox: a throwaway certificate authority made at start, with ``trustme``.

``trustme`` (the optional extra ``mp-custom-action[tls]``) makes a CA that exists only in this
process's memory, and a certificate it signs for ``127.0.0.1`` and ``localhost``. The CA's
certificate (public, no key) is written to a PEM file, so that a client trusts the sandbox with
its usual setting (``REQUESTS_CA_BUNDLE``, ``SSL_CERT_FILE``, ``verify=``, ``curl --cacert``)
and nothing else: the CA's key is never written anywhere and dies with the process.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

from ..errors import ConfigError

__all__ = ["TlsFiles", "make_tls", "refuse_plain_http"]


@dataclass
class TlsFiles:
    """The server's TLS context and the CA PEM file clients are given."""

    context: ssl.SSLContext
    ca_file: Path
    #: A folder made for the PEM file (removed by :meth:`cleanup`), or None for a chosen path.
    made_folder: Optional[Path] = None

    def cleanup(self) -> None:
        if self.made_folder is not None:
            shutil.rmtree(self.made_folder, ignore_errors=True)
            self.made_folder = None


def make_tls(ca_file: Union[str, os.PathLike[str], None] = None) -> TlsFiles:
    """A server context for 127.0.0.1 and localhost, and the CA written to ``ca_file``.

    Without ``ca_file`` the PEM goes into a new private temporary folder, removed on stop.
    """
    try:
        import trustme
    except ImportError:
        raise ConfigError(
            "HTTPS needs the trustme package: pip install 'mp-custom-action[tls]'", field="--tls"
        ) from None
    authority = trustme.CA(organization_name="mp-custom-action sandbox (throwaway)")
    leaf = authority.issue_cert("127.0.0.1", "localhost")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    leaf.configure_cert(context)
    made: Optional[Path] = None
    if ca_file is None:
        made = Path(tempfile.mkdtemp(prefix="mp-sandbox-ca-"))
        target = made / "sandbox-ca.pem"
    else:
        target = Path(ca_file)
    try:
        authority.cert_pem.write_to_path(str(target))
    except OSError as exc:
        if made is not None:
            shutil.rmtree(made, ignore_errors=True)
        raise ConfigError(
            f"cannot write the CA file {target}: {exc.strerror or exc}", field="--ca-file"
        ) from None
    return TlsFiles(context, target.resolve(), made)


def refuse_plain_http(conn: socket.socket, origin: str) -> None:
    """A JSON 400 in plain HTTP, so a client pointed at http:// learns to use https://."""
    try:
        conn.settimeout(0.5)
        conn.recv(65536)  # the request head: closing with it unread would reset the connection
    except OSError:
        pass
    body = json.dumps(
        {
            "code": 400,
            "error": f"This sandbox serves HTTPS: use {origin} (see docs/sandbox.md)",
            "status": "Bad Request",
        },
        separators=(",", ":"),
    ).encode("utf-8")
    head = (
        "HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nConnection: close\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    try:
        conn.sendall(head.encode("ascii") + body)
    except OSError:
        pass
