"""What the sandbox remembers (events, profiles, lookup tables, schemas, sources, pipelines), and its file.

All of it sits behind one lock. A handler changes it inside ``with state.write() as data:``, and,
with a state file, the whole state is written to disk before the lock is released, hence before the
answer is sent: a sandbox killed at any moment has lost nothing it acknowledged. The file is
replaced atomically (temporary file, fsync, ``os.replace``), so a kill mid-write leaves the
previous version, never half of one. A change that cannot be saved (disk full, a read-only
file) is undone in memory too and raises :class:`StateNotSaved`: the client is told nothing was
stored (the server answers 503), so its retry cannot store a duplicate.

Writing everything on every change is O(size of the state); the sandbox is for rehearsals and
tests, not for millions of events, and this keeps the file format one readable JSON document.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional, Union

from ..errors import InputError

__all__ = ["Data", "State", "StateFileError", "StateNotSaved", "event_seconds"]

_FORMAT = "mp-custom-action-sandbox-state"
_VERSION = 1

#: The lookup table every sandbox starts with, so that list and replace work out of the box.
DEMO_LOOKUP_TABLE: dict[str, Any] = {
    "id": "5a4d1b0e-5a4d-4b0e-8a4d-5a4d1b0e0001",
    "name": "Sandbox Demo Table",
    "header": ["id", "name"],
    "rows": [["1", "first"], ["2", "second"]],
}

EventKey = tuple[str, int, str, str]


def _demo_tables() -> dict[str, dict[str, Any]]:
    return {str(DEMO_LOOKUP_TABLE["id"]): copy.deepcopy(DEMO_LOOKUP_TABLE)}


class StateFileError(InputError):
    """The state file cannot be read or written, or is not a sandbox state file (exit 2).

    An :class:`~mp_custom_action.errors.InputError` (so also a ``ValueError``): the command
    prints it as it prints every input error, and ``except MpError`` catches it.
    """


class StateNotSaved(Exception):
    """A change could not be written to the state file, and was undone in memory."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"the sandbox could not save its state file {path.name} ({reason})")
        self.reason = reason


def event_seconds(event: dict[str, Any]) -> Optional[float]:
    """The event's ``properties.time`` in seconds; Mixpanel takes seconds or milliseconds."""
    props = event.get("properties")
    value = props.get("time") if isinstance(props, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    # Milliseconds since 1970 pass 1e11 in 1973; seconds will not reach it for 3000 years.
    return value / 1000.0 if value > 1e11 else float(value)


def _event_key(event: dict[str, Any]) -> Optional[EventKey]:
    # Mixpanel treats events equal in (event, time, distinct_id, $insert_id) as one.
    props = event.get("properties") or {}
    insert_id = props.get("$insert_id")
    seconds = event_seconds(event)
    if not insert_id or seconds is None:
        return None
    return (
        str(event.get("event")),
        round(seconds * 1000),
        str(props.get("distinct_id", "")),
        str(insert_id),
    )


@dataclass
class Data:
    """The sandbox's memory. Plain JSON values only, so it saves and loads as one document."""

    events: list[dict[str, Any]] = field(default_factory=list)
    #: distinct_id -> properties
    profiles: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: group_key -> group_id -> properties
    groups: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    #: lookup table id -> {"id", "name", "header": [...], "rows": [[...]]}
    lookup_tables: dict[str, dict[str, Any]] = field(default_factory=lambda: _demo_tables())
    #: entityType -> name -> schemaJson
    schemas: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: warehouse source id -> source (with its tables)
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: warehouse source id -> runs, oldest first
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    #: wall-clock times of API-triggered warehouse runs (Mixpanel allows 5 an hour)
    triggers: list[float] = field(default_factory=list)
    #: pipeline name -> pipeline
    pipelines: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: warehouse import id (the published Connectors operations) -> import, with its runs
    imports: dict[str, dict[str, Any]] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)
    # Derived from ``events`` on load; not saved.
    _event_index: dict[EventKey, int] = field(default_factory=dict, repr=False)

    def add_event(self, event: dict[str, Any]) -> None:
        """Store ``event``; one equal in (event, time, distinct_id, $insert_id) is replaced."""
        key = _event_key(event)
        if key is not None:
            position = self._event_index.get(key)
            if position is not None:
                self.events[position] = event
                return
            self._event_index[key] = len(self.events)
        self.events.append(event)

    def next_number(self, name: str) -> int:
        self.counters[name] = self.counters.get(name, 0) + 1
        return self.counters[name]

    def to_json(self) -> dict[str, Any]:
        return {
            "format": _FORMAT,
            "version": _VERSION,
            "events": self.events,
            "profiles": self.profiles,
            "groups": self.groups,
            "lookup_tables": self.lookup_tables,
            "schemas": self.schemas,
            "sources": self.sources,
            "runs": self.runs,
            "triggers": self.triggers,
            "pipelines": self.pipelines,
            "imports": self.imports,
            "counters": self.counters,
        }

    @classmethod
    def from_json(cls, doc: Any, where: str) -> Data:
        if not isinstance(doc, dict) or doc.get("format") != _FORMAT:
            raise StateFileError(f"{where} is not a sandbox state file")
        if doc.get("version") != _VERSION:
            raise StateFileError(
                f"{where} has state format version {doc.get('version')!r}, not {_VERSION}"
            )
        data = cls()
        for name, kind in _FIELDS.items():
            if name in doc:
                if not isinstance(doc[name], kind):
                    raise StateFileError(f"{where}: {name!r} should be a {kind.__name__}")
                setattr(data, name, doc[name])
        for position, event in enumerate(data.events):
            key = _event_key(event) if isinstance(event, dict) else None
            if key is not None:
                data._event_index[key] = position
        return data


_FIELDS: dict[str, type] = {
    "events": list,
    "profiles": dict,
    "groups": dict,
    "lookup_tables": dict,
    "schemas": dict,
    "sources": dict,
    "runs": dict,
    "triggers": list,
    "pipelines": dict,
    "imports": dict,
    "counters": dict,
}


class State:
    """The sandbox's data behind a lock, saved to ``path`` after every change when one is given."""

    def __init__(self, path: Union[str, os.PathLike[str], None] = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._data = self._load() if self.path is not None else Data()
        #: The state file's text as last written, to undo a change that could not be saved.
        self._saved: Optional[str] = None
        if self.path is not None:
            # Written once now, so that a missing directory or a read-only file is reported at
            # start, not on the first request.
            try:
                self._save()
            except OSError as exc:
                raise StateFileError(
                    f"cannot write state file {self.path}: {exc.strerror or exc}"
                ) from None

    def _load(self) -> Data:
        assert self.path is not None
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return Data()
        except OSError as exc:
            raise StateFileError(f"cannot read state file {self.path}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise StateFileError(f"state file {self.path} is not UTF-8 text") from None
        if not text.strip():
            return Data()  # a file made with `touch` is an empty state
        try:
            doc = json.loads(text)
        except ValueError as exc:
            raise StateFileError(f"state file {self.path} is not valid JSON ({exc})") from None
        return Data.from_json(doc, f"state file {self.path}")

    @contextlib.contextmanager
    def read(self) -> Iterator[Data]:
        with self._lock:
            yield self._data

    @contextlib.contextmanager
    def write(self) -> Iterator[Data]:
        """Change the data; it is saved when the block ends without an exception.

        With a state file, a block that raises, or whose change cannot be saved, leaves the
        data as it was before the block (:class:`StateNotSaved` for the latter).
        """
        with self._lock:
            try:
                yield self._data
            except BaseException:
                self._undo()
                raise
            try:
                self._save()
            except OSError as exc:
                self._undo()
                assert self.path is not None
                raise StateNotSaved(self.path, exc.strerror or type(exc).__name__) from None

    def _undo(self) -> None:
        if self.path is not None and self._saved is not None:
            self._data = Data.from_json(json.loads(self._saved), f"state file {self.path}")

    def _save(self) -> None:
        if self.path is None:
            return
        payload = json.dumps(self._data.to_json(), ensure_ascii=False, separators=(",", ":"))
        directory = self.path.parent
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".tmp", dir=directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(payload.encode("utf-8"))
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        self._saved = payload
        _fsync_directory(directory)

    # Read-only views for tests and rehearsal scripts: deep copies, safe to keep and change.

    def events(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data.events)

    def profiles(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data.profiles)

    def groups(self) -> dict[str, dict[str, dict[str, Any]]]:
        with self._lock:
            return copy.deepcopy(self._data.groups)

    def lookup_tables(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data.lookup_tables)

    def schemas(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data.schemas)

    def sources(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data.sources)

    def runs(self) -> dict[str, list[dict[str, Any]]]:
        with self._lock:
            return copy.deepcopy(self._data.runs)

    def pipelines(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._data.pipelines)

    def snapshot(self) -> dict[str, Any]:
        """Everything, as the state file holds it."""
        with self._lock:
            return copy.deepcopy(self._data.to_json())

    def add_events(self, events: list[dict[str, Any]]) -> None:
        """Store events directly (seeding a rehearsal), without going through ``/import``."""
        with self.write() as data:
            for event in events:
                data.add_event(copy.deepcopy(event))

    def reset(self) -> None:
        """Forget everything (the demo lookup table comes back)."""
        with self.write() as data:
            fresh = Data()
            for name in _FIELDS:
                setattr(data, name, getattr(fresh, name))
            data._event_index.clear()


def _fsync_directory(directory: Path) -> None:
    # The rename itself is durable only once the directory entry is; Windows cannot open a
    # directory for this, and does not need to.
    if os.name != "posix":
        return
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
