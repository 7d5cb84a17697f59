"""The reading side of an import: records in, checked, cut into batches, handed on.

One thread runs this, and it is where an import spends most of its CPU (docs/performance.md).
For the common case, NDJSON events, :func:`read_ndjson_events` takes a chunk of lines at a time
and, when the chunk is all good events, parses, checks and batches it with no Python step a
record. Everything else goes through :func:`read_generic`, built from
:func:`records.read_records` and :func:`imports_checks.check_record`. Both do the same thing
record for record (tests/bulk/test_imports_read.py holds them to it).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any, Callable, Optional

from .batches import BATCH_MAX_RECORDS, Batch, Batcher, event_line
from .chunk_checks import EACH, NEEDS_IDS, chunk_verdict
from .imports_checks import EVENT_MAX_BYTES, check_event, check_record
from .parse import Loads, LoadsAll, default_loaders
from .records import UNPARSED, InputFile, not_json, read_records, stopped_reading

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
    """:func:`read_generic` for NDJSON events, a chunk of lines at a time (the same outcome,
    record for record).

    A chunk whose every line is a good event (the common case) is parsed, checked, given our
    ``$insert_id`` where it lacks one, and added to batches by calls that each loop in C over the
    whole chunk; any other chunk (a blank or bad line, a CR inside a line, a batch's byte limit
    reached inside it) goes on through :meth:`_Reading.each`, record by record.
    """
    reading = _Reading(index, source, stream, batcher, hooks)
    loads, loads_all = default_loaders()
    try:
        for chunk in _gzip_chunks(stream) if source.gzip else _chunks(stream):
            raws = list(map(bytes.strip, chunk))
            taken = reading.whole(raws, loads_all)
            if taken < len(raws) and not reading.stopped:
                parsed = reading.parsed
                rest = parsed[taken:] if taken and parsed is not None else parsed
                reading.each(raws[taken:] if taken else raws, loads, rest)
            if reading.stopped:
                return
    except (EOFError, OSError, zlib.error) as exc:
        raise stopped_reading(source, reading.number, exc) from None
    finally:
        hooks.read += reading.read
        reading.batch.span = reading.position()


#: How many bytes of lines a chunk holds: a few hundred events.
_CHUNK_HINT = 1 << 16


def _chunks(stream: Any) -> Iterator[list[bytes]]:
    readlines = stream.readlines
    while True:
        chunk = readlines(_CHUNK_HINT)
        if not chunk:
            return
        yield chunk


def _gzip_chunks(stream: Any) -> Iterator[list[bytes]]:
    """:func:`_chunks` for a gzip stream, which can fail midway (cut or corrupt; on stdin
    nothing checked it first): ``readlines`` would drop the lines it had gathered when it
    fails, so they are gathered here and handed on before the error is."""
    lines: list[bytes] = []
    size = 0
    try:
        for line in stream:
            lines.append(line)
            size += len(line)
            if size >= _CHUNK_HINT:
                yield lines
                lines, size = [], 0
    except (EOFError, OSError, zlib.error):
        if lines:
            yield lines
        raise
    if lines:
        yield lines


class _Reading:
    """One NDJSON events input being read: the last line consumed and the batch being filled."""

    def __init__(
        self, index: int, source: InputFile, stream: Any, batcher: Batcher, hooks: Hooks
    ) -> None:
        self.index = index
        self.batcher = batcher
        self.hooks = hooks
        self.position = position_of(source, stream)
        self.number = source.skipped_lines  # the line last consumed
        self.read = 0
        self.stopped = False
        self.parsed: Optional[list[Any]] = None  # the last chunk's values, when it all parsed
        batch = batcher.current
        if batch is None or batch.source != index:
            batch = _fresh(batcher, index, hooks, self.position)
        self.batch = batch

    def cut(self) -> None:
        """Close the full batch and open the next (``number`` is the line before the record
        that did not fit); ``stopped`` says whether the run has been told to stop."""
        self.hooks.read_up_to(self.index, self.number)
        self.batch = _fresh(self.batcher, self.index, self.hooks, self.position)
        self.stopped = self.hooks.stopped()

    def whole(self, raws: list[bytes], loads_all: LoadsAll) -> int:
        """Take ``raws`` if every one is a good event, whole batches at a time; returns how
        many were taken (0 if any may not be, fewer if a batch's byte limit falls among them or
        the run stops). ``parsed`` keeps the chunk's values for the rest, when they still hold
        what was read."""
        lines = self._lines_to_send(raws, loads_all)
        if lines is None:
            return 0
        taken = 0
        while taken < len(lines):
            batch = self.batch
            room = BATCH_MAX_RECORDS - len(batch.lines)
            if room <= 0:
                self.cut()
                if self.stopped:
                    self.read += 1  # the record that found the batch full was read, as below
                    return taken
                continue
            part = lines[taken : taken + room] if taken or room < len(lines) else lines
            size = sum(map(len, part)) + len(part)
            if batch.nbytes + size > self.batcher.limit:
                return taken
            first = self.number + 1
            batch.lines.extend(part)
            batch.numbers.extend(range(first, first + len(part)))
            batch.nbytes += size
            self.number += len(part)
            self.read += len(part)
            taken += len(part)
        return taken

    def _lines_to_send(self, raws: list[bytes], loads_all: LoadsAll) -> Optional[list[bytes]]:
        """The chunk's records as they go out, or ``None`` unless every one is a good event."""
        self.parsed = None
        blob = b"\n".join(raws)
        if b"\r" in blob or (
            len(blob) >= EVENT_MAX_BYTES and max(map(len, raws)) >= EVENT_MAX_BYTES
        ):
            return None  # a CR inside a line, or a record too big: each on its own
        values = self.parsed = loads_all(raws)  # None for a blank line too
        verdict = EACH if values is None else chunk_verdict(values)
        if values is None or verdict is EACH:
            return None
        if verdict is NEEDS_IDS:
            self.parsed = None  # they are about to get our ids: a rest goes back to its bytes
            return list(map(event_line, values, raws))
        return raws

    def each(self, raws: list[bytes], loads: Loads, values: Optional[list[Any]] = None) -> None:
        """Take ``raws`` one record at a time: parse (unless ``values`` has them: then none is
        blank), check, reject or batch each."""
        hooks, index = self.hooks, self.index
        limit = self.batcher.limit
        batch = self.batch
        lines, numbers = batch.lines, batch.numbers
        number = self.number
        parsed = iter(values) if values is not None else None
        try:
            for raw in raws:
                number += 1
                if not raw:
                    continue
                self.read += 1
                try:
                    value = loads(raw) if parsed is None else next(parsed)
                except (ValueError, UnicodeDecodeError) as exc:
                    hooks.reject(index, number, not_json(exc), UNPARSED, raw)
                    if hooks.stopped():
                        self.stopped = True
                        return
                    continue
                if type(value) is dict and len(raw) < EVENT_MAX_BYTES:
                    problem = check_event(value)
                else:
                    problem = check_record("events", value, raw)
                if problem is not None:
                    hooks.reject(index, number, problem, value, raw)
                    if hooks.stopped():
                        self.stopped = True
                        return
                    continue
                if "$insert_id" not in value["properties"] or b"\r" in raw:
                    raw = event_line(value, raw)
                cost = len(raw) + 1
                if len(lines) >= BATCH_MAX_RECORDS or batch.nbytes + cost > limit:
                    self.number = number - 1
                    self.cut()
                    batch = self.batch
                    lines, numbers = batch.lines, batch.numbers
                    if self.stopped:
                        return
                lines.append(raw)
                numbers.append(number)
                batch.nbytes += cost
        finally:
            self.number = number


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
