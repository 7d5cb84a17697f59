"""Runner: resolve, authenticate, send, shape. The one place where requests are sent.

A :class:`Runner` holds one HTTP session (a connection pool reused across calls) and is safe to
share between threads: it keeps no per-call state on itself, the session's pool is thread-safe,
and there is no cookie jar. :func:`run` is the one-shot form for scripts.
"""

from __future__ import annotations

import functools
import logging
import os
import random
import threading
import time
import warnings
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from ..errors import ApiSecretDeprecationWarning, DeadlineExceeded, InputError, TransportError
from ..settings import resolve_settings
from .apis import ApiRegistry, ApiSpec, normalize_region
from .credentials import Credentials, SecretLike, normalize_auth
from .request import OutgoingRequest, build_request
from .results import Result, flatten_headers, read_body, write_stream
from .retry import RETRY_STATUSES, RetryPolicy
from .urls import validate_origin

if TYPE_CHECKING:
    import requests

    from .deadline import Watchdog
    from .transport import CallSockets, Failure, Transport

__all__ = ["DEFAULTS", "Pacer", "Runner", "run"]

#: Built-in defaults (the last layer of flags > environment > profile > defaults).
DEFAULTS: dict[str, Any] = {
    "region": "us",
    "auth": "auto",
    "timeout": 300.0,  # total deadline of one call, across retries
    "connect_timeout": 10.0,
    "read_timeout": 60.0,
    "retries": 4,
    "max_body_bytes": 256 * 1024 * 1024,
}

# Log lines carry the method, the URL (which never holds a credential: tokens go in bodies and
# secrets in the Authorization header) and the outcome; never headers or bodies.
log = logging.getLogger("mp_custom_action")

_CHUNK = 1024 * 1024
_LONGEST_TIMEOUT = 7 * 24 * 3600.0
_CREDENTIAL_FIELDS = ("username", "secret", "api_secret", "token", "project_id")
_RETIREMENT_NOTICE = (
    "the project API secret is deprecated: Mixpanel retires it on 2027-03-03; "
    "use a service account (MP_USERNAME, MP_SECRET, MP_PROJECT_ID)"
)

PathLike = Union[str, "os.PathLike[str]"]
#: Called before each attempt with the request and the seconds left of its deadline; may wait,
#: or raise (a spent rate budget), and returns what to call when the attempt ends (or None).
Pacer = Callable[[OutgoingRequest, float], Optional[Callable[[], None]]]


class Runner:
    """Sends Custom API Actions. Arguments not given are read from the environment (``MP_*``).

    >>> runner = Runner(region="eu", username="sa.name", secret="...", project_id=12345)
    >>> result = runner.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names",
    ...                      "query": {"type": "general"}})              # doctest: +SKIP
    >>> result.status_code, result.body                                  # doctest: +SKIP
    """

    def __init__(
        self,
        *,
        region: Optional[str] = None,
        origin: Optional[str] = None,
        username: SecretLike = None,
        secret: SecretLike = None,
        api_secret: SecretLike = None,
        token: SecretLike = None,
        project_id: object = None,
        credentials: Optional[Credentials] = None,
        auth: Optional[str] = None,
        timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        read_timeout: Optional[float] = None,
        retries: Optional[int] = None,
        max_body_bytes: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        apis: Optional[ApiRegistry | Callable[[object], ApiSpec]] = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[float, float], float] = random.uniform,
        retry_policy: Optional[RetryPolicy] = None,
        pacer: Optional[Pacer] = None,
    ) -> None:
        environ: Mapping[str, str] = os.environ if env is None else env
        given = Credentials.build(
            username=username,
            secret=secret,
            api_secret=api_secret,
            token=token,
            project_id=project_id,
        )
        if credentials is not None:
            given = given.over(credentials)
        # The one precedence rule (config.resolve_settings): arguments, then MP_* variables, then
        # built-in defaults. The CLI resolves its flags and profile with the same function and
        # passes the outcome here as arguments.
        settings = resolve_settings(
            {
                "region": region,
                "timeout": timeout,
                "retries": retries,
                **{name: getattr(given, name) for name in _CREDENTIAL_FIELDS},
            },
            environ,
        )
        self.credentials = Credentials.build(
            **{name: settings.get(name) for name in _CREDENTIAL_FIELDS}
        )
        self.region = normalize_region(settings.get("region"))
        self.origin = validate_origin(origin)
        self.auth = normalize_auth(auth)
        timeout = settings.get("timeout")
        retries = settings.get("retries")
        self.timeout = _positive(timeout, "timeout", DEFAULTS["timeout"])
        self.connect_timeout = _positive(
            connect_timeout, "connect_timeout", DEFAULTS["connect_timeout"]
        )
        self.read_timeout = _positive(read_timeout, "read_timeout", DEFAULTS["read_timeout"])
        if retries is not None and (
            isinstance(retries, bool) or not isinstance(retries, int) or retries < 0
        ):
            raise InputError(f"expected a whole number >= 0, got {retries!r}", field="retries")
        policy = retry_policy or RetryPolicy()
        if retries is not None:
            policy = RetryPolicy(**{**policy.__dict__, "retries": retries})
        self.retry_policy = policy
        self.max_body_bytes = int(max_body_bytes or DEFAULTS["max_body_bytes"])
        self._env = environ
        self._apis = apis
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._rng = rng
        self._lock = threading.Lock()
        self._transport: Optional[Transport] = None
        self._watchdog: Optional[Watchdog] = None
        self._warned_secret = False
        # The calls in flight, so that abort_all() can cut them (set add/discard are atomic).
        self._active: set[CallSockets] = set()
        self.pacer = pacer

    # -- building -------------------------------------------------------------------------------

    def prepare(self, inputs: object, *, field_prefix: str = "") -> OutgoingRequest:
        """Check ``inputs`` and build the request without sending it (what ``--dry-run`` shows)."""
        return build_request(
            inputs,
            credentials=self.credentials,
            region=self.region,
            origin=self.origin,
            auth=self.auth,
            apis=self._apis or _default_api_lookup,
            field_prefix=field_prefix,
        )

    # -- sending --------------------------------------------------------------------------------

    def run(
        self,
        inputs: object,
        *,
        output: Optional[PathLike] = None,
        timeout: Optional[float] = None,
    ) -> Result:
        """Send one action and return its result. HTTP error statuses are results, not errors.

        ``output`` streams a successful (2xx) body to that file instead of holding it in memory
        (for Export). ``timeout`` overrides the runner's total deadline for this call.
        """
        return self.send(self.prepare(inputs), output=output, timeout=timeout)

    def send(
        self,
        req: OutgoingRequest,
        *,
        output: Optional[PathLike] = None,
        timeout: Optional[float] = None,
    ) -> Result:
        """Send a request built by :meth:`prepare`, retrying as :mod:`retry` allows."""
        from .transport import CallSockets, Failure

        if output is not None:
            _check_output(output)
        if req.credential.kind == "secret":
            self._warn_secret()
        total = _positive(timeout, "timeout", self.timeout)
        start = self._clock()
        deadline = start + total
        transport = self._get_transport()
        watchdog = self._get_watchdog()
        policy = self.retry_policy
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - self._clock()
            if remaining <= 0:
                raise DeadlineExceeded(
                    f"deadline of {total:g} s passed before attempt {attempt}: {req.method} "
                    f"{req.shown_url}",
                    url=req.url,
                    attempts=attempt - 1,
                )
            release = self.pacer(req, remaining) if self.pacer is not None else None
            sockets = CallSockets()
            self._active.add(sockets)
            entry = watchdog.arm(deadline, sockets.abort)
            try:
                try:
                    response = transport.open(
                        req,
                        connect_timeout=min(self.connect_timeout, remaining),
                        read_timeout=min(self.read_timeout, remaining),
                        sockets=sockets,
                    )
                except Failure as failure:
                    self._retry_or_raise(failure, req, sockets, total, attempt, deadline)
                    continue
                if sockets.fired:
                    # The watchdog cut the headers short, and http.client took the cut for their
                    # end: what arrived is not an answer.
                    response.close()
                    self._raise_if_deadline(sockets, req, total, attempt)

                status = response.status_code
                if (
                    status in RETRY_STATUSES
                    and policy.should_retry(
                        attempt, req.method, status=status, replay_safe=req.replay_safe
                    )
                    and self._backoff(
                        attempt, deadline, response.headers.get("Retry-After"), req, str(status)
                    )
                ):
                    response.close()
                    continue
                try:
                    result = self._finish(
                        response,
                        req,
                        output,
                        attempt,
                        start,
                        functools.partial(self._body_complete, sockets, req, total, attempt),
                    )
                    log.info(
                        "%s %s -> %d (%d attempt%s, %.3f s)",
                        req.method, req.shown_url, result.status_code, attempt,
                        "" if attempt == 1 else "s", result.elapsed,
                    )  # fmt: skip
                    return result
                except Failure as failure:
                    self._retry_or_raise(
                        failure, req, sockets, total, attempt, deadline, body_started=True
                    )
                    continue
            finally:
                watchdog.disarm(entry)
                self._active.discard(sockets)
                if release is not None:
                    release()

    def _retry_or_raise(
        self,
        failure: Failure,
        req: OutgoingRequest,
        sockets: CallSockets,
        total: float,
        attempt: int,
        deadline: float,
        *,
        body_started: bool = False,
    ) -> None:
        """Return (after waiting) when the failed attempt may be repeated; raise otherwise.

        ``body_started``: the answer had begun, so the request was certainly sent, whatever the
        error's class says (a TLS error mid-body is an ``SSLError``, like a failed handshake).
        """
        self._raise_if_deadline(sockets, req, total, attempt)
        connect_error = failure.connect_error and not body_started
        if self.retry_policy.should_retry(
            attempt,
            req.method,
            connect_error=connect_error,
            sent_error=not connect_error,
            replay_safe=req.replay_safe,
        ) and self._backoff(attempt, deadline, None, req, type(failure.error).__name__):
            return
        failure.error.attempts = attempt
        raise failure.error from None

    def _backoff(
        self,
        attempt: int,
        deadline: float,
        retry_after: Optional[str],
        req: OutgoingRequest,
        outcome: str,
    ) -> bool:
        """Wait before the next attempt, unless the wait would pass the deadline (then False)."""
        wait = self.retry_policy.wait(
            attempt, retry_after=retry_after, now=self._wall_clock(), rng=self._rng
        )
        if self._clock() + wait >= deadline:
            return False
        # The URL is logged without its query: a caller may put anything in a query value.
        log.info(
            "%s %s -> %s, retrying in %.1f s (attempt %d)",
            req.method, req.shown_url, outcome, wait, attempt,
        )  # fmt: skip
        self._sleep(wait)
        return True

    def _raise_if_deadline(
        self, sockets: CallSockets, req: OutgoingRequest, total: float, attempt: int
    ) -> None:
        if sockets.fired:
            raise DeadlineExceeded(
                f"deadline of {total:g} s passed during attempt {attempt}: {req.method} "
                f"{req.shown_url}",
                url=req.url,
                attempts=attempt,
            )

    def _body_complete(
        self, sockets: CallSockets, req: OutgoingRequest, total: float, attempt: int
    ) -> None:
        """The last chunk is in. A deadline that fired meanwhile still counts (the body may have
        been cut); after that the connection is back in the pool, where another call may take
        it, so this call's deadline must no longer reach its socket."""
        self._raise_if_deadline(sockets, req, total, attempt)
        sockets.release()

    def _finish(
        self,
        response: requests.Response,
        req: OutgoingRequest,
        output: Optional[PathLike],
        attempt: int,
        start: float,
        body_complete: Callable[[], None],
    ) -> Result:
        from .transport import classify

        headers = flatten_headers(response.headers)
        result = Result(
            status_code=response.status_code,
            headers=headers,
            body=None,
            url=req.url,
            method=req.method,
            attempts=attempt,
        )
        chunks = _checked(response.iter_content(_CHUNK), body_complete)
        try:
            if output is not None and 200 <= response.status_code < 300:
                result.body_bytes = write_stream(chunks, os.fspath(output))
                result.body_file = os.path.abspath(os.fspath(output))
            else:
                result.body = read_body(
                    chunks,
                    self.max_body_bytes,
                    headers.get("Content-Type"),
                    jsonl=req.api.name == "export",
                )
        except TransportError as exc:
            response.close()
            exc.attempts = attempt
            exc.url = exc.url or req.url
            raise
        except Exception as exc:
            response.close()
            import requests as _requests

            if isinstance(exc, (_requests.RequestException, OSError)) or type(
                exc
            ).__module__.startswith("urllib3"):
                raise classify(exc, req.url) from None
            raise
        result.elapsed = self._clock() - start
        return result

    def _warn_secret(self) -> None:
        if not self._warned_secret:
            self._warned_secret = True
            warnings.warn(_RETIREMENT_NOTICE, ApiSecretDeprecationWarning, stacklevel=4)

    # -- lifecycle ------------------------------------------------------------------------------

    def _get_transport(self) -> Transport:
        transport = self._transport
        if transport is None:
            with self._lock:
                if self._transport is None:
                    from .transport import Transport

                    self._transport = Transport(self._env)
                transport = self._transport
        return transport

    def _get_watchdog(self) -> Watchdog:
        watchdog = self._watchdog
        if watchdog is None:
            with self._lock:
                if self._watchdog is None:
                    from .deadline import Watchdog

                    self._watchdog = Watchdog(self._clock)
                watchdog = self._watchdog
        return watchdog

    def abort_all(self) -> None:
        """Cut every call in flight on this runner now: each ends with ``DeadlineExceeded``.

        For an interrupted parallel manifest run, whose worker threads would otherwise wait for
        their calls' deadlines.
        """
        for sockets in list(self._active):
            sockets.abort()

    def close(self) -> None:
        """Close the connection pool and the deadline thread."""
        with self._lock:
            if self._transport is not None:
                self._transport.close()
                self._transport = None
            if self._watchdog is not None:
                self._watchdog.close()
                self._watchdog = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        origin = f", origin={self.origin!r}" if self.origin else ""
        return f"Runner(region={self.region!r}{origin}, credentials={self.credentials!r})"


def _check_output(output: PathLike) -> None:
    """Refuse an --output path that cannot be written, before anything is sent."""
    path = os.path.abspath(os.fspath(output))
    directory = os.path.dirname(path)
    if os.path.isdir(path):
        raise InputError(f"{os.fspath(output)!r} is a directory; name a file", field="output")
    if not os.path.isdir(directory):
        raise InputError(f"directory {directory!r} does not exist", field="output")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise InputError(f"directory {directory!r} is not writable", field="output")


def _checked(chunks: Iterator[bytes], body_complete: Callable[[], None]) -> Iterator[bytes]:
    """``chunks``, then a last word from the watchdog before the body counts as complete.

    A body that ends when the connection closes (no Content-Length, not chunked) looks whole when
    the watchdog shuts the socket at the deadline; without this check a cut body would be returned,
    or written to --output's file, as if complete.
    """
    yield from chunks
    body_complete()


def _positive(value: Optional[float], name: str, default: float) -> float:
    if value is None:
        return float(default)
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= _LONGEST_TIMEOUT  # also refuses NaN and infinity
    ):
        raise InputError(
            f"expected a number of seconds > 0 and at most {_LONGEST_TIMEOUT:g} (a week), "
            f"got {value!r}",
            field=name,
        )
    return float(value)


def _default_api_lookup(name: object) -> ApiSpec:
    """Built-in selectors first; plugins are consulted (and loaded) only for a name we lack."""
    from .apis import builtin_registry

    if name in builtin_registry:
        return builtin_registry.get(name)
    from ..presets.plugins import plugin_api_registry

    registry: ApiRegistry = plugin_api_registry()
    return registry.get(name)


def run(
    inputs: object,
    *,
    output: Optional[PathLike] = None,
    **runner_options: Any,
) -> Result:
    """One-shot: build a :class:`Runner` with ``runner_options``, run ``inputs``, close it."""
    with Runner(**runner_options) as runner:
        return runner.run(inputs, output=output)
