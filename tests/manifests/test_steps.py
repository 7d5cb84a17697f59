"""Building one step's request: a field that is wholly one step reference (``relative_url``,
``headers``, ``query``, ``body``) is checked against the field's type when the step runs, and every message
about a value that came from a reference names the reference, never a stand-in."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import CliResult, cli
from loopback import Received, Reply, ScriptedServer

CREDS = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret-value", "MP_PROJECT_ID": "4242"}


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in CREDS.items():
        monkeypatch.setenv(name, value)


def two_steps(**second: Any) -> dict[str, Any]:
    """A first step whose body the second reads; ``second`` is the second step's call fields."""
    first = {"method": "GET", "api": "query", "relative_url": "/2.0/first"}
    call = {"method": "GET", "api": "query", "relative_url": "/2.0/second", **second}
    return {
        "version": 1,
        "steps": [{"name": "a", "call": first}, {"name": "b", "call": call}],
    }


def run(tmp_path: Path, manifest: dict[str, Any], *args: str) -> CliResult:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps(manifest))
    return cli("run", str(path), *args)


def first_answers(body: Any) -> Any:
    def handler(req: Received) -> Reply:
        return Reply.json(body if req.path.endswith("/first") else {"ok": True})

    return handler


def test_a_relative_url_and_headers_that_are_one_reference_pass_the_checks_and_are_sent(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """Issue 11 #13: the pre-run check refused them ("got '0'", "got str")."""
    server.handler = first_answers(
        {"url": "/2.0/next?page=2", "headers": {"X-Page": "2"}, "query": {"limit": 5}}
    )
    manifest = two_steps(
        relative_url="${steps.a.body.url}",
        headers="${steps.a.body.headers}",
        query="${steps.a.body.query}",
    )
    res = run(tmp_path, manifest, "--origin", server.origin)
    assert res.exit_status == 0, res.stderr
    second = server.received[1]
    assert second.path == "/api/2.0/next"
    assert ("page", "2") in second.query and ("limit", "5") in second.query
    assert second.header("X-Page") == "2"


def test_the_dry_run_shows_a_whole_reference_where_its_value_goes(tmp_path: Path) -> None:
    manifest = two_steps(
        relative_url="${steps.a.body.url}",
        headers="${steps.a.body.headers}",
        query="${steps.a.body.query}",
    )
    res = run(tmp_path, manifest, "--dry-run")
    assert res.exit_status == 0, res.stderr
    shown = res.json["steps"][1]
    assert shown["url"] == (
        "https://mixpanel.com/api${steps.a.body.url}?project_id=4242&${steps.a.body.query}"
    )
    assert shown["headers"] == "${steps.a.body.headers}"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("relative_url", 5, "steps[1].call.relative_url: ${steps.a.body.v} is a number; "
                            "expected a string"),
        ("relative_url", None, "${steps.a.body.v} is null; expected a string"),
        ("headers", "X-A: 1", "steps[1].call.headers: ${steps.a.body.v} is a string; "
                              "expected an object of name/values"),
        ("headers", ["X-A"], "${steps.a.body.v} is a list; expected an object of name/values"),
        ("query", "a=1", "steps[1].call.query: ${steps.a.body.v} is a string; "
                         "expected an object of key/values"),
    ],
)  # fmt: skip
def test_a_whole_reference_of_the_wrong_type_fails_its_step_naming_the_reference(
    server: ScriptedServer, tmp_path: Path, field: str, value: Any, message: str
) -> None:
    server.handler = first_answers({"v": value})
    res = run(tmp_path, two_steps(**{field: "${steps.a.body.v}"}), "--origin", server.origin)
    assert res.exit_status == 2, res.stderr
    assert message in res.json["steps"][1]["error"]
    assert len(server.received) == 1  # the second step was never sent


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("relative_url", "next", "steps[1].call.relative_url: ${steps.a.body.v}: must start "
                                 "with '/'"),
        ("headers", {"Cookie": "x"}, "steps[1].call.headers.Cookie: ${steps.a.body.v}: is set "
                                     "by the connector"),
    ],
)  # fmt: skip
def test_a_refused_value_from_a_whole_reference_names_the_reference(
    server: ScriptedServer, tmp_path: Path, field: str, value: Any, message: str
) -> None:
    server.handler = first_answers({"v": value})
    res = run(tmp_path, two_steps(**{field: "${steps.a.body.v}"}), "--origin", server.origin)
    assert res.exit_status == 2, res.stderr
    assert message in res.json["steps"][1]["error"]
    assert len(server.received) == 1


def test_a_refusal_before_the_run_names_the_reference_not_a_stand_in(
    server: ScriptedServer, tmp_path: Path
) -> None:
    """The pre-run message said "got '0/x'": the stand-in, which the user never wrote."""
    res = run(tmp_path, two_steps(relative_url="${steps.a.body.p}/x"), "--origin", server.origin)
    assert res.exit_status == 2
    assert "steps[1].call.relative_url" in res.stderr
    assert "${steps.a.body.p}/x" in res.stderr
    assert "'0/x'" not in res.stderr and "__mp_ref" not in res.stderr
    assert server.received == []


@pytest.mark.parametrize(
    ("output", "message"),
    [
        ("bad\x00name.jsonl", "must not contain a NUL character"),
        (".", "is a directory; name a file"),
        ("out/", "is a directory; name a file"),
        ("existing", "is a directory; name a file"),
        ("missing/events.jsonl", "missing' does not exist"),
        ("x" * 300 + ".jsonl", "cannot create a file named 'xxx"),
        ("\udc80\ud800.jsonl", "cannot create a file named"),
    ],
)
def test_every_output_path_is_checked_before_the_first_step_is_sent(
    server: ScriptedServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    output: str,
    message: str,
) -> None:
    """Issue 11 #4: a NUL byte (or '.', or a missing folder) in a later step's output was found
    only after an earlier POST /import was accepted, and ended "internal error: ValueError"."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "existing").mkdir()
    manifest = {
        "version": 1,
        "steps": [
            {"name": "import", "call": {"method": "POST", "api": "ingestion",
                                        "relative_url": "/import", "body": []}},
            {"name": "export", "call": {"method": "GET", "api": "export",
                                        "relative_url": ""}, "output": output},
        ],
    }  # fmt: skip
    res = run(tmp_path, manifest, "--origin", server.origin)
    assert res.exit_status == 2, res.stderr
    assert "error: steps[1].output: " in res.stderr and message in res.stderr
    assert "\x00" not in res.stderr
    assert server.received == []
    assert res.stdout == ""
