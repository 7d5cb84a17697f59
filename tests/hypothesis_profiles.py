"""Hypothesis profiles of the security suite: ``ci`` (fast, reproducible) and ``deep``.

Selected by ``HYPOTHESIS_PROFILE`` (default ``ci``). The deep run, documented in docs/security.md::

    HYPOTHESIS_PROFILE=deep python -m pytest -q tests/test_security_inputs.py tests/test_security_plugins.py

Importing this module registers and loads the profile; each security test module imports it.
"""

from __future__ import annotations

import os
import warnings

from hypothesis import HealthCheck, settings

# Hypothesis imports its patch writer (and, where installed, libcst, which warns on import) while
# it reports a failure; under pytest's warnings-as-errors that turns a failing example into an
# INTERNALERROR. Importing it here, once, with that warning silenced keeps failures readable.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    try:
        import hypothesis.extra._patching  # noqa: F401
    except ImportError:  # pragma: no cover - depends on the hypothesis version
        pass

#: Examples per property in each profile (docs/security.md quotes these figures).
EXAMPLES = {"ci": 200, "deep": 5000}

_SUPPRESSED = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

settings.register_profile(
    "ci",
    max_examples=EXAMPLES["ci"],
    deadline=None,
    # The same examples on every run, so a CI failure reproduces on a laptop.
    derandomize=True,
    database=None,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
)
settings.register_profile(
    "deep",
    max_examples=EXAMPLES["deep"],
    deadline=None,
    suppress_health_check=_SUPPRESSED,
    print_blob=True,
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(PROFILE)

#: Examples a loopback (real socket) property tries: a tenth of the profile, at least 30.
SOCKET_EXAMPLES = max(30, EXAMPLES.get(PROFILE, EXAMPLES["ci"]) // 10)
