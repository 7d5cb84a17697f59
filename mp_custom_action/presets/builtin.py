"""The built-in presets, as a plugin: every operation of the OpenAPI documents in ``actions/``.

This module is registered by the plugin manager exactly like a third-party plugin (it is in
``plugins.DEFAULT_PLUGINS``), so the plugin path is exercised on every run. Adding an operation
to ``actions/*.openapi.json`` adds a preset; no code changes.

The documents are found through ``_resources.data_folder``, from a wheel as from a checkout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from .._resources import data_folder
from .hookspecs import hookimpl
from .openapi import definitions_from_openapi

__all__ = ["action_documents", "mp_custom_action_presets"]

_SUFFIX = ".openapi.json"


def _document_texts() -> Iterator[tuple[str, str]]:
    folder = data_folder("actions")
    entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    for entry in entries:
        if entry.name.endswith(_SUFFIX):
            yield entry.name, entry.read_text(encoding="utf-8")


def action_documents() -> list[tuple[str, dict[str, Any]]]:
    """The built-in OpenAPI documents, as ``(file name, document)`` pairs in name order."""
    return [(name, json.loads(text)) for name, text in _document_texts()]


@hookimpl
def mp_custom_action_presets() -> list[dict[str, Any]]:
    definitions: list[dict[str, Any]] = []
    for _name, document in action_documents():
        definitions.extend(definitions_from_openapi(document))
    return definitions
