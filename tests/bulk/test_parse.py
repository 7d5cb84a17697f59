"""bulk.parse: a chunk's parse gives what each line's parse gives, or None when any line fails."""

from __future__ import annotations

import json
from typing import Any, Optional

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mp_custom_action.bulk.parse import Loads, default_loaders, std_loads, std_loads_all


def each(loads: Loads, raws: list[bytes]) -> Optional[list[Any]]:
    try:
        return [loads(raw) for raw in raws]
    except ValueError:
        return None


_json_lines = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=10,
).map(lambda v: json.dumps(v, ensure_ascii=False).encode())
_bad_lines = st.sampled_from(
    [b"", b"{", b"[1,]", b"1 2", b"NaN", b"Infinity", b'"\xff"', b"{}{}", b"[" * 50_000 + b"]"]
)
_chunks = st.lists(_json_lines | _bad_lines, min_size=1, max_size=12)


@settings(max_examples=300, derandomize=True)
@given(_chunks)
def test_the_standard_library_chunk_parse_agrees_with_each_line(raws: list[bytes]) -> None:
    assert std_loads_all(raws) == each(std_loads, raws)


@settings(max_examples=300, derandomize=True)
@given(_chunks)
def test_the_default_chunk_parse_agrees_with_its_line_parse(raws: list[bytes]) -> None:
    loads, loads_all = default_loaders()
    assert loads_all(raws) == each(loads, raws)


@pytest.mark.parametrize("line", [b"", b"1 2", b"NaN", b'{"a":1}x', b"\xff"])
def test_one_bad_line_makes_the_chunk_none(line: bytes) -> None:
    assert std_loads_all([b'{"a":1}', line, b"[2]"]) is None
    assert std_loads_all([b'{"a":1}', b"[2]"]) == [{"a": 1}, [2]]


@pytest.mark.parametrize(
    "number", ["123456789012345678901234567890", "-9223372036854775809", "18446744073709551616"]
)
def test_a_record_written_back_keeps_an_integer_past_64_bits_exact(number: str) -> None:
    from mp_custom_action.bulk.batches import event_line

    raw = b'{"event":"x","properties":{"time":1,"distinct_id":"u","n":%s}}' % number.encode()
    loads, _ = default_loaders()
    sent = json.loads(event_line(loads(raw), raw))
    assert sent["properties"]["n"] == int(number)
    assert len(sent["properties"]["$insert_id"]) == 32


def test_a_long_digit_run_inside_a_string_changes_nothing() -> None:
    from mp_custom_action.bulk.parse import exact_for_writing

    raw = b'{"event":"x","properties":{"id":"12345678901234567890123"}}'
    loads, _ = default_loaders()
    assert exact_for_writing(loads(raw), raw) == json.loads(raw)
