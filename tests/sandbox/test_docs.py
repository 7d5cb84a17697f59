"""docs/sandbox.md says what the sandbox does: credentials, options, paths, and a snippet that runs."""

from __future__ import annotations

import inspect
import json
import re
from pathlib import Path

from mp_custom_action.cli import build_parser
from mp_custom_action.sandbox import DEMO_CREDENTIALS, Sandbox
from mp_custom_action.sandbox.app import _ROUTES

DOC = (Path(__file__).resolve().parents[2] / "docs" / "sandbox.md").read_text()


def _section(heading: str) -> str:
    return DOC.split(heading, 1)[1].split("\n## ", 1)[0]


def _rows(heading: str) -> list[list[str]]:
    rows = [
        [cell.strip() for cell in line.strip().strip("|").split("|")]
        for line in _section(heading).splitlines()
        if line.startswith("|") and not line.startswith("|---")
    ]
    return rows[1:]


def test_the_demo_credentials_table_is_the_code() -> None:
    table = {row[0]: row[1].strip("`") for row in _rows("## Demo credentials")}
    assert table == {
        "project id": str(DEMO_CREDENTIALS["project_id"]),
        "service account username": DEMO_CREDENTIALS["username"],
        "service account secret": DEMO_CREDENTIALS["secret"],
        "project API secret": DEMO_CREDENTIALS["api_secret"],
        "project token": DEMO_CREDENTIALS["token"],
    }


def test_the_printed_line_example_has_the_real_keys() -> None:
    line = re.search(r"```json\n(.*?)\n```", DOC, re.S)
    assert line is not None
    example = json.loads(line.group(1))
    with Sandbox() as sb:
        info = sb.info()
    assert list(example) == list(info)
    assert {k: v for k, v in example.items() if k != "origin"} == dict(DEMO_CREDENTIALS)


def test_every_option_is_documented_with_its_python_argument() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    sandbox = subparsers.choices["sandbox"]
    options = {
        o
        for a in sandbox._actions
        for o in a.option_strings
        if o.startswith("--") and o != "--help"
    }
    rows = _rows("## Options")
    documented = {row[0].strip("`").split()[0] for row in rows}
    assert documented == options
    parameters = inspect.signature(Sandbox).parameters
    for row in rows:
        assert row[1].strip("`") in parameters
    for name in re.findall(r"`(\w+)`", _section("## Options").split("Python only:", 1)[1]):
        if name not in ("time",):
            assert name in parameters, name


def test_every_routed_path_is_documented() -> None:
    paths = _section("## Paths")
    for prefix, _handler, _style in _ROUTES:
        if prefix in ("/api/app", "/api"):
            continue  # documented by their full paths
        assert f"`{prefix}" in paths or f"`GET {prefix}" in paths or f"`PUT {prefix}" in paths, (
            prefix
        )


def test_the_fault_injection_snippet_runs() -> None:
    block = re.search(r"```python\n(.*?)```", _section("## Fault injection"), re.S)
    assert block is not None
    exec(compile(block.group(1), "docs/sandbox.md", "exec"), {})  # noqa: S102 (our own docs)
