"""The examples in docs/manifests.md and docs/configuration.md run and say what the code does.

Each fenced block is marked by the HTML comment above it: ``manifest: run`` (runs over a loopback
server), ``manifest: check`` (passes every check and dry-runs), ``manifest: fails "MESSAGE"``
(fails its checks with MESSAGE and sends nothing), ``output`` (a shape the commands print),
``toml: valid`` / ``toml: error "TEXT"``, and ``profiles show NAME``.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import cli
from loopback import Received, Reply, ScriptedServer

DOCS = Path(__file__).resolve().parents[2] / "docs"
EXAMPLES = DOCS.parent / "manifests" / "examples"
_BLOCK = re.compile(r"<!-- (?P<mark>[^>]*?) -->\n```(?P<lang>\w+)\n(?P<body>.*?)```", re.S)


def blocks(doc: str, prefix: str) -> list[tuple[str, str]]:
    text = (DOCS / doc).read_text()
    return [(m["mark"], m["body"]) for m in _BLOCK.finditer(text) if m["mark"].startswith(prefix)]


MANIFESTS = blocks("manifests.md", "manifest:")
OUTPUTS = blocks("manifests.md", "output")
TOMLS = blocks("configuration.md", "toml:")


def handler(req: Received) -> Reply:
    if req.path.endswith("/warehouse-sources"):
        return Reply.json({"results": [{"id": "src_1", "name": "wh"}]})
    return Reply.json({"ok": True})


@pytest.fixture
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    for var, value in {"MP_USERNAME": "sa", "MP_SECRET": "sa-secret", "MP_PROJECT_ID": "4242",
                       "SNOWFLAKE_PASSWORD": "snow-pw"}.items():  # fmt: skip
        monkeypatch.setenv(var, value)


def test_the_docs_have_the_marked_examples() -> None:
    marks = [m for m, _ in MANIFESTS]
    assert marks.count("manifest: run") >= 2
    assert "manifest: check" in marks
    assert any(m.startswith("manifest: fails") for m in marks)
    assert len(OUTPUTS) >= 2 and len(TOMLS) >= 2


@pytest.mark.usefixtures("creds")
@pytest.mark.parametrize(("mark", "body"), MANIFESTS, ids=[m for m, _ in MANIFESTS])
def test_a_manifest_example(mark: str, body: str, server: ScriptedServer, tmp_path: Path) -> None:
    server.handler = handler
    path = tmp_path / "m.json"
    path.write_text(body)
    if mark == "manifest: run":
        res = cli("run", str(path), "--origin", server.origin)
        assert res.exit_status == 0, res.stderr
        assert res.json["ok"] is True
        assert len(server.received) == len(json.loads(body)["steps"])
    elif mark == "manifest: check":
        res = cli("run", str(path), "--dry-run")
        assert res.exit_status == 0, res.stderr
        assert "snow-pw" not in res.stdout
    else:
        message = re.fullmatch(r'manifest: fails "(.*)"', mark)
        assert message is not None
        res = cli("run", str(path), "--origin", server.origin)
        assert res.exit_status == 2
        assert message.group(1) in res.stderr
        assert server.received == []


def test_the_reference_example_reads_types_and_text(
    server: ScriptedServer, tmp_path: Path, creds: None
) -> None:
    body = next(b for m, b in MANIFESTS if '"record"' in b)
    server.handler = handler
    path = tmp_path / "m.json"
    path.write_text(body)
    assert cli("run", str(path), "--origin", server.origin).exit_status == 0
    props = server.received[1].json()[0]["properties"]  # type: ignore[index]
    assert props["sources"] == [{"id": "src_1", "name": "wh"}]
    assert props["note"] == "listing answered 200; ${not a reference}"


@pytest.mark.usefixtures("creds")
def test_the_output_examples_match_what_run_prints(server: ScriptedServer, tmp_path: Path) -> None:
    failed, dry = (json.loads(body) for _, body in OUTPUTS)
    # The failed run: warehouse-sync.json against a project without sources.
    server.handler = lambda req: Reply.json({"results": []})
    manifest = json.loads(
        (DOCS / "manifests.md").read_text().split("```json\n", 2)[1].split("```")[0]
    )
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 2
    assert _shape(res.json) == _shape(failed)
    assert res.json["steps"][1]["error"] == failed["steps"][1]["error"]
    # The dry run of warehouse-sync.json.
    res = cli("run", str(EXAMPLES / "warehouse-sync.json"), "--dry-run")
    keep = ("name", "method", "url", "body")
    assert [{k: s[k] for k in keep} for s in res.json["steps"]] == [
        {k: s[k] for k in keep} for s in dry["steps"]
    ]
    assert (
        res.json["steps"][0]["headers"]["Authorization"]
        == dry["steps"][0]["headers"]["Authorization"]
    )


def _shape(out: dict[str, Any]) -> list[list[str]]:
    return [sorted(step) for step in out["steps"]]


@pytest.mark.usefixtures("creds")
def test_the_python_example_runs(
    server: ScriptedServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import mp_custom_action.core.runner as runner_module

    server.handler = handler
    code = re.search(r"```python\n(.*?)```", (DOCS / "manifests.md").read_text(), re.S)
    assert code is not None
    monkeypatch.setattr(
        runner_module, "Runner", functools.partial(runner_module.Runner, origin=server.origin)
    )
    monkeypatch.chdir(DOCS.parent)
    exec(compile(code.group(1), "docs/manifests.md", "exec"), {})  # noqa: S102 - our own docs
    assert capsys.readouterr().out == "True 0 200\n"
    assert len(server.received) == 3


@pytest.mark.parametrize(("mark", "body"), TOMLS, ids=[m for m, _ in TOMLS])
def test_a_toml_example(mark: str, body: str, tmp_path: Path) -> None:
    from mp_custom_action.errors import ConfigError
    from mp_custom_action.profiles import read_config

    path = tmp_path / "config.toml"
    path.write_text(body)
    path.chmod(0o600)
    if mark == "toml: valid":
        assert read_config(path) is not None
    else:
        expected = re.fullmatch(r'toml: error "(.*)"', mark)
        assert expected is not None
        with pytest.raises(ConfigError, match=re.escape(expected.group(1))):
            read_config(path)


def test_profiles_show_prints_what_the_docs_say(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text(next(body for mark, body in TOMLS if mark == "toml: valid"))
    config.chmod(0o600)
    monkeypatch.setenv("MP_CONFIG", str(config))
    ((mark, shown),) = blocks("configuration.md", "profiles show")
    res = cli(*mark.split())
    assert res.exit_status == 0, res.stderr
    assert res.json == {**json.loads(shown), "config": str(config)}
    assert "keep-this-file-private" not in cli("profiles", "show", "us-dev").stdout
