"""The typed Python surface of the built-in presets stays in step with actions/ and catches typos."""

from __future__ import annotations

import re
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, get_args, get_type_hints

import pytest

import mp_custom_action
from mp_custom_action.presets import warehouse as connectors
from mp_custom_action.presets.builtin import action_documents
from mp_custom_action.presets.docs import builtin_presets as every_builtin_preset
from mp_custom_action.presets.model import Preset


def components() -> dict[str, Any]:
    [(_, document)] = action_documents()
    schemas: dict[str, Any] = document["components"]["schemas"]
    return schemas


def resolve(schema: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in schema:
        return {
            **components()[schema["$ref"].rsplit("/", 1)[1]],
            **{k: v for k, v in schema.items() if k != "$ref"},
        }
    return schema


def literal_values(annotation: Any) -> list[Any]:
    return list(get_args(annotation))


@pytest.mark.parametrize(
    "name",
    [
        "WarehouseSource",
        "WarehouseTable",
        "WarehouseRun",
        "WarehouseSourceList",
        "WarehouseTableList",
        "WarehouseRunList",
        "CreateWarehouseSourceRequest",
        "UpdateWarehouseSourceRequest",
        "TableConfig",
    ],
)
def test_typed_dicts_mirror_the_schemas(name: str) -> None:
    typed = getattr(connectors, name)
    schema = components()[name]
    hints = get_type_hints(typed)
    assert set(hints) == set(schema["properties"])
    assert set(typed.__required_keys__) == set(schema.get("required", []))
    for field, sub in schema["properties"].items():
        sub = resolve(sub)
        if "enum" in sub:
            assert literal_values(hints[field]) == sub["enum"], f"{name}.{field}"


def builtin_presets() -> list[Preset]:
    """The seed's presets (plugin "builtin"), which the typed client mirrors."""
    return [p for p in every_builtin_preset() if p.plugin == "builtin"]


def test_preset_inputs_are_typed() -> None:
    for preset in builtin_presets():
        typed = getattr(connectors, f"{preset.name[0].upper()}{preset.name[1:]}Input")
        schema = preset.input_schema
        assert set(get_type_hints(typed)) == set(schema["properties"]), preset.name
        # projectId is optional in Python: it defaults to MP_PROJECT_ID.
        assert set(typed.__required_keys__) == set(schema["required"]) - {"projectId"}


def test_the_client_has_one_method_per_builtin_preset() -> None:
    methods = {
        name for name in vars(connectors.WarehouseConnectors) if not name.startswith("_")
    } - {"preset"}
    snake = {re.sub(r"(?<!^)(?=[A-Z])", "_", p.name).lower() for p in builtin_presets()}
    assert methods == snake


def test_public_names() -> None:
    for name in connectors.__all__:
        assert hasattr(connectors, name)


def test_a_type_checker_catches_misspelt_fields(tmp_path: Path) -> None:
    pytest.importorskip("mypy")
    snippet = tmp_path / "snippet.py"
    snippet.write_text(
        textwrap.dedent(
            """\
            from mp_custom_action.presets.warehouse import (
                CreateWarehouseSourceRequest, GetWarehouseSourceInput, TableConfig, WarehouseSource,
            )

            ok: CreateWarehouseSourceRequest = {"name": "n", "type": "bigquery", "connectionDetails": {}}
            typo: CreateWarehouseSourceRequest = {"name": "n", "type": "bigquery", "connectionDetail": {}}
            kind: CreateWarehouseSourceRequest = {"name": "n", "type": "oracle", "connectionDetails": {}}
            table: TableConfig = {"tableName": "t", "importType": "events"}
            source_input: GetWarehouseSourceInput = {"sourceID": "s"}

            def status(source: WarehouseSource) -> object:
                return source["stauts"]
            """
        ),
        encoding="utf-8",
    )
    # An installed package (py.typed, in site-packages) is found by mypy on its own, and mypy
    # refuses site-packages on MYPYPATH; a checkout on sys.path needs MYPYPATH to be seen.
    package_parent = Path(mp_custom_action.__file__).resolve().parent.parent
    env = {"PATH": "/usr/bin:/bin"}
    if package_parent.name != "site-packages":
        env["MYPYPATH"] = str(package_parent)
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "--follow-imports=silent",
         "--cache-dir", str(tmp_path / ".mypy_cache"), str(snippet)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path, env=env,
    )  # fmt: skip
    assert "error" in done.stdout, done.stdout + done.stderr
    errors = {
        (int(m.group(1)), m.group(2))
        for m in re.finditer(r"snippet\.py:(\d+): error: .*\[([\w-]+)\]", done.stdout)
    }
    assert errors == {
        (6, "typeddict-unknown-key"),
        (6, "typeddict-item"),  # connectionDetails missing
        (7, "typeddict-item"),  # 'oracle' is not a warehouse type
        (8, "typeddict-item"),  # 'events' is not an import type
        (9, "typeddict-unknown-key"),
        (9, "typeddict-item"),  # sourceId missing
        (12, "typeddict-item"),  # no key "stauts"
    }, done.stdout
