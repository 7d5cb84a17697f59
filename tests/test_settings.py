"""The one precedence rule, setting by setting: flags, then environment, then profile, then defaults."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Optional

import pytest

from mp_custom_action.commands.common import open_runner
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import ConfigError
from mp_custom_action.settings import ENV_NAMES, SETTINGS, resolve_settings

# One value per layer for every setting that has an environment variable.
LAYERS: dict[str, tuple[Any, str, Any, Any]] = {
    # setting: (flag, env text, profile, default)
    "region": ("in", "eu", "us", "us"),
    "project_id": (1, "2", 3, 4),
    "username": ("flag.sa", "env.sa", "profile.sa", "default.sa"),
    "secret": ("flag-s", "env-s", "profile-s", "default-s"),
    "api_secret": ("flag-a", "env-a", "profile-a", "default-a"),
    "token": ("flag-t", "env-t", "profile-t", "default-t"),
    "oauth_token": ("flag-o", "env-o", "profile-o", "default-o"),
    "timeout": (10.0, "20", 30.0, 300.0),
    "retries": (1, "2", 3, 4),
}
ENV_AS_VALUE = {"timeout": 20.0, "retries": 2, "project_id": "2"}


def test_every_setting_with_an_env_variable_is_covered() -> None:
    assert set(LAYERS) == set(ENV_NAMES)


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_each_layer_wins_over_the_ones_below_it(name: str) -> None:
    flag, env_text, profile, default = LAYERS[name]
    env = {ENV_NAMES[name]: env_text}
    env_value = ENV_AS_VALUE.get(name, env_text)

    def pick(flags: dict[str, Any], env: dict[str, str], prof: Optional[dict[str, Any]]) -> Any:
        return resolve_settings(flags, env, prof, {name: default})[name]

    assert pick({name: flag}, env, {name: profile}) == flag
    assert pick({}, env, {name: profile}) == env_value
    assert pick({name: None}, env, {name: profile}) == env_value  # None: not given
    assert pick({}, {}, {name: profile}) == profile
    assert pick({}, {ENV_NAMES[name]: "  "}, {name: profile}) == profile  # blank env: not given
    assert pick({}, {}, None) == default


@pytest.mark.parametrize("name", ["origin", "auth"])
def test_settings_without_env_variables_come_from_flags_then_defaults(name: str) -> None:
    assert name in SETTINGS
    assert resolve_settings({name: "f"}, {}, {name: "p"}, {name: "d"})[name] == "f"
    assert resolve_settings({}, {}, None, {name: "d"})[name] == "d"


def test_credentials_mix_field_by_field() -> None:
    settings = resolve_settings(
        {}, {"MP_USERNAME": "env.sa"}, {"secret": "p-s", "username": "p"}, defaults={}
    )
    assert settings == {"username": "env.sa", "secret": "p-s"}


@pytest.mark.parametrize(("var", "value"), [("MP_TIMEOUT", "soon"), ("MP_RETRIES", "2.5")])
def test_a_bad_number_in_the_environment_names_the_variable(var: str, value: str) -> None:
    with pytest.raises(ConfigError, match=f"{var}: expected a"):
        resolve_settings({}, {var: value})


# -- the same rule through open_runner, with a real profile file ----------------------------------

PROFILE = """\
[profiles.p]
region = "us"
project_id = 3
username = "profile.sa"
secret = "profile-s"
api_secret = "profile-a"
token = "profile-t"
oauth_token = "profile-o"
timeout = 30
retries = 3
"""


def _args(**flags: Any) -> argparse.Namespace:
    base = {"region": None, "origin": None, "auth": None, "timeout": None, "retries": None,
            "profile": "p", "sandbox": False, "dry_run": False}  # fmt: skip
    return argparse.Namespace(**{**base, **flags})


def _observe(runner: Runner) -> dict[str, Any]:
    c = runner.credentials
    return {
        "region": runner.region,
        "project_id": c.project_id,
        "username": c.username.reveal() if c.username else None,
        "secret": c.secret.reveal() if c.secret else None,
        "api_secret": c.api_secret.reveal() if c.api_secret else None,
        "token": c.token.reveal() if c.token else None,
        "oauth_token": c.oauth_token.reveal() if c.oauth_token else None,
        "timeout": runner.timeout,
        "retries": runner.retry_policy.retries,
    }


@pytest.fixture
def profile_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(PROFILE)
    path.chmod(0o600)
    monkeypatch.setenv("MP_CONFIG", str(path))
    return path


@pytest.mark.usefixtures("profile_file")
def test_open_runner_takes_every_setting_from_the_profile() -> None:
    with open_runner(_args()) as runner:
        assert _observe(runner) == {
            "region": "us", "project_id": "3", "username": "profile.sa", "secret": "profile-s",
            "api_secret": "profile-a", "token": "profile-t", "oauth_token": "profile-o",
            "timeout": 30.0, "retries": 3,
        }  # fmt: skip


@pytest.mark.usefixtures("profile_file")
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_open_runner_env_beats_the_profile(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_NAMES[name], LAYERS[name][1])
    with open_runner(_args()) as runner:
        seen = _observe(runner)[name]
    expected = {"region": "eu", "project_id": "2", "timeout": 20.0, "retries": 2}
    assert seen == expected.get(name, LAYERS[name][1])


@pytest.mark.usefixtures("profile_file")
@pytest.mark.parametrize(
    ("name", "flag", "expected"),
    [("region", "in", "in"), ("timeout", 10.0, 10.0), ("retries", 1, 1)],
)
def test_open_runner_flags_beat_env_and_profile(
    name: str, flag: Any, expected: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_NAMES[name], LAYERS[name][1])
    with open_runner(_args(**{name: flag})) as runner:
        assert _observe(runner)[name] == expected


def test_open_runner_defaults_without_flags_env_or_profile() -> None:
    with open_runner(_args(profile=None)) as runner:
        seen = _observe(runner)
    assert seen["region"] == "us" and seen["timeout"] == 300.0 and seen["retries"] == 4
    assert seen["username"] is None and seen["project_id"] is None


@pytest.mark.skipif(os.name != "posix", reason="environment bytes are POSIX")
@pytest.mark.parametrize("var", ["MP_SECRET", "MP_USERNAME", "MP_TOKEN", "MP_REGION"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_variable_that_is_not_utf8_is_an_input_error_naming_it(
    var: str, dry_run: bool, tmp_path: Path
) -> None:
    import subprocess
    import sys

    env = {k.encode(): v.encode() for k, v in os.environ.items() if not k.startswith("MP_")}
    env.update({b"MP_USERNAME": b"sa.user", b"MP_SECRET": b"s", b"MP_PROJECT_ID": b"1"})
    env[b"MP_CONFIG"] = str(tmp_path / "none.toml").encode()
    env[var.encode()] = b"bad-\xff\xfe-value"
    args = ["call", "GET", "query", "/2.0/events/names", "--origin", "http://127.0.0.1:9"]
    done = subprocess.run(
        [sys.executable, "-m", "mp_custom_action", *args, *(["--dry-run"] if dry_run else [])],
        env=env, capture_output=True, timeout=60, check=False,
    )  # fmt: skip
    stderr = done.stderr.decode("utf-8", "replace")
    assert done.returncode == 2, stderr
    assert f"error: {var}: is not valid UTF-8 text" in stderr
    assert "bad-" not in stderr and "internal error" not in stderr
