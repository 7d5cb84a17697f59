"""The reading side of an import: records in, checked, cut into batches, handed on.

One thread runs this. For the common case, NDJSON events, :func:`read_ndjson_events` is one
tight loop (parse, check, batch) with no generator or call per record that it can do without:
it is where an import spends most of its CPU (docs/performance.md). Everything else goes
through :func:`read_generic`, built from :func:`records.read_records` and
:func:`imports_checks.check_record`. Both do the same thing record for record.
"""

from __future__ import annotations

import zlib
from typing import Any, Callable

from .batches import BATCH_MAX_RECORDS, Batch, Batcher, event_line
from .imports_checks import EVENT_MAX_BYTES, check_event, check_record
from .records import UNPARSED, InputFile, default_loads, not_json, read_records, stopped_reading

__all__ = ["Hooks", "read_generic", "read_ndjson_events"]


class Hooks:
    """What the reader calls: ``dispatch(batch)``, ``reject(index, line, reason, value, raw)``,
    ``read_up_to(index, line)`` and ``stopped()``; ``read`` counts the records read."""

    def __init__(
        self,
        dispatch: Callable[[Batch], None],
        reject: Callable[[int, int, str, Any, bytes], None],
        read_up_to: Callable[[int, int], None],
        stopped: Callable[[], bool],
    ) -> None:
        self.dispatch = dispatch
        self.reject = reject
        self.read_up_to = read_up_to
        self.stopped = stopped
        self.read = 0


def position_of(source: InputFile, stream: Any) -> Callable[[], int]:
    """A function giving how many input bytes were read since it was last asked."""
    tell = getattr(stream, "raw_tell", None) or stream.tell
    last = [0]

    def advanced() -> int:
        try:
            now = int(tell())
        except (OSError, ValueError, AttributeError):
            return 0
        delta, last[0] = now - last[0], now
        return max(delta, 0)

    return advanced


def read_generic(
    kind: str, index: int, source: InputFile, stream: Any, batcher: Batcher, hooks: Hooks
) -> None:
    """Read one input into ``batcher``; closed batches go to ``hooks.dispatch``."""
    events = kind == "events"
    position = position_of(source, stream)
    read = 0
    try:
        for number, raw, value, unparsed in read_records(source, stream):
            read += 1
            problem = unparsed or check_record(kind, value, raw)
            if problem:
                hooks.reject(index, number, problem, value, raw)
                if hooks.stopped():
                    return
                continue
            done = batcher.add(index, number, event_line(value, raw) if events else raw, value)
            if done is not None:
                done.span = position()
                hooks.dispatch(done)
                hooks.read_up_to(index, number - 1)
                if hooks.stopped():
                    return
    finally:
        hooks.read += read
    if batcher.current is not None:
        batcher.current.span = position()


def read_ndjson_events(
    index: int, source: InputFile, stream: Any, batcher: Batcher, hooks: Hooks
) -> None:
    """:func:`read_generic` for NDJSON events, as one loop (the same outcome, record for record)."""
    loads = default_loads()
    position = position_of(source, stream)
    limit = batcher.limit
    number = source.skipped_lines
    read = 0
    batch = batcher.current
    if batch is None or batch.source != index:
        batch = _fresh(batcher, index, hooks, position)
    lines, numbers = batch.lines, batch.numbers
    try:
        for line in stream:
            number += 1
            raw = line.strip()
            if not raw:
                continue
            read += 1
            try:
                value = loads(raw)
            except (ValueError, UnicodeDecodeError) as exc:
                hooks.reject(index, number, not_json(exc), UNPARSED, raw)
                if hooks.stopped():
                    return
                continue
            if type(value) is dict and len(raw) < EVENT_MAX_BYTES:
                problem = check_event(value)
            else:
                problem = check_record("events", value, raw)
            if problem is not None:
                hooks.reject(index, number, problem, value, raw)
                if hooks.stopped():
                    return
                continue
            if "$insert_id" not in value["properties"]:
                raw = event_line(value, raw)
            cost = len(raw) + 1
            if len(lines) >= BATCH_MAX_RECORDS or batch.nbytes + cost > limit:
                hooks.read_up_to(index, number - 1)
                batch = _fresh(batcher, index, hooks, position)
                lines, numbers = batch.lines, batch.numbers
                if hooks.stopped():
                    return
            lines.append(raw)
            numbers.append(number)
            batch.nbytes += cost
    except (EOFError, OSError, zlib.error) as exc:
        raise stopped_reading(source, number, exc) from None
    finally:
        hooks.read += read
        batch.span = position()


def _fresh(batcher: Batcher, index: int, hooks: Hooks, position: Callable[[], int]) -> Batch:
    """Close the batcher's open batch (if it holds records) and open a new one for ``index``."""
    done = batcher.current
    if done is not None and len(done):
        done.span = position()
        hooks.dispatch(done)
    elif done is not None:
        batcher.seq -= 1  # an empty batch is given back its number
    batch = batcher.current = Batch(batcher.seq, index)
    batcher.seq += 1
    return batch
