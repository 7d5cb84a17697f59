"""``mp-custom-action import KIND FILE...``: import events, profiles or groups from files."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

from .common import add_request_options, open_runner, print_json
from .progress import add_progress_option, progress_mode

EXAMPLES = """\
examples:
  mp-custom-action import events events.ndjson.gz
  mp-custom-action import events part-*.json --workers 8 --max-rejects 100
  mp-custom-action import events events.ndjson --resume          # go on after a stop
  mp-custom-action import profiles profiles.json --sandbox --dry-run
  zcat events.ndjson.gz | mp-custom-action import events -

Files are JSON arrays or NDJSON, either gzip-compressed. Each record is checked first; a bad one
goes to the rejects file (JSON Lines: file, line, stage, reason, record) and the run goes on.
Progress goes to stderr; the summary (read, sent, accepted, rejected, retried_batches, seconds,
...) is printed on stdout as JSON. Exit 0 when the run went to the end (rejects or not); 2 when a
file went bad midway or --max-rejects was passed; 3-6 as for call when Mixpanel refused the
credentials, kept answering 429/5xx past the retries, or could not be reached; 130 on Ctrl-C.
A stopped run keeps its checkpoint: run again with --resume (with the fast extra installed, or
not, as it was: the checkpoint says which). For speed, pip install "mp-custom-action[fast]"
(orjson to parse, python-isal to compress): about 1.7 times the speed of the standard library.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "import",
        help="import events, profiles or groups from JSON or NDJSON files",
        description="Import files into Mixpanel in batches of up to 2,000 records: events to "
        "/import (strict, gzip-compressed NDJSON), profiles to /engage, groups to /groups.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("kind", metavar="KIND", choices=("events", "profiles", "groups"),
                        help="events, profiles or groups")  # fmt: skip
    parser.add_argument("files", metavar="FILE", nargs="+", help="input files; - for stdin")
    job = parser.add_argument_group("import")
    job.add_argument("--workers", type=int, default=4, metavar="N",
                     help="batches sent at once (default 4, at most 16)")  # fmt: skip
    job.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="where acknowledged batches are recorded (default: FILE.import-checkpoint.json "
        "beside the first input; removed when the run completes)",
    )
    job.add_argument("--resume", action="store_true",
                     help="go on from the checkpoint, skipping the batches it names")  # fmt: skip
    job.add_argument(
        "--rejects",
        metavar="FILE",
        help="where rejected records go, as JSON Lines (default: FILE.rejects.jsonl beside the "
        "first input)",
    )
    job.add_argument("--max-rejects", type=int, metavar="N",
                     help="stop once more than N records were rejected")  # fmt: skip
    add_progress_option(job)
    add_request_options(parser, output=False, check_status=False)
    parser.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from ..bulk.imports import import_files

    progress = progress_mode(args)
    with open_runner(args) as runner, _term_as_interrupt():
        try:
            summary = import_files(
                runner,
                args.kind,
                args.files,
                workers=args.workers,
                checkpoint=args.checkpoint,
                rejects=args.rejects,
                resume=args.resume,
                max_rejects=args.max_rejects,
                dry_run=args.dry_run,
                progress=progress,
            )
        except KeyboardInterrupt as exc:
            interrupted = getattr(exc, "summary", None)
            if interrupted is None:
                raise
            print_json(interrupted.to_dict())
            print("mp-custom-action: interrupted; run again with --resume", file=sys.stderr)
            return int(interrupted.exit_status)
    print_json(summary.to_dict())
    if summary.stopped is not None:
        print(f"mp-custom-action: import stopped: {summary.stopped['reason']}", file=sys.stderr)
    return int(summary.exit_status)


@contextlib.contextmanager
def _term_as_interrupt() -> Iterator[None]:
    """A SIGTERM (a scheduler stopping the task) stops the run as Ctrl-C does: checkpoint saved."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
