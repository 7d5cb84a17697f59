"""The example third-party plugin in docs/examples is installed, listed and run, in a fresh process.

Installing means what pip leaves behind: the module on the path, and a ``*.dist-info`` folder
whose ``entry_points.txt`` holds the ``mp_custom_action`` group read from the plugin's own
``pyproject.toml``. That is written directly rather than by pip: building a wheel offline needs
the ``wheel`` package (or setuptools >= 70.1), which a test environment may lack, and pip is slow.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from presets_support import PROJECT_ID, SECRET, USERNAME, RecordingServer

import mp_custom_action
from mp_custom_action.presets.docs import builtin_presets

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.9/3.10
    import tomli as tomllib

PACKAGE_ROOT = Path(mp_custom_action.__file__).resolve().parent.parent
EXAMPLE = (
    Path(__file__).resolve().parents[2] / "docs" / "examples" / "mp-custom-action-example-plugin"
)


def install_metadata(target: Path) -> None:
    """Install the example into ``target`` as pip would: its module and its dist-info."""
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))
    meta = project["project"]
    for module in project["tool"]["setuptools"]["py-modules"]:
        shutil.copy(EXAMPLE / f"{module}.py", target / f"{module}.py")
    dist = target / f"{meta['name'].replace('-', '_')}-{meta['version']}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {meta['name']}\nVersion: {meta['version']}\n",
        encoding="utf-8",
    )
    lines = []
    for group, entries in meta["entry-points"].items():
        lines.append(f"[{group}]")
        lines += [f"{name} = {value}" for name, value in entries.items()]
    (dist / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


def cli(site: Path, tmp_path: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        # The plugin's site first, then the mp_custom_action this test run imports.
        "PYTHONPATH": os.pathsep.join([str(site), str(PACKAGE_ROOT)]),
        "HOME": str(tmp_path),
        "MP_CONFIG": str(tmp_path / "no-config.toml"),
        "MP_USERNAME": USERNAME,
        "MP_SECRET": SECRET,
        "MP_PROJECT_ID": str(PROJECT_ID),
    }
    return subprocess.run(
        [sys.executable, "-m", "mp_custom_action", *argv],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )


def check_installed_example(site: Path, tmp_path: Path, server: RecordingServer) -> None:
    listed = cli(site, tmp_path, "presets", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert listed.stderr == ""
    rows: list[dict[str, Any]] = json.loads(listed.stdout)
    assert {"name": "listAnnotations", "api": "annotations", "method": "GET",
            "path": "/{projectId}/annotations", "summary": "List the annotations of a project",
            "plugin": "example"} in rows  # fmt: skip
    assert len(rows) == 1 + len(builtin_presets())

    shown = json.loads(cli(site, tmp_path, "presets", "show", "listAnnotations").stdout)
    assert shown["example"] == {
        "projectId": 12345,
        "query": {"fromDate": "2024-01-01", "toDate": "2024-01-31"},
    }

    ran = cli(
        site, tmp_path, "preset", "listAnnotations", "--input",
        '{"query": {"fromDate": "2024-02-01"}}', "--origin", server.origin,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout)["status_code"] == 404  # the canned server has no such route
    [request] = server.requests
    assert request.method == "GET"
    assert request.target == f"/api/app/projects/{PROJECT_ID}/annotations?fromDate=2024-02-01"

    refused = cli(site, tmp_path, "preset", "listAnnotations", "--input", '{"query": {"from": 1}}')
    assert refused.returncode == 2
    assert "query.from: is not an accepted field (accepted: fromDate, toDate)" in refused.stderr


def test_the_example_plugin_installed_shows_and_runs_its_preset(
    tmp_path: Path, recording_server: RecordingServer
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    install_metadata(site)
    check_installed_example(site, tmp_path, recording_server)
