"""A local server that answers Mixpanel's API families like Mixpanel does, for trying and testing.

::

    from mp_custom_action.sandbox import Sandbox, DEMO_CREDENTIALS

    with Sandbox(port=0, seed=1) as sb:
        sb.origin        # "http://127.0.0.1:PORT"
        sb.credentials   # project_id, username, secret, api_secret, token (fake, documented)
        sb.requests      # what was received, credentials redacted
        sb.state         # what was stored

Importing it needs only the standard library. docs/sandbox.md describes the paths, the demo
credentials, fault injection, and what the sandbox does not emulate.
"""

from __future__ import annotations

from .auth import DEMO_CREDENTIALS
from .faults import Faults
from .local import Sandbox
from .recorder import RequestLog, RequestRecord
from .state import State, StateFileError

__all__ = [
    "DEMO_CREDENTIALS",
    "Faults",
    "RequestLog",
    "RequestRecord",
    "Sandbox",
    "State",
    "StateFileError",
]
