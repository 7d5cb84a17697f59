"""Hostile presets, plugins and manifests, property-based: refused with a warning naming the
plugin (or a clean input error), never a crash, never a request that leaves home.

* Preset inputs: every built-in preset, with path values, bodies and queries drawn from the attack
  forms; each path value must stay one segment, and the request must stay under the API's base.
* Plugins: generated plugins whose hooks return hostile preset and API definitions, raise, or
  return junk; loading never raises, every fault names its plugin, and whatever is accepted is
  safe: a preset's path is a plain template and an API selector sends only to Mixpanel's hosts.
* Manifests: generated manifests with hostile steps go through load, check and dry run.
"""

from __future__ import annotations

import types
import warnings
from typing import Any, Callable
from urllib.parse import urlsplit

import hypothesis_profiles  # noqa: F401  (registers and loads the profile)
import pytest
from hostile import (
    CREDENTIALS,
    assert_clean_refusal,
    assert_no_leak,
    assert_stays_home,
    bodies,
    card_inputs,
    json_like,
    query_objects,
    relative_urls,
)
from hypothesis import given
from hypothesis import strategies as st

from mp_custom_action import Runner, hookimpl
from mp_custom_action.core.apis import builtin_registry
from mp_custom_action.errors import InputError, MpError, PluginWarning
from mp_custom_action.presets.plugins import load_plugins, preset_registry

RUNNER = Runner(**CREDENTIALS, env={}, retries=0)
BUILTIN = list(preset_registry())
MIXPANEL = "mixpanel.com"


def segment_values() -> st.SearchStrategy[Any]:
    return st.one_of(
        relative_urls(),
        st.sampled_from(
            [".", "..", "", "a/b", "../..", "%2e%2e", "@evil", "x\r\ny", "\u2025", 0, -1]
        ),
        st.integers(),
        st.booleans(),
        st.none(),
        json_like(),
    )


@st.composite
def preset_inputs(draw: st.DrawFn) -> tuple[Any, Any]:
    preset = draw(st.sampled_from(BUILTIN))
    data: dict[str, Any] = {}
    for name in preset.path_params:
        if draw(st.integers(0, 5)):
            data[name] = draw(segment_values())
    if draw(st.booleans()):
        data["body"] = draw(
            st.one_of(bodies(), st.just(preset.example.get("body") if preset.example else {}))
        )
    if draw(st.booleans()):
        data["query"] = draw(query_objects())
    if draw(st.integers(0, 8)) == 0:
        data[draw(st.text(max_size=8))] = draw(json_like())
    if draw(st.integers(0, 20)) == 0:
        return preset, draw(json_like())
    return preset, data


@given(case=preset_inputs())
def test_preset_inputs_keep_each_path_value_one_segment(case: tuple[Any, Any]) -> None:
    preset, data = case
    try:
        inputs = preset.to_inputs(data, project_id=CREDENTIALS["project_id"])
        req = RUNNER.prepare(inputs)
    except MpError as exc:
        assert_clean_refusal(exc)
        return
    assert_stays_home(req, None)
    base_path = urlsplit(builtin_registry.get(preset.api).base_url("us")).path
    sent_path = urlsplit(req.url).path[len(base_path) :]
    assert sent_path.count("/") == preset.path.count("/"), (preset.path, sent_path)


# -- plugins ------------------------------------------------------------------------------------------


class FakeEntryPoint:
    def __init__(self, name: str, load: Callable[[], Any]) -> None:
        self.name = name
        self.value = f"{name}_module:plugin"
        self.load = load


def _module(presets: Any = None, apis: Any = None, *, raises: str = "") -> types.ModuleType:
    module = types.ModuleType("hostile_plugin")
    if presets is not None:

        @hookimpl
        def mp_custom_action_presets() -> Any:
            if raises == "presets":
                raise RuntimeError("preset hook exploded\nsecond line")
            return presets

        module.mp_custom_action_presets = mp_custom_action_presets  # type: ignore[attr-defined]
    if apis is not None:

        @hookimpl
        def mp_custom_action_apis() -> Any:
            if raises == "apis":
                raise ValueError("api hook exploded")
            return apis

        module.mp_custom_action_apis = mp_custom_action_apis  # type: ignore[attr-defined]
    return module


_HOSTS = [
    "api.mixpanel.com", "eu.mixpanel.com", "evil.example", "mixpanel.com.evil.example",
    "evilmixpanel.com", "127.0.0.1", "user:pw@mixpanel.com", "mixpanel.com:8443",
]  # fmt: skip


@st.composite
def api_definitions(draw: st.DrawFn) -> Any:
    scheme = draw(st.sampled_from(["https", "https", "http", "ftp", "HTTPS"]))
    path = draw(st.sampled_from(["", "/api/notes", "/api/../x", "/", "/a b", "/%2e%2e"]))
    base_urls = {r: f"{scheme}://{draw(st.sampled_from(_HOSTS))}{path}" for r in ("us", "eu", "in")}
    definition: dict[str, Any] = {
        "name": draw(st.sampled_from(["notes", "query", "Query API", "x y", "", "evil"])),
        "base_urls": draw(st.one_of(st.just(base_urls), json_like())),
        "accepts": draw(
            st.one_of(st.just(["service_account"]), st.just(["token_data"]), json_like())
        ),
    }
    if draw(st.booleans()):
        definition[draw(st.sampled_from(["aliases", "project_id", "display_name", "extra"]))] = (
            draw(json_like())
        )
    return draw(st.one_of(st.just(definition), json_like()))


@st.composite
def preset_definitions(draw: st.DrawFn) -> Any:
    path = draw(
        st.one_of(
            relative_urls(), st.sampled_from(["/projects/{projectId}/x", "/{a}/{a}", "/{body}"])
        )
    )
    definition: dict[str, Any] = {
        "name": draw(
            st.one_of(
                st.sampled_from(["listWarehouseSources", "steal", "ok.one", "1bad"]),
                st.text(max_size=8),
            )
        ),
        "api": draw(st.sampled_from(["connectors", "notes", "evil", "https://evil.example", 3])),
        "method": draw(st.sampled_from(["GET", "post", "TRACE", "", None])),
        "path": path,
        "input_schema": draw(
            st.one_of(
                st.just({"type": "object", "properties": {"projectId": {}, "a": {}}}),
                st.just({"type": "object", "$ref": "https://evil.example/schema.json"}),
                st.just({"type": "nonsense"}),
                json_like(),
            )
        ),
    }
    for key in draw(
        st.lists(
            st.sampled_from(["summary", "example", "responses", "description", "bogus"]), max_size=2
        )
    ):
        definition[key] = draw(json_like())
    return draw(st.one_of(st.just(definition), json_like()))


@st.composite
def plugins(draw: st.DrawFn) -> list[FakeEntryPoint]:
    eps = []
    for i in range(draw(st.integers(1, 3))):
        name = f"hostile{i}"
        kind = draw(
            st.sampled_from(
                ["ok", "ok", "ok", "import fails", "presets raise", "apis raise", "junk"]
            )
        )
        presets = draw(st.one_of(st.lists(preset_definitions(), max_size=3), json_like()))
        apis = draw(st.one_of(st.lists(api_definitions(), max_size=2), st.none()))
        if kind == "import fails":

            def load() -> Any:
                raise ImportError("No module named 'x'\nTraceback: fake")

        elif kind == "junk":
            junk = draw(json_like())

            def load(junk: Any = junk) -> Any:
                return junk

        else:
            raises = {"presets raise": "presets", "apis raise": "apis"}.get(kind, "")
            module = _module(presets, apis, raises=raises)

            def load(module: types.ModuleType = module) -> Any:
                return module

        eps.append(FakeEntryPoint(name, load))
    return eps


@given(entry_points=plugins(), card=card_inputs())
def test_hostile_plugins_are_refused_with_a_warning_naming_them(
    entry_points: list[FakeEntryPoint], card: Any
) -> None:
    names = {ep.name for ep in entry_points}
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        # Without the built-in plugin: its presets are checked elsewhere, and cost time here.
        loaded = load_plugins(default_plugins={}, entry_points=entry_points)
    for fault in loaded.faults:
        assert fault.plugin in names | {"builtin"}, fault
        line = str(fault)
        assert line.startswith(f"plugin {fault.plugin!r}: ") and "\n" not in line, line
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        loaded.report(strict=False)
    for warning in caught:
        assert issubclass(warning.category, PluginWarning)
        assert any(f"plugin {n!r}" in str(warning.message) for n in names | {"builtin"})
    # Whatever was accepted is safe: API selectors send only to Mixpanel's own hosts over https.
    for spec in loaded.apis:
        for url in spec.base_urls.values():
            parts = urlsplit(url)
            assert parts.scheme == "https" and parts.username is None and parts.port is None, url
            host = parts.hostname or ""
            assert host == MIXPANEL or host.endswith("." + MIXPANEL), (spec.plugin, url)
    for preset in loaded.presets:
        assert preset.path.startswith("/") and "//" not in preset.path and ".." not in preset.path
    # And a card naming a plugin's API, sent by a runner that knows those selectors, stays home.
    runner = Runner(**CREDENTIALS, env={}, retries=0, apis=loaded.apis)
    try:
        req = runner.prepare(card)
    except MpError as exc:
        assert_clean_refusal(exc)
        return
    host = urlsplit(req.url).hostname or ""
    assert host == MIXPANEL or host.endswith("." + MIXPANEL), req.url
    assert_no_leak(repr(req), req.describe())


# -- manifests -------------------------------------------------------------------------------------------


@st.composite
def manifests(draw: st.DrawFn) -> Any:
    steps = []
    for i in range(draw(st.integers(1, 3))):
        step: dict[str, Any] = {
            "name": draw(st.sampled_from([f"s{i}", "s0", "", "a b", "x" * 300]))
        }
        if draw(st.booleans()):
            step["preset"] = draw(st.sampled_from([p.name for p in BUILTIN] + ["nope", "", "../x"]))
            step["input"] = draw(
                st.one_of(
                    st.fixed_dictionaries({"sourceId": segment_values()}),
                    st.fixed_dictionaries(
                        {
                            "sourceId": st.sampled_from(
                                [
                                    "${steps.s0.body.id}",
                                    "${env.HOME}",
                                    "${steps.s9.body}",
                                    "${",
                                    "$${x}",
                                ]
                            )
                        }
                    ),
                    json_like(),
                )
            )
        else:
            step["call"] = draw(card_inputs())
        for key in draw(
            st.lists(
                st.sampled_from(
                    ["expect", "region", "auth", "output", "continue_on_error", "secret", "apiKey"]
                ),
                max_size=2,
            )
        ):
            step[key] = draw(json_like())
        steps.append(step)
    manifest: dict[str, Any] = {"version": draw(st.sampled_from([1, 1, 1, 2, "1"])), "steps": steps}
    if draw(st.integers(0, 5)) == 0:
        manifest[draw(st.sampled_from(["region", "profile", "token", "extra"]))] = draw(json_like())
    return draw(st.one_of(st.just(manifest), st.just(manifest), json_like()))


@given(data=manifests())
def test_hostile_manifests_are_refused_cleanly_or_stay_home(data: Any) -> None:
    from mp_custom_action.manifests.load import load_manifest
    from mp_custom_action.manifests.run import check_manifest, dry_run

    try:
        manifest = load_manifest(data, env={"HOME": "/home/x"})
        check_manifest(manifest, RUNNER)
        shown = dry_run(manifest, RUNNER)
    except MpError as exc:
        assert_clean_refusal(exc)
        return
    assert_no_leak(shown)
    for step in manifest.steps:
        if step.request is not None:
            assert_stays_home(step.request, None)


def test_a_plugin_api_selector_on_another_host_is_refused() -> None:
    """Found by test_hostile_plugins_...: a plugin's API selector could name any https host, and a
    card naming that API sent the service account there."""
    evil = _module(
        apis=[
            {
                "name": "notes",
                "base_urls": dict.fromkeys(("us", "eu", "in"), "https://evil.example/api"),
                "accepts": ["service_account"],
            }
        ],
    )
    loaded = load_plugins(default_plugins={}, entry_points=[FakeEntryPoint("evil", lambda: evil)])
    assert "notes" not in loaded.apis
    [fault] = [f for f in loaded.faults if f.plugin == "evil"]
    assert "evil.example" in fault.message and "mixpanel.com" in fault.message
    with pytest.raises(InputError):
        Runner(**CREDENTIALS, env={}, apis=loaded.apis).prepare(
            {"method": "GET", "api": "notes", "relative_url": "/x"}
        )


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"version": 1, "steps": [{"name": "a", "preset": "getWarehouseSource", "input": set()}]}, "steps[0].input"),
        ({"version": 1, "steps": [{"name": "a", "call": {1: "GET"}}]}, "steps[0].call"),
        ({"version": float("nan"), "steps": []}, "version"),
        (None, None),
    ],
)  # fmt: skip
def test_a_manifest_object_that_is_not_json_is_a_manifest_error(data: Any, field: Any) -> None:
    """Found by test_hostile_manifests_...: a Python manifest holding a set raised TypeError from
    the schema check's message, and None raised TypeError from os.fspath."""
    from mp_custom_action.errors import ManifestError
    from mp_custom_action.manifests.load import load_manifest

    with pytest.raises(ManifestError) as info:
        load_manifest(data, env={})
    assert info.value.field == field
    assert_clean_refusal(info.value)


def test_a_preset_input_with_keys_that_are_not_strings_is_an_input_error() -> None:
    """Found by test_preset_inputs_...: an input whose object had an integer key crashed the
    "misspelt?" hint (difflib compares only text)."""
    preset = preset_registry().get("createWarehouseSource")
    with pytest.raises(InputError) as info:
        preset.to_inputs({"body": {1: "x"}}, project_id=5)
    assert_clean_refusal(info.value)
