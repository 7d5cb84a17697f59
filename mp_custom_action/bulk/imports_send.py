"""Sending one import batch through the Runner, and reading what Mixpanel made of it.

Events go to ``/import?strict=1`` as gzip-compressed NDJSON, handed to the runner as bytes
already encoded with their ``Content-Type`` and ``Content-Encoding`` (core sends such a body as
it is): the URL, the credential and the retries are the runner's, and no other HTTP client is
involved.

Every event carries an ``$insert_id`` (ours when the file had none), so the batch is marked
replay-safe: core's retry policy may then repeat it after a 5xx or a broken answer, and Mixpanel
drops the repeats.

Profiles and groups go to ``/engage`` and ``/groups`` as a JSON array of updates (their batch
form), through the runner's ordinary JSON path, which writes the project token into each update.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..errors import http_exit_status
from .batches import Batch
from .deflate import gzip_ndjson
from .imports_checks import shown_record
from .records import UNPARSED

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner

__all__ = ["Outcome", "Sender", "StopImport"]

_PATHS = {"events": "/import", "profiles": "/engage", "groups": "/groups"}
_NDJSON = {"Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"}


class StopImport(Exception):
    """A batch's answer means the run cannot go on (credentials refused, retries exhausted)."""

    def __init__(self, message: str, exit_status: int) -> None:
        super().__init__(message)
        self.message = message
        self.exit_status = exit_status


@dataclass
class Outcome:
    """What became of one batch."""

    accepted: int
    rejects: list[dict[str, Any]] = field(default_factory=list)
    attempts: int = 1


class Sender:
    """Builds and sends the requests of one import (thread-safe: it keeps no per-batch state)."""

    def __init__(self, runner: Runner, kind: str, names: list[str]) -> None:
        self.runner = runner
        self.kind = kind
        self.names = names

    def inputs(self) -> dict[str, Any]:
        query = {"strict": "1"} if self.kind == "events" else {"verbose": "1"}
        return {
            "method": "POST",
            "api": "ingestion",
            "relative_url": _PATHS[self.kind],
            "query": query,
        }

    def prepare(self, batch: Batch) -> OutgoingRequest:
        """The request for ``batch``, as it would go out."""
        if self.kind != "events":
            return self.runner.prepare({**self.inputs(), "body": batch.values})
        return self._prepare_bytes(gzip_ndjson(batch.lines))

    def _prepare_bytes(self, body: bytes) -> OutgoingRequest:
        request = self.runner.prepare({**self.inputs(), "headers": dict(_NDJSON), "body": body})
        # Core cannot see into bytes; every record in them carries an $insert_id (ours when the
        # file had none), so Mixpanel drops a repeat and the batch may be retried after a 5xx.
        return dataclasses.replace(request, replay_safe=True)

    def send(self, batch: Batch) -> Outcome:
        """Send ``batch``; raises :class:`StopImport` when the answer ends the run."""
        result = self.runner.send(self.prepare(batch))
        return self.outcome(batch, result)

    def outcome(self, batch: Batch, result: Result) -> Outcome:
        status = result.status_code
        body = result.body
        if self.kind != "events":
            return self._update_outcome(batch, result)
        if 200 <= status < 300:
            accepted = _count(body, "num_records_imported", len(batch))
            return Outcome(accepted, attempts=result.attempts)
        if (
            status == 400
            and isinstance(body, dict)
            and isinstance(body.get("failed_records"), list)
        ):
            rejects = self._failed(batch, body["failed_records"])
            accepted = _count(body, "num_records_imported", len(batch) - len(rejects))
            return Outcome(accepted, rejects, result.attempts)
        if status in (400, 413):
            reason = f"HTTP {status}: {_message(body)}"
            return Outcome(0, self._all(batch, reason), result.attempts)
        raise StopImport(_stop_message(result), int(http_exit_status(status)))

    def _update_outcome(self, batch: Batch, result: Result) -> Outcome:
        status = result.status_code
        body = result.body
        ok = body == 1 or (isinstance(body, dict) and body.get("status") == 1)
        if 200 <= status < 300 and ok:
            return Outcome(len(batch), attempts=result.attempts)
        if (200 <= status < 300) or status in (400, 413):
            reason = f"HTTP {status}: {_message(body)}"
            return Outcome(0, self._all(batch, reason), result.attempts)
        raise StopImport(_stop_message(result), int(http_exit_status(status)))

    def _failed(self, batch: Batch, failed: list[Any]) -> list[dict[str, Any]]:
        rejects = []
        for item in failed:
            index = item.get("index") if isinstance(item, dict) else None
            if not isinstance(index, int) or not 0 <= index < len(batch):
                continue
            where = item.get("field") or ""
            message = item.get("message") or "refused"
            reason = f"{where}: {message}" if where else str(message)
            rejects.append(self.entry(batch, index, f"Mixpanel: {reason}", stage="mixpanel"))
        return rejects

    def _all(self, batch: Batch, reason: str) -> list[dict[str, Any]]:
        return [self.entry(batch, i, reason, stage="mixpanel") for i in range(len(batch))]

    def entry(self, batch: Batch, index: int, reason: str, *, stage: str) -> dict[str, Any]:
        raw = batch.lines[index]
        if batch.values is not None:
            value = batch.values[index]
        else:
            try:
                value = json.loads(raw)
            except ValueError:
                value = UNPARSED
        return reject_entry(
            self.names[batch.source], batch.numbers[index], reason, value, raw, stage
        )


def reject_entry(
    name: str, line: int, reason: str, value: Any, raw: bytes, stage: str
) -> dict[str, Any]:
    """One line of a rejects file."""
    return {
        "file": name,
        "line": line,
        "stage": stage,
        "reason": reason,
        "record": shown_record(value, raw),
    }


def _count(body: Any, key: str, default: int) -> int:
    value = body.get(key) if isinstance(body, dict) else None
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("error", "message", "status"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])[:300]
    text = json.dumps(body)
    return text if len(text) <= 300 else text[:297] + "..."


def _stop_message(result: Result) -> str:
    tries = f" after {result.attempts} attempts" if result.attempts > 1 else ""
    return f"HTTP {result.status_code}{tries}: {_message(result.body)}"
