"""Our expectation table: how every preset's example must go on the wire, written from the facts.

An independent oracle: it does not read the connector's endpoint table, Mixpanel's documents or
the preset files' URLs; it is written by hand from Mixpanel's reference (hosts per region, the
security section of each operation, its request body's media type, where ``project_id`` goes)
and from the examples' values. One row per preset::

    name: (method, host family, path as sent, credentials accepted, project_id place, media type)

*host family* ``api``, ``app`` or ``data`` stands for the three hosts of that family (one per
region, :data:`HOSTS`). *project_id place* is where a service account's project id goes
(``query``, ``form``, or ``""``: the project is in the path or not needed). *media type* ``""``:
no body.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = ["EXPECTED", "HOSTS", "KINDS", "Expected"]

HOSTS = {
    "api": {"us": "api.mixpanel.com", "eu": "api-eu.mixpanel.com", "in": "api-in.mixpanel.com"},
    "app": {"us": "mixpanel.com", "eu": "eu.mixpanel.com", "in": "in.mixpanel.com"},
    "data": {"us": "data.mixpanel.com", "eu": "data-eu.mixpanel.com", "in": "data-in.mixpanel.com"},
}

#: Credential kinds: service account and project API secret as Basic, the project token as the
#: Basic username (``token_basic``), inside the data (``token_data``) or as ``?token=``
#: (``token_query``), and an OAuth token as a bearer (``oauth``).
KINDS = ("service_account", "secret", "token_basic", "token_data", "token_query", "oauth")


class Expected(NamedTuple):
    method: str
    host: str
    path: str
    accepts: tuple[str, ...]
    project_id: str
    media: str


JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
CSV = "text/csv"

_SA = ("service_account",)
_SA_SECRET = ("service_account", "secret")
_DATA = ("token_data",)
# /import: service account, project secret or project token as Basic username (facts), and the
# OAuth token its security section lists beside them.
_IMPORT = ("service_account", "secret", "token_basic", "oauth")
# Feature flags: project secret or service account (security), the project token as ?token=.
_FLAGS = ("service_account", "secret", "token_query")
_OAUTH = ("oauth",)

_P = "/api/app/projects/12345"  # the examples' projectId
_WH = f"{_P}/warehouse-sources"
_ORG = "/api/app/organizations/1001/service-accounts"
_NESSIE = "/api/2.0/nessie/pipeline"


def _engage(name: str) -> tuple[str, Expected]:
    return name, Expected("POST", "api", "/engage", _DATA, "", JSON)


def _groups(name: str) -> tuple[str, Expected]:
    return name, Expected("POST", "api", "/groups", _DATA, "", JSON)


def _query(name: str, path: str, method: str = "GET", media: str = "") -> tuple[str, Expected]:
    return name, Expected(method, "app", f"/api/query{path}", _SA_SECRET, "query", media)


def _app(name: str, method: str, path: str, media: str = "") -> tuple[str, Expected]:
    return name, Expected(method, "app", path, _SA, "", media)


def _pipeline(name: str, path: str, method: str = "POST") -> tuple[str, Expected]:
    form = method == "POST"
    return name, Expected(
        method, "data", f"{_NESSIE}{path}", _SA_SECRET, "form" if form else "query",
        FORM if form else "",
    )  # fmt: skip


def _gdpr(name: str, method: str, path: str, media: str = "") -> tuple[str, Expected]:
    return name, Expected(method, "app", f"/api/app{path}", _OAUTH, "", media)


EXPECTED: dict[str, Expected] = dict(
    [
        # -- ingestion (20) -------------------------------------------------------------------
        ("import-events", Expected("POST", "api", "/import", _IMPORT, "query", JSON)),
        ("track-event", Expected("POST", "api", "/track", _DATA, "", JSON)),
        _engage("profile-set"),
        _engage("profile-set-property-once"),
        _engage("profile-numerical-add"),
        _engage("user-profile-union"),
        _engage("profile-append-to-list-property"),
        _engage("profile-remove-from-list-property"),
        _engage("profile-delete-property"),
        _engage("profile-batch-update"),
        _engage("delete-profile"),
        _groups("group-set-property"),
        _groups("group-set-property-once"),
        _groups("group-delete-property"),
        _groups("group-remove-from-list-property"),
        _groups("group-union"),
        _groups("group-batch-update"),
        _groups("delete-group"),
        ("list-lookup-tables", Expected("GET", "api", "/lookup-tables", _SA, "query", "")),
        (
            "replace-lookup-table",
            Expected(
                "PUT",
                "api",
                "/lookup-tables/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
                _SA_SECRET,
                "query",
                CSV,
            ),
        ),
        # -- identity (3) ----------------------------------------------------------------------
        ("create-identity", Expected("POST", "api", "/track", _DATA, "", FORM)),
        ("identity-create-alias", Expected("POST", "api", "/track", _DATA, "", FORM)),
        ("identity-merge", Expected("POST", "api", "/import", _IMPORT, "query", JSON)),
        # -- query (19) -------------------------------------------------------------------------
        _query("insights-query", "/insights"),
        _query("funnels-query", "/funnels"),
        _query("funnels-list-saved", "/funnels/list"),
        _query("retention-query", "/retention"),
        _query("retention-frequency-query", "/retention/addiction"),
        _query("segmentation-query", "/segmentation"),
        _query("segmentation-numeric-query", "/segmentation/numeric"),
        _query("segmentation-sum-query", "/segmentation/sum"),
        _query("segmentation-query-average", "/segmentation/average"),
        _query("activity-stream-query", "/stream/query"),
        _query("cohorts-list", "/cohorts/list", "POST"),
        _query("engage-query", "/engage", "POST", FORM),
        _query("list-recent-events", "/events"),
        _query("query-top-events", "/events/top"),
        _query("query-months-top-event-names", "/events/names"),
        _query("query-event-properties", "/events/properties"),
        _query("query-events-top-properties", "/events/properties/top"),
        _query("query-events-top-property-values", "/events/properties/values"),
        _query("query-jql", "/jql", "POST", FORM),
        # -- export (1) --------------------------------------------------------------------------
        ("raw-event-export", Expected("GET", "data", "/api/2.0/export", _SA_SECRET, "query", "")),
        # -- lexicon schemas (8): the project in the path, service account only -----------------
        _app("list-all-schemas-for-project", "GET", f"{_P}/schemas"),
        _app("upload-schemas-for-project", "POST", f"{_P}/schemas", JSON),
        _app("delete-all-schemas-in-project", "DELETE", f"{_P}/schemas"),
        _app("list-schemas-for-entity", "GET", f"{_P}/schemas/event"),
        _app("delete-schemas-for-entity", "DELETE", f"{_P}/schemas/profile"),
        _app("list-schemas-by-entity-and-name", "GET", f"{_P}/schemas/event/Added%20to%20cart"),
        _app("delete-schema-by-entity-and-name", "DELETE", f"{_P}/schemas/event/Added%20to%20cart"),
        _app(
            "upload-schema-by-entity-and-name",
            "POST",
            f"{_P}/schemas/event/Added%20to%20cart",
            JSON,
        ),
        # -- annotations (7) ---------------------------------------------------------------------
        _app("list-all-annotations-for-project", "GET", f"{_P}/annotations"),
        _app("create-annotation", "POST", f"{_P}/annotations", JSON),
        _app("get-annotation", "GET", f"{_P}/annotations/321"),
        _app("patch-annotation", "PATCH", f"{_P}/annotations/321", JSON),
        _app("delete-annotation", "DELETE", f"{_P}/annotations/321"),
        _app("get-annotation-tags", "GET", f"{_P}/annotations/tags"),
        _app("create-annotation-tag", "POST", f"{_P}/annotations/tags", JSON),
        # -- data pipelines (8): forms carry project_id, GETs carry it in the query -------------
        _pipeline("list-warehouse-pipeline-jobs", "/jobs", "GET"),
        _pipeline("create-warehouse-pipeline", "/create"),
        _pipeline("edit-warehouse-pipeline", "/edit"),
        _pipeline("cancel-warehouse-pipeline", "/cancel"),
        _pipeline("pause-warehouse-pipeline", "/pause"),
        _pipeline("resume-warehouse-pipeline", "/resume"),
        _pipeline("get-warehouse-pipeline-status", "/status", "GET"),
        _pipeline("list-warehouse-pipeline-sync-dates", "/timeline", "GET"),
        # -- warehouse connectors, published (10) ------------------------------------------------
        _app("list-warehouse-imports", "GET", f"{_WH}/imports"),
        _app("get-warehouse-import", "GET", f"{_WH}/imports/8812"),
        _app("update-warehouse-import", "PATCH", f"{_WH}/imports/8812", JSON),
        _app("delete-warehouse-import", "DELETE", f"{_WH}/imports/8812", JSON),  # delete_data
        _app("create-event-stream-import", "POST", f"{_WH}/imports/event-stream", JSON),
        _app("create-people-import", "POST", f"{_WH}/imports/people", JSON),
        _app("create-groups-import", "POST", f"{_WH}/imports/groups", JSON),
        _app("create-lookup-table-import", "POST", f"{_WH}/imports/lookup-table", JSON),
        _app("run-an-import", "PUT", f"{_WH}/imports/8812/manual-sync", JSON),
        _app("get-import-history", "GET", f"{_WH}/imports/8812/history"),
        # -- service accounts (7) ----------------------------------------------------------------
        _app("list-service-accounts", "GET", _ORG),
        _app("create-service-account", "POST", _ORG, JSON),
        _app("get-service-account", "GET", f"{_ORG}/555"),
        _app("delete-service-account", "DELETE", f"{_ORG}/555"),
        _app("list-project-service-accounts", "GET", f"{_P}/service-accounts"),
        _app("add-service-accounts-to-projects", "POST", f"{_ORG}/add-to-project", JSON),
        _app("remove-service-accounts-from-projects", "POST", f"{_ORG}/remove-from-project", JSON),
        # -- feature flags (2) -------------------------------------------------------------------
        ("get-variant-assignments", Expected("GET", "api", "/flags", _FLAGS, "query", "")),
        ("get-flag-definitions", Expected("GET", "api", "/flags/definitions", _FLAGS, "query", "")),
        # -- GDPR (5): OAuth bearer only, the project token as ?token= beside it -----------------
        _gdpr("create-retrieval", "POST", "/data-retrievals/v3.0", JSON),
        _gdpr("get-retrieval", "GET", "/data-retrievals/v3.0/1583958896312-a1b2c3"),
        _gdpr("create-deletion", "POST", "/data-deletions/v3.0", JSON),
        _gdpr("get-deletion", "GET", "/data-deletions/v3.0/1583958896312-d4e5f6"),
        _gdpr("delete-deletion", "DELETE", "/data-deletions/v3.0/1583958896312-d4e5f6"),
        # -- the seed's warehouse sources (8) ----------------------------------------------------
        _app("listWarehouseSources", "GET", _WH),
        _app("createWarehouseSource", "POST", _WH, JSON),
        _app("getWarehouseSource", "GET", f"{_WH}/src_abc123"),
        _app("updateWarehouseSource", "PATCH", f"{_WH}/src_abc123", JSON),
        _app("deleteWarehouseSource", "DELETE", f"{_WH}/src_abc123"),
        _app("listWarehouseTables", "GET", f"{_WH}/src_abc123/tables"),
        _app("listWarehouseRuns", "GET", f"{_WH}/src_abc123/runs"),
        _app("triggerWarehouseRun", "POST", f"{_WH}/src_abc123/runs"),
    ]
)
