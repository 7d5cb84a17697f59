"""What an import did: the summary :func:`~.imports.import_files` returns and the CLI prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

__all__ = ["ImportSummary"]


@dataclass
class ImportSummary:
    """The outcome of :func:`import_files`; :meth:`to_dict` is the CLI's final JSON."""

    kind: str
    files: list[str]
    read: int = 0
    sent: int = 0
    accepted: int = 0
    rejected: int = 0
    retried_batches: int = 0
    batches: int = 0
    skipped_batches: int = 0
    seconds: float = 0.0
    resumed: bool = False
    dry_run: bool = False
    checkpoint: Optional[str] = None
    rejects: Optional[str] = None
    #: ``None`` when the run went to the end; else ``{"reason", "file", "line"}``.
    stopped: Optional[dict[str, Any]] = None
    exit_status: int = 0
    request: Optional[dict[str, Any]] = None  # dry run: the first request, redacted
    first_rejects: list[dict[str, Any]] = field(default_factory=list)  # dry run only

    @property
    def complete(self) -> bool:
        return self.stopped is None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "files": list(self.files),
            "read": self.read,
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "retried_batches": self.retried_batches,
            "batches": self.batches,
            "skipped_batches": self.skipped_batches,
            "seconds": round(self.seconds, 3),
            "resumed": self.resumed,
            "dry_run": self.dry_run,
            "checkpoint": self.checkpoint,
            "rejects": self.rejects,
            "complete": self.complete,
            "stopped": self.stopped,
        }
        if self.dry_run:
            out["request"] = self.request
            out["first_rejects"] = list(self.first_rejects)
        return out
