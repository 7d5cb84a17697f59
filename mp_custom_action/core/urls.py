"""Relative URL -> final URL: validation, joining under the API's base path, query merging.

How a relative URL joins a base URL (the heart of the product)
--------------------------------------------------------------

The relative URL is *appended* under the API's base URL. It is never resolved the way a browser
resolves a link, because browser resolution lets ``//evil.example/x`` or ``../../x`` escape::

    base URL      https://eu.mixpanel.com/api            (Query API, EU)
    relative URL  /2.0/events/names?type=general#names
                  └─ path ──────────┘└─ query ──┘└ fragment: names the operation, never sent

    final URL     https://eu.mixpanel.com/api/2.0/events/names?type=general

    base URL      https://data-eu.mixpanel.com/api/2.0/export   (Export addresses the base itself)
    relative URL  ""  or  "/"  or  "?from_date=2024-01-01"
    final URL     https://data-eu.mixpanel.com/api/2.0/export?from_date=2024-01-01   (no slash added)

Rules, all checked before anything is sent:

* the relative URL is empty, or starts with ``/`` or ``?`` (after no leading whitespace: a leading
  space is how ``  https://evil`` tries to slip past a prefix check, so it is refused, not stripped);
* no scheme-relative ``//host``, no absolute URL of any scheme, no ``@`` (userinfo tricks), no
  backslash (some stacks read it as ``/``), no control character, no ``.`` or ``..`` segment either
  raw or percent-encoded (up to three times: ``%2e%2e``, ``%252e%252e``; deeper is refused), no
  look-alike of a separator (full-width ``／``, or anything NFKC turns into one, such as ``‥``);
* characters a path may not hold as they are (a space in an event name) are percent-encoded, and
  existing ``%XX`` escapes are kept as they are;
* the query in the relative URL is merged with the Query object; a key present in both with
  different values is an error, the same value in both is sent once.

After joining, :func:`join` asserts the resolved origin and base path: no rule change sends elsewhere.
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any, Optional
from urllib.parse import quote, unquote, urlsplit

from .._text import shorten
from ..errors import OriginError, QueryError, RelativeUrlError
from .inputs import LONE_SURROGATE, is_utf8_encodable

__all__ = [
    "PATH_SAFE",
    "QueryItems",
    "encode_query",
    "is_loopback",
    "join",
    "merge_query",
    "normalize_query_object",
    "split_relative_url",
    "validate_origin",
    "without_query",
]

#: An ordered list of (key, value) pairs; a key may repeat (lists repeat the key).
QueryItems = list[tuple[str, str]]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")  # "http:", "javascript:", "HTTPS:" ...
#: What a path may hold as it is (RFC 3986 pchar plus "/"); everything else is percent-encoded,
#: except the "%" of an existing escape (_ESCAPE).
PATH_SAFE = "/:@!$&'()*+,;=-._~"
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
# Characters that are visibly a slash, dot or "at" but are not ASCII: full-width and friends.
# They are harmless once percent-encoded, but a relative URL holding one is almost always an
# attempt to smuggle a separator past a check, so we say so instead of sending it.
_LOOKALIKES = {
    "\uff0f": "/", "\u2215": "/", "\u2044": "/", "\u29f8": "/", "\uff3c": "\\", "\u2216": "\\",
    "\uff0e": ".", "\u2024": ".", "\u3002": ".", "\uff20": "@", "\ufe6b": "@", "\uff1a": ":",
}  # fmt: skip
_SEPARATORS = "/\\.@:%?#"


def split_relative_url(
    relative_url: object, *, field: str = "relative_url"
) -> tuple[str, QueryItems]:
    """Validate ``relative_url``; return its encoded path and its query items (fragment dropped).

    >>> split_relative_url("/engage#profile-set")
    ('/engage', [])
    >>> split_relative_url("/2.0/events/top?type=general&limit=5")
    ('/2.0/events/top', [('type', 'general'), ('limit', '5')])
    """
    if relative_url is None:
        relative_url = ""
    if not isinstance(relative_url, str):
        raise RelativeUrlError(
            f"expected a string starting with '/', got {type(relative_url).__name__}", field=field
        )
    url = relative_url
    if not is_utf8_encodable(url):
        raise RelativeUrlError(LONE_SURROGATE, field=field)
    if _has_control(url):
        raise RelativeUrlError(
            "must not contain control characters (CR, LF, NUL, tab...)", field=field
        )
    if url and url[0] not in "/?#":
        if url[0].isspace():
            raise RelativeUrlError("must not start with whitespace", field=field)
        if _SCHEME.match(url):
            raise RelativeUrlError(
                "must be relative (start with '/'); absolute URLs are not allowed", field=field
            )
        raise RelativeUrlError(f"must start with '/' (or '?'), got {shorten(url)!r}", field=field)
    if url.startswith("//"):
        raise RelativeUrlError("must not start with '//': that names another host", field=field)
    if "\\" in url:
        raise RelativeUrlError("must not contain a backslash", field=field)
    _reject_lookalikes(url, field)

    # The fragment names the operation in Mixpanel's reference (/engage#profile-set); it never
    # goes on the wire, so it is cut first and checked no further.
    url = url.split("#", 1)[0]
    path, _, query = url.partition("?")
    if "@" in path:
        raise RelativeUrlError("must not contain '@' in the path", field=field)
    _reject_dot_segments(path, field)
    return _encode_path(path), _parse_query_string(query, field)


def _has_control(text: str) -> bool:
    # C0 and C1 controls, DEL, and the Unicode line and paragraph separators (U+2028, U+2029):
    # each ends a line for some parser or log reader.
    if text.isprintable():
        return False
    return any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text)


def _reject_lookalikes(text: str, field: str) -> None:
    if text.isascii():
        return
    for char in text:
        if char.isascii():
            continue
        # The listed ones, and any character that NFKC normalisation (which some servers and
        # proxies apply) turns into a separator: U+2025 is "..", U+FE68 is "\".
        looks_like = _LOOKALIKES.get(char) or "".join(
            c for c in unicodedata.normalize("NFKC", char) if c in _SEPARATORS
        )
        if looks_like:
            raise RelativeUrlError(
                f"contains {char!r} (U+{ord(char):04X}), which looks like {looks_like!r}; "
                "type the ASCII character instead",
                field=field,
            )


def _reject_dot_segments(path: str, field: str) -> None:
    # Decode up to three times, so "%2e%2e", "%252e%252e" and "%25252e%25252e" are seen for what
    # a lenient server may turn them into; at each stage "/" and "\" both separate segments, and
    # look-alikes, "@" and control characters are refused as they are in the raw text.
    seen = path
    for stage in range(4):
        if stage:
            decoded = unquote(seen)
            if decoded == seen:
                break
            seen = decoded
            if "@" in seen or _has_control(seen):
                raise RelativeUrlError(
                    "must not contain '@' or control characters, also percent-encoded",
                    field=field,
                )
            _reject_lookalikes(seen, field)
        for segment in re.split(r"[/\\]", seen):
            if segment in (".", ".."):
                raise RelativeUrlError(
                    "must not contain '.' or '..' path segments (also percent-encoded)", field=field
                )
    if unquote(seen) != seen:
        # Still decoding after three rounds: no real path is escaped four times over, and a
        # server that decodes once more would see what these checks did not.
        raise RelativeUrlError("is percent-encoded more than three times over", field=field)


def _encode_path(path: str) -> str:
    # Keep existing %XX escapes; encode everything else a path may not hold (space -> %20,
    # a stray "%" -> %25, non-ASCII -> UTF-8 escapes).
    out = []
    pos = 0
    for match in _ESCAPE.finditer(path):
        out.append(quote(path[pos : match.start()], safe=PATH_SAFE))
        out.append(match.group(0).upper())
        pos = match.end()
    out.append(quote(path[pos:], safe=PATH_SAFE))
    return "".join(out)


def _parse_query_string(query: str, field: str) -> QueryItems:
    items: QueryItems = []
    if not query:
        return items
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        # "+" means space in a query string (form encoding), as every server reads it.
        key = unquote(key.replace("+", " "))
        value = unquote(value.replace("+", " "))
        if not key:
            raise QueryError(
                f"query string has an empty parameter name in {shorten(part)!r}", field=field
            )
        items.append((key, value))
    return items


def _query_scalar(value: Any, field: str) -> str:
    # JSON spelling for scalars: Mixpanel's query parameters are read as JSON-ish text.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if not is_utf8_encodable(value):
            raise QueryError(LONE_SURROGATE, field=field)
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise QueryError("expected a finite number, got NaN or infinity", field=field)
        return repr(value)
    if isinstance(value, (Mapping, list, tuple)):
        # Nested values (Mixpanel's `where`, `event` arrays...) go as compact JSON text.
        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise QueryError(f"expected JSON-serialisable values ({exc})", field=field) from None
        except RecursionError:
            raise QueryError("is nested too deeply", field=field) from None
        if not is_utf8_encodable(text):
            raise QueryError(LONE_SURROGATE, field=field)
        return text
    raise QueryError(
        f"expected a string, number, boolean, list or object, got {type(value).__name__}",
        field=field,
    )


def normalize_query_object(query: object, *, field: str = "query") -> QueryItems:
    """Turn the Query input (an object) into items: a list value repeats its key; None drops it."""
    if query is None:
        return []
    if not isinstance(query, Mapping):
        raise QueryError(
            f"expected an object of key/values, got {type(query).__name__}", field=field
        )
    items: QueryItems = []
    for key, value in query.items():
        if not isinstance(key, str) or not key:
            raise QueryError(f"keys must be non-empty strings, got {key!r}", field=field)
        if not is_utf8_encodable(key):
            raise QueryError(f"key {key!r} {LONE_SURROGATE}", field=field)
        where = f"{field}.{key}"
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            items.extend((key, _query_scalar(v, f"{where}[{i}]")) for i, v in enumerate(value))
        else:
            items.append((key, _query_scalar(value, where)))
    return items


def merge_query(
    from_url: QueryItems, from_object: QueryItems, *, field: str = "query"
) -> QueryItems:
    """Merge the relative URL's query with the Query object's.

    A key given in both places must carry the same values (then it is sent once); different values
    are an error naming the key, because silently preferring one would send the wrong request.
    """
    if not from_url:
        return list(from_object)
    if not from_object:
        return list(from_url)
    url_values: dict[str, list[str]] = {}
    for key, value in from_url:
        url_values.setdefault(key, []).append(value)
    obj_values: dict[str, list[str]] = {}
    for key, value in from_object:
        obj_values.setdefault(key, []).append(value)
    merged = list(from_url)
    for key, values in obj_values.items():
        if key in url_values:
            if sorted(url_values[key]) != sorted(values):
                raise QueryError(  # the values unquoted: a query value may be a secret
                    f"{key!r} is in both the relative URL and the Query object, with other values",
                    field=f"{field}.{key}",
                )
            continue
        merged.extend((key, v) for v in values)
    return merged


def encode_query(items: Sequence[tuple[str, str]]) -> str:
    """Percent-encode query items (``%20`` for space, so the result is valid in any URL)."""
    return "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in items)


def join(base_url: str, path: str, query: Sequence[tuple[str, str]] = ()) -> str:
    """Append the encoded ``path`` under ``base_url`` and add ``query``.

    ``/`` and the empty path address the base URL itself, with no slash added (Export's way).
    The result is checked to stay on the base URL's origin and under its path.
    """
    url = base_url if path in ("", "/") else base_url + path
    # Invariant, not validation: the path was checked already, this guards future changes.
    if not (url == base_url or url.startswith(base_url + "/")):
        raise RelativeUrlError(f"would leave the API's base URL {base_url}", field="relative_url")
    if query:
        url += "?" + encode_query(query)
    return url


def without_query(url: str) -> str:
    """``url`` without its query: what log lines, reprs and error messages show.

    Query values are the caller's and may hold anything, a referenced secret included.
    """
    return url.split("?", 1)[0]


def validate_origin(origin: object, *, field: str = "origin") -> Optional[str]:
    """Check an ``--origin`` override and return it as ``scheme://host[:port]``.

    ``https`` anywhere; plain ``http`` only for loopback (127.0.0.0/8, ::1, localhost), because
    the origin receives credentials and Mixpanel itself refuses plain HTTP.
    """
    if origin is None or origin == "":
        return None
    if not isinstance(origin, str):
        raise OriginError(f"expected a URL string, got {type(origin).__name__}", field=field)
    if _CONTROL.search(origin) or origin != origin.strip():
        raise OriginError("must not contain whitespace or control characters", field=field)
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError as exc:
        raise OriginError(f"is not a valid URL ({exc})", field=field) from None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if scheme not in ("http", "https") or not host:
        raise OriginError(f"expected http(s)://host[:port], got {shorten(origin)!r}", field=field)
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise OriginError("must not contain user info ('@')", field=field)
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise OriginError(
            "must be only scheme://host[:port]; each API keeps its own path under it", field=field
        )
    if not _plain_host(host):
        # The host checked here must be the host connected to: urllib3 would turn a full-width
        # or otherwise non-ASCII name into another (IDNA), after this check has passed.
        raise OriginError(
            f"host {shorten(host)!r} must be an ASCII host name or IP address (letters, digits, "
            "'-' and '.'; IPv6 in brackets; international names in their xn-- form)",
            field=field,
        )
    if scheme == "http" and not is_loopback(host):
        raise OriginError(
            "plain http is allowed only for loopback origins (127.0.0.1, ::1, localhost); use https",
            field=field,
        )
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return f"{scheme}://{netloc}"


_HOST_NAME = re.compile(r"^[a-z0-9_](?:[a-z0-9_.-]*[a-z0-9_])?\.?$")


def _plain_host(host: str) -> bool:
    if _HOST_NAME.match(host):
        return True
    if not re.match(r"^[0-9a-f:.]+$", host):
        return False
    try:
        ipaddress.IPv6Address(host)
    except ValueError:
        return False
    return True


def is_loopback(host: str) -> bool:
    """Is ``host`` this machine: ``localhost``, 127.0.0.0/8 or ``::1`` (brackets allowed)?"""
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
