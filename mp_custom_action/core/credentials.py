"""Mixpanel credentials: reading them, choosing the one an endpoint accepts, and keeping them secret.

Every secret value is held in a :class:`Secret`, whose ``str``/``repr`` is ``***``: a credential
cannot reach a message, a log line or a repr by accident, only through :meth:`Secret.reveal`,
which is called only where a wire form is built (the Basic header, the token written into data)
or a value is handed to a redaction scanner.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Protocol, Union

from .._text import REDACTED
from ..errors import CredentialNotAcceptedError, InputError, MissingCredentialError
from ..settings import ENV_VARS
from .apis import ApiSpec

__all__ = [
    "AUTH_CHOICES",
    "AUTH_FOR_KIND",
    "AppliedCredential",
    "Credentials",
    "Secret",
    "choose_credential",
]


#: Values of the ``auth`` input: ``auto`` picks by preference; the others force one kind.
AUTH_CHOICES = ("auto", "service-account", "secret", "token", "oauth")

#: The credential fields that hold a secret (``project_id`` is not one).
SECRET_FIELDS = ("username", "secret", "api_secret", "token", "oauth_token")


class Secret:
    """A credential value that prints as ``***`` everywhere; ``reveal()`` gives the value."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({REDACTED})"

    def __str__(self) -> str:
        return REDACTED

    def __format__(self, spec: str) -> str:
        return REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __bool__(self) -> bool:
        return bool(self._value)

    def __reduce__(self) -> Any:
        # Pickling would write the value out; a credential is not something to serialise.
        raise TypeError("a Secret cannot be pickled")


SecretLike = Union[str, Secret, None]


def _secret(value: SecretLike) -> Optional[Secret]:
    if value is None or isinstance(value, Secret):
        return value or None
    if not isinstance(value, str):
        raise InputError(f"expected a string, got {type(value).__name__}", field="credentials")
    value = value.strip()
    return Secret(value) if value else None


def _project_id(value: object) -> Optional[str]:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InputError("expected a positive integer", field="project_id")
    text = str(value).strip()
    if not text.isdigit() or not text.isascii() or int(text) <= 0:
        raise InputError(f"expected a positive integer, got {text!r}", field="project_id")
    return str(int(text))


@dataclass(frozen=True, repr=False)
class Credentials:
    """The credentials a runner may use. Every field is optional; which are needed depends on the API.

    ``username`` is kept as a :class:`Secret` too: a service account's name is half of the pair.
    """

    username: Optional[Secret] = None
    secret: Optional[Secret] = None
    api_secret: Optional[Secret] = None
    token: Optional[Secret] = None
    project_id: Optional[str] = None
    oauth_token: Optional[Secret] = None

    @classmethod
    def build(
        cls,
        *,
        username: SecretLike = None,
        secret: SecretLike = None,
        api_secret: SecretLike = None,
        token: SecretLike = None,
        project_id: object = None,
        oauth_token: SecretLike = None,
    ) -> Credentials:
        return cls(
            username=_secret(username),
            secret=_secret(secret),
            api_secret=_secret(api_secret),
            token=_secret(token),
            project_id=_project_id(project_id),
            oauth_token=_secret(oauth_token),
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Credentials:
        return cls.build(**{name: env.get(var) for name, var in ENV_VARS.items()})

    def over(self, fallback: Credentials) -> Credentials:
        """These credentials, with each missing field taken from ``fallback``."""
        return Credentials(
            username=self.username or fallback.username,
            secret=self.secret or fallback.secret,
            api_secret=self.api_secret or fallback.api_secret,
            token=self.token or fallback.token,
            project_id=self.project_id or fallback.project_id,
            oauth_token=self.oauth_token or fallback.oauth_token,
        )

    @property
    def has_service_account(self) -> bool:
        return bool(self.username and self.secret)

    def secrets(self) -> list[str]:
        """The revealed values, for redaction scanners (tests, log filters)."""
        values = (getattr(self, name) for name in SECRET_FIELDS)
        return [s.reveal() for s in values if s]

    def __repr__(self) -> str:
        present = [name for name in SECRET_FIELDS if getattr(self, name) is not None]
        return f"Credentials(present={present}, project_id={self.project_id!r})"


@dataclass(frozen=True, repr=False)
class AppliedCredential:
    """The credential chosen for one request, ready to apply.

    ``authorization`` is the wire value of the ``Authorization`` header (or ``None`` for a token
    written into the data); ``data_token`` is the token to write into events or updates;
    ``query_token`` the project token sent as ``?token=`` (added to the URL only on the wire).
    """

    kind: str
    authorization: Optional[Secret] = None
    data_token: Optional[Secret] = None
    project_id: Optional[str] = None
    query_token: Optional[Secret] = None

    @property
    def scheme(self) -> str:
        """``Basic`` or ``Bearer``: what the dry run shows before the redacted value."""
        return "Bearer" if self.kind == "oauth" else "Basic"

    def __repr__(self) -> str:
        return f"AppliedCredential(kind={self.kind!r}, project_id={self.project_id!r})"


def _basic(user: str, password: str) -> Secret:
    raw = f"{user}:{password}".encode()
    return Secret("Basic " + base64.b64encode(raw).decode("ascii"))


_KIND_FOR_AUTH = {
    "service-account": ("service_account",),
    "secret": ("secret",),
    "token": ("token_basic", "token_data", "token_query"),
    "oauth": ("oauth",),
}

#: The ``auth`` value that forces each credential kind (the inverse of the table above).
AUTH_FOR_KIND = {kind: auth for auth, kinds in _KIND_FOR_AUTH.items() for kind in kinds}

_DESCRIBE = {
    "service_account": "a service account (MP_USERNAME and MP_SECRET{pid})",
    "secret": "a project API secret (MP_API_SECRET)",
    "token_basic": "a project token (MP_TOKEN)",
    "token_data": "a project token (MP_TOKEN)",
    "token_query": "a project token (MP_TOKEN)",
    "oauth": "an OAuth token (MP_OAUTH_TOKEN)",
}


class Rule(Protocol):
    """What choosing a credential needs of an endpoint (an Endpoint row or an EndpointRule)."""

    @property
    def accepts(self) -> tuple[str, ...]: ...

    @property
    def project_id(self) -> object: ...  # truthy: a service account needs a project id


@dataclass(frozen=True)
class _Needs:
    accepts: tuple[str, ...]
    project_id: object


def describe_accepted(rule: Rule) -> str:
    """'a service account (MP_USERNAME and MP_SECRET with MP_PROJECT_ID) or an API secret ...'"""
    pid = " with MP_PROJECT_ID" if rule.project_id else ""
    words = [_DESCRIBE[k].format(pid=pid) for k in rule.accepts]
    return " or ".join(dict.fromkeys(words))


def normalize_auth(value: object, *, field: str = "auth") -> str:
    if value is None or value == "":
        return "auto"
    if isinstance(value, str):
        auth = value.strip().lower().replace("_", "-")
        auth = {"service account": "service-account", "api-secret": "secret"}.get(auth, auth)
        if auth in AUTH_CHOICES:
            return auth
    raise InputError(f"expected one of {', '.join(AUTH_CHOICES)}, got {value!r}", field=field)


def choose_credential(
    creds: Credentials,
    api: ApiSpec,
    rule: Rule,
    auth: str,
    path: str,
    *,
    field: Optional[str] = None,
) -> AppliedCredential:
    """Pick the credential for one request: service account, then API secret, then project token.

    ``auth`` other than ``auto`` forces a kind. A missing credential, or one the endpoint does not
    accept, is an error naming the environment variables to set (and ``field``, where the action
    sits). Nothing is sent in either case.
    """
    where = f"the {api.display_name} ({path or '/'})"
    if auth == "auto":
        candidates = rule.accepts
    else:
        wanted = _KIND_FOR_AUTH[auth]
        candidates = tuple(k for k in rule.accepts if k in wanted)
        if not candidates:
            raise CredentialNotAcceptedError(
                f"{where} does not accept auth={auth!r}; it takes {describe_accepted(rule)}",
                field=field,
            )
    for kind in candidates:
        applied = _try_kind(creds, kind, rule)
        if applied is not None:
            return applied
    missing = describe_accepted(_Needs(candidates, rule.project_id))
    if "service_account" in candidates and creds.has_service_account and rule.project_id:
        # The service account is there; only the project id is missing: say exactly that.
        raise MissingCredentialError(
            f"{where} needs MP_PROJECT_ID with a service account", field=field
        )
    raise MissingCredentialError(f"{where} needs {missing}", field=field)


def _try_kind(creds: Credentials, kind: str, rule: Rule) -> Optional[AppliedCredential]:
    if kind == "service_account":
        if not creds.has_service_account:
            return None
        if rule.project_id and not creds.project_id:
            return None
        assert creds.username is not None
        assert creds.secret is not None
        return AppliedCredential(
            kind,
            authorization=_basic(creds.username.reveal(), creds.secret.reveal()),
            project_id=creds.project_id if rule.project_id else None,
        )
    if kind == "secret":
        if not creds.api_secret:
            return None
        return AppliedCredential(kind, authorization=_basic(creds.api_secret.reveal(), ""))
    if kind == "token_basic":
        if not creds.token:
            return None
        return AppliedCredential(kind, authorization=_basic(creds.token.reveal(), ""))
    if kind == "token_data":
        if not creds.token:
            return None
        return AppliedCredential(kind, data_token=creds.token)
    if kind == "token_query":
        if not creds.token:
            return None
        return AppliedCredential(kind, query_token=creds.token)
    if kind == "oauth":
        if not creds.oauth_token:
            return None
        return AppliedCredential(kind, authorization=Secret("Bearer " + creds.oauth_token.reveal()))
    return None
