"""The manifest schema and examples ship in the wheel, and both an installed copy and a plain
checkout find the schema."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, mp_custom_action.manifests.load as m; "
    "s = m.manifest_schema(); print(json.dumps([m.__file__, s['title']]))"
)


def _probe(path: Path) -> list[str]:
    # -S: no site-packages, so the editable install of this checkout cannot answer instead.
    proc = subprocess.run(
        [sys.executable, "-S", "-c", PROBE],
        env={"PYTHONPATH": str(path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
        cwd=path,
    )
    assert proc.returncode == 0, proc.stderr
    result: list[str] = json.loads(proc.stdout)
    return result


def test_pyproject_ships_the_schema_and_examples_as_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    setuptools = config["tool"]["setuptools"]
    assert "mp_custom_action._manifests" in setuptools["packages"]
    assert setuptools["package-dir"]["mp_custom_action._manifests"] == "manifests"
    globs = setuptools["package-data"]["mp_custom_action._manifests"]
    shipped = {
        p.relative_to(ROOT / "manifests") for g in globs for p in (ROOT / "manifests").glob(g)
    }
    assert Path("manifest.schema.json") in shipped
    for example in (ROOT / "manifests" / "examples").iterdir():
        assert example.relative_to(ROOT / "manifests") in shipped, example


def test_an_installed_copy_finds_the_schema_in_its_data_package(tmp_path: Path) -> None:
    # The wheel's layout: manifests/ becomes mp_custom_action/_manifests/.
    site = tmp_path / "site"
    shutil.copytree(ROOT / "mp_custom_action", site / "mp_custom_action")
    shutil.copytree(ROOT / "manifests", site / "mp_custom_action" / "_manifests")
    file, title = _probe(site)
    assert file.startswith(str(site))
    assert title == "mp-custom-action manifest"


def test_a_plain_checkout_finds_the_schema_beside_the_package(tmp_path: Path) -> None:
    shutil.copytree(ROOT / "mp_custom_action", tmp_path / "mp_custom_action")
    shutil.copytree(ROOT / "manifests", tmp_path / "manifests")
    file, title = _probe(tmp_path)
    assert file.startswith(str(tmp_path))
    assert title == "mp-custom-action manifest"


def test_the_schema_is_valid_json_schema_2020_12() -> None:
    from jsonschema import Draft202012Validator

    from mp_custom_action.manifests.load import manifest_schema

    schema = manifest_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


@pytest.mark.parametrize("example", sorted((ROOT / "manifests" / "examples").glob("*.json")))
def test_every_example_validates_against_the_schema(example: Path) -> None:
    from jsonschema import Draft202012Validator

    from mp_custom_action.manifests.load import manifest_schema

    Draft202012Validator(manifest_schema()).validate(json.loads(example.read_text()))
