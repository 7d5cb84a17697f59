"""core/limits.py: Mixpanel's per-project limits, in one table."""

from __future__ import annotations

from mp_custom_action.core.limits import LIMITS, at_once_for, limits_for, project_of


def test_the_table_holds_mixpanels_published_numbers() -> None:
    table = {
        limit.name: ([(r.amount, r.seconds) for r in limit.rates], limit.at_once, limit.unit)
        for limit in LIMITS
    }
    assert table == {
        "Query": ([(60, 3600.0)], 5, "requests"),
        "Export": ([(60, 3600.0), (3, 1.0)], 100, "requests"),
        "Lexicon": ([(5, 60.0)], None, "requests"),
        "Warehouse sync": ([(5, 3600.0)], None, "requests"),
        "Ingestion": ([(2_000_000_000, 60.0)], None, "bytes"),
    }
    assert [x.describe() for x in LIMITS] == [
        "60 an hour, 5 at once",
        "60 an hour, 3 a second, 100 at once",
        "5 a minute",
        "5 an hour",
        "2 GB a minute",
    ]


def test_which_calls_count_against_which_limit() -> None:
    def names(api: str, method: str, path: str) -> list[str]:
        return [x.name for x in limits_for(api, method, path)]

    assert names("query", "GET", "/2.0/engage") == ["Query"]
    assert names("export", "GET", "") == ["Export"]
    assert names("lexicon", "GET", "/4242/schemas") == ["Lexicon"]
    sync = "/projects/4242/warehouse-sources/imports/77/manual-sync"
    assert names("connectors", "PUT", sync) == ["Warehouse sync"]
    assert names("connectors", "GET", "/projects/4242/warehouse-sources") == []
    assert names("ingestion", "POST", "/import") == ["Ingestion"]
    assert names("pipelines", "GET", "/jobs") == []


def test_at_once_and_the_project_of_a_call() -> None:
    assert (at_once_for("query"), at_once_for("export"), at_once_for("lexicon")) == (5, 100, None)
    assert project_of("query", "/2.0/engage", "4242") == "4242"
    assert project_of("lexicon", "/4242/schemas/event", None) == "4242"
    assert project_of("connectors", "/projects/77/warehouse-sources", None) == "77"
    assert project_of("query", "/2.0/engage", None) is None


def test_parallel_manifests_take_their_numbers_from_the_table() -> None:
    from mp_custom_action.core.limits import per_second_for
    from mp_custom_action.manifests.parallel import LIMITS as MANIFEST_LIMITS

    assert MANIFEST_LIMITS["query"].at_once == at_once_for("query") == 5
    assert MANIFEST_LIMITS["export"].at_once == at_once_for("export") == 100
    assert MANIFEST_LIMITS["export"].starts == per_second_for("export") == 3
    assert per_second_for("query") is None
