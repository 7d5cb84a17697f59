"""Bulk jobs built on core's Runner: importing files, exporting by windows, following pages,
and the rate budgets every command shares.

Names are loaded on first use, so ``import mp_custom_action.bulk`` costs nothing::

    from mp_custom_action.bulk import Budgets, export_range, import_files, paginate
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Budgets", "ExportSummary", "ImportSummary", "export_range", "import_files", "paginate"]

_LAZY = {
    "Budgets": ".budgets",
    "ExportSummary": ".exports",
    "ImportSummary": ".imports_summary",
    "export_range": ".exports",
    "import_files": ".imports",
    "paginate": ".pages",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)


def __dir__() -> list[str]:
    return sorted(__all__)
