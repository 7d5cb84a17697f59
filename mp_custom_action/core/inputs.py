"""The inputs of a Custom API Action card, read from the card's names or ours, and checked.

The card says "Request Type", "Select API", "Relative URL", "Query", "Headers", "Body"; code and
manifests say ``method``, ``api``, ``relative_url``, ``query``, ``headers``, ``body``. Both are
accepted (matching ignores case), never both for one field. Connection settings that may travel
with one action (``region``, ``auth``) are accepted too.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Optional

from .._text import shorten
from ..errors import BodyError, HeaderError, InputError, MethodError

__all__ = [
    "CARD_NAMES",
    "FORBIDDEN_HEADERS",
    "METHODS",
    "ActionInputs",
    "check_json_value",
    "normalize_headers",
    "normalize_method",
    "parse_inputs",
    "parse_json_text",
]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})  # and DELETE where the endpoint says

#: Card display names -> our names. Output names are in results.CARD_OUTPUT_NAMES.
CARD_NAMES = {
    "Request Type": "method",
    "Select API": "api",
    "Relative URL": "relative_url",
    "Query": "query",
    "Headers": "headers",
    "Body": "body",
}
_OUR_NAMES = ("method", "api", "relative_url", "query", "headers", "body", "region", "auth")
_ALIASES = {
    **{k.lower(): v for k, v in CARD_NAMES.items()},
    **{n: n for n in _OUR_NAMES},
    "relative url": "relative_url",
    "relativeurl": "relative_url",
    "url": "relative_url",
    "request_type": "method",
    "select_api": "api",
}

#: Headers the connector owns: a caller may not set them (auth, framing, connection).
#: ``Content-Type`` and ``Content-Encoding`` are not among them: where the endpoint accepts more
#: than one media type or encoding, they choose how the body is encoded (see request.py).
FORBIDDEN_HEADERS = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "cookie",
        "host",
        "content-length",
        "transfer-encoding",
        # Connection management is the HTTP library's (hop-by-hop headers, RFC 9110 7.6.1).
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "upgrade",
        "expect",
    }
)
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")  # RFC 9110 field-name
_BAD_VALUE = re.compile(r"[\x00\r\n]")

_MISSING: Any = object()


@dataclass(frozen=True)
class ActionInputs:
    """One action's inputs, under our names, with only light normalisation done.

    URL, query, header and body rules are applied when the request is built (request.py), where
    the API and the credential are known.
    """

    method: str
    api: str
    relative_url: str = ""
    query: Optional[Mapping[str, Any]] = None
    headers: Optional[Mapping[str, Any]] = None
    body: Any = field(default=None)
    has_body: bool = False
    region: Optional[str] = None
    auth: Optional[str] = None


def parse_inputs(raw: object, *, field_prefix: str = "") -> ActionInputs:
    """Read card inputs (card names or ours) into :class:`ActionInputs`, rejecting unknown keys."""
    if isinstance(raw, ActionInputs):
        return raw
    if not isinstance(raw, Mapping):
        raise InputError(
            f"expected an object of card inputs, got {type(raw).__name__}",
            field=field_prefix or None,
        )
    values: dict[str, Any] = {}
    given_as: dict[str, str] = {}
    for key, value in raw.items():
        ours = _ALIASES.get(key.strip().lower()) if isinstance(key, str) else None
        if ours is None:
            accepted = ", ".join([*CARD_NAMES, *_OUR_NAMES])
            raise InputError(
                f"unknown input {key!r}; accepted: {accepted}", field=f"{field_prefix}{key}"
            )
        if ours in values:
            raise InputError(
                f"given twice, as {given_as[ours]!r} and {key!r}", field=f"{field_prefix}{ours}"
            )
        values[ours] = value
        given_as[ours] = key
    for required in ("method", "api"):
        if values.get(required) in (None, ""):
            card = {"method": "Request Type", "api": "Select API"}[required]
            raise InputError(f"is required (card: {card!r})", field=f"{field_prefix}{required}")
    method = normalize_method(values["method"], field=f"{field_prefix}method")
    has_body = values.get("body") is not None
    if has_body and method == "GET":
        # DELETE is checked against the endpoint, once the URL is known (request.py).
        raise BodyError(
            "a body is only sent with POST, PUT or PATCH (and DELETE where the endpoint "
            "documents one), not GET",
            field=f"{field_prefix}body",
        )
    rel = values.get("relative_url")
    return ActionInputs(
        method=method,
        api=values["api"],
        relative_url="" if rel is None else rel,
        query=values.get("query"),
        headers=values.get("headers"),
        body=values.get("body"),
        has_body=has_body,
        region=values.get("region"),
        auth=values.get("auth"),
    )


def normalize_method(value: object, *, field: str = "method") -> str:
    if isinstance(value, str) and value.strip().upper() in METHODS:
        return value.strip().upper()
    raise MethodError(f"expected one of {', '.join(METHODS)}, got {value!r}", field=field)


def normalize_headers(headers: object, *, field: str = "headers") -> dict[str, str]:
    """Check the caller's headers: names are tokens, values are ASCII without CR, LF or NUL."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise HeaderError(
            f"expected an object of name/values, got {type(headers).__name__}", field=field
        )
    out: dict[str, str] = {}
    seen: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.match(name):
            raise HeaderError(
                f"header name {_show(name)} is not a valid HTTP header name", field=field
            )
        where = f"{field}.{name}"
        if name.lower() in FORBIDDEN_HEADERS:
            raise HeaderError(
                "is set by the connector (authorization, cookies, host, framing and connection) "
                "and cannot be given",
                field=where,
            )
        if name.lower() in seen:
            raise HeaderError(f"given twice (also as {seen[name.lower()]!r})", field=where)
        seen[name.lower()] = name
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise HeaderError(f"expected a string value, got {type(value).__name__}", field=where)
        text = str(value)
        if _BAD_VALUE.search(text):
            raise HeaderError("value must not contain CR, LF or NUL", field=where)
        if not text.isascii():
            raise HeaderError("value must be ASCII", field=where)
        out[name] = text
    return out


def _show(value: object) -> str:
    return shorten(repr(value))


#: Why a string that ``json.loads`` accepted ("\\ud800") cannot be sent: UTF-8 cannot encode it.
LONE_SURROGATE = "is not valid Unicode text (it holds a lone surrogate, such as \\ud800)"


def is_utf8_encodable(text: str) -> bool:
    """False for text with a lone surrogate, which JSON's ``\\ud800`` escapes can produce."""
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_json_value(value: Any, *, field: str = "body", _depth: int = 0) -> None:
    """Raise :class:`BodyError` naming the JSON path if ``value`` is not plain JSON.

    NaN and infinities are not JSON; neither are sets, bytes, or keys that are not strings.
    """
    if _depth > 200:
        raise BodyError("is nested more than 200 levels deep", field=field)
    if isinstance(value, str):
        if not is_utf8_encodable(value):
            raise BodyError(LONE_SURROGATE, field=field)
        return
    if value is None or isinstance(value, (bool, int)):
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            raise BodyError("NaN and infinity are not valid JSON numbers", field=field)
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise BodyError(f"object keys must be strings, got {_show(key)}", field=field)
            if not is_utf8_encodable(key):
                raise BodyError(f"object key {_show(key)}: {LONE_SURROGATE}", field=field)
            check_json_value(item, field=f"{field}.{key}", _depth=_depth + 1)
        return
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            check_json_value(item, field=f"{field}[{i}]", _depth=_depth + 1)
        return
    raise BodyError(f"expected a JSON value, got {type(value).__name__}", field=field)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_json_text(text: str, *, field: str) -> Any:
    """Parse JSON text strictly (no NaN/Infinity), raising :class:`InputError` naming ``field``."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise InputError("is nested too deeply", field=field) from None
    except ValueError as exc:
        raise InputError(f"is not valid JSON ({exc})", field=field) from None
