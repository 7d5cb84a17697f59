"""Named connection profiles in a TOML config file: finding, reading, checking and redacting them.

The file is ``$MP_CONFIG``, else ``$XDG_CONFIG_HOME/mp-custom-action/config.toml``, else
``~/.config/mp-custom-action/config.toml``::

    [default]
    profile = "eu-prod"

    [profiles.eu-prod]
    region = "eu"
    project_id = 4242
    username = "etl.sa"
    secret_env = "EU_PROD_SECRET"   # the secret itself stays in the environment

A profile is one layer of :func:`mp_custom_action.settings.resolve_settings` (flags > environment >
profile > defaults); this module only turns the file into that layer.
"""

from __future__ import annotations

import os
import re
import stat
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Optional

from ._text import REDACTED
from .core.apis import normalize_region
from .errors import ConfigError, MpWarning, UnknownRegionError
from .settings import setting_problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.9 and 3.10
    import tomli as tomllib

__all__ = [
    "PROFILE_KEYS",
    "SECRET_KEYS",
    "ConfigPermissionWarning",
    "config_path",
    "list_profiles",
    "load_profile",
    "read_config",
    "redact",
    "select_profile",
]

#: Settings a profile may hold (the names resolve_settings uses).
PROFILE_KEYS = (
    "region",
    "project_id",
    "username",
    "secret",
    "api_secret",
    "token",
    "oauth_token",
    "timeout",
    "retries",
)
#: Values never printed; each may instead be named by an environment variable (``secret_env``).
SECRET_KEYS = ("username", "secret", "api_secret", "token", "oauth_token")
#: The keys that make a config file worth protecting from other users.
_SENSITIVE = ("secret", "api_secret", "token", "oauth_token")
_ENV_KEYS = {f"{key}_env": key for key in SECRET_KEYS}
_ENV_SHAPE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
#: A name quoted in messages: the conventional form (a secret rarely is all capitals).
_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]{0,127}$")
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)\s*$")


class ConfigPermissionWarning(MpWarning):
    """A config file holding a secret can be read by other users."""


def config_path(env: Mapping[str, str]) -> Path:
    """Where the config file is: ``$MP_CONFIG``, else the XDG location, else ``~/.config``."""
    explicit = env.get("MP_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = env.get("XDG_CONFIG_HOME") or os.path.join(
        env.get("HOME") or os.path.expanduser("~"), ".config"
    )
    return Path(base) / "mp-custom-action" / "config.toml"


def read_config(path: Path) -> Optional[dict[str, Any]]:
    """Read and check the config file; ``None`` when there is none.

    Warns (:class:`ConfigPermissionWarning`) when the file holds a secret and its mode lets group
    or others read it.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    try:
        config: dict[str, Any] = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path} is not UTF-8 text") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(_toml_message(path, exc)) from None
    _check_config(config, path)
    if _holds_secret(config):
        _warn_if_readable(path)
    return config


def _toml_message(path: Path, exc: Exception) -> str:
    text = str(exc)
    line = getattr(exc, "lineno", None)
    column = getattr(exc, "colno", None)
    match = _TOML_POSITION.search(text)
    if match:
        # Python < 3.14 puts the position only in the message text.
        text = text[: match.start()]
        line, column = int(match.group(1)), int(match.group(2))
    elif line is not None:
        text = getattr(exc, "msg", text)
    where = f", line {line}, column {column}" if line is not None else ""
    return f"invalid TOML in {path}{where}: {text}"


def _check_config(config: Mapping[str, Any], path: Path) -> None:
    for key, value in config.items():
        if key not in ("default", "profiles"):
            raise ConfigError(
                f"unknown key {key!r} in {path}; expected [default] and [profiles.NAME]"
            )
        if not isinstance(value, Mapping):
            raise ConfigError(f"{key!r} in {path} must be a table ([{key}])")
    default = config.get("default", {})
    for key, value in default.items():
        if key != "profile":
            raise ConfigError(f"unknown key {key!r} in [default] of {path}; expected profile")
        if not isinstance(value, str) or not value:
            raise ConfigError(f"[default] profile in {path} must be a profile name (a string)")
    for name, profile in config.get("profiles", {}).items():
        if not isinstance(profile, Mapping):
            raise ConfigError(f"profiles.{name} in {path} must be a table ([profiles.{name}])")
        for key, value in profile.items():
            _check_value(f"[profiles.{name}] {key} in {path}", key, value)
        for env_key, key in _ENV_KEYS.items():
            if env_key in profile and key in profile:
                raise ConfigError(
                    f"[profiles.{name}] in {path} gives both {key} and {env_key}; keep one"
                )


def _check_value(where: str, key: str, value: Any) -> None:
    if key in _ENV_KEYS or key in ("region", *SECRET_KEYS):
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(f"{where}: expected a non-empty string")
        if key in _ENV_KEYS and not _ENV_SHAPE.match(value):
            raise ConfigError(
                f"{where}: expected the name of an environment variable (letters, digits and '_'); "
                "the value is not shown, in case it is the secret itself"
            )
        if key == "region":
            try:
                normalize_region(value)
            except UnknownRegionError as exc:
                raise ConfigError(f"{where}: {exc.detail}") from None
    elif key == "project_id":
        ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
        if not ok and not (isinstance(value, str) and value.isdigit() and int(value) > 0):
            raise ConfigError(f"{where}: expected a positive integer")
    elif key in ("timeout", "retries"):
        problem = setting_problem(key, value)
        if problem is not None:
            raise ConfigError(f"{where}: {problem}")
    else:
        accepted = ", ".join([*PROFILE_KEYS, *_ENV_KEYS])
        raise ConfigError(f"{where}: unknown setting; accepted: {accepted}")


def _holds_secret(config: Mapping[str, Any]) -> bool:
    return any(
        key in profile for profile in config.get("profiles", {}).values() for key in _SENSITIVE
    )


def _warn_if_readable(path: Path) -> None:
    if os.name != "posix":
        return  # Windows has no group/other mode bits; its ACLs are another matter.
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        warnings.warn(
            f"{path} holds a secret and can be read by group or others "
            f"(mode {stat.S_IMODE(mode):03o}); run: chmod 600 {path}",
            ConfigPermissionWarning,
            stacklevel=3,
        )


def select_profile(
    name: Optional[str],
    env: Mapping[str, str],
    config: Optional[Mapping[str, Any]],
    *,
    manifest_profile: Optional[str] = None,
) -> tuple[Optional[str], str]:
    """Which profile applies, and who chose it.

    ``--profile`` first, then ``MP_PROFILE``, then a manifest's ``profile``, then ``[default]``.
    """
    for value, source in (
        (name, "--profile"),
        (env.get("MP_PROFILE"), "MP_PROFILE"),
        (manifest_profile, "the manifest's profile"),
        ((config or {}).get("default", {}).get("profile"), "[default] profile"),
    ):
        if value:
            return value, source
    return None, ""


def load_profile(
    name: Optional[str],
    env: Mapping[str, str],
    *,
    manifest_profile: Optional[str] = None,
) -> Optional[dict[str, Any]]:
    """The selected profile's settings (``*_env`` resolved), or ``None`` when none is selected.

    Secrets come back as plain strings: the Runner wraps them in :class:`~.credentials.Secret`.
    """
    path = config_path(env)
    config = read_config(path)
    chosen, source = select_profile(name, env, config, manifest_profile=manifest_profile)
    if chosen is None:
        return None
    if config is None:
        raise ConfigError(
            f"profile {chosen!r} (from {source}) was asked for, but there is no config file at "
            f"{path}; see docs/configuration.md"
        )
    profiles = config.get("profiles", {})
    if chosen not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ConfigError(
            f"unknown profile {chosen!r} (from {source}) in {path}; profiles there: {known}"
        )
    settings: dict[str, Any] = {}
    for key, value in profiles[chosen].items():
        if key in _ENV_KEYS:
            resolved = env.get(value)
            if not resolved:
                # A conventional variable name is quoted; anything else may be the secret
                # itself, written where its variable's name belongs, and is not.
                named = (
                    f"the environment variable {value}"
                    if _ENV_NAME.match(value)
                    else (
                        "an environment variable (its name is not shown: it does not look like one)"
                    )
                )
                raise ConfigError(
                    f"[profiles.{chosen}] {key} in {path} names {named}, which is not set"
                )
            try:
                resolved.encode("utf-8")
            except UnicodeEncodeError:
                raise ConfigError(
                    f"[profiles.{chosen}] {key} in {path}: the variable it names is not valid "
                    "UTF-8 text (its value is not shown)"
                ) from None
            settings[_ENV_KEYS[key]] = resolved
        else:
            settings[key] = value
    return settings


def redact(profile: Mapping[str, Any]) -> dict[str, Any]:
    """A profile fit to print: secrets as ``***``; ``*_env`` keys keep the variable's name."""
    return {key: REDACTED if key in SECRET_KEYS else value for key, value in profile.items()}


def list_profiles(env: Mapping[str, str]) -> dict[str, Any]:
    """The config file, its default profile and every profile, redacted (``profiles list``)."""
    path = config_path(env)
    config = read_config(path) or {}
    return {
        "config": str(path),
        "exists": path.is_file(),
        "default": config.get("default", {}).get("profile"),
        "profiles": {name: redact(p) for name, p in sorted(config.get("profiles", {}).items())},
    }
