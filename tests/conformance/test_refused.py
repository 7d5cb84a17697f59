"""A credential an endpoint does not accept is refused before anything is sent, for every preset.

``auth`` forces a kind (``service-account``, ``secret``, ``token``, ``oauth``); where the endpoint
takes none of that kind (our table, :mod:`.expectations`), running the preset raises
:class:`CredentialNotAcceptedError`, in every region, while the transport records no request
(``responses`` with no route: any request at all would be a failure of its own).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import responses

import mp_custom_action
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import CredentialNotAcceptedError, MissingCredentialError
from mp_custom_action.presets.docs import builtin_presets

from .expectations import EXPECTED
from .test_dry_run import API_SECRET, OAUTH, PROJECT_ID, SECRET, SECRETS, TOKEN, USERNAME

#: The kinds each ``auth`` value may pick.
GROUPS = {
    "service-account": {"service_account"},
    "secret": {"secret"},
    "token": {"token_basic", "token_data", "token_query"},
    "oauth": {"oauth"},
}
PRESETS = {p.name: p for p in builtin_presets()}
REFUSED = [
    (name, region, auth)
    for name, expected in EXPECTED.items()
    for auth, kinds in GROUPS.items()
    if not kinds & set(expected.accepts)
    for region in ("us", "eu", "in")
]


def every_credential(region: str, auth: str) -> Runner:
    return Runner(
        region=region,
        auth=auth,
        env={},
        username=USERNAME,
        secret=SECRET,
        api_secret=API_SECRET,
        token=TOKEN,
        oauth_token=OAUTH,
        project_id=PROJECT_ID,
    )


def test_some_credential_is_refused_somewhere_for_every_kind() -> None:
    assert {auth for _, _, auth in REFUSED} == set(GROUPS)
    # /import takes every kind; each other endpoint refuses some.
    assert set(EXPECTED) - {name for name, _, _ in REFUSED} == {"import-events", "identity-merge"}


@pytest.mark.parametrize(("name", "region", "auth"), REFUSED)
def test_a_refused_credential_is_refused_before_sending(name: str, region: str, auth: str) -> None:
    preset = PRESETS[name]
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as wire,
        every_credential(region, auth) as runner,
    ):
        inputs = preset.to_inputs(preset.example, project_id=runner.credentials.project_id)
        with pytest.raises(CredentialNotAcceptedError) as caught:
            runner.run(inputs)
        assert len(wire.calls) == 0
    message = str(caught.value)
    assert f"auth={auth!r}" in message
    for value in SECRETS:
        assert value not in message


def test_a_missing_accepted_credential_is_named_before_sending() -> None:
    preset = PRESETS["create-retrieval"]
    with (
        responses.RequestsMock(assert_all_requests_are_fired=False) as wire,
        Runner(env={}, username=USERNAME, secret=SECRET, token=TOKEN, project_id=1) as runner,
    ):
        with pytest.raises(MissingCredentialError) as caught:
            runner.run(preset.to_inputs(preset.example))
        assert len(wire.calls) == 0
    assert "MP_OAUTH_TOKEN" in str(caught.value)


@pytest.mark.parametrize(
    ("name", "auth"),
    [("create-retrieval", "service-account"), ("query-jql", "oauth"), ("track-event", "secret")],
)
def test_the_cli_refuses_it_on_a_dry_run_too(name: str, auth: str) -> None:
    env = {
        "PATH": "/usr/bin:/bin",
        # The same mp_custom_action as this test run, whatever is installed.
        "PYTHONPATH": str(Path(mp_custom_action.__file__).resolve().parent.parent),
        "MP_USERNAME": USERNAME,
        "MP_SECRET": SECRET,
        "MP_API_SECRET": API_SECRET,
        "MP_TOKEN": TOKEN,
        "MP_OAUTH_TOKEN": OAUTH,
        "MP_PROJECT_ID": str(PROJECT_ID),
    }
    example = json.dumps(PRESETS[name].example)
    done = subprocess.run(
        [sys.executable, "-m", "mp_custom_action", "preset", name, "--input", example,
         "--auth", auth, "--dry-run"],
        capture_output=True, text=True, env=env, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == CredentialNotAcceptedError.exit_status, done.stderr
    assert done.stdout == ""
    assert f"auth={auth!r}" in done.stderr
    for value in SECRETS:
        assert value not in done.stderr
