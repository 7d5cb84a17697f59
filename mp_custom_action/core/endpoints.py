"""The endpoint table: what each Mixpanel endpoint takes, keyed by host, path and method.

Which credentials an endpoint accepts, where each goes, whether a service account needs
``project_id`` and where, which body media types and encodings it takes, and whether it pages are
facts about the endpoint, not about the selector that reached it: ``/app/projects/1/schemas``
through the ``query`` selector is the same App API endpoint as ``/1/schemas`` through ``lexicon``.
So the lookup runs on the joined URL (the Mixpanel URL, before ``--origin`` replaces its host)::

    selector query, region eu, relative URL /app/projects/1/schemas
    -> https://eu.mixpanel.com/api/app/projects/1/schemas
    -> host family "app", path /api/app/projects/1/schemas -> the App API row: service account only

Rows are tried in order, the first match wins (specific rows first, each host's catch-all last).
A URL no row matches (a plugin selector on another host) takes its selector's own rule.

Sources, named in the comments as [F] ``MIXPANEL-FACTS.md`` and [O:family] Mixpanel's OpenAPI
document of that family (security sections, request bodies, parameters), read, not copied.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

__all__ = [
    "CSV",
    "ENDPOINTS",
    "FORM",
    "HOST_FAMILIES",
    "JSON",
    "NDJSON",
    "PAGING_SESSION_PAGE",
    "PLACEMENT",
    "Endpoint",
    "find_endpoint",
    "find_in_family",
    "host_family",
]

JSON = "application/json"
NDJSON = "application/x-ndjson"
FORM = "application/x-www-form-urlencoded"
CSV = "text/csv"

#: ``Endpoint.paging``: the Query engage protocol. The first request sends no ``session_id``; each
#: answer carries ``session_id``, ``page``, ``page_size`` and ``total``; the next request sends that
#: ``session_id`` and ``page + 1`` as form fields, until a page holds fewer than ``page_size`` results.
PAGING_SESSION_PAGE = "session_id+page"

#: Where each credential kind goes on the wire: the ``Authorization`` header (``basic``,
#: ``bearer``), the query (``?token=``), or the records of the body (``data``).
PLACEMENT = {
    "service_account": "basic",
    "secret": "basic",
    "token_basic": "basic",
    "token_data": "data",
    "token_query": "query",
    "oauth": "bearer",
}

#: Mixpanel's hosts, by family: every region of one family serves the same endpoints [F].
HOST_FAMILIES = {
    **dict.fromkeys(("api.mixpanel.com", "api-eu.mixpanel.com", "api-in.mixpanel.com"), "api"),
    **dict.fromkeys(("mixpanel.com", "eu.mixpanel.com", "in.mixpanel.com"), "app"),
    **dict.fromkeys(("data.mixpanel.com", "data-eu.mixpanel.com", "data-in.mixpanel.com"), "data"),
}

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class Endpoint:
    """One row of the table (or a selector's own rule, for a URL no row matches).

    ``pattern`` is the URL path: ``{}`` is any one path segment, ``{a,b}`` either spelling, a
    trailing ``/**`` any path below (or none). ``methods``: the methods the row is for (empty: all).

    ``accepts``: credential kinds (:data:`~mp_custom_action.core.apis.CREDENTIAL_KINDS`), the order
    ``auth=auto`` tries them in. Each kind names its place: ``service_account``/``secret``/
    ``token_basic`` HTTP Basic, ``oauth`` a bearer token, ``token_data`` the project token in the
    data, ``token_query`` the project token as ``?token=``.
    ``project_id``: where a service account's project id goes (``query``, ``form``, or ``""``:
    not needed). ``project_token``: ``query`` when the project token must also travel as
    ``?token=`` beside the credential (GDPR).
    ``media``: body media types, the default first; ``()``: no body. A body is sent with POST, PUT
    and PATCH, and with DELETE only where the row lists DELETE and a media type.
    ``encodings``: ``Content-Encoding`` values the body may have. ``accept_encoding``: what we ask
    the answer to be compressed with. ``paging``: :data:`PAGING_SESSION_PAGE` or ``""``.
    ``deduplicated``: Mixpanel drops repeated records by ``$insert_id`` (a POST may be replayed).
    ``fragment_media``: (fragment, media type) pairs: the operation a ``#fragment`` of the relative
    URL names takes that media type by default (``/track#create-identity`` is a form).
    """

    family: str
    pattern: str
    summary: str
    accepts: tuple[str, ...]
    methods: frozenset[str] = frozenset()
    project_id: str = ""
    project_token: str = ""
    media: tuple[str, ...] = (JSON,)
    encodings: tuple[str, ...] = ()
    accept_encoding: str = ""
    paging: str = ""
    deduplicated: bool = False
    fragment_media: tuple[tuple[str, str], ...] = ()
    _regex: Optional[re.Pattern[str]] = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.pattern:
            object.__setattr__(self, "_regex", _compile(self.pattern))

    def matches(self, family: str, path: str, method: str) -> bool:
        if family != self.family or (self.methods and method not in self.methods):
            return False
        return self._regex is not None and self._regex.fullmatch(path) is not None

    def body_media(self, method: str) -> tuple[str, ...]:
        """The media types a body of ``method`` may have here; ``()`` when it takes no body."""
        if method in _BODY_METHODS or (method == "DELETE" and "DELETE" in self.methods):
            return self.media
        return ()

    @property
    def methods_text(self) -> str:
        return "/".join(sorted(self.methods)) if self.methods else "any"


def _row(
    family: str, methods: str, pattern: str, summary: str, accepts: str, **facts: object
) -> Endpoint:
    return Endpoint(
        family, pattern, summary, tuple(accepts.split()),
        methods=frozenset(methods.split()) if methods != "*" else frozenset(), **facts,  # type: ignore[arg-type]
    )  # fmt: skip


def _compile(pattern: str) -> re.Pattern[str]:
    out = []
    for piece in re.split(r"(\{[^}]*\}|/\*\*$)", pattern):
        if piece == "{}":
            out.append("[^/]+")
        elif piece == "/**":
            out.append("(?:/.*)?")
        elif piece.startswith("{"):
            out.append("(?:" + "|".join(re.escape(alt) for alt in piece[1:-1].split(",")) + ")")
        else:
            out.append(re.escape(piece))
    return re.compile("".join(out) + "/?")


_SA_OR_API = "service_account secret"
_QUERY = "/api/{2.0,query}"  # Query answers under /api/2.0 and /api/query alike [F][O:query]
_NO_BODY: tuple[str, ...] = ()

# fmt: off
ENDPOINTS: tuple[Endpoint, ...] = (
    # -- api.mixpanel.com: ingestion, identity, feature flags ------------------------------------
    # [F] /import table; [O:ingestion] import-events: Content-Type json|x-ndjson, Content-Encoding
    # gzip; [O:identity] identity-merge; both list OAuthToken beside ServiceAccount/ProjectSecret.
    _row("api", "POST", "/import", "Import events", f"{_SA_OR_API} token_basic oauth",
         project_id="query", media=(JSON, NDJSON), encodings=("gzip",), deduplicated=True),
    # [F] token in the data; [O:ingestion] track-event (JSON); [O:identity] create-identity and
    # identity-create-alias post a form whose `data` field holds the event as JSON text.
    _row("api", "*", "/track", "Track events; identity forms", "token_data",
         media=(JSON, FORM), deduplicated=True,
         fragment_media=(("create-identity", FORM), ("identity-create-alias", FORM))),
    # [F] `$token` of each update; [O:ingestion] profile-* and group-* operations, JSON bodies.
    _row("api", "*", "/engage", "User profile updates", "token_data"),
    _row("api", "*", "/groups", "Group profile updates", "token_data"),
    # [F] lookup tables; [O:ingestion] list-lookup-tables (ServiceAccount only), no body.
    _row("api", "GET", "/lookup-tables", "List lookup tables", "service_account",
         project_id="query", media=_NO_BODY),
    # [O:ingestion] replace-lookup-table: ServiceAccount or ProjectSecret, body text/csv.
    _row("api", "PUT", "/lookup-tables/{}", "Replace a lookup table", _SA_OR_API,
         project_id="query", media=(CSV,)),
    # [O:feature-flags] ProjectSecret or ServiceAccount, `token` and `project_id` query parameters:
    # the project token alone goes as ?token=, a service account with ?project_id=.
    _row("api", "GET", "/flags{,/definitions}", "Feature flags", f"{_SA_OR_API} token_query",
         project_id="query", media=_NO_BODY),
    # Other ingestion paths take what /import takes (our default; [F] lists no others).
    _row("api", "*", "/**", "Other ingestion endpoints", f"{_SA_OR_API} token_basic",
         project_id="query"),

    # -- mixpanel.com: GDPR, App APIs, Query ---------------------------------------------------------
    # [O:gdpr] security OAuthToken only; `token` (project token) query parameter required; JSON
    # bodies on create; get/cancel take none.
    _row("app", "*", "/api/app/{data-retrievals,data-deletions}/v3.0/**", "GDPR retrievals and "
         "deletions", "oauth", project_token="query"),  # noqa: S106
    # [O:warehouse-connectors] delete-warehouse-import documents a JSON body (`delete_data`).
    _row("app", "DELETE", "/api/app/projects/{}/warehouse-sources/imports/{}",
         "Delete a warehouse import", "service_account"),
    # [F] Lexicon, Connectors; [O:lexicon-schemas], [O:annotations], [O:service-accounts],
    # [O:warehouse-connectors]: ServiceAccount only, project (or organization) in the path.
    _row("app", "*", "/api/app/**", "App APIs (Lexicon, Connectors, annotations, service "
         "accounts)", "service_account"),
    # [O:query] query-jql and engage-query post forms; engage pages by session_id and page.
    _row("app", "POST", f"{_QUERY}/jql", "JQL", _SA_OR_API, project_id="query", media=(FORM,)),
    _row("app", "POST", f"{_QUERY}/engage", "Query profiles", _SA_OR_API, project_id="query",
         media=(FORM,), paging=PAGING_SESSION_PAGE),
    # [O:query] cohorts-list is a POST without a body.
    _row("app", "POST", f"{_QUERY}/cohorts/list", "List cohorts", _SA_OR_API,
         project_id="query", media=_NO_BODY),
    # [F] Query; [O:query] global security ServiceAccount or ProjectSecret, project_id query.
    _row("app", "*", "/api/**", "Query API", _SA_OR_API, project_id="query"),

    # -- data.mixpanel.com: Export, Data Pipelines ------------------------------------------------
    # [F] Export (JSON Lines, can be gigabytes); [O:export] raw-event-export, Accept-Encoding gzip.
    _row("data", "GET", "/api/2.0/export", "Raw event export", _SA_OR_API, project_id="query",
         media=_NO_BODY, accept_encoding="gzip"),
    # [O:data-pipelines] create/edit/cancel/pause/resume post forms holding project_id.
    _row("data", "POST", "/api/2.0/nessie/pipeline/{create,edit,cancel,pause,resume}",
         "Change a pipeline", _SA_OR_API, project_id="form", media=(FORM,)),
    # [F] Data Pipelines; [O:data-pipelines] jobs/status/timeline: project_id query parameter.
    _row("data", "*", "/api/2.0/**", "Data Pipelines and other data endpoints", _SA_OR_API,
         project_id="query"),
)
# fmt: on


def host_family(url: str) -> str:
    """``api``, ``app`` or ``data`` for a Mixpanel host of any region; ``""`` for any other."""
    return HOST_FAMILIES.get((urlsplit(url).hostname or "").lower(), "")


def find_endpoint(url: str, method: str) -> Optional[Endpoint]:
    """The first row matching the Mixpanel ``url`` (its query is ignored) and ``method``."""
    parts = urlsplit(url)
    return find_in_family(host_family(url), parts.path or "/", method)


def find_in_family(family: str, path: str, method: str) -> Optional[Endpoint]:
    """The first row of host ``family`` matching ``path`` (percent-encoded) and ``method``."""
    key = (family, path, method)
    found = _seen.get(key, _MISSING)
    if found is _MISSING:
        found = next(
            (row for row in _BY_FAMILY.get(family, ()) if row.matches(family, path, method)), None
        )
        if len(_seen) >= _SEEN_MAX:
            _seen.clear()  # a long run over many ids: start again rather than grow
        _seen[key] = found
    return found  # type: ignore[return-value]


_BY_FAMILY: dict[str, tuple[Endpoint, ...]] = {
    family: tuple(row for row in ENDPOINTS if row.family == family)
    for family in set(HOST_FAMILIES.values())
}
# Runs repeat their URLs: the lookup of one (family, path, method) is remembered (dict operations
# are atomic, so threads may share it).
_MISSING = object()
_SEEN_MAX = 4096
_seen: dict[tuple[str, str, str], object] = {}
