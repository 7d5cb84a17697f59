"""The built-in families: a preset for every operation of Mixpanel's reference, each family a plugin."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest

from mp_custom_action.core.apis import builtin_registry
from mp_custom_action.errors import PresetInputError
from mp_custom_action.presets import builtin
from mp_custom_action.presets.docs import builtin_presets
from mp_custom_action.presets.families import definitions_from_family
from mp_custom_action.presets.model import Preset
from mp_custom_action.presets.plugins import DEFAULT_PLUGINS
from mp_custom_action.presets.schemas import schema_problem

FORM = "application/x-www-form-urlencoded"

#: Mixpanel's operation ids, by family, as its reference names them (our own list of the facts).
OPERATIONS = {
    "ingestion": """import-events track-event profile-set profile-set-property-once
        profile-numerical-add user-profile-union profile-append-to-list-property
        profile-remove-from-list-property profile-delete-property profile-batch-update
        delete-profile group-set-property group-set-property-once group-delete-property
        group-remove-from-list-property group-union group-batch-update delete-group
        list-lookup-tables replace-lookup-table""",
    "identity": "create-identity identity-create-alias identity-merge",
    "query": """insights-query funnels-query funnels-list-saved retention-query
        retention-frequency-query segmentation-query segmentation-numeric-query
        segmentation-sum-query segmentation-query-average activity-stream-query cohorts-list
        engage-query list-recent-events query-top-events query-months-top-event-names
        query-event-properties query-events-top-properties query-events-top-property-values
        query-jql""",
    "export": "raw-event-export",
    "lexicon-schemas": """list-all-schemas-for-project upload-schemas-for-project
        delete-all-schemas-in-project list-schemas-for-entity delete-schemas-for-entity
        list-schemas-by-entity-and-name delete-schema-by-entity-and-name
        upload-schema-by-entity-and-name""",
    "annotations": """list-all-annotations-for-project create-annotation get-annotation
        patch-annotation delete-annotation get-annotation-tags create-annotation-tag""",
    "data-pipelines": """list-warehouse-pipeline-jobs create-warehouse-pipeline
        edit-warehouse-pipeline cancel-warehouse-pipeline pause-warehouse-pipeline
        resume-warehouse-pipeline get-warehouse-pipeline-status
        list-warehouse-pipeline-sync-dates""",
    "warehouse-connectors": """list-warehouse-imports get-warehouse-import
        update-warehouse-import delete-warehouse-import create-event-stream-import
        create-people-import create-groups-import create-lookup-table-import run-an-import
        get-import-history""",
    "service-accounts": """list-service-accounts create-service-account get-service-account
        delete-service-account list-project-service-accounts add-service-accounts-to-projects
        remove-service-accounts-from-projects""",
    "feature-flags": "get-variant-assignments get-flag-definitions",
    "gdpr": "create-retrieval get-retrieval create-deletion get-deletion delete-deletion",
}
COUNTS = {
    "ingestion": 20, "identity": 3, "query": 19, "export": 1, "lexicon-schemas": 8,
    "annotations": 7, "data-pipelines": 8, "warehouse-connectors": 10, "service-accounts": 7,
    "feature-flags": 2, "gdpr": 5,
}  # fmt: skip
#: The nine form operations and the one CSV operation; every other body is JSON.
FORMS = {
    "query-jql", "engage-query", "create-warehouse-pipeline", "edit-warehouse-pipeline",
    "cancel-warehouse-pipeline", "pause-warehouse-pipeline", "resume-warehouse-pipeline",
    "create-identity", "identity-create-alias",
}  # fmt: skip
#: Each family's API selector, and the URL it joins under in the US.
SELECTORS = {
    "ingestion": "ingestion", "identity": "ingestion", "query": "query", "export": "export",
    "lexicon-schemas": "lexicon", "annotations": "connectors", "data-pipelines": "pipelines",
    "warehouse-connectors": "connectors", "service-accounts": "connectors",
    "feature-flags": "ingestion", "gdpr": "connectors",
}  # fmt: skip


@pytest.fixture(scope="module")
def families() -> dict[str, list[Preset]]:
    out: dict[str, list[Preset]] = {}
    for preset in builtin_presets():
        if preset.plugin.startswith("builtin."):
            out.setdefault(preset.plugin.removeprefix("builtin."), []).append(preset)
    return out


def every(families: dict[str, list[Preset]]) -> list[Preset]:
    return [p for group in families.values() for p in group]


def test_ninety_operations_in_eleven_families(families: dict[str, list[Preset]]) -> None:
    assert sum(COUNTS.values()) == 90
    assert {name: len(group) for name, group in families.items()} == COUNTS
    for family, names in OPERATIONS.items():
        assert sorted(p.name for p in families[family]) == sorted(names.split()), family
    everything = [p.name for p in builtin_presets()]
    assert len(everything) == len(set(everything)) == 98  # the seed's eight beside them


def test_each_family_is_a_plugin_loaded_like_an_entry_point() -> None:
    for family in builtin.FAMILIES:
        target = DEFAULT_PLUGINS[f"builtin.{family.name}"]
        module, _, attribute = target.partition(":")
        assert module == builtin.__name__
        assert getattr(builtin, attribute) is family
    assert DEFAULT_PLUGINS["builtin"] == builtin.__name__  # the seed's model
    shipped = {name for name, _ in builtin.family_documents()}
    assert shipped == {family.file_name for family in builtin.FAMILIES}
    assert [f.name for f in builtin.FAMILIES] == list(COUNTS)


def test_every_family_uses_its_selector(families: dict[str, list[Preset]]) -> None:
    for family, group in families.items():
        assert {p.api for p in group} == {SELECTORS[family]}, family
        assert builtin_registry.get(SELECTORS[family]).name == SELECTORS[family]


def test_every_schema_is_valid_closed_and_self_contained(
    families: dict[str, list[Preset]],
) -> None:
    for preset in every(families):
        schema = preset.input_schema
        # Loading skips the metaschema for what we ship: this is where it is checked.
        assert schema_problem(schema, metaschema=True) is None, preset.name
        assert "$ref" not in json.dumps(schema), preset.name
        assert schema["additionalProperties"] is False, preset.name
        for param in preset.path_params:
            assert param in schema["required"], (preset.name, param)
        query = schema["properties"].get("query")
        if query is not None:
            assert query["additionalProperties"] is False, preset.name
            # The connector adds project_id (query or form) from MP_PROJECT_ID.
            assert "project_id" not in query["properties"], preset.name


def test_every_preset_has_a_summary_and_an_example_its_schema_takes(
    families: dict[str, list[Preset]],
) -> None:
    for preset in every(families):
        assert preset.summary, preset.name
        assert preset.example is not None, preset.name
        inputs = preset.to_inputs(preset.example, project_id="4242")
        assert inputs["method"] == preset.method


def test_media_types(families: dict[str, list[Preset]]) -> None:
    seen: Counter[str] = Counter()
    for preset in every(families):
        has_body = "body" in preset.input_schema["properties"]
        if preset.name in FORMS:
            expected = FORM
        elif preset.name == "replace-lookup-table":
            expected = "text/csv"
        else:
            expected = "application/json" if has_body else ""
        assert preset.media_type == expected, preset.name
        seen[expected] += 1
    assert seen[FORM] == 9
    assert seen["text/csv"] == 1


def test_a_form_or_csv_preset_names_its_media_type_in_the_card_headers(
    families: dict[str, list[Preset]],
) -> None:
    by_name = {p.name: p for p in every(families)}
    identity = by_name["create-identity"].to_inputs(by_name["create-identity"].example)
    assert identity["relative_url"] == "/track"
    assert identity["headers"] == {"Content-Type": FORM}
    csv = by_name["replace-lookup-table"]
    assert csv.to_inputs(csv.example)["headers"] == {"Content-Type": "text/csv"}
    jql = by_name["query-jql"].to_inputs(by_name["query-jql"].example)
    assert jql["headers"] == {"Content-Type": FORM}
    assert "headers" not in by_name["profile-set"].to_inputs(by_name["profile-set"].example)
    # No body, no Content-Type: engage-query pages through profiles without a filter.
    assert "headers" not in by_name["engage-query"].to_inputs({})


CASES: list[tuple[str, dict[str, Any], str, str]] = [
    ("query-jql", {"body": {"params": {}}}, "body.script", "is required"),
    (
        "segmentation-query",
        {"query": {"event": "e", "from_date": "2024-01-01", "to_date": "2024-01-02", "type": "x"}},
        "query.type",
        "expected one of general, unique, average",
    ),
    ("raw-event-export", {"query": {"from_date": "2024-01-01"}}, "query.to_date", "is required"),
    (
        "raw-event-export",
        {"query": {"from_date": "2024-02-30", "to_date": "2024-03-01"}},
        "query.from_date",
        "is not a 'date'",
    ),
    ("update-warehouse-import", {"importId": 1, "body": {"paused": True}}, "body.run_every", ""),
    (
        "update-warehouse-import",
        {"importId": 1, "body": {"paused": True, "run_every": 60}},
        "body.run_every",
        "expected one of 0, 3600000000000",
    ),
    ("get-warehouse-import", {"importId": "abc"}, "importId", "expected an integer"),
    ("list-schemas-for-entity", {"entityType": "group"}, "entityType", "expected one of event"),
    ("create-service-account", {"organizationId": 1, "body": {}}, "body.username", "required"),
    ("replace-lookup-table", {"id": "not-a-uuid", "body": "a,b\n"}, "id", "is not a 'uuid'"),
    (
        "create-warehouse-pipeline",
        {"body": {"type": "bigquery", "from_date": "2024-01-01"}},
        "body",
        "",
    ),
    ("profile-set", {"body": [{"$set": {"a": 1}}]}, "body[0].$distinct_id", "is required"),
    ("get-variant-assignments", {}, "query", "is required"),
    ("import-events", {"body": []}, "body", ""),
]


@pytest.mark.parametrize(("name", "preset_input", "where", "says"), CASES)
def test_bad_input_names_the_field(
    families: dict[str, list[Preset]], name: str, preset_input: Any, where: str, says: str
) -> None:
    preset = {p.name: p for p in every(families)}[name]
    with pytest.raises(PresetInputError) as caught:
        preset.to_inputs(preset_input, project_id="4242")
    assert caught.value.field == where
    assert says in str(caught.value)


def test_the_seed_source_id_refuses_the_published_imports_path() -> None:
    seed = {p.name: p for p in builtin_presets() if p.plugin == "builtin"}
    for name, extra in (
        ("getWarehouseSource", {}),
        ("updateWarehouseSource", {"body": {"schedule": "hourly"}}),
        ("deleteWarehouseSource", {}),
        ("listWarehouseRuns", {}),
    ):
        with pytest.raises(PresetInputError) as caught:
            seed[name].to_inputs({"sourceId": "imports", **extra}, project_id="1")
        assert caught.value.field == "sourceId"
        assert "list-warehouse-imports" in str(caught.value)
    # Any other id is a source, and 'imports' itself is the published collection.
    assert seed["getWarehouseSource"].to_inputs({"sourceId": "imports2"}, project_id="1")
    published = {p.name: p for p in builtin_presets()}["list-warehouse-imports"]
    assert published.to_inputs({}, project_id="1")["relative_url"] == (
        "/projects/1/warehouse-sources/imports"
    )


# -- the family file format ----------------------------------------------------------------------


def family(**preset: Any) -> dict[str, Any]:
    entry = {"name": "p", "method": "GET", "path": "/x", **preset}
    return {"family": "f", "api": "query", "presets": [entry]}


def test_a_family_file_becomes_plugin_definitions() -> None:
    [definition] = definitions_from_family(
        {
            **family(
                path="/p/{id}",
                path_params={"id": {"$ref": "#/shared/id"}},
                query={"a": {"type": "string"}},
                required_query=["a"],
                body={"type": "object"},
                body_required=False,
                example={"id": 1, "query": {"a": "x"}},
            ),
            "shared": {"id": {"type": "integer"}},
        }
    )
    assert definition["api"] == "query"
    assert definition["media_type"] == "application/json"
    schema = definition["input_schema"]
    assert schema["required"] == ["id", "query"]
    assert schema["properties"]["id"] == {"type": "integer"}
    assert schema["properties"]["query"]["required"] == ["a"]
    assert schema["properties"]["query"]["additionalProperties"] is False


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (family(bodyy={}), "preset 'p': unknown key(s) ['bodyy']"),
        (family(query={"a": {}}, required_query=["b"]), "required_query names ['b']"),
        ({"family": "f", "presets": []}, "lists its presets"),
        ({**family(), "extra": 1}, "family 'f': unknown key(s) ['extra']"),
    ],
)
def test_a_family_file_that_the_format_lacks_is_refused(
    document: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=r".*") as caught:
        definitions_from_family(document)
    assert message in str(caught.value)
