"""An example mp-custom-action plugin: adds the Annotations API and a ``listAnnotations`` preset.

A plugin needs no import beyond the ``hookimpl`` marker: definitions are plain dicts, checked by
mp-custom-action when it loads them (a definition it refuses is reported with this plugin's name).
"""

from mp_custom_action import hookimpl

_HOSTS = {"us": "mixpanel.com", "eu": "eu.mixpanel.com", "in": "in.mixpanel.com"}


@hookimpl
def mp_custom_action_apis():
    # An API selector mp-custom-action does not ship: base URL per region, credentials accepted.
    return [
        {
            "name": "annotations",
            "display_name": "Annotations API",
            "base_urls": {
                region: f"https://{host}/api/app/projects" for region, host in _HOSTS.items()
            },
            "accepts": ["service_account"],
        }
    ]


@hookimpl
def mp_custom_action_presets():
    return [
        {
            "name": "listAnnotations",
            "api": "annotations",
            "method": "GET",
            "path": "/{projectId}/annotations",
            "summary": "List the annotations of a project",
            "input_schema": {
                "type": "object",
                "properties": {
                    "projectId": {"type": "integer", "minimum": 1, "description": "Project ID"},
                    "query": {
                        "type": "object",
                        "properties": {
                            "fromDate": {"type": "string", "format": "date"},
                            "toDate": {"type": "string", "format": "date"},
                        },
                        "additionalProperties": False,
                    },
                },
                "required": ["projectId"],
                "additionalProperties": False,
            },
            "example": {
                "projectId": 12345,
                "query": {"fromDate": "2024-01-01", "toDate": "2024-01-31"},
            },
        }
    ]
