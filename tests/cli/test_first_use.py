"""What a new user stumbled on: header forms, the sandbox and broken profiles, the project id a
service account needs, the API secret's notice in --dry-run."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_helpers import cli
from loopback import ScriptedServer


@pytest.fixture(autouse=True)
def _no_user_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("MP_USERNAME", "MP_SECRET", "MP_API_SECRET", "MP_TOKEN", "MP_PROJECT_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MP_CONFIG", str(tmp_path / "none.toml"))


def _service_account(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("MP_USERNAME", "u"), ("MP_SECRET", "s"), ("MP_PROJECT_ID", "1")):
        monkeypatch.setenv(name, value)


@pytest.mark.parametrize(
    "form", ["X-Request-Id=abc:1", "X-Request-Id: abc:1", "X-Request-Id:abc:1"]
)
def test_a_header_as_name_equals_value_or_name_colon_value(
    form: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _service_account(monkeypatch)
    out = cli("call", "GET", "query", "/2.0/events/names", "--header", form, "--dry-run")
    assert out.exit_status == 0, out.stderr
    assert out.json["headers"]["X-Request-Id"] == "abc:1"


def test_a_value_holding_an_equals_sign_keeps_it(monkeypatch: pytest.MonkeyPatch) -> None:
    _service_account(monkeypatch)
    out = cli("call", "GET", "query", "/x", "--header", "X-Sig: a=b==", "--dry-run")
    assert out.json["headers"]["X-Sig"] == "a=b=="


def test_sandbox_reads_neither_profiles_nor_credentials(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.toml"
    broken.write_text("[default\nprofile = ", encoding="utf-8")
    monkeypatch.setenv("MP_CONFIG", str(broken))
    monkeypatch.setenv("MP_SECRET", "real-secret-never-sent")
    monkeypatch.setenv("MP_USERNAME", "real.user")
    out = cli("call", "GET", "query", "/2.0/events/names", "--sandbox")
    assert out.exit_status == 0, out.stderr
    assert "real-secret" not in out.stdout + out.stderr


@pytest.mark.parametrize("auth", [None, "service-account"])
def test_a_service_account_without_a_project_id_is_told_exactly_that(
    auth: str, monkeypatch: pytest.MonkeyPatch, server: ScriptedServer
) -> None:
    monkeypatch.setenv("MP_USERNAME", "sa.user")
    monkeypatch.setenv("MP_SECRET", "sa-secret")
    args = ["call", "GET", "query", "/2.0/events/names", "--origin", server.origin]
    out = cli(*args, *(["--auth", auth] if auth else []))
    assert out.exit_status == 3, out.stderr
    assert "needs MP_PROJECT_ID with a service account" in out.stderr
    assert server.received == []


def test_the_api_secret_notice_shows_in_dry_run_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_API_SECRET", "api-secret")
    out = cli("call", "GET", "query", "/2.0/events/names", "--dry-run")
    assert out.exit_status == 0, out.stderr
    assert "warning: the project API secret is deprecated" in out.stderr
