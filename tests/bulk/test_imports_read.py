"""bulk.imports_read: the NDJSON events loop (whole chunks at a time, else record by record) cuts
and rejects exactly as the generic reader does, wherever the chunks fall."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mp_custom_action.bulk import imports_read
from mp_custom_action.bulk.batches import BATCH_MAX_BYTES, Batcher
from mp_custom_action.bulk.chunk_checks import (
    AS_READ,
    EACH,
    NEEDS_IDS,
    chunk_verdict,
)
from mp_custom_action.bulk.imports_checks import check_event
from mp_custom_action.bulk.imports_read import Hooks, read_generic, read_ndjson_events
from mp_custom_action.bulk.records import probe

Outcome = tuple[list[tuple[int, list[int], list[bytes]]], list[tuple[int, str]], int]


def ev(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "event": "Viewed",
        "properties": {"time": 1_700_000_000 + i, "distinct_id": f"u{i}", **extra},
    }


def run(path: Path, reader: Any, *, stop_after: int = 0) -> Outcome:
    """Batches (seq, line numbers, bytes), rejects (line, reason) and the count read; with
    ``stop_after``, the run is told to stop once that many batches are out."""
    batches: list[Any] = []
    rejects: list[tuple[int, str]] = []
    hooks = Hooks(
        batches.append,
        lambda i, n, why, v, raw: rejects.append((n, why)),
        lambda i, n: None,
        lambda: bool(stop_after) and len(batches) >= stop_after,
    )
    batcher = Batcher("events")
    source, stream = probe(str(path))
    with stream:
        reader(0, source, stream, batcher, hooks)
    last = batcher.flush()
    if last is not None and not (stop_after and len(batches) >= stop_after):
        batches.append(last)
    return [(b.seq, b.numbers, b.lines) for b in batches], rejects, hooks.read


def both(path: Path, **kwargs: Any) -> Outcome:
    fast = run(path, read_ndjson_events, **kwargs)
    assert fast == run(path, lambda *a: read_generic("events", *a), **kwargs)
    return fast


@pytest.mark.parametrize("hint", [1, 700, 1 << 16])
def test_the_ndjson_event_loop_cuts_and_rejects_exactly_as_the_generic_reader(
    tmp_path: Path, hint: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports_read, "_CHUNK_HINT", hint)
    items: list[Any] = [ev(i, **({"$insert_id": f"i{i}"} if i % 2 else {})) for i in range(4500)]
    items[10] = {"event": "x"}
    items[2000] = [1, 2]
    lines = [json.dumps(x) for x in items]
    lines[3000] = "{broken"
    lines.insert(4000, "")
    path = tmp_path / "e.ndjson"
    path.write_text("\n".join(lines) + "\n")
    batches, rejects, read = both(path)
    assert [len(numbers) for _, numbers, _ in batches] == [2000, 2000, 497]
    assert [n for n, _ in rejects] == [11, 2001, 3001]
    assert read == 4500


@pytest.mark.parametrize("hint", [1, 5000, 1 << 16])
def test_whole_chunks_of_good_events_are_sent_as_read_and_cut_at_2000(
    tmp_path: Path, hint: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports_read, "_CHUNK_HINT", hint)
    raw = [
        json.dumps(ev(i, **{"$insert_id": f"{i:032x}" if i % 3 else f"a-{i}"}), indent=None)
        for i in range(5003)
    ]
    path = tmp_path / "e.ndjson"
    path.write_text("\n".join(raw))  # no newline after the last line
    batches, rejects, read = both(path)
    assert [len(numbers) for _, numbers, _ in batches] == [2000, 2000, 1003]
    assert [line for _, _, lines in batches for line in lines] == [r.encode() for r in raw]
    assert batches[1][1][0] == 2001 and batches[2][1][-1] == 5003
    assert rejects == [] and read == 5003


def test_the_byte_limit_cuts_inside_a_chunk_as_it_does_record_by_record(tmp_path: Path) -> None:
    pad = "p" * (BATCH_MAX_BYTES // 900)  # about 11.6 KB a record: 10 MB falls near 900 of them
    lines = [json.dumps(ev(i, **{"$insert_id": f"i{i}", "pad": pad})) for i in range(2000)]
    path = tmp_path / "e.ndjson"
    path.write_text("\n".join(lines) + "\n")
    batches, _, _ = both(path)
    assert len(batches) == 3
    assert all(sum(len(line) + 1 for line in lines) <= BATCH_MAX_BYTES for _, _, lines in batches)


def test_a_stop_between_batches_ends_both_readers_at_the_same_record(tmp_path: Path) -> None:
    lines = [json.dumps(ev(i, **{"$insert_id": f"i{i}"})) for i in range(7000)]
    path = tmp_path / "e.ndjson"
    path.write_text("\n".join(lines) + "\n")
    batches, _, read = both(path, stop_after=2)
    assert [len(numbers) for _, numbers, _ in batches] == [2000, 2000]
    assert read <= 4001


def test_crlf_lines_and_a_cr_inside_a_record(tmp_path: Path) -> None:
    good = [json.dumps(ev(i, **{"$insert_id": f"i{i}"})) for i in range(5)]
    inner = '{"event":"x",\r"properties":{"time":1,"distinct_id":"u","$insert_id":"cr"}}'
    path = tmp_path / "e.ndjson"
    path.write_bytes(("\r\n".join([*good, inner, *good]) + "\r\n").encode())
    batches, rejects, read = both(path)
    sent = batches[0][2]
    assert sent[:5] == [g.encode() for g in good] and b"\r" not in sent[5]
    assert json.loads(sent[5]) == json.loads(inner) and rejects == [] and read == 11


_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner),
    max_leaves=8,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "time": st.integers(-5, 5) | st.floats(allow_nan=False) | st.booleans() | st.text(),
        "distinct_id": st.text(max_size=3) | st.integers() | st.booleans() | st.none(),
        "$insert_id": st.text(alphabet=st.sampled_from("aZ09-_ é\n\u0661"), max_size=40)
        | st.integers(),
        "other": _values,
    },
)
_events = (
    st.fixed_dictionaries(
        {},
        optional={
            "event": st.text(max_size=3) | st.integers() | st.none(),
            "properties": _fields | _values,
        },
    )
    | _values
)


def sendable_as_read(event: Any) -> bool:
    """The one-record rule AS_READ stands for: the full check passes and the event carries its
    own $insert_id (check_event checks one when there is one)."""
    return (
        type(event) is dict
        and check_event(event) is None
        and event["properties"].get("$insert_id") is not None
    )


@settings(max_examples=500, derandomize=True)
@given(
    st.lists(
        _events
        | st.sampled_from(
            [
                ev(1),
                ev(2, **{"$insert_id": "a-1"}),
                ev(3, **{"$insert_id": "-"}),
                ev(4, **{"$insert_id": "--"}),
            ]
        ),
        max_size=6,
    )
)
def test_a_chunk_verdict_is_what_each_record_would_get(events: list[Any]) -> None:
    verdict = chunk_verdict(events)
    good = all(type(e) is dict and check_event(e) is None for e in events)
    as_read = all(sendable_as_read(e) for e in events)
    # EACH is always allowed (it only costs time); the other two must be exactly right.
    assert verdict in (AS_READ, NEEDS_IDS, EACH)
    if verdict == AS_READ:
        assert as_read
    if verdict == NEEDS_IDS:
        assert good and not as_read
    if as_read:
        assert verdict == AS_READ


@pytest.mark.parametrize(
    "ids", [["-"], ["-", "--"], ["a-b", "0"], ["é"], ["a_b"], ["x" * 37], [""]]
)
def test_a_chunk_of_ids_is_judged_as_each_id_would_be(ids: list[str]) -> None:
    events = [ev(i, **{"$insert_id": insert_id}) for i, insert_id in enumerate(ids)]
    expected = AS_READ if all(sendable_as_read(e) for e in events) else EACH
    assert chunk_verdict(events) == expected


def test_chunks_of_good_events_without_ids_get_the_same_ids_as_record_by_record(
    tmp_path: Path,
) -> None:
    lines = [
        json.dumps(ev(i, **({"$insert_id": f"i{i}"} if i % 5 == 0 else {}))) for i in range(3000)
    ]
    lines[7] = json.dumps(
        {"event": "x", "properties": {"time": 1, "distinct_id": "u", "$insert_id": None}}
    )
    path = tmp_path / "e.ndjson"
    path.write_text("\n".join(lines) + "\n")
    batches, rejects, read = both(path)
    sent = [json.loads(line) for _, _, lines in batches for line in lines]
    assert rejects == [] and read == 3000 and len(sent) == 3000
    assert all(e["properties"].get("$insert_id") for i, e in enumerate(sent) if i != 7)


def test_a_record_of_1_mb_among_good_ones_is_rejected_by_both_readers(tmp_path: Path) -> None:
    lines = [json.dumps(ev(i, **{"$insert_id": f"i{i}"})) for i in range(600)]
    lines[300] = json.dumps(ev(300, **{"$insert_id": "big", "pad": "p" * (1 << 20)}))
    path = tmp_path / "e.ndjson"
    path.write_text("\n".join(lines) + "\n")
    batches, rejects, read = both(path)
    assert [n for n, _ in rejects] == [301] and "1 MB" in rejects[0][1]
    assert sum(len(numbers) for _, numbers, _ in batches) == 599 and read == 600


@pytest.mark.parametrize("cut", ["half", "crc"])
def test_a_gzip_stream_that_fails_midway_ends_both_readers_at_the_same_record(
    cut: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gzip
    import io

    from mp_custom_action.bulk.records import ImportFileError

    data = gzip.compress(
        b"".join(json.dumps(ev(i, **{"$insert_id": f"i{i}"})).encode() + b"\n" for i in range(3000))
    )
    data = data[: len(data) * 2 // 3] if cut == "half" else data[:-8] + b"\0" * 8

    def until_error(reader: Any) -> tuple[list[int], Any]:
        batches: list[Any] = []
        hooks = Hooks(batches.append, lambda *a: None, lambda i, n: None, lambda: False)
        batcher = Batcher("events")
        source, stream = probe("-", stdin=io.BytesIO(data))
        with stream, pytest.raises(ImportFileError) as info:
            reader(0, source, stream, batcher, hooks)
        taken = [n for b in [*batches, batcher.current] if b is not None for n in b.numbers]
        return taken, info.value.line

    fast = until_error(read_ndjson_events)
    assert fast == until_error(lambda *a: read_generic("events", *a))
    assert fast[0] == list(range(1, len(fast[0]) + 1)) and len(fast[0]) > 1500


def test_a_record_nested_past_the_limit_is_rejected_by_both_readers(tmp_path: Path) -> None:
    from mp_custom_action.bulk.parse import MAX_NESTING

    def nested(at: int, depth: int) -> str:  # as text: json.dumps would recurse as deep
        deep = "[" * depth + "]" * depth
        return f'{{"event":"x","properties":{{"time":{at},"distinct_id":"u","deep":{deep}}}}}'

    lines = [json.dumps(ev(i, **{"$insert_id": f"i{i}"})) for i in range(400)]
    for at, depth in ((10, MAX_NESTING - 2), (20, MAX_NESTING + 1), (30, 990), (40, 1100)):
        lines[at] = nested(at, depth)
    lines[50] = json.dumps(ev(50, **{"many": [{"a": [i]} for i in range(600)]}))  # wide, shallow
    path = tmp_path / "e.ndjson"
    path.write_text("\n".join(lines) + "\n")
    batches, rejects, read = both(path)
    assert [n for n, _ in rejects] == [21, 31, 41]
    assert all("nested more than" in why for _, why in rejects)
    assert sum(len(numbers) for _, numbers, _ in batches) == 397 and read == 400
