"""Hypothesis strategies that mix valid card inputs with the attack forms a connector must refuse.

Each strategy draws from two pools: values a real card holds (``/2.0/events/names``, ``{"type":
"general"}``) and known attack forms (absolute and scheme-relative URLs in every case and with
leading whitespace, userinfo ``@`` tricks, backslashes, dot segments raw and percent-encoded once,
twice and three times, full-width and other look-alike characters, control characters, CR/LF and
NUL, very long values, deep nesting, values that are not JSON). The checks every example must
pass are at the end of this module (``assert_*``).
"""

from __future__ import annotations

import base64
import math
import posixpath
import re
import traceback
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any, Optional
from urllib.parse import quote, quote_plus, unquote, urlsplit

import requests
import urllib3
from hypothesis import strategies as st

from mp_custom_action.core.apis import builtin_registry
from mp_custom_action.core.inputs import FORBIDDEN_HEADERS
from mp_custom_action.core.request import OutgoingRequest
from mp_custom_action.errors import CredentialError, InputError, MpError

# -- credentials the whole suite scans for --------------------------------------------------------

#: Distinctive credentials: each holds characters that change under URL- and base64-encoding, so
#: a leak in any of those forms is found. None of them can be produced by the strategies below
#: (each contains a run of letters no strategy draws).
CREDENTIALS = {
    "username": "sa-QZXV7uw.mp-service-account",
    "secret": "QZXVsecret+/9=KxYw%21~",
    "api_secret": "QZXVapisecret4f9c+/=",
    "token": "QZXVtoken8e1d%2F+",
    "project_id": "4242",
}

# -- building blocks --------------------------------------------------------------------------------

_CONTROL = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029"]
#: Look-alikes of "/", "\", ".", "@", ":", "%", "?" and "#": full-width, small forms, leaders,
#: fraction and division slashes. Several turn into their ASCII twin under NFKC normalisation.
LOOKALIKES = [
    "\uff0f", "\u2215", "\u2044", "\u29f8", "\uff3c", "\u2216", "\ufe68", "\uff0e", "\u2024",
    "\u2025", "\u3002", "\ufe52", "\uff61", "\ufe30", "\uff20", "\ufe6b", "\uff1a", "\ufe55",
    "\uff05", "\ufe6a", "\uff1f", "\uff03", "\u0338", "\u2100", "\u2101", "\u2105", "\u2106",
    "\u33c2", "\u2488", "\u24ea",
]  # fmt: skip
_SCHEMES = ["http", "https", "HTTP", "HtTpS", "ftp", "file", "javascript", "data", "ws", "mailto"]
_EVIL_HOSTS = [
    "evil.example",
    "127.0.0.1:1",
    "[::1]",
    "mixpanel.com.evil.example",
    "169.254.169.254",
]
_SEGMENTS = ["2.0", "events", "names", "jql", "import", "track", "engage", "x", "a b", "é", "%20"]


def _encode_times(text: str, times: int) -> str:
    for _ in range(times):
        text = quote(text, safe="")
    return text


@st.composite
def dot_segment(draw: st.DrawFn) -> str:
    dots = draw(
        st.sampled_from(
            [
                ".",
                "..",
                "...",
                ".%2e",
                "%2e.",
                "%2E%2E",
                "\u2025",
                "\uff0e\uff0e",
                "\ufe52.",
                "\u2024",
            ]
        )
    )
    return _encode_times(dots, draw(st.integers(0, 3)))


@st.composite
def attack_url(draw: st.DrawFn) -> str:
    """A relative URL built to leave the API's base URL."""
    scheme = draw(st.sampled_from(_SCHEMES))
    host = draw(st.sampled_from(_EVIL_HOSTS))
    space = draw(st.sampled_from(["", " ", "\t", "\n", "\u00a0", "\u3000", "\r\n", "\x00"]))
    base = draw(
        st.sampled_from(
            [
                f"{scheme}://{host}/x",
                f"{scheme}:{host}",
                f"//{host}/x",
                f"///{host}",
                f"/\\{host}/x",
                f"\\\\{host}\\x",
                f"/%2f%2f{host}",
                f"/%5c{host}",
                f"/@{host}",
                f"/x@{host}",
                f"/%40{host}",
                f"/user:pass@{host}/",
                f"?@{host}",
                f"/{draw(dot_segment())}/{draw(dot_segment())}/etc/passwd",
                f"/2.0/{draw(dot_segment())}",
                f"/{draw(dot_segment())}",
                f"/x/{draw(dot_segment())}%2f{draw(dot_segment())}",
                "/..;/x",
                "/x/..\\..\\y",
                f"/{draw(st.sampled_from(LOOKALIKES))}{host}",
                f"/x{draw(st.sampled_from(LOOKALIKES))}{draw(st.sampled_from(LOOKALIKES))}/y",
                f"/x{draw(st.sampled_from(_CONTROL))}y",
                f"/x%{draw(st.sampled_from(['00', '0d', '0a', '0D%0A', '09', '7f', '2500']))}y",
                f"/x\r\nHost: {host}\r\n\r\n",
                "/x HTTP/1.1\r\nX: y",
                "/" + "a" * draw(st.integers(1000, 20000)),
                "/" + "/".join(["x"] * draw(st.integers(100, 2000))),
                "?" + "&".join(f"k{i}=v" for i in range(draw(st.integers(100, 2000)))),
                f"#/../../{host}",
                f"/x#@{host}",
                f"/x?next=//{host}&a=%0d%0a",
                f"/x?{draw(st.sampled_from(_CONTROL))}=1",
            ]
        )
    )
    return draw(st.sampled_from([space + base, base, base + space]))


@st.composite
def valid_url(draw: st.DrawFn) -> str:
    segments = draw(st.lists(st.sampled_from(_SEGMENTS), max_size=4))
    path = "/" + "/".join(segments) if segments or draw(st.booleans()) else ""
    if draw(st.booleans()):
        path += "?" + draw(st.sampled_from(["type=general", "from_date=2024-01-01", "a=%20b&c=d"]))
    if draw(st.booleans()):
        path += "#" + draw(st.sampled_from(["profile-set", "x", "../../evil"]))
    return path


def relative_urls() -> st.SearchStrategy[Any]:
    """Valid relative URLs, attack forms, arbitrary text, and values that are not strings."""
    return st.one_of(
        valid_url(),
        attack_url(),
        attack_url(),
        st.text(max_size=60),
        st.text(alphabet=st.sampled_from(list("/.%2eE5cC@\\?#:") + LOOKALIKES), max_size=30),
        st.from_regex(r"\A/[ -~]{0,40}\Z"),
        json_like(),
    )


# -- JSON-ish values (bodies and query objects) ----------------------------------------------------


class Weird:
    """An object that is not JSON, whose repr is long and has a newline."""

    def __repr__(self) -> str:
        return "Weird(\n" + "w" * 200 + ")"


def _non_json_leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([math.nan, math.inf, -math.inf, Weird(), object(), ..., 1j, b"bytes"]),
        st.sets(st.integers(), max_size=2),
        st.frozensets(st.text(max_size=3), max_size=2),
        st.binary(max_size=8),
        st.tuples(st.integers()),
    )


def json_leaves() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.integers(min_value=-(2**200), max_value=2**200),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=20),
        st.text(alphabet=st.sampled_from(_CONTROL + LOOKALIKES + ["\ud800", "\udfff"]), max_size=5),
        st.just("x" * 5000),
    )


def json_like(*, hostile: bool = True) -> st.SearchStrategy[Any]:
    """Nested JSON values; with ``hostile``, non-JSON leaves and non-string keys slip in."""
    leaves = st.one_of(json_leaves(), _non_json_leaves()) if hostile else json_leaves()
    keys: st.SearchStrategy[Any] = st.text(max_size=8)
    if hostile:
        keys = st.one_of(keys, st.integers(), st.none(), st.tuples(st.integers()))
    return st.recursive(
        leaves,
        lambda children: st.one_of(
            st.lists(children, max_size=4),
            st.dictionaries(keys, children, max_size=4),
        ),
        max_leaves=12,
    )


def deep(depth: int, leaf: Any = 1) -> Any:
    """``[[[...leaf...]]]`` or ``{"a": {"a": ...}}``, ``depth`` levels deep (no recursion)."""
    value = leaf
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


def bodies() -> st.SearchStrategy[Any]:
    return st.one_of(
        json_like(hostile=False),
        json_like(),
        st.integers(150, 1200).map(deep),
        st.text(max_size=30),
        st.builds(
            lambda n: [{"event": "e", "properties": {"$insert_id": "i"}}] * n, st.integers(0, 50)
        ),
    )


def query_objects() -> st.SearchStrategy[Any]:
    key = st.one_of(
        st.text(max_size=10),
        st.sampled_from(["project_id", "type", "where", "", "a&b=c", "k#x", "k\r\nX: y", "\x00"]),
    )
    return st.one_of(
        st.none(),
        st.dictionaries(key, json_like(), max_size=5),
        st.dictionaries(st.text(max_size=5), st.lists(json_leaves(), max_size=3), max_size=3),
        json_like(),
    )


# -- headers, methods, APIs, regions ----------------------------------------------------------------


def header_maps() -> st.SearchStrategy[Any]:
    names = st.one_of(
        st.from_regex(r"\AX-[A-Za-z0-9-]{1,20}\Z"),
        st.sampled_from(
            [
                "Authorization",
                "authorization",
                "AUTHORIZATION",
                "Proxy-Authorization",
                "Cookie",
                "Host",
                "Content-Length",
                "Transfer-Encoding",
                "Content-Type",
                "X-Ok",
                "X Bad",
                "X:Bad",
                "X\r\nInjected",
                "",
                "X\x00",
                "Ｘ-Full",
                "X-é",
                "Accept",
                "User-Agent",
                "Connection",
                "Upgrade",
                "TE",
                "Expect",
            ]
        ),
        st.text(max_size=10),
        st.integers(),
        st.none(),
    )
    values = st.one_of(
        st.text(max_size=20),
        st.sampled_from(
            [
                "ok",
                "a\r\nInjected: 1",
                "a\nb",
                "a\rb",
                "a\x00b",
                "é",
                "x" * 10000,
                " lead",
                "Basic x",
            ]
        ),
        st.integers(),
        st.floats(),
        st.booleans(),
        st.none(),
        st.lists(st.text(max_size=3), max_size=2),
    )
    return st.one_of(st.none(), st.dictionaries(names, values, max_size=4), json_like())


def methods() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "get", " post ", "Patch"]),
        st.sampled_from(
            ["HEAD", "OPTIONS", "CONNECT", "TRACE", "GET\r\nX: y", "GET /", "", "G ET"]
        ),
        st.text(max_size=8),
        st.none(),
        st.integers(),
    )


def apis() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(
            [
                "ingestion",
                "query",
                "lexicon",
                "export",
                "pipelines",
                "connectors",
                "Ingestion API",
                "Query API",
                "Lexicon Schemas API",
                "Raw Data Export API",
                "Data Pipelines API",
                "Connectors API",
                " QUERY ",
                "raw data export",
            ]
        ),
        st.sampled_from(
            ["https://evil.example", "query\r\n", "../query", "qu\x00ery", "ｑｕｅｒｙ"]
        ),
        st.text(max_size=12),
        st.none(),
        st.integers(),
    )


def regions() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from(["us", "eu", "in", "standard", "india", "EU", " in ", None]),
        st.sampled_from(["evil", "eu.evil.example", "us\r\n", "ｅｕ", "../eu"]),
        st.text(max_size=6),
        st.integers(),
    )


def auths() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.sampled_from([None, "auto", "service-account", "secret", "token", "api_secret"]),
        st.text(max_size=10),
        st.integers(),
    )


_CARD_KEYS = {
    "method": ["method", "Request Type", "request_type"],
    "api": ["api", "Select API", "select_api"],
    "relative_url": ["relative_url", "Relative URL", "url"],
    "query": ["query", "Query"],
    "headers": ["headers", "Headers"],
    "body": ["body", "Body"],
    "region": ["region"],
    "auth": ["auth"],
}
_VALUES = {
    "method": methods,
    "api": apis,
    "relative_url": relative_urls,
    "query": query_objects,
    "headers": header_maps,
    "body": bodies,
    "region": regions,
    "auth": auths,
}


@st.composite
def card_inputs(draw: st.DrawFn) -> Any:
    """A card's inputs under the card's names or ours, mostly plausible, often hostile."""
    if draw(st.integers(0, 40)) == 0:
        return draw(json_like())  # not even an object
    card: dict[Any, Any] = {}
    for ours, names in _CARD_KEYS.items():
        required = ours in ("method", "api", "relative_url")
        if required or draw(st.booleans()):
            card[draw(st.sampled_from(names))] = draw(_VALUES[ours]())
    if draw(st.integers(0, 10)) == 0:
        card[draw(st.sampled_from(["Relative Url", "extra", "", "URL", 7]))] = draw(json_leaves())
    return card


def origins() -> st.SearchStrategy[Any]:
    return st.one_of(
        st.none(),
        st.sampled_from(
            [
                "http://127.0.0.1:8080",
                "https://sandbox.example",
                "http://localhost:1",
                "http://[::1]:9",
                "http://evil.example",
                "https://user:pw@evil.example",
                "http://127.0.0.1@evil.example",
                "http://evil.example#@127.0.0.1",
                "http://127.0.0.1:8080/path",
                "https://x?y",
                " http://127.0.0.1",
                "http://127.0.0.1\r\n",
                "javascript:alert(1)",
                "//evil.example",
                "http://127.0.0.1:99999",
                "http://0x7f.1",
                "http://127.1",
                "http://127.0.0.1.evil.example",
                "http://localhost.evil.example",
                "HTTP://LOCALHOST",
                "http://①②⑦.0.0.1",
                "https://ｅｖｉｌ.example",
                "https://evil.example\\@127.0.0.1",
                "http://[::ffff:7f00:1]",
            ]
        ),
        st.text(max_size=30),
        st.integers(),
    )


# -- the invariants every example is checked against ------------------------------------------

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_URL_CHARS = re.compile(r"^[!#$%&'()*+,\-./0-9:;=?@A-Z\[\]_a-z~]+$")


def _b64_forms(text: str) -> set[str]:
    """The base64 runs that ``text`` produces wherever it sits inside a longer encoded value:
    for each of the three byte alignments, the characters that depend on ``text`` alone."""
    raw = text.encode()
    forms = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):
            encoded = encode(b"\x00" * shift + raw).decode()
            start = -(-8 * shift // 6)  # ceil
            end = 8 * (shift + len(raw)) // 6
            forms.add(encoded[start:end])
    return {f for f in forms if len(f) >= 8}


def secret_forms(credentials: Mapping[str, str] = CREDENTIALS) -> dict[str, str]:
    """Every form of every credential a leak could take -> a label saying which it is."""
    forms: dict[str, str] = {}
    user, secret = credentials["username"], credentials["secret"]
    pairs = {
        "secret": secret,
        "api_secret": credentials["api_secret"],
        "token": credentials["token"],
        "service-account pair": f"{user}:{secret}",
        "api-secret basic": f"{credentials['api_secret']}:",
        "token basic": f"{credentials['token']}:",
    }
    for label, value in pairs.items():
        forms[value] = label
        forms[quote(value, safe="")] = f"{label} (URL-encoded)"
        forms[quote_plus(value)] = f"{label} (form-encoded)"
        forms[value.encode("unicode_escape").decode()] = f"{label} (escaped)"
        for b64 in _b64_forms(value):
            forms[b64] = f"{label} (base64)"
    return forms


_FORMS = secret_forms()


def leaks(text: object, forms: Optional[Mapping[str, str]] = None) -> list[str]:
    """The credential forms found in ``text`` (str or bytes); ``[]`` when clean."""
    if isinstance(text, bytes):
        text = text.decode("latin-1")
    haystack = str(text)
    return sorted({label for form, label in (forms or _FORMS).items() if form in haystack})


def assert_no_leak(*texts: object, forms: Optional[Mapping[str, str]] = None) -> None:
    for text in texts:
        found = leaks(text, forms)
        assert not found, f"credential leaked ({', '.join(found)}) in: {str(text)[:300]!r}"


def exception_texts(exc: BaseException) -> Iterable[str]:
    """str, repr and the formatted traceback of ``exc`` and of every exception chained to it,
    suppressed contexts included (``raise ... from None`` hides them from display, not memory)."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        item = stack.pop()
        if id(item) in seen:
            continue
        seen.add(id(item))
        yield str(item)
        yield repr(item)
        yield from (repr(a) for a in item.args)
        yield "".join(traceback.format_exception(type(item), item, item.__traceback__))
        for attr in ("__cause__", "__context__"):
            nxt = getattr(item, attr, None)
            if isinstance(nxt, BaseException):
                stack.append(nxt)
        for arg in item.args:
            if isinstance(arg, BaseException):
                stack.append(arg)
        reason = getattr(item, "reason", None)
        if isinstance(reason, BaseException):
            stack.append(reason)


def assert_clean_refusal(exc: BaseException) -> None:
    """Our exception type, exit 2 or 3, one line, and no credential anywhere in its chain."""
    assert isinstance(exc, (InputError, CredentialError)), (
        f"unexpected {type(exc).__name__}: {exc!r}"
    )
    message = str(exc)
    assert message, "an error says what is wrong"
    assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    assert not any(unicodedata.category(c) == "Cc" for c in message), f"control char: {message!r}"
    assert "Traceback" not in message
    assert len(message) < 2000, f"message of {len(message)} characters"
    for text in exception_texts(exc):
        assert_no_leak(text)


def assert_clean_error(exc: BaseException) -> None:
    """Any error the CLI would print: our type, one line, no credential in its chain."""
    assert isinstance(exc, MpError), f"unexpected {type(exc).__name__}: {exc!r}"
    message = str(exc)
    assert "\n" not in message and "\r" not in message, f"not one line: {message!r}"
    for text in exception_texts(exc):
        assert_no_leak(text)


def _decoded_forms(path: str) -> list[str]:
    forms = [path]
    for _ in range(4):
        nxt = unquote(forms[-1])
        if nxt == forms[-1]:
            break
        forms.append(nxt)
    return forms + [unicodedata.normalize("NFKC", f) for f in forms]


def expected_base(req: OutgoingRequest, origin: Optional[str]) -> str:
    spec = builtin_registry.get(req.api.name)
    assert req.api == spec, "the request uses a built-in API selector"
    return origin + spec.base_paths[req.region] if origin else spec.base_url(req.region)


def assert_stays_home(req: OutgoingRequest, origin: Optional[str]) -> None:
    """The request goes to the resolved host (or the origin) and stays under the API's base path,
    as every parser on the way reads it: urllib.parse, urllib3 and requests' request line."""
    base = urlsplit(expected_base(req, origin))
    url = req.url
    assert _URL_CHARS.match(url), f"URL holds characters a request line may not: {url!r}"
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc) == (base.scheme, base.netloc), url
    assert parts.username is None and parts.password is None and not parts.fragment, url
    parsed = urllib3.util.parse_url(url)
    assert (parsed.scheme, (parsed.host or "").strip("[]"), parsed.port, parsed.auth) == (
        base.scheme,
        base.hostname,
        base.port,
        None,
    ), url
    prepared = requests.PreparedRequest()
    prepared.url = url
    line_path = prepared.path_url.split("?", 1)[0]
    assert line_path == (parts.path or "/"), url
    for form in _decoded_forms(parts.path):
        assert form == base.path or form.startswith(base.path + "/"), (form, url)
        segments = re.split(r"[/\\]", form)
        assert "." not in segments and ".." not in segments, (form, url)
        assert "@" not in form, (form, url)
        normal = posixpath.normpath(form) if form else form
        assert normal == base.path or normal.startswith(base.path + "/") or not form, (form, url)
    for name, value in req.wire_headers().items():
        assert _TOKEN.match(name), name
        assert value.isascii() and not re.search(r"[\x00-\x1f\x7f]", value), (name, value)
    lowered = {k.lower(): v for k, v in req.headers.items()}
    for forbidden in FORBIDDEN_HEADERS - {"content-type"}:
        assert forbidden not in lowered, forbidden
    wire = req.wire_headers()
    if req.credential.authorization is None:
        assert "Authorization" not in wire
    else:
        assert wire["Authorization"] in _EXPECTED_AUTH, "the Authorization is ours, unchanged"
    assert_no_leak(repr(req), req.describe())
    if req.body is not None:
        assert isinstance(req.body, bytes)


def _basic(user: str, password: str = "") -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


_EXPECTED_AUTH = {
    _basic(CREDENTIALS["username"], CREDENTIALS["secret"]),
    _basic(CREDENTIALS["api_secret"]),
    _basic(CREDENTIALS["token"]),
}


def plain(value: Any) -> Any:
    """For messages: a short repr of a generated value."""
    text = repr(value)
    return text if len(text) < 200 else text[:197] + "..."
