"""openapi: an OpenAPI 3.1 document becomes preset definitions (path values, body, query)."""

from __future__ import annotations

from typing import Any

import pytest

from mp_custom_action.core.apis import builtin_registry
from mp_custom_action.presets.definitions import preset_from_definition
from mp_custom_action.presets.openapi import SCHEMA_DIALECT, definitions_from_openapi


def document(operation: dict[str, Any], **path_item: Any) -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "x-mp-api": "connectors",
        "paths": {"/projects/{projectId}/things": {**path_item, "post": operation}},
    }


PROJECT = {"name": "projectId", "in": "path", "required": True, "schema": {"type": "integer"},
           "example": 7}  # fmt: skip


def test_path_values_then_body_then_query_in_the_input_schema() -> None:
    [definition] = definitions_from_openapi(
        document(
            {
                "operationId": "createThing",
                "parameters": [
                    {"name": "dryRun", "in": "query", "required": True,
                     "schema": {"type": "boolean"}, "example": True},
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"type": "object"},
                                                     "example": {"a": 1}}},
                },
                "responses": {"201": {"content": {"application/json": {"schema": {"type": "object"}}}}},
            },
            parameters=[PROJECT],
        )
    )  # fmt: skip
    schema = definition["input_schema"]
    assert list(schema["properties"]) == ["projectId", "body", "query"]
    assert schema["required"] == ["projectId", "body", "query"]
    assert schema["properties"]["query"]["required"] == ["dryRun"]
    assert definition["example"] == {"projectId": 7, "body": {"a": 1}, "query": {"dryRun": True}}
    assert definition["responses"] == {"201": {"$schema": SCHEMA_DIALECT, "type": "object"}}
    assert (definition["method"], definition["api"]) == ("POST", "connectors")
    preset = preset_from_definition(definition, plugin="test", apis=builtin_registry)
    assert preset.to_inputs(definition["example"])["relative_url"] == "/projects/7/things"


def test_an_example_lacking_a_required_part_is_left_out() -> None:
    [definition] = definitions_from_openapi(
        document(
            {"operationId": "createThing",
             "requestBody": {"required": True,
                             "content": {"application/json": {"schema": {"type": "object"}}}}},
            parameters=[PROJECT],
        )
    )  # fmt: skip
    assert "example" not in definition


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        ({}, "operationId is required"),
        ({"operationId": "x", "parameters": [{"name": "h", "in": "header"}]},
         "header parameters are not supported"),
        ({"operationId": "x", "requestBody": {"content": {"text/csv": {}}}},
         "only application/json request bodies"),
    ],
)  # fmt: skip
def test_what_the_converter_does_not_handle_is_refused(
    operation: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        definitions_from_openapi(document(operation))


def test_only_openapi_31() -> None:
    with pytest.raises(ValueError, match=r"OpenAPI 3\.1"):
        definitions_from_openapi({"openapi": "3.0.3", "paths": {}})
