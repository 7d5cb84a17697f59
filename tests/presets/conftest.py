"""Fixtures of the preset tests: the recording server, and fake plugins with a service account."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from presets_support import Plugins, RecordingServer, fake_plugins, serving, set_credentials


@pytest.fixture
def recording_server() -> Iterator[RecordingServer]:
    with serving() as server:
        yield server


@pytest.fixture
def plugins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Plugins]:
    set_credentials(monkeypatch)
    with fake_plugins(tmp_path, monkeypatch) as fake:
        yield fake
