"""Cutting checked records into batches Mixpanel takes, and encoding a batch for the wire.

A batch holds at most 2,000 records and 10 MB of uncompressed body (MIXPANEL-FACTS, /import;
/engage and /groups take the same 2,000). Batching is deterministic: the same file, read again,
is cut at the same places, which is what lets a checkpoint name batches by number.

Events go out as NDJSON, gzip-compressed (:mod:`deflate`): a record that already carries a valid
``$insert_id`` and sits on one line is sent as the bytes it was read as (no re-serialising); one
without gets a deterministic ``$insert_id`` from its content, so a resend is de-duplicated by
Mixpanel, and is written back with every number as it was read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Optional

from .parse import default_dumps, exact_for_writing

__all__ = [
    "BATCH_MAX_BYTES",
    "BATCH_MAX_RECORDS",
    "Batch",
    "Batcher",
    "content_insert_id",
    "event_line",
]

BATCH_MAX_RECORDS = 2000
BATCH_MAX_BYTES = 10 * 1024 * 1024
#: Room left in a profile or group batch for the ``$token`` the runner writes into each update.
_TOKEN_ROOM = 64


@dataclass
class Batch:
    """Records bound for one request, in file order, with where each came from."""

    seq: int  # 0-based number of the batch in the run (stable across resumes)
    source: int  # index of the input file
    lines: list[bytes] = field(default_factory=list)  # each record as sent (events) or read
    numbers: list[int] = field(default_factory=list)  # the line each record starts on
    values: Optional[list[Any]] = None  # the parsed updates (profiles, groups)
    nbytes: int = 0  # uncompressed body size
    span: int = 0  # input bytes the batch accounts for (for progress)

    def __len__(self) -> int:
        return len(self.lines)


class Batcher:
    """Collects records; hands back a batch each time the next record would not fit."""

    def __init__(self, kind: str, *, first_seq: int = 0) -> None:
        self.kind = kind
        self.events = kind == "events"
        self.seq = first_seq
        self.limit = BATCH_MAX_BYTES if self.events else BATCH_MAX_BYTES - 2000 * _TOKEN_ROOM
        self.current: Optional[Batch] = None

    def add(self, source: int, number: int, line: bytes, value: Any) -> Optional[Batch]:
        """Add one record; returns the batch it closed, if it did not fit there."""
        cost = len(line) + 1  # the newline (events) or comma (updates) after it
        batch = self.current
        done = None
        if (
            batch is None
            or batch.source != source
            or len(batch.lines) >= BATCH_MAX_RECORDS
            or batch.nbytes + cost > self.limit
        ):
            done = batch
            batch = self.current = Batch(self.seq, source, values=None if self.events else [])
            self.seq += 1
        batch.lines.append(line)
        batch.numbers.append(number)
        if batch.values is not None:
            batch.values.append(value)
        batch.nbytes += cost
        return done

    def flush(self) -> Optional[Batch]:
        """The batch being filled, if it holds any record (at the end of a file)."""
        batch, self.current = self.current, None
        if batch is not None and not batch.lines:
            self.seq -= 1  # an empty batch gives its number back
            return None
        return batch


def content_insert_id(raw: bytes) -> str:
    """A deterministic ``$insert_id`` for a record that lacks one: 32 hex digits of SHA-256 of
    the record's bytes as read. The same record read again gets the same id."""
    return hashlib.sha256(raw).hexdigest()[:32]


_dumps = default_dumps()


def event_line(value: dict[str, Any], raw: bytes) -> bytes:
    """The NDJSON line to send for a checked event."""
    if "$insert_id" in value["properties"] and b"\n" not in raw and b"\r" not in raw:
        return raw
    value = exact_for_writing(value, raw)
    props = value["properties"]
    if "$insert_id" not in props:
        props["$insert_id"] = content_insert_id(raw)
    return _dumps(value)
