"""Routing: which API family answers a path, faults first, and a 500 (never a crash) on a bug.

All families share one origin and are told apart by path, as the real hosts' paths do::

    /track /engage /groups /import /lookup-tables     Ingestion      (api.mixpanel.com)
    /api/2.0/export                                   Export         (data.mixpanel.com)
    /api/2.0/nessie/...                               Data Pipelines (data.mixpanel.com)
    /api/app/projects/{id}/schemas...                 Lexicon        (mixpanel.com)
    /api/app/projects/{id}/warehouse-sources...       Connectors     (mixpanel.com)
    /api/query/... /api/2.0/...                       Query          (mixpanel.com)

Families of Mixpanel's reference the sandbox does not emulate (annotations, service accounts,
GDPR requests, feature flags) answer 404 in the family's error shape, saying so.
"""

from __future__ import annotations

import logging
from typing import Callable, Optional

from .auth import SERVICE_ACCOUNT, check_basic, check_path_project
from .context import Context, segments
from .engage import handle_engage, handle_groups
from .export import handle_export
from .faults import Faults
from .ingestion import handle_import, handle_track
from .lexicon import handle_schemas
from .lookup_tables import handle_lookup_tables
from .messages import APP, CLASSIC, Request, Response, error, json_response
from .pipelines import handle_pipelines
from .query import handle_query
from .state import StateNotSaved
from .warehouse_sources import handle_sources

__all__ = ["App"]

log = logging.getLogger("mp_custom_action.sandbox")

Handler = Callable[[Context, Request], Response]


def _under(path: str, prefix: str) -> bool:
    return path == prefix or path.startswith(prefix + "/")


def route(path: str) -> Optional[tuple[Handler, str]]:
    for prefix, handler, style in _ROUTES:
        if _under(path, prefix):
            return handler, style
    return None


#: App API families of Mixpanel's reference that the sandbox does not emulate, by path segment.
NOT_EMULATED_APP = {
    "annotations": "Annotations",
    "service-accounts": "Service Accounts",
    "data-retrievals": "GDPR data retrievals",
    "data-deletions": "GDPR data deletions",
    "organizations": "Service Accounts (organizations)",
}


def _not_emulated(family: str, style: str) -> Response:
    return error(
        404,
        f"Not emulated: the sandbox does not emulate the {family} API (see docs/sandbox.md)",
        style,
    )


def _app_api(ctx: Context, request: Request) -> Response:
    # /api/app/projects/{projectId}/{schemas|warehouse-sources}/...: service accounts only,
    # and the project in the path is the one they must have access to.
    parts = segments(request.path, "/api/app")
    for part in parts[:3]:
        if part in NOT_EMULATED_APP:
            return _not_emulated(NOT_EMULATED_APP[part], APP)
    if len(parts) < 3 or parts[0] != "projects" or parts[2] not in ("schemas", "warehouse-sources"):
        return error(
            404,
            "Not emulated: the sandbox answers /api/app/projects/{projectId}/schemas... and "
            "/api/app/projects/{projectId}/warehouse-sources...",
            APP,
        )
    denied = check_basic(request, ctx.keys, (SERVICE_ACCOUNT,), project_id_param=False, style=APP)
    if denied is None:
        denied = check_path_project(parts[1], ctx.keys, APP)
        if denied is not None:
            request.notes["auth"] = "refused: service_account for another project"
    if denied is not None:
        return denied
    if parts[2] == "schemas":
        return handle_schemas(ctx, request, parts[3:])
    return handle_sources(ctx, request, parts[3:])


# (prefix, handler, error style), most specific first.
_ROUTES: tuple[tuple[str, Handler, str], ...] = (
    ("/track", handle_track, CLASSIC),
    ("/engage", handle_engage, CLASSIC),
    ("/groups", handle_groups, CLASSIC),
    ("/import", handle_import, CLASSIC),
    ("/lookup-tables", handle_lookup_tables, CLASSIC),
    ("/api/2.0/export", handle_export, CLASSIC),
    ("/api/2.0/nessie", handle_pipelines, APP),
    ("/flags", lambda ctx, request: _not_emulated("Feature Flags", CLASSIC), CLASSIC),
    ("/api/app", _app_api, APP),
    ("/api", handle_query, CLASSIC),
)


class App:
    """Turns a :class:`Request` into a :class:`Response`; the HTTP server is in server.py."""

    def __init__(self, ctx: Context, faults: Faults) -> None:
        self.ctx = ctx
        self.faults = faults

    def handle(self, request: Request) -> Response:
        path = request.path
        if path in ("", "/"):
            return self._about()
        found = route(path)
        if found is None:
            return error(404, f"Not found: {path} is not a Mixpanel API path (see docs/sandbox.md)")
        handler, style = found
        self.faults.delay()
        fault = self.faults.decide()
        if fault is not None:
            headers = (
                [("Retry-After", str(fault.retry_after))] if fault.retry_after is not None else []
            )
            return error(fault.status, fault.message, style, headers=headers)
        try:
            return handler(self.ctx, request)
        except RecursionError:
            # json.loads of a body nested thousands deep; a client's mistake, not a bug here.
            return error(400, "the body is nested too deeply to read", style)
        except StateNotSaved as exc:
            # Nothing was kept (state.py): a 503 tells the client that a retry is safe.
            log.warning("%s", exc)
            return error(503, f"{exc}; nothing was stored, retry later", style)
        except Exception:
            # A bug in one handler must not take the sandbox down, nor leave the client hanging.
            log.exception("sandbox handler failed for %s %s", request.method, path)
            return error(500, "Internal error in the sandbox (a bug: please report it)", style)

    def _about(self) -> Response:
        return json_response(
            {
                "sandbox": "mp-custom-action",
                "project_id": self.ctx.keys.project_id,
                "docs": "docs/sandbox.md",
            }
        )
