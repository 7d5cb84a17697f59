"""The operations the sandbox claims to emulate, as a preset names them: (api, method, path).

``api`` is the API selector (``ingestion``, ``query``, ``export``, ``pipelines``, ``lexicon``,
``connectors``); ``path`` is relative to that API's base URL, with ``{placeholders}``, exactly as
a preset's path is. tests/sandbox/test_preset_schemas.py joins this list with every preset the
project has, and checks the sandbox's answer to each against the preset's response schema: the
sandbox and the connector cannot drift apart, and a new preset for a claimed operation is
checked the day it lands. docs/sandbox.md lists the same operations by family.

Plain data: the sandbox imports nothing of the connector.
"""

from __future__ import annotations

__all__ = ["CLAIMS", "claimed"]

_QUERY = (("GET", "events/names"), ("GET", "segmentation"), ("POST", "engage"), ("GET", "engage"))
_WAREHOUSE = "/projects/{projectId}/warehouse-sources"
_IMPORTS = _WAREHOUSE + "/imports"

CLAIMS: tuple[tuple[str, str, str], ...] = (
    # Ingestion (identity's create-identity, alias and merge are /track and /import events)
    ("ingestion", "POST", "/track"),
    ("ingestion", "GET", "/track"),
    ("ingestion", "POST", "/engage"),
    ("ingestion", "POST", "/groups"),
    ("ingestion", "POST", "/import"),
    ("ingestion", "GET", "/lookup-tables"),
    ("ingestion", "PUT", "/lookup-tables/{id}"),
    # Query, under the reference's /api/query and the older /api/2.0
    *(("query", m, f"/{prefix}/{op}") for prefix in ("query", "2.0") for m, op in _QUERY),
    ("query", "POST", "/query/jql"),
    ("query", "POST", "/2.0/jql"),
    # Raw Data Export
    ("export", "GET", "/"),
    ("export", "GET", ""),
    ("export", "POST", "/"),
    # Data Pipelines
    ("pipelines", "POST", "/pipeline/create"),
    ("pipelines", "POST", "/pipeline/edit"),
    ("pipelines", "GET", "/pipeline/jobs"),
    ("pipelines", "GET", "/pipeline/status"),
    ("pipelines", "GET", "/pipeline/timeline"),
    ("pipelines", "POST", "/pipeline/pause"),
    ("pipelines", "POST", "/pipeline/resume"),
    ("pipelines", "POST", "/pipeline/cancel"),
    # Lexicon Schemas
    ("lexicon", "GET", "/{projectId}/schemas"),
    ("lexicon", "POST", "/{projectId}/schemas"),
    ("lexicon", "DELETE", "/{projectId}/schemas"),
    ("lexicon", "GET", "/{projectId}/schemas/{entityType}"),
    ("lexicon", "DELETE", "/{projectId}/schemas/{entityType}"),
    ("lexicon", "GET", "/{projectId}/schemas/{entityType}/{name}"),
    ("lexicon", "POST", "/{projectId}/schemas/{entityType}/{name}"),
    ("lexicon", "DELETE", "/{projectId}/schemas/{entityType}/{name}"),
    # Warehouse Connectors: the seed's sources model...
    ("connectors", "GET", _WAREHOUSE),
    ("connectors", "POST", _WAREHOUSE),
    ("connectors", "GET", _WAREHOUSE + "/{sourceId}"),
    ("connectors", "PATCH", _WAREHOUSE + "/{sourceId}"),
    ("connectors", "DELETE", _WAREHOUSE + "/{sourceId}"),
    ("connectors", "GET", _WAREHOUSE + "/{sourceId}/tables"),
    ("connectors", "GET", _WAREHOUSE + "/{sourceId}/runs"),
    ("connectors", "POST", _WAREHOUSE + "/{sourceId}/runs"),
    # ... and the published imports operations
    ("connectors", "GET", _IMPORTS),
    ("connectors", "GET", _IMPORTS + "/{importId}"),
    ("connectors", "PATCH", _IMPORTS + "/{importId}"),
    ("connectors", "DELETE", _IMPORTS + "/{importId}"),
    ("connectors", "POST", _IMPORTS + "/event-stream"),
    ("connectors", "POST", _IMPORTS + "/people"),
    ("connectors", "POST", _IMPORTS + "/groups"),
    ("connectors", "POST", _IMPORTS + "/lookup-table"),
    ("connectors", "PUT", _IMPORTS + "/{importId}/manual-sync"),
    ("connectors", "GET", _IMPORTS + "/{importId}/history"),
)


def _shape(path: str) -> str:
    # Placeholder names differ between documents ({sourceId}, {source_id}): compare the shape.
    parts = ["{}" if p.startswith("{") and p.endswith("}") else p for p in path.split("/")]
    return "/".join(parts)


_INDEX = frozenset((api, method, _shape(path)) for api, method, path in CLAIMS)


def claimed(api: str, method: str, path: str) -> bool:
    """Whether the sandbox claims the operation ``method path`` of ``api``."""
    return (api, method.upper(), _shape(path)) in _INDEX
