"""Selectors: a relative URL that repeats the API's base path is refused, naming the fix."""

from __future__ import annotations

import pytest

from mp_custom_action.core.apis import REGIONS, builtin_registry, check_base_path
from mp_custom_action.core.credentials import Credentials
from mp_custom_action.core.request import build_request
from mp_custom_action.errors import RelativeUrlError

SA = Credentials.build(username="sa", secret="s", project_id=7)


@pytest.mark.parametrize(
    ("api", "relative_url", "message"),
    [
        ("query", "/api/2.0/events/names",
         "relative_url: '/api/2.0/events/names' repeats the Query API's base path '/api'; "
         "did you mean '/2.0/events/names'?"),
        ("export", "/2.0/export",
         "relative_url: '/2.0/export' repeats the Raw Data Export API's base path "
         "'/api/2.0/export'; did you mean ''?"),
        ("export", "/api/2.0/export?from_date=2024-01-01",
         "did you mean '?from_date=2024-01-01'?"),
        ("export", "/export", "did you mean ''?"),
        ("lexicon", "/projects/12/schemas", "base path '/api/app/projects'; did you mean '/12/schemas'?"),
        ("connectors", "/app/projects/1/warehouse-sources/imports",
         "did you mean '/projects/1/warehouse-sources/imports'?"),
        ("connectors", "/api/app/data-retrievals/v3.0", "did you mean '/data-retrievals/v3.0'?"),
        ("pipelines", "/nessie/pipeline/jobs", "did you mean '/pipeline/jobs'?"),
        ("pipelines", "/2.0/nessie/pipeline/jobs#list", "did you mean '/pipeline/jobs#list'?"),
    ],
)  # fmt: skip
def test_a_repeated_base_path_is_an_input_error_naming_the_fix(
    api: str, relative_url: str, message: str
) -> None:
    for region in REGIONS:
        with pytest.raises(RelativeUrlError) as info:
            build_request(
                {"method": "GET", "api": api, "relative_url": relative_url, "region": region},
                credentials=SA,
            )
        assert message in str(info.value)
        assert info.value.exit_status == 2


@pytest.mark.parametrize(
    ("api", "relative_url"),
    [
        ("query", "/2.0/events/names"),
        ("query", "/apis/x"),  # a segment that only starts like the base path
        ("query", "/app/projects/1/schemas"),  # the App API, under /api: not a repetition
        ("export", ""),
        ("export", "?from_date=2024-01-01"),
        ("connectors", "/projects/1/warehouse-sources/imports"),
        ("lexicon", "/12/schemas"),
        ("ingestion", "/import"),
    ],
)
def test_paths_that_do_not_repeat_it_pass(api: str, relative_url: str) -> None:
    spec = builtin_registry.get(api)
    path = relative_url.split("?")[0].split("#")[0]
    check_base_path(relative_url, path, spec.base_paths["us"], spec.display_name)


def test_nothing_is_sent_for_a_repeated_base_path() -> None:
    # The CLI path: `call GET export /2.0/export` stops before a request exists.
    from mp_custom_action import Runner

    with Runner(username="sa", secret="s", project_id=7, env={}) as runner:
        with pytest.raises(RelativeUrlError):
            runner.prepare({"method": "GET", "api": "export", "relative_url": "/2.0/export"})


def test_a_plugin_selector_may_accept_the_new_kinds() -> None:
    from mp_custom_action.core.apis import api_from_definition

    spec = api_from_definition(
        {"name": "flags-plus", "accepts": ["token_query", "oauth"],
         "base_urls": dict.fromkeys(REGIONS, "https://flags.mixpanel.com/v2")},
        plugin="example",
    )  # fmt: skip
    req = build_request(
        {"method": "GET", "api": spec, "relative_url": "/x"},
        credentials=Credentials.build(token="t"),
        apis=lambda name: spec,
    )
    assert req.credential.kind == "token_query"
    assert req.describe()["url"] == "https://flags.mixpanel.com/v2/x?token=***"
    with pytest.raises(ValueError, match="unknown credential kinds"):
        api_from_definition(
            {"name": "bad", "accepts": ["bearer"],
             "base_urls": dict.fromkeys(REGIONS, "https://x.mixpanel.com")},
            plugin="example",
        )  # fmt: skip
