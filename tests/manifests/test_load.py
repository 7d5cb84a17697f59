"""Every manifest check fails before the first request: the message names the JSON path, and the
server receives nothing."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Callable

import pytest
from cli_helpers import cli
from loopback import ScriptedServer

CREDS = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret-value", "MP_PROJECT_ID": "4242"}

GOOD: dict[str, Any] = {
    "version": 1,
    "steps": [
        {"name": "sources", "preset": "listWarehouseSources", "input": {}},
        {
            "name": "sync",
            "preset": "triggerWarehouseRun",
            "input": {"sourceId": "${steps.sources.body.results.0.id}"},
        },
        {
            "name": "track",
            "call": {
                "method": "POST",
                "api": "ingestion",
                "relative_url": "/import",
                "body": [{"event": "e", "properties": {"distinct_id": "${steps.sync.body.id}"}}],
            },
        },
    ],
}


def change(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    manifest = copy.deepcopy(GOOD)
    fn(manifest)
    return manifest


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """``_set("steps.1.preset", x)``: set a value by dotted path (digits index lists)."""

    def apply(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = manifest
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value

    return apply


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(manifest: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = manifest
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        del node[int(last) if last.isdigit() else last]

    return apply


CASES = [
    # schema: types, required keys, version, unknown keys
    ("type", _set("steps.1.preset", 3), "steps[1].preset: expected string, got 3"),
    ("version", _set("version", 2), "version: expected 1, got 2"),
    ("required", _delete("version"), "version: is required"),
    ("step name", _delete("steps.0.name"), "steps[0].name: is required"),
    ("bad name", _set("steps.0.name", "has space"), "steps[0].name: 'has space' does not match"),
    ("no steps", _set("steps", []), "steps: [] should be non-empty"),
    ("unknown top key", _set("regoin", "eu"), "regoin: unknown key; expected one of:"),
    ("unknown step key", _set("steps.0.retry", 3), "steps[0].retry: unknown key"),
    ("expect", _set("steps.0.expect", ["2x"]), "steps[0].expect"),
    ("auth", _set("steps.0.auth", "cookie"), "steps[0].auth"),
    ("both", _set("steps.0.call", {"method": "GET"}), "steps[0]: a step is a preset"),
    ("neither", _delete("steps.0.preset"), "steps[0]: a step is a preset"),
    ("region", _set("region", "mars"), "region: expected one of us (standard), eu, in"),
    ("step region", _set("steps.2.region", "moon"), "steps[2].region: expected one of us"),
    # credentials never live in a manifest
    ("secret", _set("secret", "x"), "secret: looks like a credential; a manifest holds no credentials"),
    ("token in body", _set("steps.2.call.body.0.properties.token", "t"),
     "steps[2].call.body[0].properties.token: looks like a credential"),
    ("api key", _set("steps.0.input.apiKey", "k"), "steps[0].input.apiKey: looks like a credential"),
    ("authorization header", _set("steps.2.call.headers", {"Authorization": "Basic x"}),
     "steps[2].call.headers.Authorization: looks like a credential"),
    ("password", _set("steps.0.input.body", {"connectionDetails": {"password": "p"}}),
     "steps[0].input.body.connectionDetails.password: looks like a credential"),
    # names and references
    ("duplicate", _set("steps.1.name", "sources"), "steps[1].name: duplicate step name 'sources' (also steps[0])"),
    ("unknown step", _set("steps.1.input.sourceId", "${steps.nope.body.id}"),
     "steps[1].input.sourceId: ${steps.nope.body.id}: unknown step 'nope'; steps before this one: sources"),
    ("later step", _set("steps.1.input.sourceId", "${steps.track.body.id}"),
     "steps[1].input.sourceId: ${steps.track.body.id}: step 'track' runs later"),
    ("itself", _set("steps.1.input.sourceId", "${steps.sync.body.id}"),
     "step 'sync' runs as this step"),
    ("syntax", _set("steps.1.input.sourceId", "${steps.sources}"), "is not a valid reference"),
    ("unclosed", _set("steps.1.input.sourceId", "${steps.sources.body"), "is not closed"),
    ("code", _set("steps.1.input.sourceId", "${__import__('os')}"), "is not a valid reference"),
    ("env unset", _set("steps.1.input.sourceId", "${env.NOT_SET_ANYWHERE}"),
     "steps[1].input.sourceId: ${env.NOT_SET_ANYWHERE}: the environment variable NOT_SET_ANYWHERE is not set"),
    ("status_code path", _set("steps.1.input.sourceId", "${steps.sources.status_code.x}"),
     "status_code is a number"),
    # presets and their inputs
    ("unknown preset", _set("steps.0.preset", "listWarehouseSorces"),
     "steps[0].preset: unknown preset 'listWarehouseSorces'; did you mean listWarehouseSources"),
    ("preset input", _set("steps.0.input", {"projectId": "abc"}), "steps[0].input.projectId: expected an integer"),
    ("preset extra", _set("steps.0.input", {"colour": "red"}), "steps[0].input.colour"),
    ("preset missing", _set("steps.1.input", {}), "steps[1].input.sourceId: is required"),
    # raw card inputs: method, API, relative URL, headers, body
    ("method", _set("steps.2.call.method", "FETCH"), "steps[2].call.method: expected one of GET"),
    ("api", _set("steps.2.call.api", "nope"), "steps[2].call.api"),
    ("relative url", _set("steps.2.call.relative_url", "https://evil.example/x"), "steps[2].call.relative_url"),
    ("dot dot", _set("steps.2.call.relative_url", "/../admin"), "steps[2].call.relative_url"),
    ("header", _set("steps.2.call.headers", {"X-Bad": "a\nb"}), "steps[2].call.headers.X-Bad"),
    ("body on GET", _set("steps.2.call.method", "GET"), "steps[2].call.body: a body is only sent"),
    ("body type", _set("steps.2.call.body", "text"), "steps[2].call.body"),
    ("unknown input", _set("steps.2.call.colour", "red"), "steps[2].call.colour: unknown input"),
    ("card names", _set("steps.2.call.Request Type", "POST"), "given twice"),
    # a step whose output goes to a file has no body to read
    ("streamed body", _set("steps.0.output", "x.json"), "streams its body to x.json"),
]  # fmt: skip


@pytest.mark.parametrize(("label", "mutate", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_failing_check_names_the_path_and_sends_nothing(
    server: ScriptedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    label: str,
    mutate: Callable[[dict[str, Any]], None],
    message: str,
) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(change(mutate)))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 2, res.stderr
    assert message in res.stderr, res.stderr
    assert res.stdout == ""
    assert server.received == [], "a manifest that fails a check sends nothing"
    # The dry run checks the same way.
    assert cli("run", str(path), "--origin", server.origin, "--dry-run").exit_status == 2


def test_the_good_manifest_passes_the_checks(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "m.json"
    path.write_text(json.dumps(GOOD))
    res = cli("run", str(path), "--origin", server.origin, "--dry-run")
    assert res.exit_status == 0, res.stderr


def test_missing_credentials_fail_before_sending_with_3(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MP_PROJECT_ID", "4242")
    path = tmp_path / "m.json"
    path.write_text(json.dumps(GOOD))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 3
    assert "error: steps[0]: the Connectors API" in res.stderr
    assert server.received == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "is not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        (
            '{"version": 1, "steps": [{"name": "a", "preset": "x", "input": {"n": NaN}}]}',
            "is not valid JSON",
        ),
    ],
)
def test_a_file_that_is_not_a_json_object_is_refused(
    server: ScriptedServer, tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "m.json"
    path.write_text(text)
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 2
    assert message in res.stderr
    assert server.received == []


def test_a_missing_manifest_file_is_an_input_error(tmp_path: Path) -> None:
    res = cli("run", str(tmp_path / "nope.json"))
    assert res.exit_status == 2
    assert "cannot read" in res.stderr and "nope.json" in res.stderr


def test_a_credential_key_may_name_an_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("WAREHOUSE_PASSWORD", "pw")
    manifest = change(
        _set(
            "steps.0",
            {
                "name": "sources",
                "preset": "createWarehouseSource",
                "input": {
                    "body": {
                        "name": "s",
                        "type": "redshift",
                        "connectionDetails": {"password": "${env.WAREHOUSE_PASSWORD}"},
                    }
                },
            },
        )
    )
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest))
    assert cli("run", str(path), "--dry-run").exit_status == 0


def test_a_step_reading_earlier_results_has_its_credentials_checked_before_sending(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Query accepts the project secret; the Connectors API needs a service account.
    monkeypatch.setenv("MP_API_SECRET", "api-secret")
    monkeypatch.setenv("MP_PROJECT_ID", "4242")
    manifest = {
        "version": 1,
        "steps": [
            {"name": "names", "call": {"method": "GET", "api": "query", "relative_url": "/x"}},
            {
                "name": "sync",
                "preset": "triggerWarehouseRun",
                "input": {"sourceId": "${steps.names.body.0}"},
            },
        ],
    }
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 3
    assert "steps[1]: the Connectors API" in res.stderr
    assert server.received == []


def test_a_python_manifest_value_that_is_not_json_keeps_its_whole_message() -> None:
    """The message came from splitting the error text at ": ", which cut a key holding ": "."""
    from mp_custom_action.errors import ManifestError
    from mp_custom_action.manifests.load import load_manifest

    with pytest.raises(ManifestError) as info:
        load_manifest({**GOOD, "note: x": float("nan")}, env={})
    assert info.value.field == "note: x"
    assert info.value.detail == "NaN and infinity are not valid JSON numbers"


@pytest.mark.parametrize(
    "output",
    ["/tmp/evil.jsonl", "../evil.jsonl", "out/../../evil.jsonl", "..", "out\\..\\..\\evil",
     "\\\\server\\share\\evil", "C:\\evil.jsonl", "c:evil.jsonl"],
)  # fmt: skip
def test_a_step_output_outside_the_current_directory_is_refused(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, output: str
) -> None:
    """Found in review: a shared manifest could write any file the user can write."""
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    step = {"name": "export", "call": {"method": "GET", "api": "export"}, "output": output}
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"version": 1, "steps": [step]}))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 2
    assert "error: steps[0].output: expected a relative path without '..' segments" in res.stderr
    assert server.received == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "work"]


@pytest.mark.parametrize("output", ["events.jsonl", "out/events.jsonl", "./a..b/.x", "..data"])
def test_a_step_output_under_the_current_directory_is_accepted(output: str) -> None:
    from mp_custom_action.manifests.load import load_manifest

    step = {"name": "export", "call": {"method": "GET", "api": "export"}, "output": output}
    manifest = load_manifest({"version": 1, "steps": [step]}, env={})
    assert manifest.steps[0].output == output


def test_a_preset_step_reading_earlier_results_is_refused_an_unknown_input_before_sending(
    server: ScriptedServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It was rendered by a copy of Preset.to_inputs that skipped the unknown-key check, so the
    first step was sent before the second failed."""
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)
    manifest = change(_set("steps.1.input.bogus", 1))
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 2
    assert "error: steps[1].input.bogus: is not an input of triggerWarehouseRun" in res.stderr
    assert server.received == []


def test_the_repr_of_a_manifest_and_its_steps_shows_no_resolved_secret() -> None:
    """Issue 11 #2: resolved= and sensitive= printed the values read from ${env...}."""
    from mp_custom_action.manifests.load import load_manifest

    secret = "sk-live-0123456789"
    step = {
        "name": "load",
        "call": {
            "method": "POST",
            "api": "ingestion",
            "relative_url": "/import",
            "headers": {"X-Api-Key": "${env.WAREHOUSE_API_KEY}"},
            "body": [{"event": "e", "properties": {"password": "${env.PLAIN}"}}],
        },
    }
    env = {"WAREHOUSE_API_KEY": secret, "PLAIN": "hunter2-hunter2"}
    manifest = load_manifest({"version": 1, "steps": [step]}, env=env)
    assert manifest.steps[0].sensitive  # the values are known to be secret, and kept
    for shown in (repr(manifest), repr(manifest.steps[0]), str(manifest)):
        assert secret not in shown and "hunter2" not in shown
        assert "${env.WAREHOUSE_API_KEY}" in shown  # the step's inputs, as written, still show
