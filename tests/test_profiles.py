"""TOML profiles: where the file is, what a profile may hold, errors that name the file, the
permission warning, selection, and listing with every secret redacted."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import pytest
from cli_helpers import cli
from loopback import ScriptedServer

from mp_custom_action.errors import ConfigError
from mp_custom_action.profiles import (
    ConfigPermissionWarning,
    config_path,
    load_profile,
    read_config,
)

CONFIG = """\
[default]
profile = "eu-prod"

[profiles.eu-prod]
region = "eu"
project_id = 4242
username = "etl.sa"
secret_env = "EU_PROD_SECRET"
timeout = 120
retries = 2

[profiles.us-dev]
project_id = "77"
username = "dev.sa"
secret = "dev-secret-value"
api_secret = "dev-api-secret"
token = "dev-token"
"""


def write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write(tmp_path / "config.toml", CONFIG)
    monkeypatch.setenv("MP_CONFIG", str(path))
    monkeypatch.setenv("EU_PROD_SECRET", "eu-secret-from-env")
    return path


# -- where the file is --------------------------------------------------------------------------


def test_config_path_prefers_mp_config_then_xdg_then_home() -> None:
    assert config_path({"MP_CONFIG": "/x/c.toml", "XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}) == Path(
        "/x/c.toml"
    )
    assert config_path({"XDG_CONFIG_HOME": "/xdg", "HOME": "/h"}) == Path(
        "/xdg/mp-custom-action/config.toml"
    )
    assert config_path({"HOME": "/h"}) == Path("/h/.config/mp-custom-action/config.toml")


def test_the_xdg_location_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MP_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    (tmp_path / "mp-custom-action").mkdir()
    write(tmp_path / "mp-custom-action" / "config.toml", '[profiles.a]\nregion = "in"\n')
    assert load_profile("a", os.environ) == {"region": "in"}


# -- reading and selecting ----------------------------------------------------------------------


@pytest.mark.usefixtures("config")
def test_the_default_profile_is_used_and_secret_env_is_resolved() -> None:
    assert load_profile(None, os.environ) == {
        "region": "eu",
        "project_id": 4242,
        "username": "etl.sa",
        "secret": "eu-secret-from-env",
        "timeout": 120,
        "retries": 2,
    }


@pytest.mark.usefixtures("config")
def test_selection_order_is_flag_then_mp_profile_then_manifest_then_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def region(flag: object = None, manifest: object = None) -> object:
        profile = load_profile(flag, os.environ, manifest_profile=manifest)  # type: ignore[arg-type]
        return (profile or {}).get("region", "none")

    assert region() == "eu"  # [default]
    assert region(manifest="us-dev") == "none"  # us-dev has no region
    monkeypatch.setenv("MP_PROFILE", "us-dev")
    assert region(manifest="eu-prod") == "none"  # MP_PROFILE beats the manifest
    assert region(flag="eu-prod") == "eu"  # --profile beats MP_PROFILE


def test_no_config_file_and_no_profile_asked_is_fine() -> None:
    assert load_profile(None, os.environ) is None


def test_a_profile_asked_for_without_a_config_file_says_where_it_looked() -> None:
    with pytest.raises(
        ConfigError, match=r"profile 'x' \(from --profile\) .* no config file at .*no-config.toml"
    ):
        load_profile("x", os.environ)


@pytest.mark.usefixtures("config")
def test_an_unknown_profile_names_the_ones_that_exist(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_PROFILE", "prod")
    with pytest.raises(ConfigError) as info:
        load_profile(None, os.environ)
    assert "unknown profile 'prod' (from MP_PROFILE)" in str(info.value)
    assert "profiles there: eu-prod, us-dev" in str(info.value)


@pytest.mark.usefixtures("config")
def test_secret_env_naming_an_unset_variable_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EU_PROD_SECRET")
    with pytest.raises(
        ConfigError,
        match=r"secret_env .* names the environment variable EU_PROD_SECRET, which is not set",
    ):
        load_profile("eu-prod", os.environ)


@pytest.mark.parametrize("key", ["username", "api_secret", "token"])
def test_every_secret_may_be_named_by_an_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, key: str
) -> None:
    path = write(tmp_path / "c.toml", f'[profiles.p]\n{key}_env = "MY_VAR"\n')
    monkeypatch.setenv("MY_VAR", "from-env")
    assert load_profile("p", {"MP_CONFIG": str(path), "MY_VAR": "from-env"}) == {key: "from-env"}


# -- errors that name the file --------------------------------------------------------------------


def test_a_toml_syntax_error_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path / "bad.toml", '[profiles.a]\nregion = "eu"\nproject_id 4242\n')
    with pytest.raises(ConfigError) as info:
        read_config(path)
    assert str(info.value).startswith(f"invalid TOML in {path}, line 3, column 12: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[profile.a]\n", "unknown key 'profile' in"),
        ('[default]\nname = "a"\n', r"unknown key 'name' in \[default\]"),
        (
            '[profiles.a]\nregoin = "eu"\n',
            r"\[profiles.a\] regoin in .*: unknown setting; accepted: region",
        ),
        ("[profiles.a]\nproject_id = -1\n", "project_id .*: expected a positive integer"),
        ('[profiles.a]\nproject_id = "abc"\n', "project_id .*: expected a positive integer"),
        ("[profiles.a]\ntimeout = 0\n", "timeout .*: expected a number of seconds > 0"),
        ("[profiles.a]\nretries = 1.5\n", "retries .*: expected a whole number from 0 to 100"),
        ("[profiles.a]\nregion = 3\n", "region .*: expected a non-empty string"),
        # Found in review: a bad region was reported later as "region: ...", naming no file.
        (
            '[profiles.mars-prof]\nregion = "mars"\n',
            r"\[profiles.mars-prof\] region in .*: expected one of us \(standard\), eu, in "
            r"\(india\), got 'mars'",
        ),
        ('[profiles.a]\nsecret = "x"\nsecret_env = "X"\n', "gives both secret and secret_env"),
        ('profiles = "x"\n', "'profiles' in .* must be a table"),
    ],
)
def test_a_bad_setting_names_the_file_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "c.toml", text)
    with pytest.raises(ConfigError, match=message) as info:
        read_config(path)
    assert str(path) in str(info.value)


def test_every_region_spelling_is_accepted_in_a_profile(tmp_path: Path) -> None:
    text = "".join(
        f'[profiles.p{i}]\nregion = "{region}"\n'
        for i, region in enumerate(["us", "Standard", "EU", "in", " india "])
    )
    assert read_config(write(tmp_path / "c.toml", text)) is not None


# -- the permission warning ---------------------------------------------------------------------


@pytest.mark.skipif(os.name != "posix", reason="mode bits are POSIX")
def test_a_readable_file_holding_a_secret_warns_with_the_fix(tmp_path: Path) -> None:
    path = write(tmp_path / "c.toml", CONFIG, mode=0o644)
    with pytest.warns(ConfigPermissionWarning) as record:
        read_config(path)
    message = str(record[0].message)
    assert str(path) in message and f"chmod 600 {path}" in message and "mode 644" in message


@pytest.mark.skipif(os.name != "posix", reason="mode bits are POSIX")
def test_no_warning_for_mode_600_or_a_file_without_secrets(tmp_path: Path) -> None:
    read_config(write(tmp_path / "a.toml", CONFIG, mode=0o600))
    read_config(write(tmp_path / "b.toml", '[profiles.a]\nsecret_env = "X"\n', mode=0o644))


@pytest.mark.skipif(os.name != "posix", reason="mode bits are POSIX")
def test_the_cli_prints_the_warning_on_stderr(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "c.toml", CONFIG, mode=0o640)
    monkeypatch.setenv("MP_CONFIG", str(path))
    # cli.main installs its own warning printer, so the warning is read from stderr.
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        res = cli("profiles", "list")
    assert res.exit_status == 0
    assert f"mp-custom-action: warning: {path} holds a secret" in res.stderr
    assert f"chmod 600 {path}" in res.stderr


# -- profiles list / show -------------------------------------------------------------------------


@pytest.mark.usefixtures("config")
def test_profiles_list_redacts_every_secret(config: Path) -> None:
    res = cli("profiles", "list")
    assert res.exit_status == 0, res.stderr
    assert res.json == {
        "config": str(config),
        "exists": True,
        "default": "eu-prod",
        "profiles": {
            "eu-prod": {"region": "eu", "project_id": 4242, "username": "***",
                        "secret_env": "EU_PROD_SECRET", "timeout": 120, "retries": 2},
            "us-dev": {"project_id": "77", "username": "***", "secret": "***",
                       "api_secret": "***", "token": "***"},
        },
    }  # fmt: skip
    for secret in (
        "dev-secret-value",
        "dev-api-secret",
        "dev-token",
        "etl.sa",
        "eu-secret-from-env",
    ):
        assert secret not in res.stdout


def test_profiles_list_without_a_file() -> None:
    res = cli("profiles")
    assert res.exit_status == 0
    assert res.json["exists"] is False and res.json["profiles"] == {}


@pytest.mark.usefixtures("config")
def test_profiles_show_one_and_an_unknown_one() -> None:
    res = cli("profiles", "show", "us-dev")
    assert res.exit_status == 0
    assert res.json["settings"]["secret"] == "***" and res.json["default"] is False
    assert "dev-secret-value" not in res.stdout
    res = cli("profiles", "show", "nope")
    assert res.exit_status == 2
    assert "unknown profile 'nope'" in res.stderr and "eu-prod, us-dev" in res.stderr


def test_a_toml_error_in_the_cli_is_one_line_with_exit_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path / "c.toml", "[profiles.a\n")
    monkeypatch.setenv("MP_CONFIG", str(path))
    res = cli("profiles", "list")
    assert res.exit_status == 2
    assert res.stderr.startswith(f"mp-custom-action: error: invalid TOML in {path}, line 1")
    assert len(res.stderr.splitlines()) == 1


# -- profiles feed requests -------------------------------------------------------------------------


@pytest.mark.usefixtures("config")
def test_a_profile_supplies_the_credentials_of_a_call(server: ScriptedServer) -> None:
    res = cli(
        "call",
        "GET",
        "query",
        "/2.0/events/names",
        "--origin",
        server.origin,
        "--profile",
        "us-dev",
    )
    assert res.exit_status == 0, res.stderr
    assert server.received[0].query == [("project_id", "77")]
    import base64

    auth = server.received[0].header("Authorization")
    assert auth == "Basic " + base64.b64encode(b"dev.sa:dev-secret-value").decode()


@pytest.mark.usefixtures("config")
def test_a_manifest_profile_selects_the_profile(server: ScriptedServer, tmp_path: Path) -> None:
    manifest = {"version": 1, "profile": "us-dev",
                "steps": [{"name": "a", "call": {"method": "GET", "api": "query", "relative_url": "/x"}}]}  # fmt: skip
    path = tmp_path / "m.json"
    path.write_text(json.dumps(manifest))
    res = cli("run", str(path), "--origin", server.origin)
    assert res.exit_status == 0, res.stderr
    assert server.received[0].query == [("project_id", "77")]
    # --profile beats the manifest's profile.
    res = cli("run", str(path), "--origin", server.origin, "--profile", "eu-prod")
    assert res.exit_status == 0, res.stderr
    assert server.received[1].query == [("project_id", "4242")]


@pytest.mark.parametrize("value", ["0d5c1a7e9f2b4c6d8e0f1a2b3c4d5e6f", "sk-live/9+secret=="])
def test_secret_env_holding_the_secret_itself_is_never_quoted(
    value: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text(f'[profiles.p]\nsecret_env = "{value}"\n', encoding="utf-8")
    path.chmod(0o600)
    monkeypatch.setenv("MP_CONFIG", str(path))
    with pytest.raises(ConfigError) as info:
        load_profile("p", os.environ)
    assert value not in str(info.value)
    assert value[:8] not in str(info.value)
    assert "secret_env" in str(info.value)
