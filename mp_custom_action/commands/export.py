"""``mp-custom-action export --from-date D --to-date D``: a date range of events, window by window."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import ExitStatus
from .common import add_request_options, open_runner, print_json
from .progress import add_progress_option, progress_mode

EXAMPLES = """\
examples:
  mp-custom-action export --from-date 2024-01-01 --to-date 2024-01-31 -o jan.jsonl --parallel 6
  mp-custom-action export --from-date 2024-01-01 --to-date 2024-01-07 --output-dir week/ --event Purchase
  mp-custom-action export --from-date 2024-01-01 --to-date 2024-01-31 -o jan.jsonl --resume

Each window (--window, default 1d; hours such as 6h allowed, at least 1h) is one Export request.
Windows arrive in any order and are written in date order; a run stopped for any reason carries
on with --resume (the state is in FILE.export-state.json, or DIR/.export-state.json). Progress
goes to stderr (-q: none); the summary, as JSON, to stdout. See docs/bulk.md, "Export".
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a date range of raw events, by windows, in parallel, resumable",
        description="Export raw events of --from-date..--to-date (inclusive) from the Raw Data "
        "Export API, a window at a time, up to --parallel at once, into one file in date order "
        "or one file per window; print a JSON summary.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--from-date", required=True, metavar="YYYY-MM-DD", help="first day")
    parser.add_argument("--to-date", required=True, metavar="YYYY-MM-DD", help="last day")
    parser.add_argument(
        "--window", default="1d", help="size of one request: Nd or Nh, at least 1h (default 1d)"
    )
    parser.add_argument(
        "--parallel", type=int, default=1, metavar="N", help="windows fetched at once (default 1)"
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--output", "-o", metavar="FILE", help="write every window to FILE")
    where.add_argument("--output-dir", metavar="DIR", help="write each window to DIR/WINDOW.jsonl")
    parser.add_argument(
        "--event", action="append", metavar="NAME", help="only this event (repeatable)"
    )
    parser.add_argument("--where", metavar="EXPR", help="Mixpanel filter expression")
    parser.add_argument(
        "--limit", type=int, metavar="N", help="at most N events per window (Export's limit)"
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="carry on a stopped export: fetch only what is missing",
    )
    add_progress_option(parser)
    add_request_options(parser, output=False, check_status=False)
    parser.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from ..bulk.exports import export_range

    with open_runner(args) as runner:
        if args.dry_run:
            return _dry_run(runner, args)
        summary = export_range(
            runner,
            args.from_date,
            args.to_date,
            window=args.window,
            parallel=args.parallel,
            output=args.output,
            output_dir=args.output_dir,
            event=args.event,
            where=args.where,
            limit=args.limit,
            resume=args.resume,
            progress=progress_mode(args),
        )
    print_json(summary.to_dict())
    if summary.failed:
        return int(summary.failed[0].get("exit_status") or ExitStatus.ERROR)
    return int(ExitStatus.OK)


def _dry_run(runner: Any, args: argparse.Namespace) -> int:
    from ..bulk.exports import window_requests

    windows, requests = window_requests(
        runner, args.from_date, args.to_date, args.window, args.event, args.where, args.limit
    )
    print_json({"windows": len(windows), "requests": [r.describe() for r in requests]})
    return int(ExitStatus.OK)
