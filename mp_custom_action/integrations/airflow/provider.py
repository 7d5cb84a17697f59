"""What Airflow's providers manager reads (the ``apache_airflow_provider`` entry point).

It must not import Airflow, nor anything heavy: Airflow calls it while it starts. The connection
form is declared here (``conn-fields``, Airflow 3.2+), so the UI shows labelled fields without
importing the hook; ``format: password`` fields are masked in the form and in the API.
"""

from __future__ import annotations

from typing import Any

from ..._version import __version__

__all__ = ["CONNECTION_TYPE", "DEFAULT_CONN_ID", "EXTRA_FIELDS", "get_provider_info"]

CONNECTION_TYPE = "mixpanel"
DEFAULT_CONN_ID = "mixpanel_default"
_HOOK = "mp_custom_action.integrations.airflow.hook.MixpanelHook"
_INTEGRATION = "Mixpanel"


def _field(label: str, description: str, kind: str = "string", **schema: Any) -> dict[str, Any]:
    return {
        "label": label,
        "description": description,
        "schema": {"type": [kind, "null"], **schema},
    }


#: The extra keys of a ``mixpanel`` connection -> their form field.
EXTRA_FIELDS: dict[str, dict[str, Any]] = {
    "region": _field(
        "Region", "Data residency: us (standard), eu or in (india)", enum=["us", "eu", "in", None]
    ),
    "project_id": _field(
        "Project ID", "Needed with a service account for most APIs", "integer", minimum=1
    ),
    "api_secret": _field(
        "Project API secret", "Deprecated by Mixpanel (retired 2027-03-03)", format="password"
    ),
    "token": _field("Project token", "For /track, /engage and /groups", format="password"),
    "oauth_token": _field(
        "OAuth bearer token", "Sent as Authorization: Bearer where supported", format="password"
    ),
    "origin": _field(
        "Origin override",
        "Replace scheme, host and port of every base URL (a local sandbox: http://127.0.0.1:PORT)",
    ),
}


def get_provider_info() -> dict[str, Any]:
    modules = "mp_custom_action.integrations.airflow"
    return {
        "package-name": "mp-custom-action",
        "name": "Mixpanel (mp-custom-action)",
        "description": "Authenticated custom calls, presets, manifests and bulk jobs against "
        "Mixpanel's HTTP APIs, as Airflow operators, a hook and a sensor.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": _INTEGRATION,
                "external-doc-url": "https://developer.mixpanel.com/reference/overview",
                "tags": ["service"],
            }
        ],
        "operators": [
            {"integration-name": _INTEGRATION, "python-modules": [f"{modules}.operators"]}
        ],
        "sensors": [{"integration-name": _INTEGRATION, "python-modules": [f"{modules}.sensors"]}],
        "hooks": [{"integration-name": _INTEGRATION, "python-modules": [f"{modules}.hook"]}],
        "connection-types": [
            {
                "connection-type": CONNECTION_TYPE,
                "hook-class-name": _HOOK,
                "hook-name": _INTEGRATION,
                "conn-fields": EXTRA_FIELDS,
                "ui-field-behaviour": {
                    "hidden-fields": ["host", "schema", "port"],
                    "relabeling": {
                        "login": "Service account username",
                        "password": "Service account secret",
                    },
                    "placeholders": {
                        "login": "name.12345.mp-service-account",
                        "region": "us",
                    },
                },
            }
        ],
    }
