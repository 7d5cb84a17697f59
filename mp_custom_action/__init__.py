"""mp-custom-action: authenticated custom calls to Mixpanel's HTTP APIs.

Importing the package is cheap: the public names below are loaded on first use, so that
``mp-custom-action --version`` and ``--dry-run`` do not pay for ``requests``, ``jsonschema`` or
``pluggy``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__

# public name -> module that defines it
_EXPORTS = {
    "Runner": "core.runner",
    "run": "core.runner",
    "Result": "core.results",
    "Credentials": "core.credentials",
    "Secret": "core.credentials",
    "ApiSpec": "core.apis",
    "EndpointRule": "core.apis",
    "OutgoingRequest": "core.request",
    "build_request": "core.request",
    "MpError": "errors",
    "InputError": "errors",
    "CredentialError": "errors",
    "TransportError": "errors",
    "PluginError": "errors",
    "ExitStatus": "errors",
    "hookimpl": "presets.hookspecs",
}

__all__ = [
    "ApiSpec",
    "CredentialError",
    "Credentials",
    "EndpointRule",
    "ExitStatus",
    "InputError",
    "MpError",
    "OutgoingRequest",
    "PluginError",
    "Result",
    "Runner",
    "Secret",
    "TransportError",
    "__version__",
    "build_request",
    "hookimpl",
    "run",
]

if TYPE_CHECKING:
    from .core.apis import ApiSpec, EndpointRule
    from .core.credentials import Credentials, Secret
    from .core.request import OutgoingRequest, build_request
    from .core.results import Result
    from .core.runner import Runner, run
    from .errors import (
        CredentialError,
        ExitStatus,
        InputError,
        MpError,
        PluginError,
        TransportError,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mp_custom_action' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
