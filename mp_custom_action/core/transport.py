"""The only code that touches ``requests``: one session, its connection pool, proxies, and errors.

Why not plain ``session.request()``:

* ``trust_env`` is off. With it on, ``requests`` scans the environment and reads ``~/.netrc`` on
  every call (slow, and ``.netrc`` could attach someone else's password to our host). We read the
  proxy and CA-bundle variables once, when the transport is made, and still honour them.
* Requests go straight to the mounted adapter: no redirects (a 3xx is a result), no cookie jar
  (``Cookie`` belongs to the connector, and a shared jar would leak between calls and threads).
* Every connection a call uses is remembered for the watchdog (watchdog.py), so the total
  deadline can cut a call that trickles bytes in.
"""

from __future__ import annotations

import socket
import threading
import urllib.request
from collections.abc import Mapping
from typing import Any, Optional
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import BrokenResponseError, ConfigError, ConnectError, RequestTimeout, TransportError
from ..settings import MAX_PARALLEL
from .request import OutgoingRequest
from .urls import is_loopback, without_query

__all__ = ["CallSockets", "Failure", "Transport"]

_local = threading.local()
_ABORTED_READ_TIMEOUT = 0.001


class CallSockets:
    """The connections one call has used, so the watchdog can shut them down."""

    __slots__ = ("conns", "fired")

    def __init__(self) -> None:
        self.conns: list[Any] = []
        self.fired = False

    def release(self) -> None:
        """The call is done with its connections (they are back in the pool): forget them."""
        self.conns.clear()

    def abort(self) -> None:
        self.fired = True
        for conn in list(self.conns):
            sock = getattr(conn, "sock", None) or getattr(conn, "last_sock", None)
            if sock is None:
                continue
            try:
                # Shutdown wakes a blocked read at once. On Linux, bytes that arrive after a
                # shutdown are still delivered, so a body that ends only when the connection
                # closes could go on trickling in; a near-zero timeout makes the next read fail.
                sock.settimeout(_ABORTED_READ_TIMEOUT)
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _track(conn: Any) -> None:
    call: Optional[CallSockets] = getattr(_local, "call", None)
    if call is not None:
        call.conns.append(conn)


class _KeepSocket:
    """Remembers the connection's socket after http.client lets go of it.

    For a body that ends when the connection closes, http.client drops ``conn.sock`` as soon as
    the headers are read, while the response goes on reading from the same socket; the watchdog
    must still be able to cut that read.
    """

    sock: Any

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        self.last_sock = self.sock


class _TrackedHTTPConnection(_KeepSocket, HTTPConnection):
    pass


class _TrackedHTTPSConnection(_KeepSocket, HTTPSConnection):
    pass


class _TrackedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _TrackedHTTPConnection

    def _get_conn(self, timeout: Optional[float] = None) -> Any:
        conn = super()._get_conn(timeout)
        _track(conn)
        return conn


class _TrackedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _TrackedHTTPSConnection

    def _get_conn(self, timeout: Optional[float] = None) -> Any:
        conn = super()._get_conn(timeout)
        _track(conn)
        return conn


_POOLS = {"http": _TrackedHTTPPool, "https": _TrackedHTTPSPool}


class _Adapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = _POOLS

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = _POOLS
        return manager


class Failure(Exception):
    """A transport failure, classified for the retry policy.

    ``connect_error``: nothing reached the server (safe to repeat any request).
    ``error``: the :class:`TransportError` to raise if no retry follows.
    """

    def __init__(self, error: TransportError, *, connect_error: bool) -> None:
        super().__init__(str(error))
        self.error = error
        self.connect_error = connect_error


def _env(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name.lower()) or env.get(name.upper())
    return value.strip() if value and value.strip() else None


def _valid_proxy(url: str) -> bool:
    from urllib3.exceptions import LocationParseError
    from urllib3.util import parse_url

    try:
        parsed = parse_url(url)
    except LocationParseError:
        return False
    return bool(parsed.host) and parsed.scheme in (None, "http", "https", "socks5", "socks5h")


class Transport:
    """One ``requests.Session`` (connection pool), shared by every call and thread of a runner."""

    def __init__(self, env: Mapping[str, str], *, pool_maxsize: int = MAX_PARALLEL) -> None:
        session = requests.Session()
        session.trust_env = False
        adapter = _Adapter(pool_connections=8, pool_maxsize=pool_maxsize, max_retries=0)
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        self.session = session
        self._adapter = adapter
        self._proxies = {
            scheme: proxy
            for scheme in ("http", "https")
            if (proxy := _env(env, f"{scheme}_proxy") or _env(env, "all_proxy"))
        }
        for scheme, proxy in self._proxies.items():
            if not _valid_proxy(proxy):
                # Said here, without the value (it may hold the proxy's password), and not left
                # to urllib3, whose parse error quotes the whole URL and surfaced as a "broken
                # response" from Mixpanel.
                name = f"{scheme.upper()}_PROXY" if _env(env, f"{scheme}_proxy") else "ALL_PROXY"
                raise ConfigError(
                    "is not a valid proxy URL: expected scheme://[user:password@]host:port, "
                    "with '/', '@', ':' and '%' in the user name or password percent-encoded",
                    field=name,
                )
        self._no_proxy = _env(env, "no_proxy") or ""
        self._verify: bool | str = (
            _env(env, "REQUESTS_CA_BUNDLE") or _env(env, "CURL_CA_BUNDLE") or True
        )
        self._proxy_cache: dict[tuple[str, str], dict[str, str]] = {}

    def proxies_for(self, url: str) -> dict[str, str]:
        """The proxy for ``url`` from the environment read at start, honouring ``no_proxy``."""
        if not self._proxies:
            return {}
        parts = urlsplit(url)
        key = (parts.scheme, parts.netloc)
        cached = self._proxy_cache.get(key)
        if cached is not None:
            return cached
        host = parts.hostname or ""
        proxy = self._proxies.get(parts.scheme)
        # Loopback (the sandbox, test servers) never goes through a proxy.
        if proxy is None or is_loopback(host) or self._bypassed(parts.netloc):
            result: dict[str, str] = {}
        else:
            result = {parts.scheme: proxy}
        self._proxy_cache[key] = result
        return result

    def _bypassed(self, netloc: str) -> bool:
        if not self._no_proxy:
            return False
        # The standard library's no_proxy matcher (suffixes, "*", host:port), given our snapshot
        # of the variable rather than reading os.environ again.
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]
        return bool(bypass(netloc, {"no": self._no_proxy}))

    def open(
        self,
        req: OutgoingRequest,
        *,
        connect_timeout: float,
        read_timeout: float,
        sockets: CallSockets,
    ) -> requests.Response:
        """Send ``req`` and return the response with its body not yet read (stream mode)."""
        prepared = requests.PreparedRequest()
        prepared.method = req.method
        prepared.url = req.wire_url()
        headers = CaseInsensitiveDict(req.wire_headers())
        if req.body is not None:
            headers["Content-Length"] = str(len(req.body))
        elif req.method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = "0"
        prepared.headers = headers
        prepared.body = req.body
        _local.call = sockets
        try:
            return self._adapter.send(
                prepared,
                stream=True,
                timeout=(connect_timeout, read_timeout),
                verify=self._verify,
                cert=None,
                proxies=self.proxies_for(req.url),
            )
        except requests.RequestException as exc:
            raise classify(exc, req.url) from None
        finally:
            _local.call = None

    def close(self) -> None:
        # urllib3 2's PoolManager.clear() only forgets its pools; their idle keep-alive sockets
        # stay open until garbage collection (never, while an error's traceback holds them).
        managers = [self._adapter.poolmanager, *self._adapter.proxy_manager.values()]
        for manager in managers:
            for key in list(manager.pools.keys()):
                pool = manager.pools.get(key)
                if pool is not None:
                    pool.close()
        self.session.close()


def _reason(exc: BaseException) -> str:
    """A short, credential-free reason: the innermost cause's class and OS error text."""
    seen = 0
    inner: BaseException = exc
    while seen < 8:
        seen += 1
        nxt = getattr(inner, "reason", None) or inner.__cause__ or inner.__context__
        if nxt is None and inner.args and isinstance(inner.args[0], BaseException):
            nxt = inner.args[0]
        if not isinstance(nxt, BaseException) or nxt is inner:
            break
        inner = nxt
    if isinstance(inner, OSError) and inner.strerror:
        return inner.strerror.lower()
    name = type(inner).__name__
    text = {
        "NameResolutionError": "host name could not be resolved",
        "ConnectTimeoutError": "connect timed out",
        "ReadTimeoutError": "read timed out",
        "RemoteDisconnected": "server closed the connection without answering",
        "IncompleteRead": "response ended before its announced length",
        "InvalidChunkLength": "malformed chunked body",
        "DecodeError": "body could not be decoded (Content-Encoding)",
        "LineTooLong": "a response line was too long",
        "HTTPException": "malformed response",
        "SSLError": "TLS handshake failed",
        "ProxyError": "proxy refused or failed",
    }.get(name)
    return text or name


def classify(exc: BaseException, url: str) -> Failure:
    """Map a ``requests``/``urllib3`` exception to our error, and say whether anything was sent."""
    where = without_query(url)
    reason = _reason(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure(RequestTimeout(f"connect timed out: {where}", url=url), connect_error=True)
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure(RequestTimeout(f"read timed out: {where}", url=url), connect_error=False)
    if isinstance(exc, (requests.exceptions.SSLError, requests.exceptions.ProxyError)):
        return Failure(
            ConnectError(f"could not connect to {where} ({reason})", url=url), connect_error=True
        )
    if isinstance(exc, requests.exceptions.ConnectionError) and _is_connect_phase(exc):
        return Failure(
            ConnectError(f"could not connect to {where} ({reason})", url=url), connect_error=True
        )
    return Failure(
        BrokenResponseError(f"broken response from {where} ({reason})", url=url),
        connect_error=False,
    )


def _is_connect_phase(exc: BaseException) -> bool:
    from urllib3.exceptions import ConnectTimeoutError, NewConnectionError

    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return isinstance(reason, (NewConnectionError, ConnectTimeoutError))
