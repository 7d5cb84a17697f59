"""Test helpers for presets and plugins: a recording loopback server, the CLI in-process, fake plugins.

The server is the shared loopback server (tests/loopback.py), recording every request and
answering canned Warehouse Connectors JSON (valid against the seed's response schemas), so the
end-to-end tests do not depend on the sandbox. The CLI runs through tests/cli_helpers.py. ``Plugins`` writes plugin modules into a temporary
directory and hands their entry points to the plugin manager instead of the installed ones.
"""

from __future__ import annotations

import json
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Callable

import pytest
from loopback import Received, Reply, ScriptedServer

from mp_custom_action.presets import plugins as plugin_manager

USERNAME = "sa.presets"
SECRET = "s3cret-presets"
PROJECT_ID = 4242

SOURCE: dict[str, Any] = {
    "id": "src_1",
    "name": "Events from BigQuery",
    "type": "bigquery",
    "status": "active",
    "schedule": "daily",
    "createdAt": "2024-01-01T00:00:00Z",
    "lastRunAt": "2024-01-02T00:00:00Z",
}
TABLE: dict[str, Any] = {
    "tableName": "analytics.events",
    "importType": "event",
    "rowCount": 10,
    "lastImportedAt": "2024-01-02T00:00:00Z",
}
RUN: dict[str, Any] = {
    "id": "run_1",
    "status": "completed",
    "startTime": "2024-01-02T00:00:00Z",
    "endTime": "2024-01-02T00:05:00Z",
    "recordsImported": 10,
    "errors": [],
}

_SOURCES = re.compile(r"^/api/app/projects/\d+/warehouse-sources$")
_SOURCE = re.compile(r"^/api/app/projects/\d+/warehouse-sources/[^/]+$")


def canned_answer(method: str, path: str) -> tuple[int, Any]:
    """What Mixpanel would answer, shaped as the seed's response schemas."""
    if _SOURCES.match(path):
        return 200, ({"results": [SOURCE]} if method == "GET" else SOURCE)
    if _SOURCE.match(path):
        return (200, None) if method == "DELETE" else (200, SOURCE)
    if path.endswith("/tables"):
        return 200, {"results": [TABLE]}
    if path.endswith("/runs"):
        return 200, ({"results": [RUN]} if method == "GET" else RUN)
    return 404, {"status": "error", "error": f"no route for {method} {path}"}


class RecordingServer(ScriptedServer):
    """The one loopback server (:class:`loopback.ScriptedServer`), answering canned Warehouse
    Connectors JSON; ``answer`` may be replaced to script a reply (status, JSON body)."""

    def __init__(self) -> None:
        super().__init__(self._reply)
        self.answer: Callable[[str, str], tuple[int, Any]] = canned_answer

    @property
    def requests(self) -> list[Received]:
        return self.received

    def _reply(self, req: Received) -> Reply:
        status, payload = self.answer(req.method, req.path)
        body = b"" if payload is None else json.dumps(payload).encode()
        return Reply(status, {"Content-Type": "application/json"}, body)


@contextmanager
def serving() -> Iterator[RecordingServer]:
    with RecordingServer() as server:
        yield server


def set_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """A service account and project in the environment, nothing else."""
    for name in ("MP_API_SECRET", "MP_TOKEN", "MP_REGION", "MP_STRICT_PLUGINS", "MP_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MP_USERNAME", USERNAME)
    monkeypatch.setenv("MP_SECRET", SECRET)
    monkeypatch.setenv("MP_PROJECT_ID", str(PROJECT_ID))


class Plugins:
    """Write plugin modules and make them the installed plugins, for one test."""

    def __init__(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.dir = tmp_path / "plugins"
        self.dir.mkdir()
        self.entry_points: list[EntryPoint] = []
        monkeypatch.syspath_prepend(str(self.dir))
        monkeypatch.setattr(plugin_manager, "_entry_points", lambda: list(self.entry_points))
        plugin_manager.reset_plugins()

    def add(self, name: str, source: str) -> str:
        """A plugin module with ``source``, registered under entry-point name ``name``."""
        module = f"mpca_test_plugin_{uuid.uuid4().hex[:12]}"
        (self.dir / f"{module}.py").write_text(source, encoding="utf-8")
        self.add_entry_point(name, module)
        return module

    def add_entry_point(self, name: str, value: str) -> None:
        self.entry_points.append(EntryPoint(name=name, value=value, group="mp_custom_action"))
        plugin_manager.reset_plugins()

    def cleanup(self) -> None:
        plugin_manager.reset_plugins()
        for module in [m for m in sys.modules if m.startswith("mpca_test_plugin_")]:
            del sys.modules[module]


@contextmanager
def fake_plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Plugins]:
    plugins = Plugins(tmp_path, monkeypatch)
    try:
        yield plugins
    finally:
        plugins.cleanup()


def preset_plugin(**overrides: Any) -> str:
    """Source of a plugin offering one preset dict: a safe GET on the Query API, with overrides."""
    definition: dict[str, Any] = {
        "name": "eventNames",
        "api": "query",
        "method": "GET",
        "path": "/2.0/events/names",
        "summary": "Event names",
        "input_schema": {
            "type": "object",
            "properties": {"query": {"type": "object"}},
            "additionalProperties": False,
        },
    }
    definition.update(overrides)
    return (
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        f"    return [{definition!r}]\n"
    )
