"""Secret masking of manifest values: which ``${env...}`` values may be secret, and hiding them.

A value read from ``${env.NAME}`` may be secret when the variable is one credentials are read
from, when its name looks like a credential, or when the key holding it does. Such a value never
shows: not in ``--dry-run`` output, not in an error, not in a log line. It is replaced by ``***``
in every form it may be written in (as is, percent-encoded, escaped in an error line).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import Any, Callable
from urllib.parse import quote, quote_plus

from .._text import one_line
from ..core.urls import PATH_SAFE
from ..errors import InputError, MpError
from ..settings import ENV_VARS
from .references import Ref

__all__ = ["credential_like", "edit_error", "is_secret_ref", "mask", "mask_error"]

# A key is credential-like when one of its words is one of these (camelCase and snake_case split).
_CREDENTIAL_WORDS = frozenset({"secret", "password", "passwd", "token", "authorization"})
_CREDENTIAL_PAIRS = frozenset({("api", "key"), ("private", "key"), ("access", "key")})
_WORD = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")
#: The variables credentials are read from: a value read from one is masked wherever it is used.
_CREDENTIAL_VARS = frozenset(var for key, var in ENV_VARS.items() if key != "project_id")
# A secret shorter than this is masked only where no letter or digit touches it.
_SHORTEST_MASKED_INSIDE = 6


@functools.lru_cache(maxsize=4096)  # a manifest repeats a few dozen keys (method, query, ...)
def credential_like(key: str) -> bool:
    """Is ``key`` named like a credential (secret, password, token, authorization, api key)?"""
    words = [w.lower() for w in _WORD.findall(key)]
    return any(w in _CREDENTIAL_WORDS for w in words) or any(
        pair in _CREDENTIAL_PAIRS for pair in zip(words, words[1:])
    )


def is_secret_ref(ref: Ref, at: str) -> bool:
    """May the value of ``${env.NAME}`` at ``at`` be secret? Then it is masked wherever shown.

    It may when the variable is one credentials are read from (``MP_SECRET``...), when its name
    is credential-like (``WAREHOUSE_PASSWORD``), or when the key holding it is (``password``).
    """
    return (
        ref.name in _CREDENTIAL_VARS
        or credential_like(ref.name)
        or credential_like(at.rsplit(".", 1)[-1])
    )


def mask(value: Any, sensitive: tuple[str, ...]) -> Any:
    """``value`` (a string, or JSON containers of strings) with each of ``sensitive`` as ``***``."""
    if not sensitive:
        return value
    if isinstance(value, str):
        for secret in sensitive:
            value = _mask_text(value, secret)
        return value
    if isinstance(value, Mapping):
        return {k: mask(v, sensitive) for k, v in value.items()}
    if isinstance(value, list):
        return [mask(v, sensitive) for v in value]
    return value


def _mask_text(value: str, secret: str) -> str:
    if len(secret) < _SHORTEST_MASKED_INSIDE:
        # A value as short as "5" would blank out every "5" of the output ("55", "2025"): it is
        # masked only where no letter or digit touches it.
        for form in _written_forms(secret):
            value = re.sub(rf"(?<![0-9A-Za-z]){re.escape(form)}(?![0-9A-Za-z])", "***", value)
        return value
    for form in _written_forms(secret):
        value = value.replace(form, "***")
        if "..." in value:
            # Errors quote long values cut short ("sk_live_0123...", _text.shorten): a cut
            # form is as secret as the whole one.
            for end in range(len(form) - 1, 3, -1):
                value = value.replace(form[:end] + "...", "***...")
    return value


@functools.lru_cache(maxsize=64)
def _written_forms(secret: str) -> tuple[str, ...]:
    """``secret`` as it may appear: as is, percent-encoded in a path, a query or a form body,
    and with control characters escaped (as error messages write them); longest first."""
    if not secret:
        return ()
    forms = {
        secret,
        one_line(secret),
        quote(secret, safe=""),
        quote(secret, safe=PATH_SAFE),
        quote_plus(secret),
        # A "+" in a relative URL's query string reads as a space, and is sent as %20.
        quote(secret.replace("+", " "), safe=""),
        repr(secret)[1:-1],
    }
    return tuple(sorted(forms, key=len, reverse=True))


def mask_error(exc: MpError, sensitive: tuple[str, ...]) -> None:
    """Mask ``sensitive`` values in ``exc``'s message, in place (it is raised on as it is)."""
    if sensitive:
        edit_error(exc, lambda text: mask(text, sensitive))


def edit_error(exc: MpError, edit: Callable[[str], str]) -> None:
    """Rewrite ``exc``'s message (and an input error's ``detail``) with ``edit``, in place."""
    message = edit(exc.message)
    if message == exc.message:
        return
    exc.message = message
    exc.args = (message,)
    if isinstance(exc, InputError):
        exc.detail = edit(exc.detail)
