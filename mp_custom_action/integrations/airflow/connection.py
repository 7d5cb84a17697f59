"""A ``mixpanel`` Airflow connection read into ``Runner`` options, and its secrets listed for masking.

Plain Python (no Airflow import), so the rules are tested without Airflow: login and password are
the service account; the extra keys are those of :data:`provider.EXTRA_FIELDS`, bare or as the
form's ``extra__mixpanel__KEY``. An unknown extra key is an error, not ignored: a misspelt
``regoin`` would otherwise send EU data to the US host.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Optional

from ...errors import InputError
from .provider import CONNECTION_TYPE, EXTRA_FIELDS

__all__ = ["SECRET_EXTRAS", "runner_options", "secrets_of"]

#: Extra keys whose values are secrets (masked by Airflow, never logged).
SECRET_EXTRAS = ("api_secret", "token", "oauth_token")
_PREFIX = f"extra__{CONNECTION_TYPE}__"


def extras(extra: object, conn_id: str) -> dict[str, Any]:
    """The connection's extra as a dict of our keys (blank values dropped)."""
    if isinstance(extra, str):
        try:
            extra = json.loads(extra) if extra.strip() else {}
        except ValueError:
            raise InputError(
                f"connection {conn_id!r}: extra is not a JSON object", field="extra"
            ) from None
    if extra is None:
        extra = {}
    if not isinstance(extra, Mapping):
        raise InputError(f"connection {conn_id!r}: extra must be a JSON object", field="extra")
    found: dict[str, Any] = {}
    unknown = []
    for key, value in extra.items():
        name = key[len(_PREFIX) :] if isinstance(key, str) and key.startswith(_PREFIX) else key
        if name not in EXTRA_FIELDS:
            unknown.append(str(key))
        elif value is not None and value != "":
            found[name] = value
    if unknown:
        raise InputError(
            f"connection {conn_id!r}: unknown extra keys {sorted(unknown)}; expected "
            f"{', '.join(EXTRA_FIELDS)}",
            field="extra",
        )
    return found


def runner_options(
    *, conn_id: str, login: Optional[str], password: Optional[str], extra: object
) -> dict[str, Any]:
    """``Runner`` keyword arguments from a connection's fields."""
    values = extras(extra, conn_id)
    options: dict[str, Any] = {
        "username": login or None,
        "secret": password or None,
        "api_secret": values.get("api_secret"),
        "token": values.get("token"),
        "oauth_token": values.get("oauth_token"),
        "project_id": values.get("project_id"),
        "region": values.get("region"),
        "origin": values.get("origin"),
    }
    for key in ("api_secret", "token", "oauth_token", "region", "origin"):
        if key in values and not isinstance(values[key], str):
            raise InputError(
                f"connection {conn_id!r}: {key} must be a string", field=f"extra.{key}"
            )
    return {k: v for k, v in options.items() if v is not None}


def secrets_of(options: Mapping[str, Any]) -> list[str]:
    """The secret values among ``runner_options`` (for Airflow's masker)."""
    return [str(options[k]) for k in ("username", "secret", *SECRET_EXTRAS) if options.get(k)]
