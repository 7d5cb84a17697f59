"""The fast schema check says "valid" exactly when jsonschema does, on every schema it compiles."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator
from jsonschema.validators import validator_for

from mp_custom_action.manifests.load import manifest_schema
from mp_custom_action.presets.plugins import preset_registry
from mp_custom_action.presets.quickcheck import compile_check

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 300)
    | st.floats(-5, 300, allow_nan=False)
    | st.sampled_from([1.0, 0.0, 12345.0])
    | st.text(max_size=6)
    | st.sampled_from(
        [
            "hourly",
            "daily",
            "event",
            "GET",
            "query",
            "${steps.a.body}",
            "2xx",
            "2024-01-01",
            "2024-13-01",
        ]
    ),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(["name", "type", "body", "a", "schedule", "tables", "tableName"])
            | st.text(max_size=4),
            inner,
            max_size=4,
        )
    ),
    max_leaves=12,
)


def exact(schema: Any) -> Any:
    cls = validator_for(schema, default=Draft202012Validator)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def mutations(value: Any, draw: Any) -> Any:
    """``value`` with one part replaced, removed or added, so most draws are near-valid."""
    value = copy.deepcopy(value)
    if isinstance(value, dict) and value:
        key = draw(st.sampled_from(sorted(value, key=str)))
        how = draw(st.sampled_from(["replace", "drop", "add", "deeper"]))
        if how == "replace":
            value[key] = draw(json_values)
        elif how == "drop":
            del value[key]
        elif how == "add":
            value[draw(st.text(max_size=5))] = draw(json_values)
        else:
            value[key] = mutations(value[key], draw)
    elif isinstance(value, list) and value:
        i = draw(st.integers(0, len(value) - 1))
        value[i] = mutations(value[i], draw) if draw(st.booleans()) else draw(json_values)
    elif draw(st.booleans()):
        return draw(json_values)
    return value


_LOADED = list(preset_registry())
PRESETS = [(p.name, dict(p.input_schema), p.example) for p in _LOADED]
_FAMILY_NAMES = {p.name for p in _LOADED if p.plugin.startswith("builtin.")}


def test_every_builtin_preset_schema_and_the_manifest_schema_compile() -> None:
    for name, schema, _ in PRESETS:
        assert compile_check(schema) is not None, name
    assert compile_check(manifest_schema()) is not None


SEED = [p for p in PRESETS if p[0] not in _FAMILY_NAMES]  # the seed's, and plugins'
FAMILIES = [p for p in PRESETS if p[0] in _FAMILY_NAMES]


@pytest.mark.parametrize(("name", "schema", "example"), SEED, ids=[p[0] for p in SEED])
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_preset_inputs(name: str, schema: Any, example: Any, data: st.DataObject) -> None:
    _agree(name, schema, example, data)


# The ninety family presets share their shapes (shared fields, one builder): fewer draws each.
@pytest.mark.parametrize(("name", "schema", "example"), FAMILIES, ids=[p[0] for p in FAMILIES])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_family_preset_inputs(name: str, schema: Any, example: Any, data: st.DataObject) -> None:
    _agree(name, schema, example, data)


def _agree(name: str, schema: Any, example: Any, data: st.DataObject) -> None:
    check, validator = _compiled(name, schema)
    instance = mutations(example, data.draw) if data.draw(st.booleans()) else data.draw(json_values)
    assert check(instance) == validator.is_valid(instance), json.dumps(instance)
    assert check(example) and validator.is_valid(example)


_COMPILED: dict[str, tuple[Any, Any]] = {}


def _compiled(name: str, schema: Any) -> tuple[Any, Any]:
    """Both checks of one preset's schema, built once for all of its examples (98 presets)."""
    if name not in _COMPILED:
        check = compile_check(schema)
        assert check is not None
        _COMPILED[name] = (check, exact(schema))
    return _COMPILED[name]


def examples() -> list[Any]:
    from mp_custom_action.manifests.load import Path

    folder = Path(__file__).resolve().parents[2] / "manifests" / "examples"
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_manifests(data: st.DataObject) -> None:
    schema = manifest_schema()
    check = compile_check(schema)
    assert check is not None
    base = data.draw(st.sampled_from(examples()))
    instance = base
    for _ in range(data.draw(st.integers(0, 3))):
        instance = mutations(instance, data.draw)
    assert check(instance) == Draft202012Validator(schema).is_valid(instance)


leaf_schemas = st.sampled_from(
    [
        True,
        False,
        {},
        {"type": "string"},
        {"type": ["string", "null"]},
        {"type": "integer", "minimum": 1},
        {"type": "number", "exclusiveMaximum": 10},
        {"minimum": 0, "maximum": 5},
        {"enum": ["hourly", "daily"]},
        {"enum": [1, 2.5]},
        {"const": 1},
        {"const": "2xx"},
        {"type": "string", "minLength": 1, "maxLength": 3},
        {"pattern": "^[a-z]+$"},
        {"type": "boolean"},
        {"type": "null"},
        {"type": "string", "format": "date"},
        {"format": "uuid"},
        {"minProperties": 1, "maxProperties": 2},
        {"type": "string", "contentMediaType": "text/csv"},
    ]
)


def schemas() -> Any:
    return st.recursive(
        leaf_schemas,
        lambda inner: (
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from(["object", "array"]),
                    "properties": st.dictionaries(st.sampled_from(["a", "b", "name"]), inner),
                    "required": st.lists(st.sampled_from(["a", "b", "name"]), unique=True),
                    "additionalProperties": inner,
                    "items": inner,
                    "minItems": st.integers(0, 2),
                    "maxItems": st.integers(0, 3),
                },
            )
            | st.builds(lambda xs: {"anyOf": xs}, st.lists(inner, min_size=1, max_size=3))
            | st.builds(lambda xs: {"oneOf": xs}, st.lists(inner, min_size=1, max_size=3))
            | st.builds(lambda xs: {"allOf": xs}, st.lists(inner, min_size=1, max_size=3))
            | st.builds(lambda x: {"not": x}, inner)
        ),
        max_leaves=6,
    )


def with_refs(schema: Any) -> Any:
    return {"$defs": {"d": schema}, "$ref": "#/$defs/d", "type": ["object", "array", "string"]}


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=schemas() | schemas().map(with_refs), instance=json_values)
def test_random_schemas(schema: Any, instance: Any) -> None:
    check = compile_check(schema)
    if check is None:
        # Only "not"/"oneOf" over keywords whose checks are not exact fall back to jsonschema.
        text = json.dumps(schema)
        assert '"not"' in text or '"oneOf"' in text
        return
    assert check(instance) == exact(schema).is_valid(instance)


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"not": {"enum": [1]}}, "int-enum"),
        ({"oneOf": [{"enum": [1]}, {"type": "integer"}]}, "int-enum"),
        ({"not": {"minimum": 1}}, float("nan")),
        ({"not": {"maximum": 1}}, float("nan")),
        ({"oneOf": [{"minimum": 5}, {"maximum": 1}]}, float("nan")),
    ],
)
def test_negation_never_makes_the_fast_path_looser(schema: Any, instance: Any) -> None:
    import enum

    class Level(enum.IntEnum):
        ONE = 1

    value = Level.ONE if instance == "int-enum" else instance
    check = compile_check(schema)
    if check is not None and check(value):
        assert exact(schema).is_valid(value), "the fast path said valid where jsonschema does not"


@pytest.mark.parametrize(
    "schema",
    [
        {"patternProperties": {"^a": {}}},
        {"$ref": "https://example.com/s.json"},
        {"$schema": "http://json-schema.org/draft-04/schema#", "type": "integer"},
        {"enum": [True, 1]},
        {"uniqueItems": True},
        {"items": [{"type": "string"}]},
        {"properties": {"a": {"$id": "x", "type": "string"}}},
        {"unknownKeyword": 1},
    ],
)
def test_what_is_not_covered_is_left_to_jsonschema(schema: Any) -> None:
    assert compile_check(schema) is None


def test_a_recursive_schema() -> None:
    schema = {"type": "object", "properties": {"child": {"$ref": "#"}}, "required": ["n"]}
    check = compile_check(schema)
    assert check is not None
    assert check({"n": 1, "child": {"n": 2, "child": {"n": 3}}})
    assert not check({"n": 1, "child": {"child": {"n": 3}}})
