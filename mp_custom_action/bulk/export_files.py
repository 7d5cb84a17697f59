"""Where an export's windows go: one file in date order, or one file per window; and its state file.

The state file (JSON) holds the export's parameters (dates, window, event, where, limit, project id,
region, origin: never a credential) and, per window done, its counts and, for one file, the file's
length after it. A window is written down only once its bytes are in the file and flushed to disk,
so a run killed at any point resumes consistently: the file is cut back to the last length written
down, and whatever followed is fetched again.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from pathlib import Path
from typing import Any, Optional, Protocol

from ..errors import InputError, OutputError
from .windows import Window

__all__ = ["OneFile", "PerWindow", "Target", "count_lines", "keep_window", "output_error"]

_BLOCK = 1 << 20


class Target(Protocol):
    path: Path

    def start(self) -> set[str]: ...

    def part_for(self, w: Window) -> Path: ...

    def commit(self, w: Window, part: Path, events: int, nbytes: int) -> None: ...

    def discard(self, part: Optional[Path]) -> None: ...

    def close(self) -> None: ...

    def files(self, windows: list[Window]) -> list[str]: ...


class _State:
    """The state file: ``{"version": 1, "export": params, "done": [{"window", ...}, ...]}``."""

    def __init__(self, path: Path, params: dict[str, Any]) -> None:
        self.path = path
        self.params = params
        self.done: list[dict[str, Any]] = []

    def load(self) -> bool:
        """Read a previous run's state; False when there is none. A different export is an error."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as exc:
            raise InputError(
                f"cannot read the export state {str(self.path)!r} ({exc}); remove it, or run "
                "without --resume to start again",
                field="resume",
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("done"), list):
            raise InputError(f"{str(self.path)!r} is not an export state file", field="resume")
        previous = data.get("export")
        if previous != self.params:
            differs = [
                k
                for k in self.params
                if not isinstance(previous, dict) or previous.get(k) != self.params[k]
            ]
            raise InputError(
                f"{str(self.path)!r} is the state of a different export ({', '.join(differs)} "
                f"{'differs' if len(differs) == 1 else 'differ'}); run without --resume to start "
                "again",
                field="resume",
            )
        self.done = [d for d in data["done"] if isinstance(d, dict) and "window" in d]
        return True

    def save(self) -> None:
        tmp = self.path.with_name(f".{self.path.name}.{secrets.token_hex(4)}.tmp")
        text = json.dumps({"version": 1, "export": self.params, "done": self.done}, indent=1)
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, self.path)

    def remove(self) -> None:
        try:
            self.path.unlink()
        except FileNotFoundError:
            pass


class OneFile:
    """Every window appended, in date order, to one file."""

    def __init__(self, path: Path, params: dict[str, Any], resume: bool) -> None:
        self.path = path
        self.resume = resume
        self.state = _State(path.with_name(path.name + ".export-state.json"), params)
        self.parts = path.with_name(f".{path.name}.windows")

    def start(self) -> set[str]:
        end = 0
        if self.resume and self.state.load():
            end = int(self.state.done[-1]["end"]) if self.state.done else 0
            size = self.path.stat().st_size if self.path.exists() else -1
            if size < end:
                raise InputError(
                    f"{str(self.path)!r} is shorter than its export state says ({size} < {end} "
                    "bytes): it was changed; run without --resume to start again",
                    field="resume",
                )
        else:
            self.state.done = []
        # Cut back whatever followed the last window written down (a window half-appended).
        with open(self.path, "ab") as fh:
            fh.truncate(end)
        self.state.save()
        shutil.rmtree(self.parts, ignore_errors=True)
        self.parts.mkdir()
        return {d["window"] for d in self.state.done}

    def part_for(self, w: Window) -> Path:
        return self.parts / f"{w.name}.jsonl"

    def commit(self, w: Window, part: Path, events: int, nbytes: int) -> None:
        try:
            with open(self.path, "ab") as out, open(part, "rb") as src:
                shutil.copyfileobj(src, out, _BLOCK)
                if nbytes and not _ends_with_newline(part):
                    out.write(b"\n")  # the next window's first line must not join this one's last
                out.flush()
                os.fsync(out.fileno())
                end = out.tell()
            part.unlink()
            self.state.done.append(
                {"window": w.name, "events": events, "bytes": nbytes, "end": end}
            )
            self.state.save()
        except OSError as exc:
            # The state still ends at the last window written whole: --resume cuts this one off.
            raise output_error(self.path, exc) from None

    def discard(self, part: Optional[Path]) -> None:
        if part is not None:
            try:
                part.unlink()
            except FileNotFoundError:
                pass

    def close(self) -> None:
        shutil.rmtree(self.parts, ignore_errors=True)

    def files(self, windows: list[Window]) -> list[str]:
        return [str(self.path)]


class PerWindow:
    """Each window in its own file, ``DIR/2024-01-05.jsonl``."""

    def __init__(self, path: Path, params: dict[str, Any], resume: bool) -> None:
        self.path = path
        self.resume = resume
        self.state = _State(path / ".export-state.json", params)

    def start(self) -> set[str]:
        if not (self.resume and self.state.load()):
            self.state.done = []
        # A window written down whose file has gone since is fetched again.
        self.state.done = [
            d for d in self.state.done if (self.path / f"{d['window']}.jsonl").exists()
        ]
        self.state.save()
        return {d["window"] for d in self.state.done}

    def part_for(self, w: Window) -> Path:
        return self.path / f"{w.name}.jsonl"

    def commit(self, w: Window, part: Path, events: int, nbytes: int) -> None:
        self.state.done.append({"window": w.name, "events": events, "bytes": nbytes})
        self.state.save()

    def discard(self, part: Optional[Path]) -> None:
        """A per-window file that arrived whole is kept (it is written down when committed)."""

    def close(self) -> None:
        pass

    def files(self, windows: list[Window]) -> list[str]:
        return [str(p) for p in (self.path / f"{w.name}.jsonl" for w in windows) if p.exists()]


def output_error(path: Path, exc: OSError) -> OutputError:
    """A local write failure (disk full...): the answer came; fetching it again would not help."""
    reason = (exc.strerror or type(exc).__name__).lower()
    return OutputError(f"cannot write {str(path)!r}: {reason}", path=str(path))


def _ends_with_newline(path: Path) -> bool:
    with open(path, "rb") as fh:
        fh.seek(-1, os.SEEK_END)
        return fh.read(1) == b"\n"


def count_lines(path: Path) -> tuple[int, int]:
    """(events, bytes) of a JSON Lines file: its lines, the last one counted without a newline."""
    lines = size = 0
    last = b"\n"
    with open(path, "rb") as fh:
        while True:
            block = fh.read(_BLOCK)
            if not block:
                break
            lines += block.count(b"\n")
            size += len(block)
            last = block[-1:]
    return lines + (last != b"\n"), size


def keep_window(path: Path, w: Window) -> None:
    """Keep only the events of ``w`` in ``path`` (a day downloaded for a window under a day)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.keep")
    with open(path, "rb") as src, open(tmp, "wb") as out:
        for line in src:
            if not line.strip():
                continue
            if _inside(line, w):
                out.write(line if line.endswith(b"\n") else line + b"\n")
    os.replace(tmp, path)


def _inside(line: bytes, w: Window) -> bool:
    try:
        seconds = json.loads(line)["properties"]["time"]
    except (ValueError, KeyError, TypeError):
        return True  # not an event we can place: kept rather than lost
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return True
    if seconds > 100_000_000_000:  # time_in_ms
        seconds = seconds / 1000
    return w.holds(seconds)
