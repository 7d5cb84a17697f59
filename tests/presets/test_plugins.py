"""Plugin faults: each is skipped with a warning naming the plugin, the others keep working.

Plugins here are modules written into a temporary directory and handed to the plugin manager as
entry points of the ``mp_custom_action`` group (what an installed plugin is), see presets_support.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import cli
from presets_support import (
    Plugins,
    RecordingServer,
    preset_plugin,
)

import mp_custom_action
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import PluginError, PluginWarning
from mp_custom_action.presets import plugins as plugin_manager
from mp_custom_action.presets.docs import builtin_presets
from mp_custom_action.presets.plugins import plugin_api_registry, preset_registry

#: A clean environment that imports the same mp_custom_action as this test run.
SUBPROCESS_ENV = {
    "PATH": "/usr/bin:/bin",
    "PYTHONPATH": str(Path(mp_custom_action.__file__).resolve().parent.parent),
}
#: The seed's eight, plus one preset per operation of Mixpanel's reference (tests/presets/test_builtin*).
BUILTIN_NAMES = {p.name for p in builtin_presets()}


def names() -> set[str]:
    return set(preset_registry().names())


def warned(plugins_warning: pytest.WarningsRecorder) -> list[str]:
    return [str(w.message) for w in plugins_warning if issubclass(w.category, PluginWarning)]


# -- a working plugin ----------------------------------------------------------------------------


def test_a_plugin_preset_is_listed_and_runs(
    plugins: Plugins, recording_server: RecordingServer
) -> None:
    plugins.add("mine", preset_plugin())
    listed = cli("presets", "list", "--json")
    assert listed.exit_status == 0 and listed.stderr == ""
    rows = {row["name"]: row for row in listed.json}
    assert set(rows) == BUILTIN_NAMES | {"eventNames"}
    assert rows["eventNames"] == {
        "name": "eventNames",
        "api": "query",
        "method": "GET",
        "path": "/2.0/events/names",
        "summary": "Event names",
        "plugin": "mine",
    }
    result = cli(
        "preset", "eventNames", "--input", '{"query": {"type": "general"}}',
        "--origin", recording_server.origin,
    )  # fmt: skip
    assert result.exit_status == 0, result.stderr
    [request] = recording_server.requests
    assert request.target == "/api/2.0/events/names?type=general&project_id=4242"


def test_a_plugin_may_return_preset_objects_and_cannot_claim_another_name(plugins: Plugins) -> None:
    plugins.add(
        "objects",
        "from mp_custom_action import hookimpl\n"
        "from mp_custom_action.presets.model import Preset\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        "    return [Preset(name='schemas', api='lexicon', method='GET', path='/{projectId}/schemas',\n"
        "                   input_schema={'type': 'object', 'properties': {'projectId': {}}},\n"
        "                   plugin='builtin')]\n",
    )
    preset = preset_registry().get("schemas")
    assert preset.plugin == "objects"  # the manager names the plugin, not the plugin itself
    assert preset.to_inputs({}, project_id="5")["relative_url"] == "/5/schemas"


def test_a_plugin_adds_an_api_selector(plugins: Plugins, recording_server: RecordingServer) -> None:
    plugins.add(
        "annotations",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_apis():\n"
        "    hosts = {'us': 'mixpanel.com', 'eu': 'eu.mixpanel.com', 'in': 'in.mixpanel.com'}\n"
        "    return [{'name': 'annotations', 'display_name': 'Annotations API',\n"
        "             'base_urls': {r: f'https://{h}/api/app/projects' for r, h in hosts.items()},\n"
        "             'accepts': ['service_account'], 'aliases': ['notes']}]\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        "    return [{'name': 'listAnnotations', 'api': 'Annotations API', 'method': 'GET',\n"
        "             'path': '/{projectId}/annotations', 'summary': 'List annotations',\n"
        "             'input_schema': {'type': 'object', 'properties': {'projectId': {}}}}]\n",
    )
    spec = plugin_api_registry().get("notes")
    assert (spec.name, spec.plugin) == ("annotations", "annotations")
    assert spec.base_url("eu") == "https://eu.mixpanel.com/api/app/projects"
    # `call` finds a plugin's API selector too (the runner asks plugins for names it lacks).
    called = cli("call", "GET", "annotations", "/4242/annotations", "--dry-run")
    assert called.exit_status == 0, called.stderr
    assert called.json["url"] == "https://mixpanel.com/api/app/projects/4242/annotations"
    ran = cli("preset", "listAnnotations", "--origin", recording_server.origin)
    assert ran.exit_status == 0, ran.stderr
    assert recording_server.requests[0].target == "/api/app/projects/4242/annotations"


def test_plugins_are_loaded_once(plugins: Plugins, monkeypatch: pytest.MonkeyPatch) -> None:
    plugins.add("mine", preset_plugin())
    reads: list[int] = []
    real = plugin_manager._entry_points
    monkeypatch.setattr(plugin_manager, "_entry_points", lambda: reads.append(1) or real())
    for _ in range(3):
        preset_registry()
        plugin_api_registry()
    cli("presets", "list")
    assert reads == [1]


# -- faults: import, hooks -----------------------------------------------------------------------


def test_a_plugin_that_fails_to_import_is_skipped(plugins: Plugins) -> None:
    plugins.add_entry_point("broken", "mpca_test_plugin_that_does_not_exist")
    plugins.add("good", preset_plugin())
    with pytest.warns(PluginWarning) as caught:
        assert names() == BUILTIN_NAMES | {"eventNames"}
    assert warned(caught) == [
        "plugin 'broken': skipped: cannot import mpca_test_plugin_that_does_not_exist: "
        "ModuleNotFoundError: No module named 'mpca_test_plugin_that_does_not_exist'"
    ]


def test_a_plugin_that_raises_on_import_is_skipped(plugins: Plugins) -> None:
    module = plugins.add("explodes", "raise RuntimeError('no config\\nsecond line')\n")
    with pytest.warns(PluginWarning) as caught:
        assert names() == BUILTIN_NAMES
    assert warned(caught) == [
        f"plugin 'explodes': skipped: cannot import {module}: RuntimeError: no config second line"
    ]


def test_a_plugin_whose_hook_raises_is_skipped_whole(plugins: Plugins) -> None:
    plugins.add(
        "raiser",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_apis():\n"
        "    return [{'name': 'extra', 'base_urls': {r: 'https://x.example' for r in ('us','eu','in')},\n"
        "             'accepts': ['secret']}]\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        "    raise KeyError('boom')\n",
    )
    plugins.add("good", preset_plugin())
    with pytest.warns(PluginWarning) as caught:
        assert names() == BUILTIN_NAMES | {"eventNames"}
    assert "extra" not in plugin_api_registry()
    assert warned(caught) == [
        "plugin 'raiser': skipped: mp_custom_action_presets raised KeyError: 'boom'"
    ]


def test_a_hook_that_returns_something_else_than_a_list(plugins: Plugins) -> None:
    plugins.add(
        "dict",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        "    return {'name': 'x'}\n",
    )
    with pytest.warns(
        PluginWarning,
        match=r"^plugin 'dict': skipped: mp_custom_action_presets returned dict, not a list$",
    ):
        assert names() == BUILTIN_NAMES


def test_a_misspelt_or_unmarked_hook_is_reported(plugins: Plugins) -> None:
    plugins.add(
        "typo",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_preset():\n"
        "    return []\n\n"
        "def mp_custom_action_presets():\n"
        "    return []\n",
    )
    with pytest.warns(PluginWarning) as caught:
        preset_registry()
    assert warned(caught) == [
        "plugin 'typo': unknown hook 'mp_custom_action_preset' "
        "(known: mp_custom_action_apis, mp_custom_action_presets)",
        "plugin 'typo': mp_custom_action_presets is not marked with @mp_custom_action.hookimpl "
        "and is ignored",
    ]


def test_a_hook_implementation_with_arguments_its_spec_lacks_is_skipped(plugins: Plugins) -> None:
    plugins.add(
        "args",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets(registry):\n"
        "    return []\n",
    )
    with pytest.warns(
        PluginWarning, match=r"^plugin 'args': skipped: PluginValidationError: .*registry"
    ):
        assert names() == BUILTIN_NAMES


def test_a_plugin_cannot_take_the_builtin_plugins_name(plugins: Plugins) -> None:
    plugins.add("builtin", preset_plugin())
    with pytest.warns(PluginWarning, match=r"^plugin 'builtin': skipped: .*already registered"):
        assert names() == BUILTIN_NAMES


# -- faults: refused definitions -----------------------------------------------------------------

REFUSALS = [
    (
        {"path": "https://evil.example/steal"},
        "path must be relative to the API's base URL and start with '/', got "
        "'https://evil.example/steal'",
    ),
    ({"path": "//evil.example/steal"}, "path must not contain '//' (another host)"),
    ({"path": "/2.0/../../steal"}, "path must not contain '.' or '..' segments"),
    ({"api": "billing"}, "unknown API 'billing' (known: connectors, export, ingestion,"),
    ({"method": "OPTIONS"}, "method must be GET, POST, PUT, PATCH or DELETE, got 'OPTIONS'"),
    ({"input_schema": {"type": "objekt"}}, "input_schema is not valid JSON Schema at type"),
    (
        {"input_schema": {"type": "object", "properties": {"a": {"minLength": -1}}}},
        "input_schema is not valid JSON Schema at properties.a.minLength",
    ),
]


@pytest.mark.parametrize(("change", "message"), REFUSALS)
def test_unsafe_presets_are_refused_naming_the_plugin(
    plugins: Plugins, change: dict[str, object], message: str
) -> None:
    plugins.add("shady", preset_plugin(name="bad", **change))
    plugins.add("good", preset_plugin())
    with pytest.warns(PluginWarning) as caught:
        assert names() == BUILTIN_NAMES | {"eventNames"}
    [text] = warned(caught)
    assert text.startswith("plugin 'shady': preset refused: preset 'bad': ")
    assert message in text
    assert "\n" not in text


def test_one_refused_preset_does_not_take_its_siblings(plugins: Plugins) -> None:
    plugins.add(
        "mixed",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        "    schema = {'type': 'object'}\n"
        "    return [{'name': 'ok', 'api': 'query', 'method': 'GET', 'path': '/2.0/x',\n"
        "             'input_schema': schema},\n"
        "            {'name': 'bad', 'api': 'query', 'method': 'GET', 'path': '/../x',\n"
        "             'input_schema': schema}]\n",
    )
    with pytest.warns(PluginWarning, match="preset 'bad'"):
        assert names() == BUILTIN_NAMES | {"ok"}


def test_an_api_selector_that_takes_a_builtin_name_is_refused(plugins: Plugins) -> None:
    plugins.add(
        "squatter",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_apis():\n"
        "    urls = {r: 'https://api.mixpanel.com' for r in ('us', 'eu', 'in')}\n"
        "    return [{'name': 'Query API', 'base_urls': urls, 'accepts': ['secret']},\n"
        "            {'name': 'plain', 'base_urls': {r: 'http://x' for r in urls},\n"
        "             'accepts': ['secret']}]\n",
    )
    with pytest.warns(PluginWarning) as caught:
        registry = plugin_api_registry()
    assert registry.get("query").plugin == "builtin"
    assert "plain" not in registry
    assert warned(caught) == [
        "plugin 'squatter': API selector refused: API name 'query api' of 'squatter' is already "
        "taken by API 'query' of 'builtin'",
        "plugin 'squatter': API selector refused: API 'plain': base URL for 'us' must be "
        "https://host[/path] without a trailing slash, got 'http://x'",
    ]


# -- the CLI: warnings, strict mode ----------------------------------------------------------------


def test_the_cli_warns_in_one_line_and_keeps_working(plugins: Plugins) -> None:
    plugins.add_entry_point("broken", "mpca_test_plugin_missing")
    result = cli("presets", "list", "--json")
    assert result.exit_status == 0
    assert {row["name"] for row in result.json} == BUILTIN_NAMES
    assert result.stderr == (
        "mp-custom-action: warning: plugin 'broken': skipped: cannot import "
        "mpca_test_plugin_missing: ModuleNotFoundError: No module named 'mpca_test_plugin_missing'\n"
    )


@pytest.mark.parametrize("command", [["presets", "list"], ["presets", "show", "getWarehouseSource"],
                                     ["preset", "listWarehouseSources", "--dry-run"]])  # fmt: skip
def test_strict_plugins_turns_warnings_into_an_error(plugins: Plugins, command: list[str]) -> None:
    plugins.add("shady", preset_plugin(name="bad", path="https://evil.example/x"))
    result = cli(*command, "--strict-plugins")
    assert result.exit_status == 7
    assert result.stdout == ""
    assert result.stderr.startswith(
        "mp-custom-action: error: plugin problems (strict mode): plugin 'shady': preset refused: "
    )


def test_mp_strict_plugins_does_the_same(plugins: Plugins, monkeypatch: pytest.MonkeyPatch) -> None:
    plugins.add_entry_point("broken", "mpca_test_plugin_missing")
    monkeypatch.setenv("MP_STRICT_PLUGINS", "1")
    result = cli("presets", "list")
    assert result.exit_status == 7
    assert "plugin 'broken'" in result.stderr
    with pytest.raises(PluginError) as err:
        preset_registry()
    assert err.value.plugins == ("broken",)


# -- the same name from two plugins --------------------------------------------------------------


def test_two_plugins_with_one_name_warn_on_list_and_fail_to_run(plugins: Plugins) -> None:
    plugins.add("alpha", preset_plugin())
    plugins.add("beta", preset_plugin())
    listed = cli("presets", "list", "--json")
    assert listed.exit_status == 0
    assert [r["plugin"] for r in listed.json if r["name"] == "eventNames"] == ["alpha", "beta"]
    assert listed.stderr == (
        "mp-custom-action: warning: plugin 'beta': preset 'eventNames' is offered by more than one "
        "plugin ('alpha' and 'beta'); running it is an error until one is uninstalled\n"
    )
    ran = cli("preset", "eventNames", "--dry-run")
    assert ran.exit_status == 7
    assert ran.stderr == (
        "mp-custom-action: error: preset 'eventNames' is offered by more than one plugin "
        "('alpha' and 'beta'); uninstall one of them\n"
    )
    assert cli("presets", "show", "eventNames").exit_status == 7
    assert cli("presets", "list", "--strict-plugins").exit_status == 7
    with pytest.raises(PluginError) as err:
        preset_registry().get("eventNames")
    assert err.value.plugins == ("alpha", "beta")


def test_a_builtin_preset_is_not_silently_shadowed(plugins: Plugins) -> None:
    plugins.add("shadow", preset_plugin(name="getWarehouseSource"))
    ran = cli("preset", "getWarehouseSource", "--input", '{"sourceId": "s"}', "--dry-run")
    assert ran.exit_status == 7
    assert "('builtin' and 'shadow')" in ran.stderr
    # Other presets, built-in or not, keep working.
    assert cli("preset", "listWarehouseSources", "--dry-run").exit_status == 0


# -- laziness ------------------------------------------------------------------------------------


def test_call_and_dry_run_do_not_load_plugins() -> None:
    code = (
        "import sys\n"
        "from mp_custom_action.cli import main\n"
        "main(['call', 'GET', 'query', '/2.0/events/names', '--dry-run'])\n"
        "main(['call', 'GET', 'connectors', '/projects/1/warehouse-sources', '--dry-run'])\n"
        "for name in ('pluggy', 'jsonschema', 'mp_custom_action.presets.plugins', 'importlib.metadata',\n"
        "             'mp_custom_action.presets.model'):\n"
        "    assert name not in sys.modules, name + ' was imported'\n"
    )
    env = {**SUBPROCESS_ENV, "MP_USERNAME": "u", "MP_SECRET": "s", "MP_PROJECT_ID": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_help_lists_the_commands_without_loading_plugins() -> None:
    code = (
        "import sys\n"
        "from mp_custom_action.cli import build_parser\n"
        "text = build_parser().format_help()\n"
        "assert 'presets' in text and 'preset' in text, text\n"
        "assert 'pluggy' not in sys.modules and 'jsonschema' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=SUBPROCESS_ENV
    )
    assert done.returncode == 0, done.stderr


def test_presets_show_prints_what_a_form_needs(plugins: Plugins) -> None:
    shown = cli("presets", "show", "createWarehouseSource")
    assert shown.exit_status == 0
    data = shown.json
    assert list(data) == [
        "name", "api", "method", "path", "summary", "plugin", "media_type", "input_schema",
        "example",
    ]  # fmt: skip
    assert data["media_type"] == "application/json"
    assert data["input_schema"]["properties"]["body"]["properties"]["type"]["enum"][0] == "bigquery"
    assert json.loads(json.dumps(data["example"]))["body"]["type"] == "bigquery"
    unknown = cli("presets", "show", "nope")
    assert (unknown.exit_status, unknown.stderr) == (
        2, "mp-custom-action: error: NAME: unknown preset 'nope' (see: presets list)\n"
    )  # fmt: skip


def test_presets_list_prints_a_table(plugins: Plugins) -> None:
    result = cli("presets")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "METHOD", "API", "PATH", "PLUGIN", "SUMMARY"]
    seed = [line.split()[:5] for line in lines if line.startswith("createWarehouseSource ")]
    assert seed == [
        [
            "createWarehouseSource", "POST", "connectors",
            "/projects/{projectId}/warehouse-sources", "builtin",
        ]
    ]  # fmt: skip
    assert len(lines) == 1 + len(BUILTIN_NAMES)


def test_a_definition_that_breaks_the_checks_themselves_is_refused(plugins: Plugins) -> None:
    plugins.add(
        "odd",
        "from mp_custom_action import hookimpl\n\n"
        "class Weird(dict):\n"
        "    def __iter__(self):\n"
        "        raise RuntimeError('cannot read me')\n"
        "    keys = __iter__\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        "    return [{'name': 'w', 'api': 'query', 'method': 'GET', 'path': '/x',\n"
        "             'input_schema': {'type': 'object'}, 'example': Weird(a=1)}]\n\n"
        "@hookimpl\n"
        "def mp_custom_action_apis():\n"
        "    return [{'name': 'n', 'base_urls': {'us': 1, 'eu': 2, 'in': 3}, 'accepts': ['secret']}]\n",
    )
    with pytest.warns(PluginWarning) as caught:
        assert names() == BUILTIN_NAMES
    api, preset = warned(caught)
    # re's own wording, which varies across Python versions after this prefix
    assert api.startswith("plugin 'odd': API selector refused: expected string or bytes-like")
    assert preset == "plugin 'odd': preset refused: RuntimeError: cannot read me"


def test_the_runner_knows_plugin_selectors_only_through_its_apis_seam(plugins: Plugins) -> None:
    # core never imports presets: a bare Runner knows the built-in selectors; the lookup the
    # command line injects (presets.plugins.api_lookup) adds the plugins' ones.
    from mp_custom_action.errors import UnknownApiError
    from mp_custom_action.presets.plugins import api_lookup

    plugins.add(
        "annotations",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_apis():\n"
        "    return [{'name': 'annotations',\n"
        "             'base_urls': {r: 'https://mixpanel.com/api/app' for r in ('us', 'eu', 'in')},\n"
        "             'accepts': ['service_account']}]\n",
    )
    inputs = {"method": "GET", "api": "annotations", "relative_url": "/x"}
    bare = Runner(username="u", secret="s", project_id=1, env={})
    with pytest.raises(UnknownApiError):
        bare.prepare(inputs)
    assert bare.prepare(inputs, apis=api_lookup).url == "https://mixpanel.com/api/app/x"
    injected = Runner(username="u", secret="s", project_id=1, env={}, apis=api_lookup)
    assert injected.prepare(inputs).api.plugin == "annotations"
