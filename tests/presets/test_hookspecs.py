"""The hook specifications: typed, prefixed, documented, and the marker plugins use."""

from __future__ import annotations

import inspect
from pathlib import Path

import mp_custom_action
from mp_custom_action.presets import hookspecs
from mp_custom_action.presets.plugins import ENTRY_POINT_GROUP

DOCS = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text(encoding="utf-8")
HOOKS = [
    value
    for name, value in vars(hookspecs).items()
    if callable(value) and name.startswith(f"{hookspecs.PROJECT}_")
]


def test_the_hooks_are_the_two_documented_ones() -> None:
    assert sorted(h.__name__ for h in HOOKS) == [
        "mp_custom_action_apis",
        "mp_custom_action_presets",
    ]
    for hook in HOOKS:
        assert hasattr(hook, f"{hookspecs.PROJECT}_spec"), hook.__name__  # marked as a spec
        assert f"### {hook.__name__}()" in DOCS


def test_each_hook_takes_no_argument_and_says_what_it_returns() -> None:
    for hook in HOOKS:
        signature = inspect.signature(hook)
        assert list(signature.parameters) == []
        assert "list[" in str(signature.return_annotation)
        assert ":return:" in (hook.__doc__ or "")


def test_the_marker_is_the_package_face_and_matches_the_entry_point_group() -> None:
    assert mp_custom_action.hookimpl is hookspecs.hookimpl
    assert hookspecs.PROJECT == ENTRY_POINT_GROUP == "mp_custom_action"
