"""The bookkeeping of an import: which batches Mixpanel acknowledged, the rejects file, the counts.

A checkpoint is a small JSON file, replaced whole (write, fsync, rename), so a Ctrl-C or a kill
leaves either the old one or the new one, never half of each. It names:

* what it belongs to: the kind, each input's size and a SHA-256 of its first and last MiB, and the
  project (project id, region, origin); a resume against anything else is refused;
* ``done``: the numbers of the acknowledged batches, as ranges; batching is deterministic, so a
  resumed run reads the file again and skips exactly those;
* ``rejects_bytes`` and ``read_through``: how much of the rejects file was written when the
  checkpoint was saved, and how far reading had come. A resume cuts the rejects file back to that
  size and writes again only what comes after, so no reject is lost or written twice.

It holds no credential: the project id is not one (it travels in URLs), and nothing else about
the credentials is kept.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Iterable
from typing import IO, Any, Optional

from ..errors import InputError

__all__ = ["FORMAT", "CheckpointError", "Ledger", "fingerprint", "from_ranges", "ranges"]

FORMAT = "mp-custom-action import checkpoint 1"
_EDGE = 1 << 20
#: Seconds between two saves while batches are acknowledged (and one at the end, always).
SAVE_INTERVAL = 1.0


class CheckpointError(InputError):
    """A checkpoint that is unreadable, or belongs to another file, kind or project."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="checkpoint")


def fingerprint(path: str) -> dict[str, Any]:
    """What tells one input file from another, cheaply: size and a hash of its first and last MiB."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        digest.update(fh.read(_EDGE))
        if size > 2 * _EDGE:
            fh.seek(size - _EDGE)
        digest.update(fh.read(_EDGE))
    return {"size": size, "sha256_edges": digest.hexdigest()}


def ranges(numbers: Iterable[int]) -> list[list[int]]:
    """``{0, 1, 2, 5}`` -> ``[[0, 2], [5, 5]]``."""
    out: list[list[int]] = []
    for n in sorted(numbers):
        if out and n == out[-1][1] + 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out


def from_ranges(value: Any) -> set[int]:
    numbers: set[int] = set()
    for pair in value:
        low, high = int(pair[0]), int(pair[1])
        if high < low or high - low > 10**9:
            raise ValueError("bad range")
        numbers.update(range(low, high + 1))
    return numbers


class Ledger:
    """The shared state of one import run: thread-safe, saved to the checkpoint as it goes."""

    def __init__(
        self,
        identity: dict[str, Any],
        *,
        checkpoint: Optional[str],
        rejects: Optional[str],
        resume: bool,
        clock: Any = time.monotonic,
    ) -> None:
        self.identity = identity
        self.checkpoint = checkpoint
        self.rejects_path = rejects
        self.done: set[int] = set()
        self.counts = {"accepted": 0, "rejected": 0, "sent": 0, "retried_batches": 0}
        self.read_through = (-1, 0)  # (input index, line): rejects written up to here
        self.resumed = False
        self._rejects: Optional[IO[bytes]] = None
        self._lock = threading.Lock()
        self._clock = clock
        self._last_save = clock()
        state = self._load() if resume else None
        if state is None and checkpoint is not None and os.path.exists(checkpoint) and not resume:
            raise CheckpointError(
                f"{checkpoint!r} holds an unfinished import; add --resume to go on with it, or "
                "delete it to start again"
            )
        offset = 0
        if state is not None:
            self.resumed = True
            self.done = from_ranges(state["done"])
            self.counts.update({k: int(state["counts"].get(k, 0)) for k in self.counts})
            self.read_through = (int(state["read_through"][0]), int(state["read_through"][1]))
            offset = int(state["rejects_bytes"])
        if rejects is not None:
            self._rejects = _open_rejects(rejects, offset if self.resumed else 0)

    def _load(self) -> Optional[dict[str, Any]]:
        path = self.checkpoint
        if path is None or not os.path.exists(path):
            return None
        try:
            with open(path, encoding="utf-8") as fh:
                state = json.load(fh)
            if not isinstance(state, dict) or state.get("format") != FORMAT:
                raise ValueError("not an import checkpoint")
            from_ranges(state["done"])
            int(state["rejects_bytes"])
        except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
            raise CheckpointError(f"cannot use {path!r}: {exc}") from None
        writer = state.get("writer", "json")  # before it was recorded, it was always json
        if writer != self.identity.get("writer", writer):
            raise CheckpointError(
                f"{path!r} was written where records are re-serialised by {writer}, here by "
                f"{self.identity['writer']}: the batches would be cut elsewhere; resume with the "
                f"fast extra {'installed' if writer == 'orjson' else 'not installed'}, as then, "
                "or delete it to start again"
            )
        for key, label in (("kind", "kind"), ("inputs", "file"), ("project", "project")):
            if state.get(key) != self.identity[key]:
                raise CheckpointError(
                    f"{path!r} belongs to another {label} ({_describe(state.get(key))}, not "
                    f"{_describe(self.identity[key])}); delete it or name another with --checkpoint"
                )
        return state

    # -- recording (any thread) -----------------------------------------------------------------

    def reject(
        self, entries: list[dict[str, Any]], *, position: Optional[tuple[int, int]] = None
    ) -> None:
        """Write rejects found while reading (each with ``file``, ``line``, ``reason``,
        ``record``); ``position`` is the (input, line) reading has come to."""
        with self._lock:
            self._write(entries)
            if position is not None and position > self.read_through:
                self.read_through = position

    def _write(self, entries: list[dict[str, Any]]) -> None:
        if not entries:
            return
        self.counts["rejected"] += len(entries)
        if self._rejects is not None:
            self._rejects.write(
                b"".join(
                    json.dumps(e, ensure_ascii=True, separators=(",", ":")).encode() + b"\n"
                    for e in entries
                )
            )

    def read_up_to(self, source: int, line: int) -> None:
        """Reading has come to ``line`` of input ``source`` (its rejects are written)."""
        with self._lock:
            if (source, line) > self.read_through:
                self.read_through = (source, line)

    def seen(self, source: int, line: int) -> bool:
        """Was this line's local reject written by the run this one resumes?"""
        return (source, line) <= self.read_through if self.resumed else False

    def acknowledged(
        self,
        seq: int,
        *,
        accepted: int,
        sent: int,
        retried: bool,
        rejects: Optional[list[dict[str, Any]]] = None,
    ) -> None:
        """Batch ``seq`` was answered: its rejects and its being done are recorded together,
        so a checkpoint never holds one without the other."""
        with self._lock:
            self._write(rejects or [])
            self.done.add(seq)
            self.counts["accepted"] += accepted
            self.counts["sent"] += sent
            self.counts["retried_batches"] += int(retried)
            due = self._clock() - self._last_save >= SAVE_INTERVAL
        if due:
            self.save()

    # -- saving ---------------------------------------------------------------------------------

    def save(self) -> None:
        """Flush the rejects file and replace the checkpoint with the state as it stands."""
        with self._lock:
            self._last_save = self._clock()
            offset = 0
            if self._rejects is not None:
                self._rejects.flush()
                try:
                    os.fsync(self._rejects.fileno())
                except OSError:
                    pass  # not a regular file (/dev/null, a pipe): nothing to make durable
                offset = self._rejects.tell()
            if self.checkpoint is None:
                return
            state = {
                "format": FORMAT,
                **self.identity,
                "done": ranges(self.done),
                "read_through": list(self.read_through),
                "rejects_bytes": offset,
                "counts": dict(self.counts),
                "saved_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            _replace(self.checkpoint, json.dumps(state, indent=1) + "\n")

    def finish(self, *, complete: bool) -> None:
        """Save a last time; a complete run removes its checkpoint (there is nothing to resume)."""
        if complete and self.checkpoint is not None:
            self.close()
            try:
                os.remove(self.checkpoint)
            except FileNotFoundError:
                pass
            return
        self.save()
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._rejects is not None:
                self._rejects.flush()
                self._rejects.close()
                self._rejects = None


def _open_rejects(path: str, offset: int) -> IO[bytes]:
    try:
        if not offset:
            return open(path, "wb")
        fh = open(path, "r+b")  # noqa: SIM115
        fh.truncate(offset)
        fh.seek(offset)
    except OSError as exc:
        raise InputError(f"cannot write {path!r}: {exc.strerror}", field="rejects") from None
    return fh


def _replace(path: str, text: str) -> None:
    temporary = f"{path}.tmp-{os.getpid()}"
    try:
        with open(temporary, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(temporary, path)
    except BaseException:
        try:
            os.remove(temporary)
        except OSError:
            pass
        raise


def _describe(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."
