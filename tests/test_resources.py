"""The shipped data folders are found from an installed package and from a plain checkout."""

from __future__ import annotations

import importlib.resources
from pathlib import Path

import pytest

from mp_custom_action import _resources
from mp_custom_action.presets.builtin import action_documents

CHECKOUT = Path(__file__).resolve().parents[1]


def test_installed_folders_hold_the_shipped_data() -> None:
    names = {entry.name for entry in _resources.data_folder("actions").iterdir()}
    assert "warehouse-connectors.openapi.json" in names
    assert (_resources.data_folder("manifests") / "manifest.schema.json").is_file()


def test_a_plain_checkout_reads_the_folders_beside_the_package(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    installed = action_documents()

    def not_installed(package: str) -> None:
        raise ModuleNotFoundError(f"No module named {package!r}")

    monkeypatch.setattr(importlib.resources, "files", not_installed)
    # Wherever the package under test is installed, the checkout this test file sits in has the
    # layout the fallback expects: mp_custom_action/ beside actions/ and manifests/.
    monkeypatch.setattr(_resources, "_CHECKOUT_ROOT", CHECKOUT)
    assert _resources.data_folder("actions") == CHECKOUT / "actions"
    assert action_documents() == installed
