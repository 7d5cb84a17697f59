"""Connection settings and their one precedence rule: flags > environment > profile > defaults.

Every command builds its :class:`~mp_custom_action.core.runner.Runner` from :func:`resolve_settings`,
so a setting means the same thing wherever it is given. ``None`` means "not given here" and
falls through to the next layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Optional

from .core.credentials import ENV_VARS as CREDENTIAL_ENV_VARS

__all__ = ["ENV_NAMES", "MAX_PARALLEL", "SETTINGS", "resolve_settings"]

#: The most calls one Runner makes at once: its connection pool's size, and the most manifest
#: steps that run in parallel (more would only wait for a connection).
MAX_PARALLEL = 16

#: Settings a layer may give, and the environment variable of each.
ENV_NAMES = {
    "region": "MP_REGION",
    **CREDENTIAL_ENV_VARS,
    "timeout": "MP_TIMEOUT",
    "retries": "MP_RETRIES",
}
SETTINGS = (*ENV_NAMES, "origin", "auth")

_NUMBERS = {"timeout": float, "retries": int}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    from .errors import ConfigError

    out: dict[str, Any] = {}
    for name, var in ENV_NAMES.items():
        value = env.get(var)
        if value is None or not value.strip():
            continue
        convert = _NUMBERS.get(name)
        if convert is not None:
            try:
                out[name] = convert(value.strip())
            except ValueError:
                raise ConfigError(
                    f"expected a {'whole number' if convert is int else 'number'}, got {value!r}",
                    field=var,
                ) from None
        else:
            out[name] = value
    return out


def resolve_settings(
    flags: Mapping[str, Any],
    env: Mapping[str, str],
    profile: Optional[Mapping[str, Any]] = None,
    defaults: Optional[Mapping[str, Any]] = None,
) -> dict[str, Any]:
    """Pick each setting from the first layer that gives it: flags, env, profile, defaults.

    Credentials are taken field by field like everything else: a service account's username
    from the environment and its secret from a profile is allowed (and is what ``secret_env``
    in a profile amounts to).
    """
    layers = (flags, _from_env(env), profile or {}, defaults or {})
    settings: dict[str, Any] = {}
    for name in SETTINGS:
        for layer in layers:
            value = layer.get(name)
            if value is not None and value != "":
                settings[name] = value
                break
    return settings
