"""References: parsing, typed and textual substitution, escapes, lookups, and no evaluation."""

from __future__ import annotations

from typing import Any

import pytest

from mp_custom_action.errors import ManifestError
from mp_custom_action.manifests.references import Ref, find_refs, parse, substitute, walk_result

RESULT = {
    "status_code": 200,
    "headers": {"Content-Type": "application/json", "X-Count": "3"},
    "body": {"results": [{"id": "a", "n": 1}, {"id": "b", "n": None}], "ok": True},
}


def lookup(ref: Ref, at: str) -> Any:
    if ref.kind == "env":
        return {"TEAM": "blue"}[ref.name]
    return walk_result(RESULT, ref, field=at)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${steps.s.status_code}", 200),
        ("${steps.s.body.results.0.n}", 1),
        ("${steps.s.body.results.1.n}", None),
        ("${steps.s.body.ok}", True),
        ("${steps.s.body.results}", RESULT["body"]["results"]),
        ("${steps.s.headers.x-count}", "3"),
        ("${env.TEAM}", "blue"),
        ("id=${steps.s.body.results.0.id}&n=${steps.s.body.results.0.n}", "id=a&n=1"),
        ("${steps.s.body.ok}/${steps.s.body.results.1.n}", "true/null"),
        ("list ${steps.s.body.results.0}", 'list {"id":"a","n":1}'),
        ("$${steps.s.body}", "${steps.s.body}"),
        ("$${env.TEAM} is ${env.TEAM}", "${env.TEAM} is blue"),
        ("cost: $5 {not a ref}", "cost: $5 {not a ref}"),
    ],
)
def test_substitution(value: str, expected: Any) -> None:
    assert substitute(value, lookup, field="x") == expected


def test_containers_without_references_are_not_copied() -> None:
    body = {"a": [1, 2, {"b": "c"}], "d": "e"}
    assert substitute(body, lookup, field="body") is body
    changed = {"keep": body, "ref": "${env.TEAM}"}
    out = substitute(changed, lookup, field="x")
    assert (
        out == {"keep": body, "ref": "blue"}
        and out["keep"] is body
        and changed["ref"] == "${env.TEAM}"
    )


def test_keys_are_literal() -> None:
    assert substitute({"${env.TEAM}": 1}, lookup, field="x") == {"${env.TEAM}": 1}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("${steps.s.body.nope}", "steps.s.body has no key 'nope'"),
        ("${steps.s.body.results.5}", "steps.s.body.results has 2 item(s), no index 5"),
        ("${steps.s.body.results.x}", "is a list; expected an index, got 'x'"),
        ("${steps.s.body.ok.x}", "steps.s.body.ok is bool, not an object or list"),
        ("${steps.s.headers.X-Missing}", "has no header 'X-Missing'"),
    ],
)
def test_lookup_errors_name_the_reference_and_the_path(value: str, message: str) -> None:
    with pytest.raises(ManifestError) as info:
        substitute({"k": [value]}, lookup, field="steps[1].call")
    assert info.value.field == "steps[1].call.k[0]"
    assert message in str(info.value) and value in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "${steps.s}",
        "${steps.s.other}",
        "${steps..body}",
        "${steps.s.body..x}",
        "${env.A.B}",
        "${env.}",
        "${1+1}",
        "${__import__('os').system('x')}",
        "${steps.s.body",
        "${}",
    ],
)
def test_anything_but_a_reference_is_refused(text: str) -> None:
    with pytest.raises(ManifestError):
        parse(text, field="f")


def test_find_refs_reports_each_reference_with_its_path() -> None:
    found = find_refs({"a": ["x ${env.A} ${steps.s.body.y}"], "b": "$${env.B}"}, field="in")
    assert [(at, ref.kind, ref.name, ref.path) for at, ref in found] == [
        ("in.a[0]", "env", "A", ()),
        ("in.a[0]", "steps", "s", ("body", "y")),
    ]
