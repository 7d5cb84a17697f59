"""The plugin and preset docs stay in step with the code: every hook documented, presets.md generated."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from mp_custom_action.presets import hookspecs
from mp_custom_action.presets.docs import builtin_presets, render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs"


def hook_specs() -> list[tuple[str, inspect.Signature]]:
    marker = f"{hookspecs.PROJECT}_spec"  # the attribute pluggy's HookspecMarker sets
    return [
        (name, inspect.signature(function))
        for name, function in inspect.getmembers(hookspecs, inspect.isfunction)
        if hasattr(function, marker)
    ]


def test_there_are_hooks() -> None:
    assert [name for name, _ in hook_specs()] == [
        "mp_custom_action_apis",
        "mp_custom_action_presets",
    ]


@pytest.mark.parametrize(("name", "signature"), hook_specs())
def test_every_hook_is_documented_with_its_signature(
    name: str, signature: inspect.Signature
) -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    arguments = ", ".join(signature.parameters)
    assert f"\n### {name}({arguments})\n" in text, (
        f"docs/plugins.md lacks a '### {name}(...)' section"
    )


@pytest.mark.parametrize(("name", "signature"), hook_specs())
def test_every_hook_spec_is_typed_and_documented(name: str, signature: inspect.Signature) -> None:
    function = getattr(hookspecs, name)
    assert signature.return_annotation is not inspect.Signature.empty
    assert all(p.annotation is not inspect.Parameter.empty for p in signature.parameters.values())
    assert ":return:" in (function.__doc__ or "")
    for parameter in signature.parameters:
        assert f":param {parameter}:" in (function.__doc__ or "")


def test_documented_hooks_exist() -> None:
    text = (DOCS / "plugins.md").read_text(encoding="utf-8")
    documented = re.findall(r"^### (mp_custom_action_\w+)\(", text, flags=re.MULTILINE)
    assert sorted(documented) == sorted(name for name, _ in hook_specs())


def test_presets_page_is_generated_from_the_definitions() -> None:
    expected = render_markdown(builtin_presets())
    actual = (DOCS / "presets.md").read_text(encoding="utf-8")
    assert actual == expected, (
        "docs/presets.md is out of date: python -m mp_custom_action.presets.docs > docs/presets.md"
    )


def test_presets_page_lists_every_input_field() -> None:
    text = (DOCS / "presets.md").read_text(encoding="utf-8")
    for preset in builtin_presets():
        assert f"\n### {preset.name}\n" in text
    for field in ("`body.type`", "`body.tables[].importType`", "`sourceId`", "`projectId`"):
        assert field in text
    assert "one of `bigquery`, `snowflake`, `redshift`, `databricks`, `postgresql`" in text


def python_blocks(page: str) -> list[str]:
    text = (DOCS / page).read_text(encoding="utf-8")
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_the_plugin_snippet_in_the_docs_defines_a_valid_preset() -> None:
    from mp_custom_action.core.apis import builtin_registry
    from mp_custom_action.presets.definitions import preset_from_definition

    plugin, usage = python_blocks("plugins.md")
    namespace: dict[str, object] = {}
    exec(compile(plugin, "docs/plugins.md", "exec"), namespace)  # noqa: S102 (our own docs)
    hook = namespace["mp_custom_action_presets"]
    assert callable(hook)
    [definition] = hook()
    preset = preset_from_definition(definition, plugin="docs", apis=builtin_registry)
    assert preset.to_inputs({}, project_id="7")["relative_url"] == "/7/schemas"
    exec(compile(usage, "docs/plugins.md", "exec"), {})  # noqa: S102
