"""MixpanelHook with a real Airflow: connections from AIRFLOW_CONN_*, one Runner, test_connection."""

from __future__ import annotations

import json

import pytest

from mp_custom_action.errors import InputError
from mp_custom_action.integrations.airflow.hook import MixpanelHook

from .conftest import connection_json


def test_init_reads_and_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_MIXPANEL_DEFAULT", raising=False)
    hook = MixpanelHook()  # the connection does not even exist: __init__ must not look
    assert hook.mixpanel_conn_id == "mixpanel_default"


def test_runner_from_connection(sandbox) -> None:
    hook = MixpanelHook()
    runner = hook.get_conn()
    assert runner is hook.get_conn()  # one runner per hook
    assert runner.origin == sandbox.origin
    assert runner.credentials.project_id == str(sandbox.credentials["project_id"])
    assert runner.credentials.secret.reveal() == sandbox.credentials["secret"]
    assert sandbox.requests == []  # building the runner sent nothing
    result = hook.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
    assert result.status_code == 200
    hook.close()


def test_worker_mp_variables_do_not_mix_in(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MP_TOKEN", "token-from-the-worker-environment")
    monkeypatch.setenv("MP_REGION", "eu")
    runner = MixpanelHook().get_conn()
    assert runner.credentials.token is None
    assert runner.region == "us"


def test_region_and_secrets_from_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MP_EU",
        json.dumps(
            {
                "conn_type": "mixpanel",
                "extra": {"region": "eu", "api_secret": "apisecret-123456", "token": "tok-123456"},
            }
        ),
    )
    runner = MixpanelHook("mp_eu").get_conn()
    assert runner.region == "eu"
    assert runner.credentials.api_secret.reveal() == "apisecret-123456"
    assert runner.credentials.token.reveal() == "tok-123456"
    assert runner.credentials.username is None


def test_secrets_are_registered_with_the_masker(sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.sdk.log import redact

    monkeypatch.setenv(
        "AIRFLOW_CONN_MIXPANEL_DEFAULT", connection_json(sandbox, token="tok-zz-98765")
    )
    MixpanelHook().get_conn()
    line = f"secret {sandbox.credentials['secret']} token tok-zz-98765"
    assert redact(line) == "secret *** token ***"


def test_unknown_extra_key_is_an_error_naming_it(sandbox, monkeypatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_MIXPANEL_DEFAULT", connection_json(sandbox, regoin="eu"))
    with pytest.raises(InputError, match="regoin"):
        MixpanelHook().get_conn()
    assert sandbox.requests == []


def test_test_connection_sends_one_authenticated_read(sandbox) -> None:
    ok, message = MixpanelHook().test_connection()
    assert ok, message
    assert [(r.method, r.path) for r in sandbox.requests] == [("GET", "/api/2.0/events/names")]
    assert sandbox.requests[0].status == 200  # the sandbox answers 200 only when authenticated


def test_test_connection_reports_refused_credentials(sandbox, monkeypatch) -> None:
    c = sandbox.credentials
    monkeypatch.setenv(
        "AIRFLOW_CONN_MIXPANEL_DEFAULT",
        json.dumps(
            {
                "conn_type": "mixpanel",
                "login": c["username"],
                "password": "wrong-secret-value",
                "extra": {"project_id": c["project_id"], "origin": sandbox.origin},
            }
        ),
    )
    ok, message = MixpanelHook().test_connection()
    assert not ok
    assert "401" in message and "wrong-secret-value" not in message


def test_test_connection_without_credentials_sends_nothing(sandbox, monkeypatch) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_MIXPANEL_DEFAULT",
        json.dumps({"conn_type": "mixpanel", "extra": {"origin": sandbox.origin}}),
    )
    ok, message = MixpanelHook().test_connection()
    assert not ok and message
    assert sandbox.requests == []


def test_airflow_lists_the_provider_its_hook_and_masked_form_fields() -> None:
    from airflow.providers_manager import ProvidersManager

    manager = ProvidersManager()
    assert "mp-custom-action" in manager.providers  # the provider info passed Airflow's schema
    hook = manager.hooks["mixpanel"]
    assert hook is not None
    assert hook.hook_class_name == "mp_custom_action.integrations.airflow.hook.MixpanelHook"
    widgets = {
        name.removeprefix("extra__mixpanel__"): widget
        for name, widget in manager.connection_form_widgets.items()
        if name.startswith("extra__mixpanel__")
    }
    assert {n for n, w in widgets.items() if w.is_sensitive} == {
        "api_secret",
        "token",
        "oauth_token",
    }
    assert widgets["region"].field["schema"]["title"] == "Region"
    behaviour = manager.field_behaviours["mixpanel"]
    assert behaviour["relabeling"]["login"] == "Service account username"
    assert "host" in behaviour["hidden_fields"]


def test_abort_cuts_a_call_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    """What an operator's on_kill does: the call ends with DeadlineExceeded, not its answer."""
    import threading

    from loopback import Received, Reply, ScriptedServer

    from mp_custom_action.errors import DeadlineExceeded

    arrived, release = threading.Event(), threading.Event()

    def hold(req: Received) -> Reply:
        arrived.set()
        release.wait(20)  # bounded: the test releases it at the end
        return Reply.json([])

    with ScriptedServer(hold) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MIXPANEL_DEFAULT",
            json.dumps(
                {
                    "conn_type": "mixpanel",
                    "login": "sa.name",
                    "password": "sa-secret",
                    "extra": {"project_id": 1, "origin": server.origin},
                }
            ),
        )
        hook = MixpanelHook()
        outcome: list[BaseException] = []

        def call() -> None:
            try:
                hook.run({"method": "GET", "api": "query", "relative_url": "/2.0/events/names"})
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=call)
        worker.start()
        assert arrived.wait(10)
        hook.abort()
        worker.join(timeout=20)
        release.set()
        assert not worker.is_alive()
        assert len(outcome) == 1 and isinstance(outcome[0], DeadlineExceeded)
        hook.close()


def test_oauth_token_from_the_connection_is_sent_as_bearer_and_masked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.sdk.log import redact
    from loopback import ScriptedServer

    token = "oauth-bearer-token-31337"
    with ScriptedServer() as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_MIXPANEL_DEFAULT",
            json.dumps(
                {
                    "conn_type": "mixpanel",
                    "extra": {"oauth_token": token, "project_id": 7, "origin": server.origin},
                }
            ),
        )
        hook = MixpanelHook()
        event = {
            "event": "e",
            "properties": {"time": 1764547200, "distinct_id": "u", "$insert_id": "i1"},
        }
        result = hook.run(
            {"method": "POST", "api": "ingestion", "relative_url": "/import", "body": [event]}
        )
        hook.close()
    assert result.status_code == 200
    assert server.received[0].header("Authorization") == f"Bearer {token}"
    assert redact(f"token {token}") == "token ***"
