"""A secret read from ``${env...}`` never shows: not in ``run --dry-run``, not in an error.

A value is masked when its variable is a credential variable (MP_SECRET, MP_API_SECRET, MP_TOKEN,
MP_USERNAME), when the variable's name looks like a credential (WAREHOUSE_PASSWORD), or when the
key holding it does (``password``); in every form it is written in: as is, percent-encoded in a
path or a query, escaped in an error line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import CliResult, cli
from loopback import Reply, ScriptedServer

from mp_custom_action.manifests.masking import is_secret_ref
from mp_custom_action.manifests.references import Ref

CREDS = {"MP_USERNAME": "sa.user", "MP_SECRET": "sa-secret-value", "MP_PROJECT_ID": "4242"}
# Characters that percent-encoding changes differently in a path, a query and a form.
API_SECRET = "api s3cret+:x~1"


@pytest.fixture(autouse=True)
def creds(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {**CREDS, "MP_API_SECRET": API_SECRET}.items():
        monkeypatch.setenv(name, value)


def run(tmp_path: Path, steps: list[dict[str, Any]], *args: str) -> CliResult:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"version": 1, "steps": steps}))
    return cli("run", str(path), *args)


def names_call(**call: Any) -> dict[str, Any]:
    return {"method": "GET", "api": "query", "relative_url": "/2.0/events/names", **call}


def assert_hidden(res: CliResult, *secrets: str) -> None:
    from urllib.parse import quote, quote_plus

    shown = res.stdout + res.stderr
    for secret in secrets:
        for form in (secret, quote(secret, safe=""), quote_plus(secret), quote(secret)):
            assert form not in shown, f"{form!r} is shown"


@pytest.mark.parametrize(
    ("name", "at", "secret"),
    [
        ("MP_API_SECRET", "steps[0].call.query.k", True),  # a credential variable, any key
        ("MP_USERNAME", "steps[0].call.query.k", True),
        ("MP_TOKEN", "steps[0].call.body.x", True),
        ("MP_PROJECT_ID", "steps[0].call.query.project_id", False),  # not a secret
        ("WAREHOUSE_PASSWORD", "steps[0].call.body.note", True),  # a credential-like name
        ("MY_API_KEY", "steps[0].call.headers.X-Thing", True),
        ("SOURCE_NAME", "steps[0].call.body.password", True),  # a credential-like key
        ("SOURCE_NAME", "steps[0].call.body.name", False),
    ],
)
def test_which_references_are_secret(name: str, at: str, secret: bool) -> None:
    assert is_secret_ref(Ref("env", name, (), f"${{env.{name}}}"), at) is secret


def test_a_credential_variable_under_any_key_is_masked_in_dry_run(tmp_path: Path) -> None:
    """Found in review: only the key was looked at, so {"k": "${env.MP_API_SECRET}"} printed it."""
    res = run(
        tmp_path,
        [{"name": "a", "call": names_call(query={"k": "${env.MP_API_SECRET}"})}],
        "--dry-run",
    )
    assert res.exit_status == 0, res.stderr
    assert "k=***&" in res.json["steps"][0]["url"]
    assert_hidden(res, API_SECRET)


def test_masked_in_the_path_the_query_the_headers_and_the_body(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MY_API_KEY", "key 123/+@")
    res = run(
        tmp_path,
        [
            {
                "name": "a",
                "call": names_call(
                    relative_url="/2.0/${env.MP_API_SECRET}/names",
                    query={"k": "${env.MP_API_SECRET}"},
                    headers={"X-Note": "Bearer ${env.MY_API_KEY}"},
                ),
            },
            {
                "name": "b",
                "call": {
                    "method": "POST",
                    "api": "ingestion",
                    "relative_url": "/import",
                    "body": [{"event": "${env.MP_API_SECRET}", "properties": {"n": 1}}],
                },
            },
            {
                # A step reading an earlier result is shown with references: masked the same.
                "name": "c",
                "call": names_call(query={"k": "${env.MP_API_SECRET}", "n": "${steps.a.body.0}"}),
            },
        ],
        "--dry-run",
    )
    assert res.exit_status == 0, res.stderr
    a, b, c = res.json["steps"]
    assert a["url"].endswith("/api/2.0/***/names?k=***&project_id=4242")
    assert a["headers"]["X-Note"] == "Bearer ***"
    assert b["body"][0]["event"] == "***"
    assert "k=***" in c["url"]
    assert_hidden(res, API_SECRET, "key 123/+@")


def test_an_error_found_by_the_checks_does_not_show_the_secret(tmp_path: Path) -> None:
    res = run(tmp_path, [{"name": "a", "call": names_call(region="${env.MP_API_SECRET}")}])
    assert res.exit_status == 2
    assert "steps[0].call.region: expected one of" in res.stderr
    assert "got '***'" in res.stderr
    assert_hidden(res, API_SECRET)


def test_an_error_of_a_step_reading_earlier_results_does_not_show_the_secret(
    server: ScriptedServer, tmp_path: Path
) -> None:
    # Built when it runs (its API is a reference), and refused then, quoting the value.
    server.handler = lambda req: Reply.json(["x"])
    res = run(
        tmp_path,
        [
            {"name": "a", "call": names_call()},
            {"name": "b", "call": names_call(api="${env.MP_API_SECRET}${steps.a.body.0}")},
        ],
        "--origin",
        server.origin,
    )
    assert res.exit_status == 2, res.stderr
    error = res.json["steps"][1]["error"]
    assert error.startswith("steps[1].call.api: expected one of") and "got '***x'" in error
    assert_hidden(res, API_SECRET)
    assert len(server.received) == 1


def test_a_transport_error_does_not_show_a_secret_in_the_path(
    server: ScriptedServer, tmp_path: Path
) -> None:
    server.handler = lambda req: Reply(reset=True)
    res = run(
        tmp_path,
        [{"name": "a", "call": names_call(relative_url="/2.0/${env.MP_API_SECRET}/names")}],
        "--origin",
        server.origin,
        "--retries",
        "0",
    )
    assert res.exit_status == 6
    assert "/api/2.0/***/names" in res.json["steps"][0]["error"]
    assert_hidden(res, API_SECRET)


def test_a_long_secret_cut_short_in_an_error_is_still_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    long_secret = "sk_live_" + "0123456789" * 7
    monkeypatch.setenv("MP_API_SECRET", long_secret)
    res = run(tmp_path, [{"name": "a", "call": names_call(relative_url="${env.MP_API_SECRET}")}])
    assert res.exit_status == 2
    assert long_secret[:20] not in res.stdout + res.stderr


def test_a_plus_in_a_secret_in_the_relative_urls_query_is_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MP_API_SECRET", "sk+live+0123456789")
    res = run(
        tmp_path,
        [{"name": "a", "call": names_call(relative_url="/x?key=${env.MP_API_SECRET}")}],
        "--dry-run",
    )
    assert res.exit_status == 0, res.stderr
    assert "0123456789" not in res.stdout + res.stderr


def test_a_very_short_secret_is_masked_where_it_stands_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TOKEN_LIMIT", "5")
    res = run(
        tmp_path,
        [{"name": "a", "call": names_call(query={"limit": "${env.TOKEN_LIMIT}", "n": 55})}],
        "--dry-run",
    )
    assert res.exit_status == 0, res.stderr
    assert "limit=***" in res.stdout and "n=55" in res.stdout


def test_a_secret_in_the_path_is_masked_in_log_lines(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    server: ScriptedServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    monkeypatch.setenv("MY_API_KEY", "sk_live_0123456789")
    server.handler = lambda req: Reply.json({}, status=404)
    steps = [{"name": "a", "call": names_call(relative_url="/2.0/events/${env.MY_API_KEY}")}]
    with caplog.at_level(logging.INFO, logger="mp_custom_action"):
        res = run(tmp_path, steps, "--origin", server.origin)
    assert "/api/2.0/events/***" in caplog.text, caplog.text
    assert "sk_live_0123456789" not in res.stdout + res.stderr + caplog.text
