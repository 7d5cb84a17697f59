"""Card inputs -> the one request that will go out: URL, headers, credential, body bytes.

Building a request touches no network and imports no HTTP library, so ``--dry-run`` and manifest
checks are cheap. Everything the user can get wrong is rejected here, before anything is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .._text import REDACTED
from .._version import __version__
from ..errors import MissingCredentialError, UnknownApiError
from .apis import ApiRegistry, ApiSpec, check_base_path, normalize_region
from .credentials import (
    AppliedCredential,
    Credentials,
    Secret,
    choose_credential,
    normalize_auth,
)
from .encoding import RequestBody, all_have_insert_id
from .endpoints import Endpoint, find_in_family, host_family
from .inputs import ActionInputs, normalize_headers, parse_inputs
from .urls import (
    encode_query,
    join,
    merge_query,
    normalize_query_object,
    split_relative_url,
    without_query,
)

__all__ = ["USER_AGENT", "OutgoingRequest", "build_request", "endpoint_for"]

USER_AGENT = f"mp-custom-action/{__version__}"


@dataclass(frozen=True, repr=False)
class OutgoingRequest:
    """A fully built request. ``authorization`` stays a :class:`Secret` until the socket.

    ``url`` never holds a credential: a project token sent as ``?token=`` is added by
    :meth:`wire_url`, which only the transport calls.
    """

    method: str
    url: str
    headers: Mapping[str, str]
    body: Optional[bytes]
    api: ApiSpec
    region: str
    path: str
    credential: AppliedCredential
    #: May a POST/PATCH be repeated after an answer that might mean "processed"? (see retry.py)
    replay_safe: bool = False
    #: The body as shown by --dry-run (tokens written into the data are redacted): the JSON value,
    #: the form's fields, or the NDJSON/CSV text; ``None`` for a body the caller gave as bytes.
    shown_body: Any = field(default=None, compare=False)
    #: The URL as log lines show it; default: the URL without its query. A manifest step sets it
    #: when a secret it read stands in the path.
    log_url: str = field(default="", compare=False)
    #: The endpoint table's row for this URL (or the selector's own rule): what it accepts.
    endpoint: Optional[Endpoint] = field(default=None, compare=False)
    #: Does --dry-run show the body's size (bytes given by the caller, or gzip-compressed)?
    show_size: bool = field(default=False, compare=False)

    @property
    def shown_url(self) -> str:
        return self.log_url or without_query(self.url)

    @property
    def authorization(self) -> Optional[Secret]:
        return self.credential.authorization

    def wire_url(self) -> str:
        """The URL as sent, a project token in the query included. Only the transport calls this."""
        token = self.credential.query_token
        if token is None:
            return self.url
        extra = encode_query([("token", token.reveal())])
        return self.url + ("&" if "?" in self.url else "?") + extra

    def wire_headers(self) -> dict[str, str]:
        """The headers as sent, credential included. Only the transport calls this."""
        headers = dict(self.headers)
        if self.credential.authorization is not None:
            headers["Authorization"] = self.credential.authorization.reveal()
        return headers

    def describe(self) -> dict[str, Any]:
        """What ``--dry-run`` prints: the request that would go out, credentials redacted."""
        headers = dict(self.headers)
        if self.credential.authorization is not None:
            headers["Authorization"] = f"{self.credential.scheme} {REDACTED}"
        url = self.url
        if self.credential.query_token is not None:
            url += ("&" if "?" in url else "?") + f"token={REDACTED}"
        out = {"method": self.method, "url": url, "headers": headers, "body": self.shown_body}
        if self.show_size and self.body is not None:
            out["body_bytes"] = len(self.body)
        return out

    def __repr__(self) -> str:
        return f"OutgoingRequest({self.method} {self.shown_url}, credential={self.credential.kind})"


ApiLookup = Callable[[object], ApiSpec]


def build_request(
    inputs: object,
    *,
    credentials: Credentials,
    region: Optional[str] = None,
    origin: Optional[str] = None,
    auth: Optional[str] = None,
    apis: ApiRegistry | ApiLookup | None = None,
    field_prefix: str = "",
) -> OutgoingRequest:
    """Check ``inputs`` (card inputs, any naming) and build the request.

    ``region``/``auth`` are the runner's defaults; the inputs' own ``region``/``auth`` win.
    ``origin`` (already validated by :func:`urls.validate_origin`) replaces scheme, host and port.
    What the endpoint accepts is looked up by the Mixpanel URL (:func:`endpoint_for`), before
    ``origin`` replaces its host.
    """
    p = field_prefix
    action: ActionInputs = parse_inputs(inputs, field_prefix=p)
    lookup = _lookup(apis)
    try:
        spec = lookup(action.api)
    except UnknownApiError as exc:
        # API lookups know nothing of where the inputs sit (a manifest step); we do.
        raise UnknownApiError(exc.detail, field=f"{p}api") from None
    region_name = normalize_region(
        action.region if action.region is not None else region,
        field=f"{p}region",
    )
    base_path = spec.base_paths[region_name]
    base = origin + base_path if origin else spec.base_url(region_name)

    path, url_query = split_relative_url(action.relative_url, field=f"{p}relative_url")
    check_base_path(
        action.relative_url, path, base_path, spec.display_name, field=f"{p}relative_url"
    )
    query = merge_query(
        url_query, normalize_query_object(action.query, field=f"{p}query"), field=f"{p}query"
    )
    headers = normalize_headers(action.headers, field=f"{p}headers")

    endpoint = endpoint_for(spec, region_name, action.method, path)
    auth_name = normalize_auth(action.auth if action.auth is not None else auth, field=f"{p}auth")
    credential = choose_credential(
        credentials, spec, endpoint, auth_name, path, field=p.split(".", 1)[0] or None
    )
    credential = _in_query(credential, credentials, endpoint, query, spec, path)

    label = f"{action.method} {base_path}{'' if path == '/' else path}"
    body = RequestBody(action, endpoint, credential, path, label, p)
    body_bytes, shown_body = body.encode(headers)
    return OutgoingRequest(
        method=action.method,
        url=join(base, path, query),
        headers=_headers(endpoint, body, headers),
        body=body_bytes,
        api=spec,
        region=region_name,
        path=path,
        credential=credential,
        replay_safe=endpoint.deduplicated and all_have_insert_id(action.body),
        shown_body=shown_body,
        endpoint=endpoint,
        show_size=body.gzip or isinstance(action.body, bytes),
    )


_families: dict[str, str] = {}


def endpoint_for(spec: ApiSpec, region: str, method: str, path: str) -> Endpoint:
    """The endpoint table's row for ``path`` under ``spec`` in ``region``, else the selector's rule.

    The table is keyed by the Mixpanel URL, so the row is the same whichever selector reached it.
    """
    family = _families.get(spec.base_url(region))
    if family is None:
        family = _families[spec.base_url(region)] = host_family(spec.base_url(region))
    full = spec.base_paths[region] + ("" if path in ("", "/") else path)
    row = find_in_family(family, full or "/", method) if family else None
    if row is not None:
        return row
    rule = spec.rule_for(method, path)
    return Endpoint(
        "", "", spec.display_name, rule.accepts, project_id="query" if rule.project_id else ""
    )


def _headers(endpoint: Endpoint, body: RequestBody, given: dict[str, str]) -> dict[str, str]:
    headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json, text/plain;q=0.9, */*;q=0.1",
    }
    if endpoint.accept_encoding and not any(k.lower() == "accept-encoding" for k in given):
        headers["Accept-Encoding"] = endpoint.accept_encoding
    if body.media:
        headers["Content-Type"] = body.media
    if body.gzip:
        headers["Content-Encoding"] = "gzip"
    headers.update(given)
    return headers


def _in_query(
    credential: AppliedCredential,
    creds: Credentials,
    endpoint: Endpoint,
    query: list[tuple[str, str]],
    spec: ApiSpec,
    path: str,
) -> AppliedCredential:
    """Add what goes in the query: a service account's ``project_id`` where the endpoint takes it
    there, and the project token as ``?token=`` where it travels beside the credential (GDPR)."""
    keys = {k for k, _ in query}
    if (
        credential.project_id is not None
        and endpoint.project_id == "query"
        and "project_id" not in keys
    ):
        query.append(("project_id", credential.project_id))
    if endpoint.project_token != "query" or "token" in keys:  # noqa: S105
        return credential
    if creds.token is None:
        raise MissingCredentialError(
            f"the {spec.display_name} ({path or '/'}) also needs the project token "
            "(MP_TOKEN), sent as ?token=",
        )
    return dataclasses.replace(credential, query_token=creds.token)


def _lookup(apis: ApiRegistry | ApiLookup | None) -> ApiLookup:
    if apis is None:
        from .apis import builtin_registry

        return builtin_registry.get
    if isinstance(apis, ApiRegistry):
        return apis.get
    return apis
