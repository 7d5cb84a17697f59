"""Following pages (Query engage: session_id + page) with a stop rule that cannot loop forever."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Callable

import pytest
import requests
from cli_helpers import cli
from loopback import Received, Reply, ScriptedServer

from mp_custom_action.bulk import paginate
from mp_custom_action.core.runner import Runner
from mp_custom_action.errors import InputError
from mp_custom_action.sandbox import Sandbox

SECRET = "pages-test-secret"
ENGAGE = {"method": "POST", "api": "query", "relative_url": "/2.0/engage"}


@pytest.fixture
def profiles() -> Iterator[Sandbox]:
    with Sandbox() as sb:
        token = sb.credentials["token"]
        updates = [
            {"$token": token, "$distinct_id": f"u{i:04d}", "$set": {"n": i}} for i in range(2500)
        ]
        for k in range(0, 2500, 1000):
            assert (
                requests.post(sb.origin + "/engage", json=updates[k : k + 1000], timeout=10).text
                == "1"
            )
        yield sb


def queries(sb: Sandbox) -> list[dict[str, str]]:
    return [dict(r.query) for r in sb.requests if r.path == "/api/2.0/engage"]


def sandbox_runner(sb: Sandbox) -> Runner:
    c = sb.credentials
    return Runner(origin=sb.origin, username=c["username"], secret=c["secret"],
                  project_id=c["project_id"], env={})  # fmt: skip


def test_every_page_of_the_sandbox_once(profiles: Sandbox) -> None:
    with sandbox_runner(profiles) as runner:
        pages = paginate(runner, ENGAGE)
        got = [(p.number, len(p.records)) for p in pages]
    assert got == [(0, 1000), (1, 1000), (2, 500)]
    assert (pages.stopped, pages.pages, pages.records, pages.complete) == (
        "last_page",
        3,
        2500,
        True,
    )
    sent = queries(profiles)
    assert "session_id" not in sent[0] and "page" not in sent[0]
    assert [(q.get("session_id"), q.get("page")) for q in sent[1:]] == [
        ("sandbox-session", "1"), ("sandbox-session", "2"),
    ]  # fmt: skip


def test_the_users_query_is_kept_and_total_ends_an_exact_fit(profiles: Sandbox) -> None:
    with sandbox_runner(profiles) as runner:
        pages = paginate(runner, {**ENGAGE, "query": {"page_size": "500"}})
        assert sum(len(p.records) for p in pages) == 2500
    # 2500 is five full pages of 500: "total" ends it without asking for an empty sixth.
    assert pages.stopped == "total" and len(queries(profiles)) == 5
    assert {q["page_size"] for q in queries(profiles)} == {"500"}


def test_max_pages(profiles: Sandbox) -> None:
    with sandbox_runner(profiles) as runner:
        pages = paginate(runner, ENGAGE, max_pages=2)
        assert [p.number for p in pages] == [0, 1]
    assert pages.stopped == "max_pages" and pages.complete
    with pytest.raises(InputError) as caught:
        paginate(sandbox_runner(profiles), ENGAGE, max_pages=0)
    assert caught.value.field == "max_pages"


def test_an_endpoint_that_does_not_page_is_refused() -> None:
    runner = Runner(username="u", secret=SECRET, project_id=1, env={})
    with pytest.raises(InputError, match="does not page") as caught:
        paginate(runner, {**ENGAGE, "relative_url": "/2.0/events/names"})
    assert caught.value.field == "paginate"


# -- servers that misbehave: every one of them ends ------------------------------------------------


def engage_server(answer: Callable[[int, dict[str, str]], Reply]) -> ScriptedServer:
    calls = {"n": 0}

    def handler(req: Received) -> Reply:
        calls["n"] += 1
        assert calls["n"] <= 50, "the paginator did not stop"
        return answer(calls["n"], dict(req.query))

    return ScriptedServer(handler)


def page(
    number: int, results: list[Any], *, session: Any = "s1", size: int = 2, **extra: Any
) -> Reply:
    body = {"page": number, "page_size": size, "session_id": session, "results": results, **extra}
    return Reply.json({k: v for k, v in body.items() if v is not None})


def run_pages(
    answer: Callable[[int, dict[str, str]], Reply], **kw: Any
) -> tuple[Any, list[Any], int]:
    with engage_server(answer) as srv, Runner(origin=srv.origin, username="u", secret=SECRET,
                                              project_id=1, env={}, retries=0) as runner:  # fmt: skip
        pages = paginate(runner, ENGAGE, **kw)
        records = [r for p in pages for r in p.records]
        return pages, records, len(srv.received)


@pytest.mark.parametrize(
    ("answer", "stopped", "records", "calls"),
    [
        # a full page, then an empty one
        (lambda n, q: page(n - 1, [n, n] if n == 1 else []), "empty", [1, 1], 2),
        # the same page again and again, whatever is asked
        (lambda n, q: page(0, [n, n]), "repeated", [1, 1], 2),
        # the session changes between pages
        (lambda n, q: page(n - 1, [n, n], session=f"s{n}"), "repeated", [1, 1], 2),
        # full pages with no session_id to ask for the next with
        (lambda n, q: page(n - 1, [n, n], session=None), "no_session", [1, 1], 1),
        # an error status on the second page
        (
            lambda n, q: page(0, [1, 1]) if n == 1 else Reply.json({"error": "x"}, status=500),
            "status",
            [1, 1],
            2,
        ),
        # not a paged answer at all
        (lambda n, q: Reply.json([1, 2]), "unpaged", [], 1),
    ],
)
def test_misbehaving_servers_end(answer: Any, stopped: str, records: list[Any], calls: int) -> None:
    pages, got, sent = run_pages(answer)
    assert (pages.stopped, got, sent) == (stopped, records, calls)


def test_a_server_with_endless_pages_ends_at_max_pages() -> None:
    pages, got, sent = run_pages(lambda n, q: page(int(q.get("page", 0)), [n, n]), max_pages=7)
    assert (pages.stopped, len(got), sent) == ("max_pages", 14, 7)


# -- the commands ----------------------------------------------------------------------------------


@pytest.fixture
def env(profiles: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    for name, value in profiles.env().items():
        monkeypatch.setenv(name, value)
    return profiles


def test_call_paginate_prints_json_lines(env: Sandbox) -> None:
    out = cli("call", "POST", "query", "/2.0/engage", "--origin", env.origin, "--paginate")
    assert out.exit_status == 0
    lines = [json.loads(x) for x in out.stdout.splitlines()]
    assert [x["$distinct_id"] for x in lines] == [f"u{i:04d}" for i in range(2500)]
    assert out.stderr == "mp-custom-action: 3 pages, 2,500 records (stopped: last_page)\n"


def test_call_merge_pages_prints_one_result(env: Sandbox) -> None:
    out = cli("call", "POST", "query", "/2.0/engage", "--origin", env.origin, "--merge-pages",
              "--max-pages", "2")  # fmt: skip
    assert out.exit_status == 0
    assert out.json["status_code"] == 200 and out.json["pages"] == 2
    assert out.json["stopped"] == "max_pages" and len(out.json["body"]["results"]) == 2000


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("GET", "query", "/2.0/events/names", "--paginate"), "does not page"),
        (("POST", "query", "/2.0/engage", "--max-pages", "3"), "--max-pages: needs --paginate"),
        (("POST", "query", "/2.0/engage", "--paginate", "--merge-pages"), "choose one"),
        (("POST", "query", "/2.0/engage", "--paginate", "-o", "x.json"), "--output"),
    ],
)
def test_paging_options_misused_are_input_errors(
    env: Sandbox, args: tuple[str, ...], words: str
) -> None:
    out = cli("call", *args, "--origin", env.origin)
    assert out.exit_status == 2 and words in out.stderr
    assert queries(env) == []


def test_preset_takes_the_paging_options(env: Sandbox) -> None:
    out = cli("preset", "listWarehouseSources", "--origin", env.origin, "--paginate")
    assert out.exit_status == 2 and "does not page" in out.stderr
    assert "--max-pages" in cli("preset", "--help").stdout


def test_paginate_dry_run_shows_the_first_request(env: Sandbox) -> None:
    out = cli(
        "call", "POST", "query", "/2.0/engage", "--origin", env.origin, "--paginate", "--dry-run"
    )
    assert out.exit_status == 0 and out.json["url"].endswith("/api/2.0/engage?project_id=4242424")


def test_a_form_body_carries_the_page_fields() -> None:
    import dataclasses

    from mp_custom_action.bulk.pages import next_page

    runner = Runner(username="u", secret=SECRET, project_id=1, env={})
    first = runner.prepare(ENGAGE)
    form = dataclasses.replace(
        first,
        method="POST",
        body=b"where=x&page=0",
        headers={**first.headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    second = next_page(form, "a b/c", 1)
    assert second.body == b"where=x&session_id=a%20b%2Fc&page=1"
    assert second.url == form.url
    third = next_page(first, "s", 2)
    assert third.url.endswith("/api/2.0/engage?project_id=1&session_id=s&page=2")


def test_a_form_bodys_pages_end_to_end(profiles: Sandbox) -> None:
    with sandbox_runner(profiles) as runner:
        pages = paginate(
            runner, {**ENGAGE, "body": {"output_properties": '["n"]', "page_size": "1000"}}
        )
        assert [len(p.records) for p in pages] == [1000, 1000, 500]
    sent = [r for r in profiles.requests if r.path == "/api/2.0/engage"]
    assert [dict(r.query) for r in sent] == [
        {"project_id": str(profiles.credentials["project_id"])}
    ] * 3
    # The page fields went in the form body (longer after the first page), not the query.
    assert sent[0].body_length < sent[1].body_length == sent[2].body_length
