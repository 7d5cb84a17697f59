"""Where definitions are checked: preset definitions in presets/definitions.py (with the path
grammar of presets/model.py), API selectors in apis.api_from_definition; the shipped presets skip
only the metaschema check, which is made here once."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from mp_custom_action import hookimpl
from mp_custom_action.core.apis import ApiSpec, api_from_definition
from mp_custom_action.presets import definitions as preset_definitions
from mp_custom_action.presets import model as presets
from mp_custom_action.presets.plugins import load_plugins
from mp_custom_action.presets.schemas import schema_problem


def test_the_definition_checks_use_the_models_path_grammar() -> None:
    # One grammar: the model owns it, the definition checks use it (no copy, no re-export).
    assert preset_definitions.parse_path_template is presets.parse_path_template
    assert not hasattr(presets, "preset_from_definition")


def test_an_api_selector_from_a_dict_is_checked_and_names_its_plugin() -> None:
    spec = api_from_definition(
        {
            "name": "notes",
            "base_urls": {r: f"https://{r}.mixpanel.com/api" for r in ("us", "eu", "in")},
            "accepts": ["service_account"],
            "aliases": ["Notes API"],
        },
        plugin="acme",
    )
    assert isinstance(spec, ApiSpec)
    assert (spec.name, spec.display_name, spec.plugin, spec.aliases) == (
        "notes",
        "notes",
        "acme",
        ("Notes API",),
    )


@pytest.mark.parametrize(
    ("definition", "message"),
    [
        ("notes", "expected an ApiSpec or a dict, got str"),
        ({"name": "n", "colour": 1}, "unknown field(s) ['colour']"),
        ({"name": " "}, "name must be a non-empty string"),
        (
            {"name": "n", "base_urls": dict.fromkeys(("us", "eu", "in"), "https://evil.example"),
             "accepts": ["secret"]},
            "must be on mixpanel.com",
        ),
    ],
)  # fmt: skip
def test_a_bad_api_selector_is_refused(definition: object, message: str) -> None:
    with pytest.raises((ValueError, TypeError)) as info:
        api_from_definition(definition, plugin="acme")
    assert message in str(info.value)


# -- the metaschema check: skipped for the shipped presets only -------------------------------


class _EntryPoint:
    def __init__(self, name: str, module: types.ModuleType) -> None:
        self.name, self.value, self._module = name, module.__name__, module

    def load(self) -> types.ModuleType:
        return self._module


def _plugin_module(name: str, input_schema: dict[str, Any]) -> types.ModuleType:
    module = types.ModuleType(name)

    @hookimpl
    def mp_custom_action_presets() -> list[dict[str, Any]]:
        return [{"name": f"{name}Preset", "api": "query", "method": "GET", "path": "/2.0/x",
                 "input_schema": input_schema}]  # fmt: skip

    module.mp_custom_action_presets = mp_custom_action_presets  # type: ignore[attr-defined]
    return module


@pytest.fixture
def metaschema_checks(monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Each schema_problem call made while loading: was the metaschema asked?"""
    calls: list[bool] = []
    real = preset_definitions.schema_problem

    def recording(schema: Any, *, metaschema: bool = True) -> Any:
        calls.append(metaschema)
        return real(schema, metaschema=metaschema)

    monkeypatch.setattr(preset_definitions, "schema_problem", recording)
    return calls


def test_the_shipped_preset_schemas_pass_the_metaschema() -> None:
    """Loading skips this check for them (it was most of the start-up of preset commands)."""
    shipped = [p for p in load_plugins(entry_points=[]).presets if p.plugin == "builtin"]
    assert len(shipped) == 8
    for preset in shipped:
        for where, schema in [("input_schema", preset.input_schema), *preset.responses.items()]:
            assert schema_problem(schema) is None, (preset.name, where)


def test_only_the_shipped_plugin_skips_the_metaschema_check(metaschema_checks: list[bool]) -> None:
    third = _plugin_module("third", {"type": "object"})
    loaded = load_plugins(entry_points=[_EntryPoint("third", third)])
    assert "thirdPreset" in loaded.presets and not loaded.faults
    shipped = sum(1 + len(p.responses) for p in loaded.presets if p.plugin != "third")
    assert sorted(metaschema_checks) == [False] * shipped + [True]


def test_a_module_under_the_shipped_name_is_checked_and_refused(
    metaschema_checks: list[bool], monkeypatch: pytest.MonkeyPatch
) -> None:
    impostor = _plugin_module("impostor", {"type": "objekt"})
    monkeypatch.setitem(sys.modules, "impostor", impostor)
    loaded = load_plugins(default_plugins={"builtin": "impostor"}, entry_points=[])
    assert metaschema_checks == [True]
    assert "impostorPreset" not in loaded.presets
    [fault] = loaded.faults
    assert "input_schema is not valid JSON Schema at type" in fault.message
