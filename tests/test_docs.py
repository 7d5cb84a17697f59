"""The docs and the README say what the code does: tables and commands are checked against it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mp_custom_action.core.apis import BUILTIN_APIS
from mp_custom_action.errors import ExitStatus

ROOT = Path(__file__).resolve().parent.parent


def test_readme_opens_with_the_install_and_run_command_and_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    assert block is not None and readme.index("```sh") < 40, "the two commands come first"
    first, second = block.group(1).strip().splitlines()
    assert "pip install" in first and "mp-custom-action" in first
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = re.search(r"^TEST_COMMAND='(.*)'$", ci, re.M)
    assert test_command is not None
    assert second == test_command.group(1), "README's test command and .ci/run's must be the same"


def _table_rows(text: str, heading: str) -> list[list[str]]:
    section = text.split(heading, 1)[1]
    rows = []
    for line in section.splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([cell.strip().strip("`") for cell in line.strip("|").split("|")])
        elif rows and not line.startswith("|"):
            break
    return rows[1:]


def test_api_region_table_matches_the_registry() -> None:
    rows = _table_rows(
        (ROOT / "docs" / "apis.md").read_text(), "## Base URL for every API and region"
    )
    documented = {row[0]: {"us": row[1], "eu": row[2], "in": row[3]} for row in rows}
    assert documented == {spec.name: dict(spec.base_urls) for spec in BUILTIN_APIS}


def test_exit_codes_table_matches_the_enum_and_help() -> None:
    rows = _table_rows((ROOT / "docs" / "errors.md").read_text(), "## Exit codes")
    assert sorted(int(row[0]) for row in rows) == sorted(int(s) for s in ExitStatus)
    from mp_custom_action.cli import EXIT_CODES_HELP

    for status in ExitStatus:
        assert re.search(rf"^\s*{int(status)}\s", EXIT_CODES_HELP, re.M), (
            f"--help lacks exit {int(status)}"
        )


def test_error_tree_in_docs_matches_the_module_docstring() -> None:
    from mp_custom_action import errors

    doc_tree = re.search(r"```\n(MpError.*?)```", (ROOT / "docs" / "errors.md").read_text(), re.S)
    assert doc_tree is not None

    def lines(text: str) -> list[str]:
        return [line.strip() for line in text.strip().splitlines()]

    documented = lines(doc_tree.group(1))
    in_module = lines(errors.__doc__ or "")
    start = in_module.index(documented[0])
    assert in_module[start : start + len(documented)] == documented
    for name in re.findall(r"── (\w+)", doc_tree.group(1)):
        assert hasattr(errors, name), name


@pytest.mark.parametrize("page", ["inputs.md", "apis.md", "errors.md", "python.md"])
def test_doc_pages_exist_and_are_linked_from_the_readme(page: str) -> None:
    assert (ROOT / "docs" / page).is_file()
    assert f"docs/{page}" in (ROOT / "README.md").read_text()


def test_changelog_keeps_an_unreleased_section() -> None:
    assert "## [Unreleased]" in (ROOT / "CHANGELOG.md").read_text()


def _resolves(dotted: str) -> bool:
    import importlib
    import importlib.util

    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            value: object = importlib.import_module(".".join(parts[:cut]))
        except ModuleNotFoundError as exc:
            # A module that needs an optional extra (Airflow) exists without the extra installed.
            outside = exc.name is not None and not exc.name.startswith("mp_custom_action")
            if outside and cut == len(parts):
                return importlib.util.find_spec(dotted) is not None
            continue
        except ImportError:
            continue
        for attr in parts[cut:]:
            if not hasattr(value, attr):
                return False
            value = getattr(value, attr)
        return True
    return False


def test_every_import_path_in_the_docs_is_true() -> None:
    pages = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
    found = {
        (page.name, match)
        for page in pages
        for match in re.findall(
            r"\bmp_custom_action(?:\.[A-Za-z_][A-Za-z0-9_]*)+", page.read_text()
        )
    }
    assert found  # the pattern finds the paths
    wrong = sorted((page, path) for page, path in found if not _resolves(path))
    assert wrong == []
