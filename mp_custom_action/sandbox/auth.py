"""The sandbox's demo credentials, and the credential checks Mixpanel applies to each API family.

The sandbox checks credentials with its own code, not with the client's rules in ``apis.py``: if
the two shared one table, a mistake in it would be mirrored on both sides and no test would see it.

Answers, as Mixpanel gives them:

* no ``Authorization``, an unknown pair, or a credential kind the endpoint does not take: 401;
* a service account without ``?project_id=`` where the endpoint needs it: 401 (Mixpanel then reads
  the pair as a project secret, and finds it invalid);
* a valid credential for a project other than the sandbox's: 403.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Optional

from .messages import CLASSIC, Request, Response, error

__all__ = [
    "DEMO_CREDENTIALS",
    "SECRET",
    "SERVICE_ACCOUNT",
    "TOKEN",
    "Keys",
    "check_basic",
    "check_path_project",
    "parse_basic",
]

#: The sandbox's own credentials, printed by ``mp-custom-action sandbox`` and documented in
#: docs/sandbox.md. They are fake on purpose and open nothing anywhere else.
DEMO_CREDENTIALS: Mapping[str, Any] = MappingProxyType(
    {
        "project_id": 4242424,
        "username": "sandbox-sa.demo",
        "secret": "sandbox-secret-not-real",
        "api_secret": "sandbox-api-secret-not-real",
        "token": "sandbox-token-not-real",
    }
)

SERVICE_ACCOUNT = "service_account"
SECRET = "secret"  # noqa: S105 (the name of a credential kind, not a credential)
TOKEN = "token_basic"  # noqa: S105 (the name of a credential kind)

_NAMES = {
    SERVICE_ACCOUNT: "a service account",
    SECRET: "the project API secret",
    TOKEN: "the project token",
}


@dataclass(frozen=True)
class Keys:
    """The credentials one sandbox accepts."""

    project_id: int
    username: str
    secret: str
    api_secret: str
    token: str

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> Keys:
        missing = [
            k
            for k in ("project_id", "username", "secret", "api_secret", "token")
            if not values.get(k)
        ]
        if missing:
            raise ValueError(f"sandbox credentials lack {missing}")
        project_id = values["project_id"]
        if isinstance(project_id, bool) or not str(project_id).isdigit():
            raise ValueError("sandbox project_id must be a positive integer")
        return cls(
            project_id=int(project_id),
            username=str(values["username"]),
            secret=str(values["secret"]),
            api_secret=str(values["api_secret"]),
            token=str(values["token"]),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "username": self.username,
            "secret": self.secret,
            "api_secret": self.api_secret,
            "token": self.token,
        }

    def is_token(self, value: object) -> bool:
        return isinstance(value, str) and _same(value, self.token)


def _same(a: str, b: str) -> bool:
    # Constant-time, as a real server compares secrets; costs nothing here.
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))


def parse_basic(header: str) -> Optional[tuple[str, str]]:
    """``Basic <base64(user:pass)>``, or the pair in plain text, which Mixpanel also accepts.

    A colon is not in the base64 alphabet, so a value holding one is the plain-text form.
    """
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    value = value.strip()
    if not value:
        return None
    if ":" in value:
        user, _, password = value.partition(":")
        return user, password
    try:
        text = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        return None
    user, _, password = text.partition(":")
    return user, password


def classify(header: Optional[str], keys: Keys) -> Optional[str]:
    """Which of the sandbox's credentials ``header`` carries, or ``None``."""
    pair = parse_basic(header) if header else None
    if pair is None:
        return None
    user, password = pair
    if _same(user, keys.username) and _same(password, keys.secret):
        return SERVICE_ACCOUNT
    if password == "" and _same(user, keys.api_secret):
        return SECRET
    if password == "" and _same(user, keys.token):
        return TOKEN
    return None


def describe(accepts: tuple[str, ...]) -> str:
    return " or ".join(_NAMES[k] for k in accepts)


def check_basic(
    request: Request,
    keys: Keys,
    accepts: tuple[str, ...],
    *,
    project_id_param: bool,
    style: str = CLASSIC,
) -> Optional[Response]:
    """``None`` when ``request`` carries a credential the endpoint accepts; else Mixpanel's answer.

    ``project_id_param``: the endpoint is not scoped by a project in its path, so a service
    account must name the project with ``?project_id=``, and a given one must be the sandbox's.
    """
    header = request.header("authorization")
    if not header:
        request.notes["auth"] = "refused: no credentials"
        return error(
            401, f"Missing credentials: send HTTP Basic auth with {describe(accepts)}", style
        )
    kind = classify(header, keys)
    if kind is None:
        request.notes["auth"] = "refused: invalid credentials"
        return error(401, "Invalid credentials", style)
    if kind not in accepts:
        request.notes["auth"] = f"refused: {kind} not accepted here"
        return error(
            401,
            f"Invalid credentials: {_NAMES[kind]} is not accepted here; use {describe(accepts)}",
            style,
        )
    request.notes["auth"] = kind
    if not project_id_param:
        return None
    # Mixpanel reads project_id from the query string or, where the body is a form, from it
    # (the Data Pipelines POSTs carry it in their form, as Mixpanel documents).
    project_id = request.value("project_id")
    if project_id is None:
        if kind == SERVICE_ACCOUNT:
            request.notes["auth"] = "refused: service_account without project_id"
            return error(
                401,
                "Invalid credentials: a service account needs the project_id parameter here",
                style,
            )
        return None
    denied = _check_project(project_id, keys, style)
    if denied is not None:
        request.notes["auth"] = f"refused: {kind} for another project"
    return denied


def check_path_project(project_id: str, keys: Keys, style: str) -> Optional[Response]:
    """The project id in an App API path must be the sandbox's project."""
    if not project_id.isdigit():
        return error(404, f"Not found: {project_id!r} is not a project id", style)
    return _check_project(project_id, keys, style)


def _check_project(project_id: str, keys: Keys, style: str) -> Optional[Response]:
    if not project_id.isascii() or not project_id.isdigit():
        return error(400, f"project_id must be an integer, got {project_id!r}", style)
    if int(project_id) != keys.project_id:
        return error(
            403,
            f"You do not have access to project {int(project_id)} "
            f"(the sandbox serves project {keys.project_id})",
            style,
        )
    return None
