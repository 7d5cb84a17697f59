"""Runner: settings, credentials and the connection pool that every call of a program shares.

:meth:`Runner.prepare` builds a request (:mod:`.request`); :meth:`Runner.send` hands it to one
:class:`~.attempts.Call`, which opens, waits and retries within the call's deadline.

A :class:`Runner` holds one HTTP session (a connection pool reused across calls) and is safe to
share between threads: it keeps no per-call state on itself, the session's pool is thread-safe,
and there is no cookie jar. :func:`run` is the one-shot form for scripts.

The runner knows nothing of plugins (core never imports presets). Its one seam upward is the
``apis`` argument: an :class:`~.apis.ApiRegistry` or a lookup ``name -> ApiSpec`` through which it
resolves every API selector. By default only the built-in selectors are known; the command line
and :func:`~mp_custom_action.presets.run.run_preset` pass
:func:`mp_custom_action.presets.plugins.api_lookup`, which adds those plugins offer.
"""

from __future__ import annotations

import os
import random
import threading
import time
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..errors import ApiSecretDeprecationWarning
from ..settings import DEFAULTS, check_setting, resolve_settings
from .apis import ApiRegistry, ApiSpec, normalize_region
from .credentials import Credentials, SecretLike, normalize_auth
from .request import OutgoingRequest, build_request
from .results import PathLike, Result, check_output_path
from .retry import RetryPolicy
from .urls import validate_origin

if TYPE_CHECKING:
    from .attempts import Pacer
    from .deadline import CallSockets, Watchdog
    from .transport import Transport

__all__ = ["Runner", "run"]

ApiLookup = Callable[[object], ApiSpec]

_CREDENTIAL_FIELDS = ("username", "secret", "api_secret", "token", "oauth_token", "project_id")
_RETIREMENT_NOTICE = (
    "the project API secret is deprecated: Mixpanel retires it on 2027-03-03; "
    "use a service account (MP_USERNAME, MP_SECRET, MP_PROJECT_ID)"
)


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
        oauth_token: SecretLike = None,
        project_id: object = None,
        credentials: Optional[Credentials] = None,
        auth: Optional[str] = None,
        timeout: Optional[float] = None,
        connect_timeout: Optional[float] = None,
        read_timeout: Optional[float] = None,
        retries: Optional[int] = None,
        max_body_bytes: Optional[int] = None,
        env: Optional[Mapping[str, str]] = None,
        apis: Optional[ApiRegistry | ApiLookup] = None,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[float, float], float] = random.uniform,
        retry_policy: Optional[RetryPolicy] = None,
        on_retry: Optional[Callable[[str], None]] = None,
        pacer: Optional[Pacer] = None,
    ) -> None:
        environ: Mapping[str, str] = os.environ if env is None else env
        given = Credentials.build(
            username=username,
            secret=secret,
            api_secret=api_secret,
            token=token,
            oauth_token=oauth_token,
            project_id=project_id,
        )
        if credentials is not None:
            given = given.over(credentials)
        # The one precedence rule (settings.resolve_settings): arguments, then MP_* variables,
        # then built-in defaults. The CLI resolves its flags and profile with the same function
        # and calls from_settings() with the outcome, so nothing is resolved twice.
        arguments = {"region": region, "origin": origin, "auth": auth, "timeout": timeout,
                     "retries": retries, **{n: getattr(given, n) for n in _CREDENTIAL_FIELDS}}  # fmt: skip
        self._configure(
            resolve_settings(arguments, environ),
            env=environ,
            apis=apis,
            retry_policy=retry_policy,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
            max_body_bytes=max_body_bytes,
        )
        self._inject(clock=clock, wall_clock=wall_clock, sleep=sleep, rng=rng)
        self.on_retry = on_retry
        self.pacer = pacer

    @classmethod
    def from_settings(
        cls,
        settings: Mapping[str, Any],
        *,
        env: Optional[Mapping[str, str]] = None,
        apis: Optional[ApiRegistry | ApiLookup] = None,
        on_retry: Optional[Callable[[str], None]] = None,
        pacer: Optional[Pacer] = None,
    ) -> Runner:
        """A runner from settings already resolved (:func:`~mp_custom_action.settings.resolve_settings`).

        ``env`` is still read for the proxy and CA-bundle variables; settings are not read again.
        ``on_retry`` is told, in one line, why and how long a call waits before trying again.
        ``pacer`` is called before each attempt (see :mod:`.attempts`; ``bulk.Budgets`` is one).
        """
        runner = cls.__new__(cls)
        runner._configure(
            {**DEFAULTS, **{k: v for k, v in settings.items() if v is not None}},
            env=os.environ if env is None else env,
            apis=apis,
        )
        runner._inject()
        runner.on_retry = on_retry
        runner.pacer = pacer
        return runner

    def _configure(
        self,
        settings: Mapping[str, Any],
        *,
        env: Mapping[str, str],
        apis: Optional[ApiRegistry | ApiLookup],
        retry_policy: Optional[RetryPolicy] = None,
        connect_timeout: Optional[float] = None,
        read_timeout: Optional[float] = None,
        max_body_bytes: Optional[int] = None,
    ) -> None:
        """Check each setting (one check per setting, in settings.py) and keep it."""
        self.credentials = Credentials.build(
            **{name: settings.get(name) for name in _CREDENTIAL_FIELDS}
        )
        self.region = normalize_region(settings.get("region"))
        self.origin = validate_origin(settings.get("origin"))
        self.auth = normalize_auth(settings.get("auth"))
        self.timeout = float(check_setting("timeout", settings["timeout"]))
        self.connect_timeout = float(
            check_setting("connect_timeout", _given(connect_timeout, "connect_timeout"))
        )
        self.read_timeout = float(
            check_setting("read_timeout", _given(read_timeout, "read_timeout"))
        )
        retries = check_setting("retries", settings["retries"])
        self.retry_policy = RetryPolicy(
            **{**(retry_policy or RetryPolicy()).__dict__, "retries": retries}
        )
        self.max_body_bytes = check_setting(
            "max_body_bytes", _given(max_body_bytes, "max_body_bytes")
        )
        self._env = env
        self._apis = apis

    def _inject(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        rng: Callable[[float, float], float] = random.uniform,
    ) -> None:
        """The clocks, the sleep and the randomness (tests pass fakes), and the lazy parts."""
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

    # -- building -------------------------------------------------------------------------------

    def prepare(
        self,
        inputs: object,
        *,
        field_prefix: str = "",
        apis: Optional[ApiRegistry | ApiLookup] = None,
    ) -> OutgoingRequest:
        """Check ``inputs`` and build the request without sending it (what ``--dry-run`` shows).

        ``apis`` replaces the runner's API selectors for this request.
        """
        return build_request(
            inputs,
            credentials=self.credentials,
            region=self.region,
            origin=self.origin,
            auth=self.auth,
            apis=apis or self._apis,
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
        from .attempts import Call, CallSetup

        if output is not None:
            check_output_path(output)
        self.warn_deprecated(req)
        total = self.timeout if timeout is None else float(check_setting("timeout", timeout))
        setup = CallSetup(
            transport=self._get_transport(),
            watchdog=self._get_watchdog(),
            active=self._active,
            policy=self.retry_policy,
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_body_bytes=self.max_body_bytes,
            clock=self._clock,
            wall_clock=self._wall_clock,
            sleep=self._sleep,
            rng=self._rng,
            on_retry=self.on_retry,
            pacer=self.pacer,
        )
        return Call(setup, req, output, total).run()

    def warn_deprecated(self, req: OutgoingRequest) -> None:
        """Warn (once per runner) when ``req`` uses the API secret, which Mixpanel retires.

        :meth:`send` calls it; ``--dry-run``, which sends nothing, calls it too.
        """
        if req.credential.kind == "secret" and not self._warned_secret:
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


def _given(value: object, name: str) -> Any:
    return DEFAULTS[name] if value is None else value


def run(
    inputs: object,
    *,
    output: Optional[PathLike] = None,
    **runner_options: Any,
) -> Result:
    """One-shot: build a :class:`Runner` with ``runner_options``, run ``inputs``, close it."""
    with Runner(**runner_options) as runner:
        return runner.run(inputs, output=output)
