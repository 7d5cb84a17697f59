"""JSON Lines parsed as they arrive (results.read_body) give exactly what decode_body gives."""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mp_custom_action.core import results
from mp_custom_action.core.results import decode_body, parse_jsonl, read_body
from mp_custom_action.errors import ResponseTooLarge

JSONL = "text/plain; charset=utf-8"


@pytest.fixture(autouse=True, params=["default", "stdlib"])
def _parser(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test with the parser the install has (orjson if present) and with json alone."""
    if request.param == "stdlib":
        monkeypatch.setattr(results, "_loads", json.loads)


def chunked(data: bytes, sizes: list[int]) -> list[bytes]:
    out, start, i = [], 0, 0
    while start < len(data):
        size = sizes[i % len(sizes)] if sizes else len(data)
        out.append(data[start : start + max(1, size)])
        start += max(1, size)
        i += 1
    return out


def both(data: bytes, sizes: list[int], content_type: Optional[str] = JSONL) -> tuple[Any, Any]:
    streamed = read_body(chunked(data, sizes), 1 << 30, content_type, jsonl=True)
    return streamed, decode_body(data, content_type, jsonl=True)


CASES = [
    b"",
    b"\n",
    b"  \n\n",
    b'{"a": 1}\n{"b": 2}\n',
    b'{"a": 1}\n{"b": 2}',  # no final newline
    b'{"a": 1}\r\n{"b": 2}\r\n',  # CRLF
    b'{"a": 1}\n\n\n{"b": 2}\n',  # blank lines are skipped
    b'{"a": 1}\n   \n{"b": 2}\n',  # so are lines of spaces
    b'{"a": 1}\nnot json\n{"b": 2}\n',  # not JSON Lines: the text comes back
    b'{"a": 1}\n1, 2\n',  # two values on one line is not a line of JSON
    b'[1, 2]\n"x"\n3\nnull\n',
    b'{"s": "caf\xc3\xa9 \\u00e9"}\n',
    b"\xff\xfe\n",
]


@pytest.mark.parametrize("data", CASES)
@pytest.mark.parametrize("sizes", [[], [1], [2, 3], [7], [1 << 20]])
def test_streamed_jsonl_equals_the_whole_body_decoded(data: bytes, sizes: list[int]) -> None:
    streamed, whole = both(data, sizes)
    assert streamed == whole
    assert type(streamed) is type(whole)


@pytest.mark.parametrize(
    "content_type", [None, "", "application/json", "application/x-ndjson", "text/csv"]
)
def test_other_content_types_decode_as_before(content_type: Optional[str]) -> None:
    data = b'{"a": 1}\n{"b": 2}\n'
    streamed, whole = both(data, [3], content_type)
    assert streamed == whole


line = st.one_of(
    st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=8), max_size=3).map(
        lambda d: json.dumps(d).encode()
    ),
    st.sampled_from([b"", b" ", b"\r", b"[1,", b"2]", b"1,2", b"{", b"}", b"null", b"\xff"]),
)


@settings(max_examples=300, deadline=None)
@given(
    lines=st.lists(line, max_size=12),
    final=st.booleans(),
    sizes=st.lists(st.integers(1, 40), max_size=4),
)
def test_any_lines_in_any_chunks_match(lines: list[bytes], final: bool, sizes: list[int]) -> None:
    data = b"\n".join(lines) + (b"\n" if final and lines else b"")
    streamed, whole = both(data, sizes)
    assert streamed == whole


def test_blocks_split_only_at_line_ends(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(results, "_BLOCK", 16)
    records = [{"i": i, "pad": "x" * (i % 7)} for i in range(200)]
    data = b"".join(json.dumps(r).encode() + b"\n" for r in records)
    assert parse_jsonl(data) == records
    assert read_body(chunked(data, [5, 11, 64]), 1 << 20, JSONL, jsonl=True) == records


def test_a_line_longer_than_a_chunk() -> None:
    record = {"long": "y" * 5000}
    data = json.dumps(record).encode() + b"\n" + b'{"b": 1}\n'
    assert read_body(chunked(data, [100]), 1 << 20, JSONL, jsonl=True) == [record, {"b": 1}]


def test_the_cap_holds_while_parsing() -> None:
    data = b'{"a": 1}\n' * 1000
    with pytest.raises(ResponseTooLarge):
        read_body(chunked(data, [100]), 500, JSONL, jsonl=True)


def test_a_large_body_is_parsed_with_the_collector_paused_and_resumed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gc

    monkeypatch.setattr(results, "_GC_PAUSE_BYTES", 64)
    seen: list[bool] = []
    real = results._loads

    def spy(data: bytes) -> Any:
        seen.append(gc.isenabled())
        return real(data)

    monkeypatch.setattr(results, "_loads", spy)
    data = b'{"a": 1}\n' * 100
    assert gc.isenabled()
    assert read_body(chunked(data, [50]), 1 << 20, JSONL, jsonl=True) == [{"a": 1}] * 100
    assert parse_jsonl(data) == [{"a": 1}] * 100
    assert gc.isenabled()
    assert False in seen and True in seen  # small first block before the pause, then paused
    with pytest.raises(ResponseTooLarge):
        read_body(chunked(data, [100]), 500, JSONL, jsonl=True)
    assert gc.isenabled(), "resumed after an error too"


def test_the_pause_is_counted_and_leaves_a_disabled_collector_alone() -> None:
    import gc

    with results._gc_paused():
        with results._gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "the outer pause still holds"
    assert gc.isenabled()
    gc.disable()
    try:
        with results._gc_paused():
            pass
        assert not gc.isenabled(), "a collector that was off stays off"
    finally:
        gc.enable()
