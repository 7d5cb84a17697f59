"""bulk.records and bulk.batches: framing, streaming, per-record checks, batch limits."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from pathlib import Path
from typing import Any

import pytest

from mp_custom_action.bulk.batches import (
    BATCH_MAX_BYTES,
    BATCH_MAX_RECORDS,
    Batcher,
    content_insert_id,
    event_line,
)
from mp_custom_action.bulk.deflate import BACKENDS, DEFAULT_BACKEND, gzip_ndjson
from mp_custom_action.bulk.imports_checks import check_record, shown_record
from mp_custom_action.bulk.parse import std_loads
from mp_custom_action.bulk.records import (
    UNPARSED,
    ImportFileError,
    probe,
    read_records,
)
from mp_custom_action.errors import InputError


def ev(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "event": "Viewed",
        "properties": {"time": 1_700_000_000 + i, "distinct_id": f"u{i}", **extra},
    }


def records(path: Path) -> list[tuple[int, bytes, Any, str]]:
    source, stream = probe(str(path))
    try:
        return list(read_records(source, stream))
    finally:
        stream.close()


def test_ndjson_lines_keep_their_numbers_and_a_bad_line_is_a_bad_record(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson"
    path.write_bytes(
        b"\n" + json.dumps(ev(1)).encode() + b"\n\nnot json\n" + json.dumps(ev(2)).encode()
    )
    got = records(path)
    assert [(n, v is UNPARSED, bool(r)) for n, _, v, r in got] == [
        (2, False, False),
        (4, True, True),
        (5, False, False),
    ]
    assert got[1][3].startswith("not valid JSON")
    assert got[2][2] == ev(2)


def test_a_json_array_streams_element_by_element_with_start_lines(tmp_path: Path) -> None:
    body = "[\n" + ",\n".join(json.dumps(ev(i), indent=1) for i in range(3)) + "\n]\n"
    path = tmp_path / "e.json"
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    got = records(path)
    assert [v for _, _, v, _ in got] == [ev(0), ev(1), ev(2)]
    lines = body.splitlines()
    for number, raw, _, _ in got:
        assert lines[number - 1].startswith("{")
        assert json.loads(raw)["event"] == "Viewed"


def test_an_array_bigger_than_the_read_window_streams(tmp_path: Path) -> None:
    many = [ev(i, blob="x" * 900) for i in range(3000)]  # ~3 MB: several 1 MiB windows
    path = tmp_path / "big.json.gz"
    path.write_bytes(gzip.compress(json.dumps(many).encode()))
    got = records(path)
    assert len(got) == 3000
    assert got[-1][2] == many[-1]


def test_gzip_ndjson_is_read_decompressed(tmp_path: Path) -> None:
    path = tmp_path / "e.ndjson.gz"
    path.write_bytes(gzip.compress(b"".join(json.dumps(ev(i)).encode() + b"\n" for i in range(5))))
    source, stream = probe(str(path))
    stream.close()
    assert (source.gzip, source.format) == (True, "ndjson")
    assert len(records(path)) == 5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"event,time\nx,1\n", "neither a JSON array nor NDJSON"),
        (gzip.compress(b'[{"event": "x"}]' * 2000)[:-40], "gzip data is truncated"),
        (b"\x1f\x8b\x08\x00garbage-garbage-garbage", "gzip"),
    ],
)
def test_a_bad_file_is_one_error_before_any_record(
    tmp_path: Path, content: bytes, message: str
) -> None:
    path = tmp_path / "bad"
    path.write_bytes(content)
    with pytest.raises(ImportFileError, match=message) as info:
        probe(str(path))
    assert isinstance(info.value, InputError)
    assert "\n" not in str(info.value)


def test_an_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ImportFileError, match=r"cannot read 'missing.json': No such file"):
        probe("missing.json")


def test_a_gzip_stream_cut_midway_on_stdin_stops_with_the_line(tmp_path: Path) -> None:
    data = gzip.compress(
        b"".join(json.dumps(ev(i, pad="p" * 50)).encode() + b"\n" for i in range(20000))
    )
    source, stream = probe("-", stdin=io.BytesIO(data[: len(data) // 2]))
    got = []
    records_iter = read_records(source, stream)

    def drain() -> None:
        for item in records_iter:
            got.append(item)

    with pytest.raises(ImportFileError, match="reading stopped after line") as info:
        drain()
    assert info.value.line == len(got) + 1
    assert 0 < len(got) < 20000


def test_a_line_nested_past_the_recursion_limit_is_a_bad_record_without_orjson(
    tmp_path: Path,
) -> None:
    deep = b'{"a":' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    path = tmp_path / "e.ndjson"
    path.write_bytes(json.dumps(ev(1)).encode() + b"\n" + deep + b"\n" + json.dumps(ev(2)).encode())
    source, stream = probe(str(path))
    with stream:
        got = list(read_records(source, stream, loads=std_loads))
    assert [(n, v is UNPARSED) for n, _, v, _ in got] == [(1, False), (2, True), (3, False)]
    assert "nested more than 500 levels deep" in got[1][3]


def test_an_array_element_nested_past_the_recursion_limit_stops_with_the_line(
    tmp_path: Path,
) -> None:
    path = tmp_path / "e.json"
    path.write_text('[\n{"event": "a"},\n' + "[" * 100_000 + "]" * 100_000 + "\n]")
    source, stream = probe(str(path))
    with pytest.raises(ImportFileError, match="line 3") as info, stream:
        list(read_records(source, stream))
    assert info.value.line == 3


def test_an_array_that_breaks_midway_stops_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "e.json"
    path.write_text('[\n{"event": "a"},\n{"event": "b"},\n{"event": }\n]')
    source, stream = probe(str(path))
    got = []
    with pytest.raises(ImportFileError, match="line 4") as info:
        got.extend(read_records(source, stream))
    stream.close()
    assert info.value.line == 4


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ([1], "must be a JSON object"),
        ({"properties": {}}, "'event' must be a non-empty string"),
        ({"event": "x", "properties": []}, "'properties' must be a JSON object"),
        ({"event": "x", "properties": {"distinct_id": "u"}}, "'properties.time'"),
        (
            {"event": "x", "properties": {"time": "yesterday", "distinct_id": "u"}},
            "'properties.time'",
        ),
        ({"event": "x", "properties": {"time": 1}}, "'properties.distinct_id' is required"),
        ({"event": "x", "properties": {"time": 1, "distinct_id": ["u"]}}, "distinct_id' must be"),
        (
            {"event": "x", "properties": {"time": 1, "distinct_id": "u", "$insert_id": "a" * 37}},
            "1-36",
        ),
        (
            {"event": "x", "properties": {"time": 1, "distinct_id": "u", "$insert_id": "a_b"}},
            "1-36",
        ),
        (
            {
                "event": "x",
                "properties": {"time": 1, "distinct_id": "u", **{f"p{i}": i for i in range(253)}},
            },
            "fewer than 255",
        ),
    ],
)
def test_event_checks_name_the_field(value: Any, reason: str) -> None:
    problem = check_record("events", value, json.dumps(value).encode())
    assert problem is not None and reason in problem


@pytest.mark.parametrize(
    ("insert_id", "good"),
    [
        ("a", True),
        ("0" * 32, True),
        ("Z" * 36, True),
        ("0f8fad5b-d9cb-469f-a165-70867728950e", True),
        ("-", True),
        ("", False),
        ("a" * 37, False),
        ("a-" * 18 + "a", False),
        ("a b", False),
        ("é", False),  # a letter, but not one of Mixpanel's
        ("\u0661\u0662", False),  # Arabic-Indic digits: digits to Python, not to Mixpanel
        ("ab\n", False),
        (12, False),
    ],
)
def test_insert_ids_are_ascii_letters_digits_and_dashes(insert_id: Any, good: bool) -> None:
    event = {"event": "x", "properties": {"time": 1, "distinct_id": "u", "$insert_id": insert_id}}
    assert check_record("events", event, b"{}") == (None if good else _ID_REASON)


_ID_REASON = "'properties.$insert_id' must be 1-36 letters, digits or '-'"


def test_a_good_event_and_the_size_limit() -> None:
    good = ev(1, **{"$insert_id": "abc-123"})
    assert check_record("events", good, json.dumps(good).encode()) is None
    big = ev(1, blob="x" * (1 << 20))
    assert "under 1 MB" in (check_record("events", big, json.dumps(big).encode()) or "")


def test_profile_and_group_checks() -> None:
    assert check_record("profiles", {"$distinct_id": "u", "$set": {"a": 1}}, b"{}") is None
    assert "operation" in (check_record("profiles", {"$distinct_id": "u"}, b"{}") or "")
    assert "$distinct_id" in (check_record("profiles", {"$set": {}}, b"{}") or "")
    assert check_record("groups", {"$group_key": "c", "$group_id": 1, "$set": {}}, b"{}") is None
    assert "$group_key" in (check_record("groups", {"$group_id": 1, "$set": {}}, b"{}") or "")


def test_a_missing_insert_id_comes_from_the_content_and_is_stable() -> None:
    raw = json.dumps(ev(7)).encode()
    line = json.loads(event_line(json.loads(raw), raw))
    again = json.loads(event_line(json.loads(raw), raw))
    other = json.loads(event_line(ev(8), json.dumps(ev(8)).encode()))
    assert (
        line["properties"]["$insert_id"]
        == again["properties"]["$insert_id"]
        == content_insert_id(raw)
    )
    assert other["properties"]["$insert_id"] != line["properties"]["$insert_id"]
    assert len(line["properties"]["$insert_id"]) <= 36


def test_an_event_with_an_insert_id_is_sent_as_read() -> None:
    raw = b'{"event":"x", "properties":{"time":1,"distinct_id":"u","$insert_id":"i1"}}'
    assert event_line(json.loads(raw), raw) is raw
    spread = b'{"event":"x",\n"properties":{"time":1,"distinct_id":"u","$insert_id":"i1"}}'
    assert b"\n" not in event_line(json.loads(spread), spread)


def test_batches_close_at_2000_records_or_10_mb_and_at_a_file_boundary() -> None:
    batcher = Batcher("events")
    closed = [b for i in range(4500) if (b := batcher.add(0, i + 1, b"{}", None)) is not None]
    assert [len(b) for b in closed] == [BATCH_MAX_RECORDS, BATCH_MAX_RECORDS]
    switched = batcher.add(1, 1, b"{}", None)
    assert switched is not None and len(switched) == 500 and switched.source == 0
    big = b"x" * (BATCH_MAX_BYTES // 3)
    sizes = [b for i in range(4) if (b := batcher.add(2, i, big, None)) is not None]
    assert [len(b) for b in sizes] == [1, 2]  # the open one from file 1, then two big lines
    assert all(b.nbytes <= BATCH_MAX_BYTES for b in sizes)
    assert [b.seq for b in [*closed, switched, *sizes]] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("backend", sorted(BACKENDS))
def test_a_batch_body_is_gzip_ndjson_any_gzip_reader_takes(backend: str) -> None:
    assert gzip.decompress(gzip_ndjson([b'{"a":1}', b'{"a":2}'], backend=backend)) == (
        b'{"a":1}\n{"a":2}\n'
    )
    lines = [b'{"event":"e%d","properties":{"time":%d}}' % (i % 7, i) for i in range(2000)]
    body = gzip_ndjson(lines, backend=backend)
    # zlib's own reader (the sandbox's, Mixpanel's kind) and the size a batch costs on the wire.
    assert zlib.decompress(body, 16 + zlib.MAX_WBITS) == b"\n".join(lines) + b"\n"
    assert len(body) < 0.15 * sum(len(line) + 1 for line in lines)


def test_the_fastest_compressor_installed_is_the_default() -> None:
    try:
        import isal  # noqa: F401
    except ImportError:
        assert DEFAULT_BACKEND == "zlib"
    else:
        assert DEFAULT_BACKEND == "isal"


def test_rejects_never_show_a_token_from_the_data() -> None:
    assert shown_record({"$token": "t0k", "$distinct_id": "u"}, b"") == {"$distinct_id": "u"}
    shown = shown_record({"event": "x", "properties": {"token": "t0k", "a": 1}}, b"")
    assert shown == {"event": "x", "properties": {"a": 1}}
    assert shown_record(UNPARSED, b"not \xff json") == "not \ufffd json"
