"""The Preset type: path templates, input checking, rendering to card inputs, response checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

from mp_custom_action.core.apis import builtin_registry
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import PresetInputError
from mp_custom_action.presets import model as presets_module
from mp_custom_action.presets.builtin import action_documents
from mp_custom_action.presets.definitions import preset_from_definition
from mp_custom_action.presets.docs import builtin_presets
from mp_custom_action.presets.model import (
    Preset,
    PresetDefinitionError,
    ResponseSchemaWarning,
    parse_path_template,
)
from mp_custom_action.presets.openapi import definitions_from_openapi

#: The issue's table: every built-in preset, its method and path.
SEED_TABLE = {
    "listWarehouseSources": ("GET", "/projects/{projectId}/warehouse-sources"),
    "createWarehouseSource": ("POST", "/projects/{projectId}/warehouse-sources"),
    "getWarehouseSource": ("GET", "/projects/{projectId}/warehouse-sources/{sourceId}"),
    "updateWarehouseSource": ("PATCH", "/projects/{projectId}/warehouse-sources/{sourceId}"),
    "deleteWarehouseSource": ("DELETE", "/projects/{projectId}/warehouse-sources/{sourceId}"),
    "listWarehouseTables": ("GET", "/projects/{projectId}/warehouse-sources/{sourceId}/tables"),
    "listWarehouseRuns": ("GET", "/projects/{projectId}/warehouse-sources/{sourceId}/runs"),
    "triggerWarehouseRun": ("POST", "/projects/{projectId}/warehouse-sources/{sourceId}/runs"),
}


@pytest.fixture(scope="module")
def builtins() -> dict[str, Preset]:
    # The seed's eight (plugin "builtin"); the families' presets have tests/presets/test_builtin*.py.
    return {p.name: p for p in builtin_presets() if p.plugin == "builtin"}


def runner() -> Runner:
    return Runner(
        origin="http://127.0.0.1:9", username="sa", secret="s3cret", project_id=4242, env={}
    )


# -- the built-in definitions --------------------------------------------------------------------


def test_the_eight_builtin_presets_match_the_seed_table(builtins: dict[str, Preset]) -> None:
    assert {name: (p.method, p.path) for name, p in builtins.items()} == SEED_TABLE
    assert {p.api for p in builtins.values()} == {"connectors"}
    assert {p.plugin for p in builtins.values()} == {"builtin"}


def test_the_openapi_servers_are_the_connectors_api_base_urls() -> None:
    [(name, document)] = action_documents()
    assert name == "warehouse-connectors.openapi.json"
    servers = [s["url"] for s in document["servers"]]
    assert servers == [builtin_registry.get("connectors").base_url(r) for r in ("us", "eu", "in")]
    assert document["x-mp-api"] == "connectors"


def test_input_schemas_are_self_contained_and_closed(builtins: dict[str, Preset]) -> None:
    for preset in builtins.values():
        schema = preset.input_schema
        assert "$ref" not in json.dumps(schema), preset.name
        assert schema["additionalProperties"] is False
        assert schema["properties"]["projectId"]["type"] == "integer"
        assert "projectId" in schema["required"]
        if "{sourceId}" in preset.path:
            assert schema["properties"]["sourceId"]["type"] == "string"
            assert "sourceId" in schema["required"]
    body = builtins["createWarehouseSource"].input_schema["properties"]["body"]
    assert body["required"] == ["name", "type", "connectionDetails"]
    assert body["properties"]["type"]["enum"] == [
        "bigquery", "snowflake", "redshift", "databricks", "postgresql"
    ]  # fmt: skip
    assert body["properties"]["schedule"]["enum"] == ["hourly", "daily", "weekly"]
    table = body["properties"]["tables"]["items"]
    assert table["required"] == ["tableName", "importType"]
    assert table["properties"]["importType"]["enum"] == ["event", "user", "group", "lookup_table"]


def test_every_example_passes_its_own_schema(builtins: dict[str, Preset]) -> None:
    for preset in builtins.values():
        assert preset.example is not None
        preset.to_inputs(preset.example)


def test_describe_is_what_presets_show_prints(builtins: dict[str, Preset]) -> None:
    shown = builtins["getWarehouseSource"].describe()
    assert list(shown) == [
        "name", "api", "method", "path", "summary", "plugin", "media_type", "input_schema",
        "example",
    ]  # fmt: skip
    assert shown["example"] == {"projectId": 12345, "sourceId": "src_abc123"}
    shown["input_schema"]["properties"].clear()  # a copy: the preset is unchanged
    assert builtins["getWarehouseSource"].input_schema["properties"]


def test_an_operation_is_a_data_change() -> None:
    [(_, document)] = action_documents()
    document["paths"]["/projects/{projectId}/warehouse-sources/{sourceId}/pause"] = {
        "parameters": [
            {"$ref": "#/components/parameters/projectId"},
            {"$ref": "#/components/parameters/sourceId"},
        ],
        "post": {
            "operationId": "pauseWarehouseSource",
            "summary": "Pause",
            "parameters": [
                {"name": "reason", "in": "query", "required": True, "schema": {"type": "string"}}
            ],
            "responses": {"200": {"description": "ok"}},
        },
    }
    definitions = {d["name"]: d for d in definitions_from_openapi(document)}
    preset = preset_from_definition(
        definitions["pauseWarehouseSource"], plugin="builtin", apis=builtin_registry
    )
    assert preset.to_inputs({"sourceId": "s", "query": {"reason": "x"}}, project_id="7") == {
        "method": "POST",
        "api": "connectors",
        "relative_url": "/projects/7/warehouse-sources/s/pause",
        "query": {"reason": "x"},
    }
    with pytest.raises(PresetInputError) as err:
        preset.to_inputs({"sourceId": "s"}, project_id="7")
    assert err.value.field == "query"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"openapi": "3.0.3"}, "OpenAPI 3.1"),
        ({"paths": {"/x": {"head": {"operationId": "h"}}}}, "not one a preset can use"),
        ({"paths": {"/x": {"get": {"responses": {}}}}}, "operationId is required"),
        (
            {
                "paths": {
                    "/x": {"get": {"operationId": "g", "parameters": [{"$ref": "https://x/p"}]}}
                }
            },
            "only local $refs",
        ),
        (
            {"paths": {"/x": {"get": {"operationId": "g", "parameters": [{"$ref": "#/nope"}]}}}},
            "points nowhere",
        ),
        (
            {
                "paths": {
                    "/x": {
                        "get": {
                            "operationId": "g",
                            "parameters": [{"name": "h", "in": "header", "schema": {}}],
                        }
                    }
                }
            },
            "header parameters are not supported",
        ),
    ],
)
def test_openapi_conversion_refuses_what_it_cannot_honour(
    change: dict[str, Any], message: str
) -> None:
    document = {"openapi": "3.1.0", "x-mp-api": "query", "paths": {}, **change}
    with pytest.raises(ValueError, match=message.replace("$", r"\$")):
        definitions_from_openapi(document)


# -- path templates ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "https://evil.example/x",
        "//evil.example/x",
        "/a/../b",
        "/a/./b",
        "/a/..",
        "relative/path",
        "",
        "/a//b",
        "/a?x=1",
        "/a#frag",
        "/a\\b",
        "/a@b",
        "/a%2e%2e/b",
        "/{a b}",
        "/{body}",
        "/{x}/{x}",
        "/{x",
        "/a b",
    ],
)
def test_unsafe_path_templates_are_refused(path: str) -> None:
    with pytest.raises(PresetDefinitionError):
        parse_path_template(path)


def test_placeholders_are_read_in_order() -> None:
    assert parse_path_template("/p/{projectId}/s/{sourceId}/runs") == ("projectId", "sourceId")
    assert parse_path_template("/") == ()


# -- rendering -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("a/b", "a%2Fb"),
        ("src 1", "src%201"),
        ("a?b#c", "a%3Fb%23c"),
        ("%2e%2e", "%252e%252e"),
        ("é", "%C3%A9"),
        ("...", "..."),
    ],
)
def test_path_values_are_one_percent_encoded_segment(
    builtins: dict[str, Preset], value: str, encoded: str
) -> None:
    inputs = builtins["getWarehouseSource"].to_inputs({"sourceId": value}, project_id="4242")
    assert inputs["relative_url"] == f"/projects/4242/warehouse-sources/{encoded}"


@pytest.mark.parametrize("value", [".", ".."])
def test_dot_segments_as_values_are_input_errors(builtins: dict[str, Preset], value: str) -> None:
    with pytest.raises(PresetInputError) as err:
        builtins["deleteWarehouseSource"].to_inputs({"sourceId": value}, project_id="1")
    assert err.value.field == "sourceId"
    assert "one path segment" in str(err.value)


def test_an_encoded_slash_reaches_the_wire_as_one_segment(builtins: dict[str, Preset]) -> None:
    inputs = builtins["getWarehouseSource"].to_inputs({"sourceId": "a/b"}, project_id="4242")
    request = runner().prepare(inputs)
    assert request.url == "http://127.0.0.1:9/api/app/projects/4242/warehouse-sources/a%2Fb"


def test_to_inputs_gives_card_inputs(builtins: dict[str, Preset]) -> None:
    body = {"name": "n", "type": "snowflake", "connectionDetails": {}}
    assert builtins["createWarehouseSource"].to_inputs({"projectId": 9, "body": body}) == {
        "method": "POST",
        "api": "connectors",
        "relative_url": "/projects/9/warehouse-sources",
        "query": None,
        "body": body,
    }
    assert builtins["triggerWarehouseRun"].to_inputs({"sourceId": "s"}, project_id="3") == {
        "method": "POST",
        "api": "connectors",
        "relative_url": "/projects/3/warehouse-sources/s/runs",
        "query": None,
    }


def test_project_id_defaults_to_the_runner_and_the_input_wins(builtins: dict[str, Preset]) -> None:
    preset = builtins["listWarehouseSources"]
    assert (
        preset.to_inputs({}, project_id="4242")["relative_url"]
        == "/projects/4242/warehouse-sources"
    )
    assert preset.to_inputs(None, project_id="4242")["relative_url"].startswith("/projects/4242/")
    given = preset.to_inputs({"projectId": 7}, project_id="4242")
    assert given["relative_url"] == "/projects/7/warehouse-sources"


def test_to_inputs_unchecked_renders_the_same_without_the_schema(
    builtins: dict[str, Preset],
) -> None:
    """A manifest checks a step with stand-ins for earlier results (a text where the schema may
    want a number): check=False skips the schema, and nothing else."""
    preset = builtins["getWarehouseSource"]
    data = {"sourceId": "s", "query": {"x": "__mp_ref_0__"}}
    checked = preset.to_inputs({"sourceId": "s"}, project_id="4242")
    assert preset.to_inputs({"sourceId": "s"}, project_id="4242", check=False) == checked
    assert preset.to_inputs(data, project_id="4242", check=False)["query"] == {"x": "__mp_ref_0__"}
    with pytest.raises(PresetInputError):
        preset.to_inputs(data, project_id="4242")  # the schema knows no query here
    # Same projectId rule: filled from project_id, a digit string as an integer, the input wins.
    for given, project_id in (({}, "4242"), ({}, 4242), ({"projectId": 7}, "4242")):
        data = {"sourceId": "s", **given}
        unchecked = preset.to_inputs(data, project_id=project_id, check=False)
        assert unchecked == preset.to_inputs(data, project_id=project_id)
    with pytest.raises(PresetInputError, match=r"sourceId: must not be '\.\.'"):
        preset.to_inputs({"sourceId": ".."}, project_id="4242", check=False)
    with pytest.raises(PresetInputError, match="bogus: is not an input of getWarehouseSource"):
        preset.to_inputs({"sourceId": "s", "bogus": 1}, project_id="4242", check=False)


def test_missing_project_id_says_how_to_give_it(builtins: dict[str, Preset]) -> None:
    with pytest.raises(PresetInputError) as err:
        builtins["listWarehouseSources"].to_inputs({})
    assert str(err.value) == "projectId: is required (give projectId or set MP_PROJECT_ID)"


@pytest.mark.parametrize(
    ("preset_input", "field", "message"),
    [
        ([], "input", "expected a JSON object of inputs, got array"),
        ({"projectId": "12", "sourceId": "s"}, "projectId", "expected an integer, got string '12'"),
        (
            {"projectId": True, "sourceId": "s"},
            "projectId",
            "expected an integer, got boolean true",
        ),
        ({"projectId": 0, "sourceId": "s"}, "projectId", "expected a number >= 1, got 0"),
        ({"projectId": 1, "sourceId": ""}, "sourceId", "must not be empty"),
        ({"projectId": 1, "sourceId": 5}, "sourceId", "expected a string, got integer 5"),
        ({"projectId": 1, "sourceid": "s"}, "sourceId", "is required (got 'sourceid': misspelt?)"),
        (
            {"projectId": 1, "sourceId": "s", "extra": 1},
            "extra",
            "is not an accepted field (accepted: projectId, sourceId)",
        ),
        (
            {"projectId": 1, "sourceId": "s", "body": {}},
            "body",
            "is not an accepted field (accepted: projectId, sourceId)",
        ),
    ],
)
def test_input_errors_name_the_json_path(
    builtins: dict[str, Preset], preset_input: Any, field: str, message: str
) -> None:
    with pytest.raises(PresetInputError) as err:
        builtins["getWarehouseSource"].to_inputs(preset_input)
    assert (err.value.field, str(err.value)) == (field, f"{field}: {message}")


def test_field_prefix_places_errors_inside_a_larger_document(builtins: dict[str, Preset]) -> None:
    with pytest.raises(PresetInputError) as err:
        builtins["createWarehouseSource"].to_inputs(
            {"body": {"name": "n", "type": "oracle", "connectionDetails": {}}},
            project_id="1",
            field_prefix="steps[2].input.",
        )
    assert err.value.field == "steps[2].input.body.type"


def test_the_validator_is_compiled_once_and_validate_is_never_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import jsonschema

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("jsonschema.validate() re-checks the schema on every call")

    monkeypatch.setattr(jsonschema, "validate", forbidden)
    compiled: list[object] = []
    real = presets_module.compile_schema
    monkeypatch.setattr(presets_module, "compile_schema", lambda s: compiled.append(s) or real(s))
    preset = Preset(
        name="getWarehouseSource",
        api="connectors",
        method="GET",
        path="/projects/{projectId}/warehouse-sources/{sourceId}",
        input_schema=next(
            p for p in builtin_presets() if p.name == "getWarehouseSource"
        ).input_schema,
    )
    compiled.clear()
    for i in range(50):
        preset.to_inputs({"sourceId": f"s{i}"}, project_id="1")
    with pytest.raises(PresetInputError):
        preset.to_inputs({"sourceId": ""}, project_id="1")
    assert len(compiled) == 1


# -- definitions from plugins ---------------------------------------------------------------------


def _definition(**overrides: Any) -> dict[str, Any]:
    definition: dict[str, Any] = {
        "name": "p",
        "api": "query",
        "method": "get",
        "path": "/2.0/events/{event}",
        "input_schema": {"type": "object", "properties": {"event": {"type": "string"}}},
    }
    definition.update(overrides)
    return definition


def test_a_definition_is_normalised() -> None:
    preset = preset_from_definition(_definition(api="Query API"), plugin="x", apis=builtin_registry)
    assert (preset.api, preset.method, preset.plugin, preset.summary) == ("query", "GET", "x", "")
    again = preset_from_definition(preset, plugin="y", apis=builtin_registry)
    assert (again.name, again.plugin) == ("p", "y")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"name": "1abc"}, "name must be"),
        ({"name": None}, "name must be"),
        ({"api": "nope"}, "unknown API 'nope'"),
        ({"method": "TRACE"}, "method must be GET, POST, PUT, PATCH or DELETE, got 'TRACE'"),
        ({"path": "https://evil.example/x"}, "must be relative"),
        ({"path": "/a/../b"}, "'..'"),
        ({"input_schema": {"type": "wat"}}, "is not valid JSON Schema"),
        ({"input_schema": []}, "must be a JSON Schema object"),
        ({"input_schema": {"type": "array"}}, '"type": "object"'),
        ({"input_schema": {"type": "object"}}, "placeholder {event} is not a property"),
        (
            {"input_schema": {"type": "object", "properties": {"event": {"$ref": "https://x/s"}}}},
            "is not local",
        ),
        ({"example": {"event": 3}}, "example does not fit"),
        ({"responses": {"200": {"type": 5}}}, "responses[200] is not valid JSON Schema"),
        ({"responses": {"ok": {}}}, "is not a status"),
        ({"summary": 3}, "summary must be a string"),
        ({"url": "/x"}, "unknown field(s) 'url'"),
        ({"input_schema": None}, "lacks input_schema"),
    ],
)
def test_unsafe_or_broken_definitions_are_refused(overrides: dict[str, Any], message: str) -> None:
    with pytest.raises(PresetDefinitionError) as err:
        preset_from_definition(_definition(**overrides), plugin="x", apis=builtin_registry)
    assert message in str(err.value)


# -- responses -----------------------------------------------------------------------------------


def test_check_response_reports_mismatches_without_raising(builtins: dict[str, Preset]) -> None:
    preset = builtins["getWarehouseSource"]
    assert preset.check_response(200, {"id": "s", "type": "bigquery"}) == []
    assert preset.check_response(404, {"status": "error"}) == []  # nothing declared for 404
    assert preset.check_response(200, {"type": "oracle", "rowCount": "x"}) == [
        "body.type: expected one of bigquery, snowflake, redshift, databricks, postgresql; "
        "got 'oracle'"
    ]
    assert preset.check_response(200, None) == ["200: expected a JSON body, got none"]
    runs = builtins["listWarehouseRuns"].check_response(200, {"results": [{"status": "done"}]})
    assert runs == [
        "body.results[0].status: expected one of running, completed, failed; got 'done'"
    ]


def test_warn_response_is_a_warning(builtins: dict[str, Preset]) -> None:
    from mp_custom_action.core.results import Result

    result = Result(status_code=200, headers={}, body={"status": "gone"})
    with pytest.warns(
        ResponseSchemaWarning, match=r"200 response of getWarehouseSource .* body\.status"
    ):
        assert builtins["getWarehouseSource"].warn_response(result)
