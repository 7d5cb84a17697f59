"""``mp-custom-action budgets``: what is left of Mixpanel's per-project rate limits on this machine."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import ExitStatus, InputError
from .common import print_json

EXAMPLES = """\
examples:
  mp-custom-action budgets                  # every project this machine has called lately
  mp-custom-action budgets --project 4242   # all of 4242's limits, used or not

Every command counts its calls to Mixpanel in one ledger shared by all your processes
(MP_BUDGETS_FILE, default $XDG_CACHE_HOME/mp-custom-action/budgets.json). MP_BUDGETS=on (default)
counts calls to Mixpanel and to non-loopback origins, all counts loopback origins (the sandbox)
too, off counts nothing. See docs/bulk.md, "Rate budgets".
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "budgets",
        help="show what is left of each project's Mixpanel rate limits",
        description="Print, as JSON, each rate limit's use and room per project, from the ledger "
        "every mp-custom-action process of yours shares.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--project",
        action="append",
        default=[],
        metavar="ID",
        help="also show this project's limits when unused (default: MP_PROJECT_ID); repeatable",
    )
    parser.set_defaults(func=run_budgets)


def run_budgets(args: argparse.Namespace) -> int:
    from ..bulk.budgets import Budgets

    projects = list(args.project) or [os.environ.get("MP_PROJECT_ID", "").strip()]
    for project in projects:
        if project and not project.isdigit():
            raise InputError(f"expected a project id (digits), got {project!r}", field="--project")
    budgets = Budgets()
    print_json(
        {
            "ledger": str(budgets.ledger.path),
            "mode": budgets.mode,
            "budgets": budgets.snapshot(tuple(p for p in projects if p)),
        }
    )
    return int(ExitStatus.OK)
