"""The built-in presets, as plugins: one plugin a family of Mixpanel's reference, plus the seed's.

Each family is one of our files in ``actions/`` (``<family>.presets.json``, our compact format,
see :mod:`.families`) and one plugin object here (:class:`Family`), listed in
``plugins.DEFAULT_PLUGINS`` as ``mp_custom_action.presets.builtin:<attribute>`` and loaded
exactly like a third-party plugin's entry point, so the plugin path is exercised on every run.
This module itself is the ``builtin`` plugin: the seed's eight warehouse-source presets, from
the seed's OpenAPI document (``actions/warehouse-connectors.openapi.json``), kept beside
Mixpanel's published Warehouse Connectors operations (``builtin.warehouse-connectors``).

The files are found through ``_resources.data_folder``, from a wheel as from a checkout.
"""

# No ``from __future__ import annotations`` here: the family attribute ``annotations`` would be
# shadowed by (and, for mypy, collide with) that import's feature object.
import json
from collections.abc import Iterator
from typing import Any

from .._resources import data_folder
from .families import definitions_from_family
from .hookspecs import hookimpl
from .openapi import definitions_from_openapi

__all__ = [
    "FAMILIES",
    "Family",
    "action_documents",
    "family_documents",
    "mp_custom_action_presets",
]

_OPENAPI = ".openapi.json"
_FAMILY = ".presets.json"


class Family:
    """One family of built-in presets (``actions/<name>.presets.json``), registered as a plugin."""

    def __init__(self, name: str) -> None:
        self.name = name

    @property
    def file_name(self) -> str:
        return f"{self.name}{_FAMILY}"

    def document(self) -> dict[str, Any]:
        text = (data_folder("actions") / self.file_name).read_text(encoding="utf-8")
        loaded: dict[str, Any] = json.loads(text)
        return loaded

    @hookimpl
    def mp_custom_action_presets(self) -> list[dict[str, Any]]:
        return definitions_from_family(self.document())

    def __repr__(self) -> str:
        return f"Family({self.name!r})"


# One attribute per family: plugins.DEFAULT_PLUGINS names them ("...builtin:query").
ingestion = Family("ingestion")
identity = Family("identity")
query = Family("query")
export = Family("export")
lexicon_schemas = Family("lexicon-schemas")
annotations = Family("annotations")
data_pipelines = Family("data-pipelines")
warehouse_connectors = Family("warehouse-connectors")
service_accounts = Family("service-accounts")
feature_flags = Family("feature-flags")
gdpr = Family("gdpr")

#: The families, in the order of Mixpanel's reference.
FAMILIES: tuple[Family, ...] = (
    ingestion,
    identity,
    query,
    export,
    lexicon_schemas,
    annotations,
    data_pipelines,
    warehouse_connectors,
    service_accounts,
    feature_flags,
    gdpr,
)


def _document_texts(suffix: str) -> Iterator[tuple[str, str]]:
    folder = data_folder("actions")
    entries = sorted(folder.iterdir(), key=lambda entry: entry.name)
    for entry in entries:
        if entry.name.endswith(suffix):
            yield entry.name, entry.read_text(encoding="utf-8")


def action_documents() -> list[tuple[str, dict[str, Any]]]:
    """The seed's OpenAPI documents, as ``(file name, document)`` pairs in name order."""
    return [(name, json.loads(text)) for name, text in _document_texts(_OPENAPI)]


def family_documents() -> list[tuple[str, dict[str, Any]]]:
    """Our family files, as ``(file name, document)`` pairs in name order."""
    return [(name, json.loads(text)) for name, text in _document_texts(_FAMILY)]


@hookimpl
def mp_custom_action_presets() -> list[dict[str, Any]]:
    definitions: list[dict[str, Any]] = []
    for _name, document in action_documents():
        definitions.extend(definitions_from_openapi(document))
    return definitions
