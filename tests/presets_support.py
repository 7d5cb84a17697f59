"""Test helpers for presets and plugins: a recording loopback server, the CLI in-process, fake plugins.

The server is a plain ``ThreadingHTTPServer`` on 127.0.0.1, port 0, that records every request
and answers canned Warehouse Connectors JSON (valid against the seed's response schemas), so the
end-to-end tests do not depend on the sandbox. ``Plugins`` writes plugin modules into a temporary
directory and hands their entry points to the plugin manager instead of the installed ones.
"""

from __future__ import annotations

import io
import json
import re
import sys
import threading
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

from mp_custom_action.cli import main
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


@dataclass
class Recorded:
    method: str
    path: str  # as received: percent-escapes kept
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class RecordingServer:
    """Loopback server; ``answer`` may be replaced to script a reply (status, JSON body)."""

    answer: Callable[[str, str], tuple[int, Any]] = canned_answer
    requests: list[Recorded] = field(default_factory=list)
    _httpd: Optional[ThreadingHTTPServer] = None

    @property
    def origin(self) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def start(self) -> RecordingServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                owner.requests.append(
                    Recorded(self.command, self.path, dict(self.headers.items()), body)
                )
                status, payload = owner.answer(self.command, self.path.split("?", 1)[0])
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, args=(0.02,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()


@dataclass
class CliResult:
    status: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


def run_cli(*argv: str) -> CliResult:
    """Run the command in-process. Warnings are shown on stderr, as the command shows them."""
    out, err = io.StringIO(), io.StringIO()
    # The test run turns warnings into errors; the command's own handler prints them instead,
    # and catch_warnings puts both the filters and that handler back afterwards.
    with warnings.catch_warnings(), redirect_stdout(out), redirect_stderr(err):
        warnings.simplefilter("always")
        status = main(list(argv))
    return CliResult(status, out.getvalue(), err.getvalue())


@contextmanager
def serving() -> Iterator[RecordingServer]:
    server = RecordingServer().start()
    try:
        yield server
    finally:
        server.stop()


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
