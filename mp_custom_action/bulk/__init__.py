"""Bulk jobs built on the one-call runner: export by windows, follow pages, shared rate budgets.

``from mp_custom_action.bulk import export_range`` (bulk/exports.py), ``paginate``
(bulk/pages.py) and ``Budgets`` (bulk/budgets.py) are loaded on first use, so importing the
package costs nothing.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Budgets", "ExportSummary", "export_range", "paginate"]

_LAZY = {
    "export_range": ".exports",
    "ExportSummary": ".exports",
    "paginate": ".pages",
    "Budgets": ".budgets",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
