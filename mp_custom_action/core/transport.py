"""The only code that touches ``requests``: one session, its connection pool, proxies, and errors.

Why not plain ``session.request()``:

* ``trust_env`` is off. With it on, ``requests`` scans the environment and reads ``~/.netrc`` on
  every call (slow, and ``.netrc`` could attach someone else's password to our host). We read the
  proxy and CA-bundle variables once, when the transport is made, and still honour them.
* Requests go straight to the mounted adapter: no redirects (a 3xx is a result), no cookie jar
  (``Cookie`` belongs to the connector, and a shared jar would leak between calls and threads).
* Every connection a call uses is remembered for the watchdog (deadline.py), so the total
  deadline can cut a call that trickles bytes in.

Nothing of ``requests`` or ``urllib3`` leaves this module: :meth:`Transport.open` returns a
:class:`WireResponse` (status, headers, a body iterator, close), and every exception the libraries
raise, while connecting or while the body is read, is mapped by :func:`classify` through one table
(:data:`_FAILURES`) into the error tree, as a :class:`Failure` for the retry policy.
"""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.request
from collections.abc import Iterator, Mapping
from typing import Any, Callable, NamedTuple, Optional
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ..errors import BrokenResponseError, ConfigError, ConnectError, RequestTimeout, TransportError
from ..settings import MAX_PARALLEL
from .deadline import CallSockets
from .request import OutgoingRequest
from .urls import is_loopback, without_query

__all__ = ["Failure", "Transport", "WireResponse", "classify"]

_local = threading.local()


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


#: What the HTTP libraries raise, while connecting or while a body is read: all of it is mapped.
_LIBRARY_ERRORS = (
    requests.RequestException,
    urllib3.exceptions.HTTPError,
    http.client.HTTPException,
    OSError,
)


class WireResponse:
    """An answer whose body is not read yet: what :meth:`Transport.open` returns.

    ``headers`` is a plain dict (repeated headers joined by the library); :meth:`header` looks a
    name up ignoring case. :meth:`chunks` yields the body; a failure while reading it is raised
    as a :class:`Failure`, never as a library exception.
    """

    __slots__ = ("_close", "_iter", "headers", "status", "url")

    def __init__(
        self,
        status: int,
        headers: dict[str, str],
        body: Callable[[int], Iterator[bytes]],
        close: Callable[[], None],
        url: str,
    ) -> None:
        self.status = status
        self.headers = headers
        self.url = url
        self._iter = body
        self._close = close

    def header(self, name: str) -> Optional[str]:
        wanted = name.lower()
        for key, value in self.headers.items():
            if key.lower() == wanted:
                return value
        return None

    def chunks(self, size: int) -> Iterator[bytes]:
        try:
            yield from self._iter(size)
        except _LIBRARY_ERRORS as exc:
            raise classify(exc, self.url) from None

    def close(self) -> None:
        self._close()


def _wire_response(response: requests.Response, url: str) -> WireResponse:
    return WireResponse(
        response.status_code,
        {str(k): str(v) for k, v in response.headers.items()},
        response.iter_content,
        response.close,
        url,
    )


def _env(env: Mapping[str, str], name: str) -> Optional[str]:
    value = env.get(name.lower()) or env.get(name.upper())
    return value.strip() if value and value.strip() else None


def _proxy_variable(env: Mapping[str, str], scheme: str) -> str:
    return f"{scheme.upper()}_PROXY" if _env(env, f"{scheme}_proxy") else "ALL_PROXY"


def _socks_available() -> bool:
    """Without PySocks, urllib3 would fail at the first request, which then looked like a broken
    answer from Mixpanel after every retry: a proxy that cannot be used is said up front."""
    import importlib.util

    # PySocks, as urllib3.contrib.socks imports it (importing that would warn, then fail).
    return importlib.util.find_spec("socks") is not None


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
                raise ConfigError(
                    "is not a valid proxy URL: expected scheme://[user:password@]host:port, "
                    "with '/', '@', ':' and '%' in the user name or password percent-encoded",
                    field=_proxy_variable(env, scheme),
                )
            if proxy.lower().startswith("socks") and not _socks_available():
                raise ConfigError(
                    "is a SOCKS proxy, which needs the SOCKS extra: pip install 'requests[socks]'",
                    field=_proxy_variable(env, scheme),
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
    ) -> WireResponse:
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
            response = self._adapter.send(
                prepared,
                stream=True,
                timeout=(connect_timeout, read_timeout),
                verify=self._verify,
                cert=None,
                proxies=self.proxies_for(req.url),
            )
        except _LIBRARY_ERRORS as exc:
            raise classify(exc, req.url) from None
        finally:
            _local.call = None
        return _wire_response(response, req.url)

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
    unresolved = False
    while seen < 8:
        seen += 1
        unresolved = unresolved or isinstance(inner, socket.gaierror)
        unresolved = unresolved or type(inner).__name__ == "NameResolutionError"
        nxt = getattr(inner, "reason", None) or inner.__cause__ or inner.__context__
        if nxt is None and inner.args and isinstance(inner.args[0], BaseException):
            nxt = inner.args[0]
        if not isinstance(nxt, BaseException) or nxt is inner:
            break
        inner = nxt
    if unresolved or isinstance(inner, socket.gaierror):
        # Said plainly on the first failure: a typo in a host is not worth four retries' doubt.
        detail = inner.strerror.lower() if isinstance(inner, OSError) and inner.strerror else ""
        return "host name could not be resolved" + (f": {detail}" if detail else "")
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


def _is_connect_phase(exc: BaseException) -> bool:
    """A ``requests`` ConnectionError raised before anything was sent (no TCP connection made)."""
    inner = exc.args[0] if exc.args else None
    reason = getattr(inner, "reason", inner)
    return isinstance(
        reason, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError)
    )


_CONNECT = "could not connect to {where} ({reason})"


class _Row(NamedTuple):
    kinds: type[BaseException] | tuple[type[BaseException], ...]
    test: Optional[Callable[[BaseException], bool]]
    error: type[TransportError]
    message: str
    connect_error: bool  # nothing reached the server


_rx = requests.exceptions
#: The one table from a library exception to our error: the first row whose class (and test, if
#: any) matches decides the error, its message, and whether nothing reached the server.
_FAILURES = (
    _Row(_rx.ConnectTimeout, None, RequestTimeout, "connect timed out: {where}", True),
    _Row(_rx.ReadTimeout, None, RequestTimeout, "read timed out: {where}", False),
    _Row((_rx.SSLError, _rx.ProxyError), None, ConnectError, _CONNECT, True),
    _Row(_rx.ConnectionError, _is_connect_phase, ConnectError, _CONNECT, True),
    _Row(
        BaseException, None, BrokenResponseError, "broken response from {where} ({reason})", False
    ),
)


def classify(exc: BaseException, url: str) -> Failure:
    """Map a ``requests``/``urllib3``/socket exception to our error, and say whether anything was sent."""
    where = without_query(url)
    for kinds, test, error, message, connect_error in _FAILURES:
        if isinstance(exc, kinds) and (test is None or test(exc)):
            text = message.format(where=where, reason=_reason(exc))
            return Failure(error(text, url=url), connect_error=connect_error)
    raise AssertionError("the last row of _FAILURES matches everything")  # pragma: no cover
