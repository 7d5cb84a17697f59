"""Connection settings: their defaults, their variables, one check each, and the one precedence rule.

The rule is flags > environment > profile > :data:`DEFAULTS`: :func:`resolve_settings` picks each
setting from the first layer that gives it. ``None`` (or ``""``) means "not given here" and falls
through to the next layer. The command line resolves its flags and profile once, with this
function, and hands the outcome to :class:`~mp_custom_action.core.runner.Runner`, which resolves
its own arguments (a Python caller's) the same way.

Each setting that can be given wrongly has one check (:func:`setting_problem`), used by every
layer: an argument, a flag, an ``MP_*`` variable, a profile value.

This module imports nothing of the package but the error tree, so every wing may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Callable, Optional

__all__ = [
    "DEFAULTS",
    "ENV_NAMES",
    "ENV_VARS",
    "MAX_PARALLEL",
    "RETRIES_MAX",
    "SETTINGS",
    "TIMEOUT_MAX",
    "check_setting",
    "resolve_settings",
    "setting_problem",
]

#: The most calls one Runner makes at once: its connection pool's size, and the most manifest
#: steps that run in parallel (more would only wait for a connection).
MAX_PARALLEL = 16

#: The longest deadline or socket timeout accepted, in seconds (a week).
TIMEOUT_MAX = 7 * 24 * 3600.0
#: The most retries accepted after the first attempt.
RETRIES_MAX = 100

#: The environment variables credentials are read from (Mixpanel's own tools use these names).
ENV_VARS = {
    "username": "MP_USERNAME",
    "secret": "MP_SECRET",
    "api_secret": "MP_API_SECRET",
    "token": "MP_TOKEN",
    "oauth_token": "MP_OAUTH_TOKEN",
    "project_id": "MP_PROJECT_ID",
}

#: Settings a layer may give, and the environment variable of each.
ENV_NAMES = {
    "region": "MP_REGION",
    **ENV_VARS,
    "timeout": "MP_TIMEOUT",
    "retries": "MP_RETRIES",
}
SETTINGS = (*ENV_NAMES, "origin", "auth")

#: The lowest layer. ``connect_timeout``, ``read_timeout`` and ``max_body_bytes`` are Runner
#: arguments only (no flag, variable or profile key gives them).
DEFAULTS: Mapping[str, Any] = {
    "region": "us",
    "auth": "auto",
    "timeout": 300.0,  # total deadline of one call, across retries
    "retries": 4,
    "connect_timeout": 10.0,
    "read_timeout": 60.0,
    "max_body_bytes": 256 * 1024 * 1024,
}


def _seconds(value: object) -> Optional[str]:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0 < value <= TIMEOUT_MAX  # also refuses NaN and infinity
    ):
        return (
            f"expected a number of seconds > 0 and at most {TIMEOUT_MAX:g} (a week), got {value!r}"
        )
    return None


def _retries(value: object) -> Optional[str]:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= RETRIES_MAX:
        return f"expected a whole number from 0 to {RETRIES_MAX}, got {value!r}"
    return None


def _positive_size(value: object) -> Optional[str]:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        return f"expected a whole number of bytes >= 1, got {value!r}"
    return None


_CHECKS: dict[str, Callable[[object], Optional[str]]] = {
    "timeout": _seconds,
    "connect_timeout": _seconds,
    "read_timeout": _seconds,
    "retries": _retries,
    "max_body_bytes": _positive_size,
}
#: How an environment variable's text becomes the setting's value.
_FROM_TEXT: dict[str, Callable[[str], Any]] = {"timeout": float, "retries": int}


def setting_problem(name: str, value: object) -> Optional[str]:
    """What is wrong with ``value`` for setting ``name`` (``None`` when it is fine)."""
    check = _CHECKS.get(name)
    return None if check is None else check(value)


def check_setting(name: str, value: Any, *, field: Optional[str] = None) -> Any:
    """``value`` if it is a good ``name``, else an :class:`~mp_custom_action.errors.InputError`."""
    problem = setting_problem(name, value)
    if problem is not None:
        from .errors import InputError

        raise InputError(problem, field=field or name)
    return value


def _is_text(value: str) -> bool:
    """False for a variable that was not UTF-8: Python decodes it with lone surrogates."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    from .errors import ConfigError

    out: dict[str, Any] = {}
    for name, var in ENV_NAMES.items():
        value = env.get(var)
        if value is None or not value.strip():
            continue
        if not _is_text(value):
            raise ConfigError(
                "is not valid UTF-8 text (its value is not shown: it may be a secret)", field=var
            )
        convert = _FROM_TEXT.get(name)
        if convert is None:
            out[name] = value
            continue
        try:
            number = convert(value.strip())
        except ValueError:
            number = value
        problem = setting_problem(name, number)
        if problem is not None:
            raise ConfigError(problem, field=var)
        out[name] = number
    return out


def resolve_settings(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    profile: Optional[Mapping[str, Any]] = None,
    defaults: Mapping[str, Any] = DEFAULTS,
) -> dict[str, Any]:
    """Pick each setting from the first layer that gives it: flags, env, profile, defaults.

    Credentials are taken field by field like everything else: a service account's username
    from the environment and its secret from a profile is allowed (and is what ``secret_env``
    in a profile amounts to).
    """
    layers = (flags, _from_env(env), profile or {}, defaults)
    settings: dict[str, Any] = {}
    for name in SETTINGS:
        for layer in layers:
            value = layer.get(name)
            if value is not None and value != "":
                settings[name] = value
                break
    return settings
