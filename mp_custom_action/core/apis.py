"""The API selectors: each Mixpanel API's base URL per region, and a rule for URLs off the table.

The facts come from Mixpanel's reference (hosts per data-residency region). What an endpoint
accepts is looked up in :mod:`.endpoints` by the joined URL, whatever selector reached it; a
selector's own rule (``default``, ``rules``) applies only to a URL that table does not know, which
for the built-in selectors never happens. Plugins may add selectors through the
``mp_custom_action_apis`` hook; the built-in ones are registered here, in the same shape, and
:func:`api_from_definition` checks a plugin's.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Optional
from urllib.parse import urlsplit

from .._text import shorten
from ..errors import RelativeUrlError, UnknownApiError, UnknownRegionError

__all__ = [
    "BUILTIN_APIS",
    "CREDENTIAL_KINDS",
    "DEFINITION_FIELDS",
    "REGIONS",
    "ApiSpec",
    "EndpointRule",
    "api_from_definition",
    "check_base_path",
    "normalize_region",
]

#: Canonical region names, and the spellings a user may type for each.
REGIONS = ("us", "eu", "in")
_REGION_ALIASES = {"us": "us", "standard": "us", "eu": "eu", "in": "in", "india": "in"}

#: Credential kinds, in the order the runner prefers them when ``auth`` is ``auto``. Each names
#: where the credential goes: ``service_account`` and ``secret`` HTTP Basic; ``token_basic`` the
#: project token as a Basic-auth username (``/import``); ``token_data`` the project token written
#: into the events or updates (``/track``, ``/engage``); ``token_query`` the project token as
#: ``?token=`` (feature flags); ``oauth`` an OAuth bearer token (GDPR, ``/import``).
CREDENTIAL_KINDS = (
    "service_account",
    "secret",
    "token_basic",
    "token_data",
    "token_query",
    "oauth",
)

#: The keys of an API selector a plugin gives as a dict.
DEFINITION_FIELDS = ("name", "display_name", "base_urls", "accepts", "project_id", "aliases")


def normalize_region(value: Optional[str], *, field: str = "region") -> str:
    """Return ``us``, ``eu`` or ``in`` for any accepted spelling; ``None`` means the default, US."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return "us"
    if not isinstance(value, str):
        raise UnknownRegionError(
            f"expected one of us (standard), eu, in (india), got {type(value).__name__}",
            field=field,
        )
    region = _REGION_ALIASES.get(value.strip().lower())
    if region is None:
        raise UnknownRegionError(
            f"expected one of us (standard), eu, in (india), got {value!r}", field=field
        )
    return region


@dataclass(frozen=True)
class EndpointRule:
    """Which credentials an endpoint accepts, and whether a service account needs ``project_id``.

    ``prefix`` matches the relative path's first segments (``/import`` matches ``/import`` and
    ``/import/x``, not ``/imports``); ``methods`` limits the rule to some methods (``None``: all).
    """

    accepts: tuple[str, ...]
    project_id: bool = False
    prefix: str = ""
    methods: Optional[frozenset[str]] = None

    def matches(self, method: str, path: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if not self.prefix:
            return True
        return path == self.prefix or path.startswith(self.prefix + "/")


@dataclass(frozen=True)
class ApiSpec:
    """One API selector.

    ``base_urls`` maps each region to an absolute ``https://`` base URL without a trailing slash.
    ``rules`` are tried in order, then ``default``. ``aliases`` are the other names a user may type
    (the card's display name among them); matching ignores case.
    """

    name: str
    display_name: str
    base_urls: Mapping[str, str]
    default: EndpointRule
    rules: tuple[EndpointRule, ...] = ()
    aliases: tuple[str, ...] = ()
    plugin: str = "builtin"
    base_paths: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        missing = [r for r in REGIONS if r not in self.base_urls]
        if missing:
            raise ValueError(f"API {self.name!r} has no base URL for region(s) {missing}")
        for region, url in self.base_urls.items():
            if not re.match(r"^https://[a-z0-9.-]+(/[A-Za-z0-9._~/-]*)?$", url) or url.endswith(
                "/"
            ):
                raise ValueError(
                    f"API {self.name!r}: base URL for {region!r} must be https://host[/path] "
                    f"without a trailing slash, got {url!r}"
                )
        for rule in (self.default, *self.rules):
            unknown = [k for k in rule.accepts if k not in CREDENTIAL_KINDS]
            if unknown or not rule.accepts:
                raise ValueError(f"API {self.name!r}: unknown credential kinds {unknown}")
        # The base path is what --origin keeps ("https://mixpanel.com/api" -> "/api").
        paths = {r: _path_of(u) for r, u in self.base_urls.items()}
        object.__setattr__(self, "base_paths", paths)

    def base_url(self, region: str) -> str:
        return self.base_urls[region]

    def rule_for(self, method: str, path: str) -> EndpointRule:
        for rule in self.rules:
            if rule.matches(method, path):
                return rule
        return self.default

    def names(self) -> Iterable[str]:
        yield self.name
        yield self.display_name
        yield from self.aliases


def _path_of(url: str) -> str:
    rest = url.split("://", 1)[1]
    slash = rest.find("/")
    return "" if slash < 0 else rest[slash:]


def _hosts(us: str, eu: str, india: str, path: str = "") -> dict[str, str]:
    return {
        "us": f"https://{us}{path}",
        "eu": f"https://{eu}{path}",
        "in": f"https://{india}{path}",
    }


_SA_OR_SECRET_WITH_PROJECT = EndpointRule(("service_account", "secret"), project_id=True)

BUILTIN_APIS: tuple[ApiSpec, ...] = (
    ApiSpec(
        name="ingestion",
        display_name="Ingestion API",
        base_urls=_hosts("api.mixpanel.com", "api-eu.mixpanel.com", "api-in.mixpanel.com"),
        # Off the endpoint table only (never, for these hosts): what /import takes.
        default=EndpointRule(("service_account", "secret", "token_basic"), project_id=True),
    ),
    ApiSpec(
        name="query",
        display_name="Query API",
        base_urls=_hosts("mixpanel.com", "eu.mixpanel.com", "in.mixpanel.com", "/api"),
        default=_SA_OR_SECRET_WITH_PROJECT,
    ),
    ApiSpec(
        name="lexicon",
        display_name="Lexicon Schemas API",
        base_urls=_hosts("mixpanel.com", "eu.mixpanel.com", "in.mixpanel.com", "/api/app/projects"),
        default=EndpointRule(("service_account",), project_id=False),
        aliases=("lexicon-schemas", "lexicon_schemas", "schemas"),
    ),
    ApiSpec(
        name="export",
        display_name="Raw Data Export API",
        base_urls=_hosts(
            "data.mixpanel.com", "data-eu.mixpanel.com", "data-in.mixpanel.com", "/api/2.0/export"
        ),
        default=_SA_OR_SECRET_WITH_PROJECT,
        aliases=("raw-data-export", "raw_data_export", "raw data export"),
    ),
    ApiSpec(
        name="pipelines",
        display_name="Data Pipelines API",
        base_urls=_hosts(
            "data.mixpanel.com", "data-eu.mixpanel.com", "data-in.mixpanel.com", "/api/2.0/nessie"
        ),
        default=_SA_OR_SECRET_WITH_PROJECT,
        aliases=("data-pipelines", "data_pipelines", "data pipelines"),
    ),
    ApiSpec(
        name="connectors",
        display_name="Connectors API",
        base_urls=_hosts("mixpanel.com", "eu.mixpanel.com", "in.mixpanel.com", "/api/app"),
        default=EndpointRule(("service_account",), project_id=False),
        aliases=("warehouse-connectors", "warehouse_connectors", "warehouse connectors"),
    ),
)


def check_base_path(
    relative_url: str, path: str, base_path: str, api_name: str, *, field: str = "relative_url"
) -> None:
    """Refuse a relative URL that repeats the end of the API's base path, naming the fix.

    ``/api/2.0/events/names`` on the Query API (base path ``/api``) would be sent to
    ``.../api/api/2.0/events/names``; ``/2.0/export`` on Export (``/api/2.0/export``) to
    ``.../export/2.0/export``. Mixpanel answers both with a bare 404.
    """
    first = path.split("/", 2)[1] if path.count("/") else ""
    if not first or "/" + first not in base_path + "/":
        return  # the common case, cheaply: the first segment is none of the base path's
    base = [s for s in base_path.split("/") if s]
    segments = path.split("/")[1:]
    for k in range(len(base), 0, -1):
        if segments[:k] != base[-k:]:
            continue
        prefix = "/" + "/".join(base[-k:])
        rest = (
            relative_url[len(prefix) :] if relative_url.startswith(prefix) else path[len(prefix) :]
        )
        if rest and rest[0] not in "/?#":
            continue  # "/apis" does not repeat "/api"
        raise RelativeUrlError(
            f"{shorten(relative_url)!r} repeats the {api_name}'s base path {base_path!r}; "
            f"did you mean {rest!r}?",
            field=field,
        )


class ApiRegistry:
    """Looks API selectors up by any of their names, ignoring case and surrounding spaces."""

    def __init__(self, specs: Iterable[ApiSpec] = BUILTIN_APIS) -> None:
        self._specs: dict[str, ApiSpec] = {}
        self._by_name: dict[str, ApiSpec] = {}
        for spec in specs:
            self.add(spec)

    def add(self, spec: ApiSpec) -> None:
        """Register ``spec``; a name already taken is an error naming both owners."""
        keys = {n.strip().lower() for n in spec.names()}
        for key in keys:
            owner = self._by_name.get(key)
            if owner is not None:
                raise ValueError(
                    f"API name {key!r} of {spec.plugin!r} is already taken by API "
                    f"{owner.name!r} of {owner.plugin!r}"
                )
        self._specs[spec.name] = spec
        for key in keys:
            self._by_name[key] = spec

    def get(self, name: object, *, field: str = "api") -> ApiSpec:
        if isinstance(name, str):
            spec = self._by_name.get(name.strip().lower())
            if spec is not None:
                return spec
        choices = ", ".join(sorted(self._specs))
        raise UnknownApiError(
            f"expected one of {choices} (or the card's names), got {name!r}", field=field
        )

    def __iter__(self) -> Iterator[ApiSpec]:
        return iter(self._specs.values())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.strip().lower() in self._by_name


#: The registry of the built-in selectors; plugin selectors are added to a copy by the plugin manager.
builtin_registry = ApiRegistry()


# -- selectors from plugins ---------------------------------------------------------------------


def api_from_definition(definition: object, *, plugin: str) -> ApiSpec:
    """Check a plugin's API selector (an :class:`ApiSpec` or a dict of :data:`DEFINITION_FIELDS`).

    Raises ``ValueError`` or ``TypeError`` saying what is wrong; the caller names the plugin.
    The base URLs must be on ``mixpanel.com`` or a subdomain: credentials are sent there.
    """
    return _on_mixpanel(_build_api(definition, plugin=plugin))


def _on_mixpanel(spec: ApiSpec) -> ApiSpec:
    """Refuse a selector whose base URLs leave Mixpanel: the runner sends credentials there."""
    for region, url in spec.base_urls.items():
        host = urlsplit(url).hostname or ""
        if not (host == "mixpanel.com" or host.endswith(".mixpanel.com")):
            raise ValueError(
                f"API {spec.name!r}: base URL for {region!r} must be on mixpanel.com or one of "
                f"its subdomains (credentials are sent there), got {url!r}"
            )
    return spec


def _build_api(definition: object, *, plugin: str) -> ApiSpec:
    if isinstance(definition, ApiSpec):
        return dataclasses.replace(definition, plugin=plugin)
    if not isinstance(definition, Mapping):
        raise TypeError(f"expected an ApiSpec or a dict, got {type(definition).__name__}")
    unknown = [k for k in definition if k not in DEFINITION_FIELDS]
    if unknown:
        raise ValueError(f"unknown field(s) {unknown}; accepted: {', '.join(DEFINITION_FIELDS)}")
    name = definition.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    base_urls = definition.get("base_urls")
    if not isinstance(base_urls, Mapping):
        raise ValueError(f"API {name!r}: base_urls must map us, eu and in to https:// URLs")
    accepts = definition.get("accepts")
    if isinstance(accepts, str) or not isinstance(accepts, (list, tuple)):
        raise ValueError(f"API {name!r}: accepts must be a list of credential kinds")
    aliases = definition.get("aliases") or ()
    if isinstance(aliases, str) or not all(isinstance(a, str) for a in aliases):
        raise ValueError(f"API {name!r}: aliases must be a list of strings")
    return ApiSpec(
        name=name.strip(),
        display_name=str(definition.get("display_name") or name).strip(),
        base_urls=dict(base_urls),
        default=EndpointRule(tuple(accepts), project_id=bool(definition.get("project_id", False))),
        aliases=tuple(aliases),
        plugin=plugin,
    )
