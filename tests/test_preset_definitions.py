"""Where definitions are checked: preset definitions in preset_definitions.py (re-exported by
presets.py), API selectors in apis.api_from_definition."""

from __future__ import annotations

import pytest

from mp_custom_action import preset_definitions, presets
from mp_custom_action.apis import ApiSpec, api_from_definition


def test_presets_re_exports_the_definition_checks() -> None:
    for name in preset_definitions.__all__:
        assert getattr(presets, name) is getattr(preset_definitions, name)


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
