"""The Airflow provider's parts that need no Airflow: provider info, connection rules, pools."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from importlib.metadata import distribution, entry_points
from pathlib import Path

import pytest

from mp_custom_action import __version__
from mp_custom_action.errors import InputError
from mp_custom_action.integrations.airflow import connection, pools
from mp_custom_action.integrations.airflow.provider import get_provider_info


def test_entry_point_and_classifier_make_the_package_a_provider() -> None:
    every = entry_points()
    group = (
        every.select(group="apache_airflow_provider")
        if hasattr(every, "select")
        else every.get("apache_airflow_provider", [])  # Python 3.9
    )
    found = [ep for ep in group if ep.value.startswith("mp_custom_action")]
    assert [ep.load() for ep in found] == [get_provider_info]
    classifiers = distribution("mp-custom-action").metadata.get_all("Classifier") or []
    assert "Framework :: Apache Airflow :: Provider" in classifiers


def test_provider_info_declares_the_mixpanel_connection() -> None:
    info = get_provider_info()
    assert info["package-name"] == "mp-custom-action" and info["versions"] == [__version__]
    (conn,) = info["connection-types"]
    assert conn["connection-type"] == "mixpanel"
    assert conn["hook-class-name"] == "mp_custom_action.integrations.airflow.hook.MixpanelHook"
    fields = conn["conn-fields"]
    assert set(fields) == {"region", "project_id", "api_secret", "token", "oauth_token", "origin"}
    assert all(f["label"] for f in fields.values())
    masked = {name for name, f in fields.items() if f["schema"].get("format") == "password"}
    assert masked == {"api_secret", "token", "oauth_token"}
    assert conn["ui-field-behaviour"]["relabeling"]["password"] == "Service account secret"
    json.dumps(info)  # plain JSON, as Airflow validates it


def test_provider_info_does_not_import_airflow() -> None:
    code = (
        "import sys; from mp_custom_action.integrations.airflow.provider import get_provider_info;"
        "get_provider_info(); print('airflow' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_connection_fields_become_runner_options() -> None:
    options = connection.runner_options(
        conn_id="c",
        login="sa.name",
        password="sa-secret",
        extra={"region": "eu", "project_id": 4242, "extra__mixpanel__token": "tok", "origin": ""},
    )
    assert options == {
        "username": "sa.name",
        "secret": "sa-secret",
        "token": "tok",
        "project_id": 4242,
        "region": "eu",
    }
    assert sorted(connection.secrets_of(options)) == ["sa-secret", "sa.name", "tok"]


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"regoin": "eu"}, "unknown extra keys ['regoin']"),
        ("{not json", "extra is not a JSON object"),
        ([1, 2], "extra must be a JSON object"),
        ({"token": 12345}, "token must be a string"),
    ],
)
def test_bad_connection_extra_is_an_error_naming_it(extra: object, message: str) -> None:
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")) as info:
        connection.runner_options(conn_id="mine", login=None, password=None, extra=extra)
    assert "'mine'" in str(info.value)


def test_oauth_token_goes_to_the_runner_and_is_a_secret() -> None:
    options = connection.runner_options(
        conn_id="c", login=None, password=None, extra={"oauth_token": "bearer-abc"}
    )
    assert options == {"oauth_token": "bearer-abc"}
    assert connection.secrets_of(options) == ["bearer-abc"]


def test_every_api_has_a_pool_and_the_commands_create_them() -> None:
    from mp_custom_action.core.apis import BUILTIN_APIS

    assert {spec.name for spec in BUILTIN_APIS} == set(pools.POOLS)
    assert pools.pool_for_api("Query").name == "mixpanel_query"
    assert pools.pool_for_api("lexicon-schemas").name == "mixpanel_lexicon"
    assert pools.pool_for_api("{{ params.api }}") is pools.DEFAULT_POOL
    assert pools.POOLS["query"].slots == 5 and pools.POOLS["lexicon"].slots == 1
    commands = [shlex.split(c) for c in pools.pool_commands()]
    assert commands[0][:5] == ["airflow", "pools", "set", "mixpanel_query", "5"]
    assert {c[3] for c in commands} == {p.name for p in [*pools.POOLS.values(), pools.DEFAULT_POOL]}
    out = subprocess.run(
        [sys.executable, "-m", "mp_custom_action.integrations.airflow.pools"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert out.stdout.splitlines() == pools.pool_commands()


def test_docs_show_the_example_dag_as_it_is() -> None:
    root = Path(__file__).resolve().parents[2]
    dag = (root / "docs" / "examples" / "airflow" / "mixpanel_warehouse_export.py").read_text()
    doc = (root / "docs" / "airflow.md").read_text()
    assert f"```python\n{dag}```" in doc
    for line in pools.pool_commands():
        assert line in doc
    for pool in [*pools.POOLS.values(), pools.DEFAULT_POOL]:
        assert f"| `{pool.name}` | {pool.slots} |" in doc
