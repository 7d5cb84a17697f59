"""mp-custom-action: authenticated custom calls to Mixpanel's HTTP APIs.

Importing the package is cheap: the public names below are loaded on first use, so that
``mp-custom-action --version`` and ``--dry-run`` do not pay for ``requests``, ``jsonschema`` or
``pluggy``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# public name -> module that defines it
_EXPORTS = {
    "Runner": "runner",
    "run": "runner",
    "Result": "results",
    "Credentials": "credentials",
    "Secret": "credentials",
    "ApiSpec": "apis",
    "EndpointRule": "apis",
    "OutgoingRequest": "request",
    "build_request": "request",
    "MpError": "errors",
    "InputError": "errors",
    "CredentialError": "errors",
    "TransportError": "errors",
    "PluginError": "errors",
    "ExitStatus": "errors",
    "hookimpl": "hookspecs",
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
    from .apis import ApiSpec, EndpointRule
    from .credentials import Credentials, Secret
    from .errors import (
        CredentialError,
        ExitStatus,
        InputError,
        MpError,
        PluginError,
        TransportError,
    )
    from .request import OutgoingRequest, build_request
    from .results import Result
    from .runner import Runner, run


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'mp_custom_action' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
