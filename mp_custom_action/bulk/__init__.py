"""Bulk jobs built on core's Runner: importing files (and, beside it, exporting by windows).

Names are loaded on first use, so ``import mp_custom_action.bulk`` costs nothing::

    from mp_custom_action.bulk import import_files
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["ImportSummary", "import_files"]

_LAZY = {
    "ImportSummary": ".imports_summary",
    "import_files": ".imports",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, __name__), name)
