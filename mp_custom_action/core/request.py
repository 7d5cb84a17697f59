"""Card inputs -> the one request that will go out: URL, headers, credential, body bytes.

Building a request touches no network and imports no HTTP library, so ``--dry-run`` and manifest
checks are cheap. Everything the user can get wrong is rejected here, before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from .._text import REDACTED
from .._version import __version__
from ..errors import BodyError, UnknownApiError
from .apis import ApiRegistry, ApiSpec, normalize_region
from .credentials import (
    AppliedCredential,
    Credentials,
    Secret,
    choose_credential,
    normalize_auth,
)
from .inputs import ActionInputs, check_json_value, normalize_headers, parse_inputs
from .urls import join, merge_query, normalize_query_object, split_relative_url, without_query

__all__ = ["USER_AGENT", "OutgoingRequest", "build_request"]

USER_AGENT = f"mp-custom-action/{__version__}"

# Ingestion endpoints whose records Mixpanel de-duplicates by $insert_id: a POST of a batch whose
# every record carries one can be repeated without double-counting.
_DEDUPLICATED = ("/import", "/track")


@dataclass(frozen=True, repr=False)
class OutgoingRequest:
    """A fully built request. ``authorization`` stays a :class:`Secret` until the socket."""

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
    #: The JSON body as shown by --dry-run (tokens written into the data are redacted).
    shown_body: Any = field(default=None, compare=False)
    #: The URL as log lines show it; default: the URL without its query. A manifest step sets it
    #: when a secret it read stands in the path.
    log_url: str = field(default="", compare=False)

    @property
    def shown_url(self) -> str:
        return self.log_url or without_query(self.url)

    @property
    def authorization(self) -> Optional[Secret]:
        return self.credential.authorization

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
            headers["Authorization"] = f"Basic {REDACTED}"
        return {"method": self.method, "url": self.url, "headers": headers, "body": self.shown_body}

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
    base = origin + spec.base_paths[region_name] if origin else spec.base_url(region_name)

    path, url_query = split_relative_url(action.relative_url, field=f"{p}relative_url")
    query = merge_query(
        url_query, normalize_query_object(action.query, field=f"{p}query"), field=f"{p}query"
    )
    headers = normalize_headers(action.headers, field=f"{p}headers")

    rule = spec.rule_for(action.method, path)
    auth_name = normalize_auth(action.auth if action.auth is not None else auth, field=f"{p}auth")
    credential = choose_credential(
        credentials, spec, rule, auth_name, path, field=p.split(".", 1)[0] or None
    )

    if credential.project_id is not None and not any(k == "project_id" for k, _ in query):
        query.append(("project_id", credential.project_id))

    body_bytes, shown_body, content_type = _body(action, spec, path, credential, f"{p}body")
    out_headers = {
        "User-Agent": USER_AGENT,
        "Accept": "application/json, text/plain;q=0.9, */*;q=0.1",
    }
    if content_type:
        out_headers["Content-Type"] = content_type
    out_headers.update(headers)

    return OutgoingRequest(
        method=action.method,
        url=join(base, path, query),
        headers=out_headers,
        body=body_bytes,
        api=spec,
        region=region_name,
        path=path,
        credential=credential,
        replay_safe=_replay_safe(spec, path, action.body),
        shown_body=shown_body,
    )


def _lookup(apis: ApiRegistry | ApiLookup | None) -> ApiLookup:
    if apis is None:
        from .apis import builtin_registry

        return builtin_registry.get
    if isinstance(apis, ApiRegistry):
        return apis.get
    return apis


def _body(
    action: ActionInputs, spec: ApiSpec, path: str, credential: AppliedCredential, where: str
) -> tuple[Optional[bytes], Any, Optional[str]]:
    body = action.body
    if credential.data_token is not None and not isinstance(body, (Mapping, list)):
        raise BodyError(
            f"{path} takes the project token inside the data: give the events or updates "
            "as a JSON object or array",
            field=where,
        )
    if not action.has_body:
        return None, None, None
    check_json_value(body, field=where)
    if isinstance(body, str):
        # Mixpanel's lookup-table replace takes CSV text; everything else takes JSON.
        if (
            action.method == "PUT"
            and spec.name == "ingestion"
            and path.startswith("/lookup-tables/")
        ):
            return body.encode("utf-8"), body, "text/csv"
        raise BodyError(
            "expected a JSON object or array (a string body is only for PUT /lookup-tables/{id}, "
            "sent as CSV)",
            field=where,
        )
    if not isinstance(body, (Mapping, list, tuple)):
        raise BodyError(f"expected a JSON object or array, got {type(body).__name__}", field=where)
    shown = body
    if credential.data_token is not None:
        key = "properties.token" if path.startswith("/track") else "$token"
        body = _with_token(body, credential.data_token.reveal(), key)
        shown = _with_token(shown, REDACTED, key)
    data = json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return data.encode("utf-8"), shown, "application/json"


def _with_token(body: Any, token: str, key: str) -> Any:
    """Write the token into each record that lacks one, copying instead of mutating the caller's."""
    records = list(body) if isinstance(body, (list, tuple)) else [body]
    out = []
    for record in records:
        if not isinstance(record, Mapping):
            out.append(record)
            continue
        record = dict(record)
        if key == "$token":
            record.setdefault("$token", token)
        else:
            props = record.get("properties")
            props = dict(props) if isinstance(props, Mapping) else {}
            props.setdefault("token", token)
            record["properties"] = props
        out.append(record)
    return out if isinstance(body, (list, tuple)) else out[0]


def _replay_safe(spec: ApiSpec, path: str, body: Any) -> bool:
    if spec.name != "ingestion" or not any(
        path == p or path.startswith(p + "/") for p in _DEDUPLICATED
    ):
        return False
    records = body if isinstance(body, (list, tuple)) else [body]
    if not records:
        return False
    for record in records:
        props = record.get("properties") if isinstance(record, Mapping) else None
        if not isinstance(props, Mapping) or not props.get("$insert_id"):
            return False
    return True
