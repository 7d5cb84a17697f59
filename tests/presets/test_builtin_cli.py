"""``presets list --api NAME`` and ``presets list TEXT``; ``presets show`` gives the media type."""

from __future__ import annotations

import pytest
from cli_helpers import cli
from presets_support import serving

from mp_custom_action.presets.docs import builtin_presets


def names(*args: str) -> list[str]:
    result = cli("presets", "list", "--json", *args)
    assert result.exit_status == 0, result.stderr
    return [row["name"] for row in result.json]


def test_api_keeps_one_selector_by_any_of_its_names() -> None:
    pipelines = sorted(p.name for p in builtin_presets() if p.api == "pipelines")
    assert len(pipelines) == 8
    assert sorted(names("--api", "pipelines")) == pipelines
    assert sorted(names("--api", "Data Pipelines API")) == pipelines  # the card's name
    connectors = names("--api", "connectors")
    assert "create-retrieval" in connectors and "getWarehouseSource" in connectors


def test_text_matches_name_or_summary_every_word_any_case() -> None:
    assert names("JQL") == ["query-jql"]  # in the summary ("Run a JQL script")
    assert sorted(names("lookup", "table")) == [
        "create-lookup-table-import", "list-lookup-tables", "replace-lookup-table",
    ]  # fmt: skip
    assert names("--api", "ingestion", "lookup", "replace") == ["replace-lookup-table"]
    assert names("no-such-thing") == []


def test_the_table_is_filtered_too() -> None:
    result = cli("presets", "list", "--api", "export")
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "METHOD", "API", "PATH", "PLUGIN", "SUMMARY"]
    assert [line.split()[:5] for line in lines[1:]] == [
        ["raw-event-export", "GET", "export", "/", "builtin.export"]
    ]


def test_an_unknown_api_is_an_input_error_naming_the_selectors() -> None:
    result = cli("presets", "list", "--api", "billing")
    assert result.exit_status == 2
    assert result.stdout == ""
    assert "--api: expected one of connectors, export, ingestion" in result.stderr


def test_show_gives_the_media_type() -> None:
    shown = cli("presets", "show", "query-jql")
    assert shown.exit_status == 0
    assert shown.json["media_type"] == "application/x-www-form-urlencoded"
    assert shown.json["input_schema"]["properties"]["body"]["required"] == ["script"]
    assert cli("presets", "show", "list-warehouse-imports").json["media_type"] is None


def test_help_documents_the_filters() -> None:
    text = cli("presets", "list", "--help").stdout
    assert "--api NAME" in text and "TEXT" in text


def test_the_seed_refuses_source_id_imports_before_sending(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {"MP_USERNAME": "sa", "MP_SECRET": "s", "MP_PROJECT_ID": "1"}.items():
        monkeypatch.setenv(name, value)
    with serving() as server:
        result = cli(
            "preset", "deleteWarehouseSource", "--input", '{"sourceId": "imports"}',
            "--origin", server.origin,
        )  # fmt: skip
        assert server.requests == []
    assert result.exit_status == 2
    assert result.stdout == ""
    assert "sourceId: must not be 'imports'" in result.stderr
    assert "list-warehouse-imports" in result.stderr
