"""presets.run: a preset by name, its input checked first, with the plugins' API selectors."""

from __future__ import annotations

import pytest
from presets_support import PROJECT_ID, Plugins, RecordingServer

from mp_custom_action import Runner
from mp_custom_action.errors import PresetInputError
from mp_custom_action.presets.run import run_preset


def runner_for(server: RecordingServer) -> Runner:
    return Runner(username="sa.user", secret="sa-secret", project_id=PROJECT_ID, env={},
                  origin=server.origin, retries=0)  # fmt: skip


def test_a_bad_input_is_refused_before_anything_is_sent(recording_server: RecordingServer) -> None:
    with runner_for(recording_server) as runner, pytest.raises(PresetInputError, match="sourceId"):
        run_preset(runner, "getWarehouseSource", {})
    assert recording_server.requests == []


def test_a_plugin_preset_on_a_plugin_api_runs_on_a_bare_runner(
    plugins: Plugins, recording_server: RecordingServer
) -> None:
    plugins.add(
        "notes",
        "from mp_custom_action import hookimpl\n\n"
        "@hookimpl\n"
        "def mp_custom_action_apis():\n"
        "    return [{'name': 'notes', 'accepts': ['service_account'],\n"
        "             'base_urls': {r: 'https://mixpanel.com/api/app' for r in ('us', 'eu', 'in')}}]\n\n"
        "@hookimpl\n"
        "def mp_custom_action_presets():\n"
        "    return [{'name': 'listNotes', 'api': 'notes', 'method': 'GET',\n"
        "             'path': '/projects/{projectId}/notes',\n"
        "             'input_schema': {'type': 'object', 'properties': {'projectId': {}}}}]\n",
    )
    recording_server.answer = lambda method, path: (200, {"results": []})
    with runner_for(recording_server) as runner:
        result = run_preset(runner, "listNotes")  # projectId from the runner's project id
    assert result.status_code == 200
    assert recording_server.requests[0].target == f"/api/app/projects/{PROJECT_ID}/notes"
