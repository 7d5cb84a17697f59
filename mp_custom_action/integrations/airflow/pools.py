"""Mixpanel's per-project limits as Airflow pools: one pool per API, so a cluster stays inside them.

Mixpanel limits concurrency per project (Query: 5 at once; Lexicon: 5 requests a minute; 5
API-triggered warehouse syncs an hour). Every operator of this provider sets ``pool`` to its
API's pool unless you give one, so that however many workers run a DAG, no more tasks call an
API at once than its pool has slots. The bulk jobs' own budgets still apply inside each task.
This module does not import Airflow: ``python -m mp_custom_action.integrations.airflow.pools``
prints the ``airflow pools set`` commands that create them (``--json``: a file for
``airflow pools import``).
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from typing import Optional

__all__ = ["DEFAULT_POOL", "POOLS", "Pool", "pool_commands", "pool_for_api", "pools_json"]


@dataclass(frozen=True)
class Pool:
    name: str
    slots: int
    description: str


#: API name (as the library names it, core/apis.py) -> its pool.
POOLS: dict[str, Pool] = {
    "query": Pool("mixpanel_query", 5, "Mixpanel Query API: 5 concurrent queries per project"),
    "export": Pool(
        "mixpanel_export", 3, "Mixpanel Raw Data Export: 3 requests a second, 60 an hour"
    ),
    "lexicon": Pool("mixpanel_lexicon", 1, "Mixpanel Lexicon Schemas: 5 requests a minute"),
    "connectors": Pool(
        "mixpanel_connectors", 1, "Mixpanel Warehouse Connectors: 5 API-triggered syncs an hour"
    ),
    "pipelines": Pool("mixpanel_pipelines", 1, "Mixpanel Data Pipelines management calls"),
    "ingestion": Pool("mixpanel_ingestion", 4, "Mixpanel Ingestion (/import, /track, /engage)"),
}

#: The pool of a call whose API is not known when the DAG is parsed (a templated ``api``, a
#: plugin's API, a manifest read at run time).
DEFAULT_POOL = Pool("mixpanel_default", 2, "Mixpanel calls whose API is known only at run time")


def pool_for_api(api: object) -> Pool:
    """The pool of ``api`` (any of its names, as ``Runner`` accepts them); unknown: the default."""
    if not isinstance(api, str) or "{{" in api:
        return DEFAULT_POOL
    from ...core.apis import builtin_registry

    if api not in builtin_registry:
        return DEFAULT_POOL
    return POOLS.get(builtin_registry.get(api).name, DEFAULT_POOL)


def narrowest(apis: list[str]) -> Optional[Pool]:
    """The pool with the fewest slots among ``apis`` (a manifest that calls several APIs)."""
    pools = [pool_for_api(api) for api in apis]
    return min(pools, key=lambda p: (p.slots, p.name)) if pools else None


def pool_commands(airflow: str = "airflow") -> list[str]:
    """One ``airflow pools set NAME SLOTS DESCRIPTION`` command per pool."""
    return [
        " ".join([airflow, "pools", "set", p.name, str(p.slots), shlex.quote(p.description)])
        for p in [*POOLS.values(), DEFAULT_POOL]
    ]


def pools_json() -> str:
    """The pools as ``airflow pools import FILE`` reads them (one command for all)."""
    every = [*POOLS.values(), DEFAULT_POOL]
    table = {p.name: {"slots": p.slots, "description": p.description} for p in every}
    return json.dumps(table, indent=2)


if __name__ == "__main__":
    if sys.argv[1:] == ["--json"]:
        sys.stdout.write(pools_json() + "\n")
    else:
        sys.stdout.write("\n".join(pool_commands()) + "\n")
