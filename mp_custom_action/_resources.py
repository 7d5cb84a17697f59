"""The data shipped beside the package (``actions/``, ``manifests/``), found the same way from a
wheel as from a checkout.

Installed, each folder is a data-only subpackage (pyproject maps ``actions/`` to
``mp_custom_action._actions`` and ``manifests/`` to ``mp_custom_action._manifests``), read through
``importlib.resources``. A plain checkout that was never installed has no such subpackages: there
the folders are read where they stand, beside the package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

__all__ = ["data_folder"]

DataFolder = Literal["actions", "manifests"]

_CHECKOUT_ROOT = Path(__file__).resolve().parent.parent


def data_folder(name: DataFolder) -> Any:
    """The shipped folder ``name`` as a traversable (``/``, ``iterdir()``, ``read_text()``)."""
    from importlib.resources import files

    try:
        return files(f"mp_custom_action._{name}")
    except ModuleNotFoundError:
        return _CHECKOUT_ROOT / name
