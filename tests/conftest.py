"""Shared fixtures: every test runs with a clean environment, and loopback servers are stopped."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from faults_servers import FaultServer
from loopback import ScriptedServer

_CLEARED_PREFIXES = ("MP_",)
_CLEARED = (
    "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy",
    "all_proxy", "no_proxy", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "XDG_CONFIG_HOME",
    "XDG_CACHE_HOME",
)  # fmt: skip


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test sees the developer's Mixpanel credentials, proxies, config file or ~/.netrc."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED:
            monkeypatch.delenv(name, raising=False)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("MP_CONFIG", str(home / "no-config.toml"))


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    """A loopback HTTP server whose answers each test scripts (default: 200 with a JSON echo)."""
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def fault_server() -> Iterator[FaultServer]:
    """A :class:`ScriptedServer` that can also cut a response short or stream a large one."""
    with FaultServer() as srv:
        yield srv
