"""Mixpanel's per-project rate limits: the one table every part of the package reads them from.

The numbers are Mixpanel's published limits (per project, whatever the client): Query 60 an hour
and 5 at once; Export 60 an hour, 3 a second and 100 at once; Lexicon Schemas 5 a minute; warehouse
manual syncs 5 an hour; ingestion 2 GB of uncompressed JSON a minute. ``bulk/budgets.py`` keeps a
machine-wide ledger of what each project has used of them; ``manifests/parallel.py`` reads the
"at once" numbers for its per-API admission. Nothing here sends or counts anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

__all__ = [
    "LIMITS",
    "ProjectLimit",
    "Rate",
    "at_once_for",
    "limits_for",
    "per_second_for",
    "project_of",
]


@dataclass(frozen=True)
class Rate:
    """At most ``amount`` per ``seconds`` (a sliding window): requests, or body bytes."""

    amount: int
    seconds: float


@dataclass(frozen=True)
class ProjectLimit:
    """One of Mixpanel's per-project limits, and the calls it covers.

    ``api`` is the selector's name; ``path`` (a regular expression, matched from the start of the
    relative path) and ``methods`` narrow it (``None``: every path, every method). ``unit`` is
    ``"requests"`` or ``"bytes"`` (of uncompressed request body).
    """

    name: str
    api: str
    rates: tuple[Rate, ...]
    at_once: Optional[int] = None
    unit: str = "requests"
    path: Optional[str] = None
    methods: Optional[frozenset[str]] = None

    def covers(self, api: str, method: str, path: str) -> bool:
        if api != self.api:
            return False
        if self.methods is not None and method not in self.methods:
            return False
        return self.path is None or re.match(self.path, path) is not None

    def describe(self) -> str:
        """``60 an hour, 5 at once`` (what ``budgets`` and the docs print)."""
        parts = [f"{_amount(r.amount, self.unit)} {_per(r.seconds)}" for r in self.rates]
        if self.at_once is not None:
            parts.append(f"{self.at_once} at once")
        return ", ".join(parts)


_HOUR = 3600.0
_MINUTE = 60.0

#: Mixpanel's published per-project limits (docs/bulk.md, "Rate budgets").
LIMITS: tuple[ProjectLimit, ...] = (
    ProjectLimit("Query", "query", (Rate(60, _HOUR),), at_once=5),
    ProjectLimit("Export", "export", (Rate(60, _HOUR), Rate(3, 1.0)), at_once=100),
    ProjectLimit("Lexicon", "lexicon", (Rate(5, _MINUTE),)),
    ProjectLimit(
        "Warehouse sync",
        "connectors",
        (Rate(5, _HOUR),),
        path=r"/projects/[^/]+/warehouse-sources/imports/[^/]+/manual-sync/?$",
        methods=frozenset({"PUT", "POST"}),
    ),
    ProjectLimit("Ingestion", "ingestion", (Rate(2_000_000_000, _MINUTE),), unit="bytes"),
)


def limits_for(api: str, method: str, path: str) -> tuple[ProjectLimit, ...]:
    """The limits one call counts against (often none)."""
    return tuple(limit for limit in LIMITS if limit.covers(api, method, path))


def at_once_for(api: str) -> Optional[int]:
    """The most calls of ``api`` Mixpanel allows in flight per project (``None``: unpublished)."""
    for limit in LIMITS:
        if limit.api == api and limit.path is None and limit.at_once is not None:
            return limit.at_once
    return None


def per_second_for(api: str) -> Optional[int]:
    """The most calls of ``api`` Mixpanel allows to start in one second (``None``: unpublished)."""
    for limit in LIMITS:
        if limit.api == api and limit.path is None:
            for rate in limit.rates:
                if rate.seconds == 1.0:
                    return rate.amount
    return None


# The project of a call whose API names it in the path rather than in a project_id parameter.
_PATH_PROJECT = {
    "lexicon": re.compile(r"/(\d+)(?:/|$)"),
    "connectors": re.compile(r"/projects/(\d+)(?:/|$)"),
}


def project_of(api: str, path: str, project_id: Optional[str]) -> Optional[str]:
    """The project a call is counted against: its ``project_id``, else the one in its path."""
    if project_id:
        return str(project_id)
    pattern = _PATH_PROJECT.get(api)
    found = pattern.match(path) if pattern is not None else None
    return found.group(1) if found else None


def _amount(amount: int, unit: str) -> str:
    if unit == "bytes":
        return f"{amount / 1e9:g} GB"
    return str(amount)


def _per(seconds: float) -> str:
    names = {1.0: "a second", _MINUTE: "a minute", _HOUR: "an hour"}
    return names.get(seconds, f"per {seconds:g} s")
