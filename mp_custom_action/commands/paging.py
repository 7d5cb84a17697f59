"""``--paginate`` and ``--merge-pages`` on ``call`` and ``preset``: follow a paged endpoint's pages."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any, Callable, Optional

from ..errors import ExitStatus, InputError, http_exit_status
from .common import exit_status_for, print_json, send_or_describe

if TYPE_CHECKING:
    from ..core.request import OutgoingRequest
    from ..core.results import Result
    from ..core.runner import Runner

__all__ = ["add_paging_options", "send_or_paginate"]


def add_paging_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pages (Query POST /2.0/engage: session_id and page)")
    group.add_argument(
        "--paginate",
        action="store_true",
        help="follow every page and print each record as one JSON line (a summary goes to stderr)",
    )
    group.add_argument(
        "--merge-pages",
        action="store_true",
        help="follow every page and print one result whose body's results hold them all",
    )
    group.add_argument(
        "--max-pages",
        type=int,
        metavar="N",
        help="stop after N pages (with --paginate or --merge-pages)",
    )


def send_or_paginate(
    runner: Runner,
    request: OutgoingRequest,
    args: argparse.Namespace,
    *,
    after: Optional[Callable[[Result], object]] = None,
) -> int:
    """:func:`send_or_describe`, or, with ``--paginate``/``--merge-pages``, every page."""
    from ..bulk.pages import Pages

    paged = args.paginate or args.merge_pages
    if not paged:
        if args.max_pages is not None:
            raise InputError("needs --paginate or --merge-pages", field="--max-pages")
        return send_or_describe(runner, request, args, after=after)
    if args.paginate and args.merge_pages:
        raise InputError(
            "choose one of --paginate (JSON lines) and --merge-pages", field="--paginate"
        )
    if getattr(args, "output", None):
        raise InputError("--output takes one body; with pages, redirect stdout", field="--output")
    pages = Pages(runner, request, max_pages=args.max_pages)
    if args.dry_run:
        print_json(request.describe())
        return int(ExitStatus.OK)
    if args.merge_pages:
        return _merged(pages, args, after)
    return _lines(pages, args, after)


def _lines(
    pages: Any, args: argparse.Namespace, after: Optional[Callable[[Result], object]]
) -> int:
    last = None
    out = sys.stdout
    for page in pages:
        last = page.result
        if after is not None:
            after(page.result)
        # One write per page: records reach stdout as each page arrives, never all at once.
        text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in page.records)
        out.write(text)
        out.flush()
    _summary(pages, args)
    if pages.stopped == "status" and last is not None:
        error = last.body.get("error") if isinstance(last.body, dict) else last.body
        print(
            f"mp-custom-action: page {pages.pages} answered HTTP {last.status_code}"
            + (f": {str(error)[:200]}" if error else ""),
            file=sys.stderr,
        )
        return int(http_exit_status(last.status_code))
    return int(ExitStatus.OK if pages.complete else ExitStatus.TRANSPORT_ERROR)


def _merged(
    pages: Any, args: argparse.Namespace, after: Optional[Callable[[Result], object]]
) -> int:
    records: list[Any] = []
    last = None
    for page in pages:
        last = page.result
        if after is not None:
            after(page.result)
        records.extend(page.records)
    _summary(pages, args)
    if last is None:  # the first answer was for another page than asked
        return int(ExitStatus.TRANSPORT_ERROR)
    out = last.to_dict()
    if last.ok and isinstance(last.body, dict):
        out["body"] = {**last.body, "results": records}
    out["pages"] = pages.pages
    out["stopped"] = pages.stopped
    print_json(out)
    if pages.stopped == "status":
        return exit_status_for(last, args.check_status)
    return int(ExitStatus.OK if pages.complete else ExitStatus.TRANSPORT_ERROR)


def _summary(pages: Any, args: argparse.Namespace) -> None:
    if getattr(args, "quiet", False):
        return
    how = "stopped" if pages.complete else "incomplete"
    print(
        f"mp-custom-action: {pages.pages} page{'s' if pages.pages != 1 else ''}, "
        f"{pages.records:,} records ({how}: {pages.stopped})",
        file=sys.stderr,
    )
