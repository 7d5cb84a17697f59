"""``mp-custom-action card [FILE]``: run a Custom API Action card given as one JSON object."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from .common import add_request_options, open_runner, read_json_argument, send_or_describe

EXAMPLE = """\
example:
  echo '{"Request Type": "POST", "Select API": "Ingestion API", "Relative URL": "/track",
         "Body": [{"event": "Signed up", "properties": {"distinct_id": "u1"}}]}' | mp-custom-action card

The object's keys are the card's names ("Request Type", "Select API", "Relative URL", "Query",
"Headers", "Body") or ours (method, api, relative_url, query, headers, body; also region, auth).
Output: {"Status Code": ..., "Headers": {...}, "Body": ...}.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "card",
        help="run a card's inputs given as one JSON object",
        description="Read one JSON object of card inputs (from FILE or stdin) and run it.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "file",
        nargs="?",
        default="-",
        metavar="FILE",
        help="JSON file of card inputs (default: stdin)",
    )
    add_request_options(parser)
    parser.set_defaults(func=run_card)


def run_card(args: argparse.Namespace) -> int:
    source = "-" if args.file == "-" else "@" + args.file
    inputs = read_json_argument(source, field="card")
    if not isinstance(inputs, dict):
        raise InputError(
            f"expected a JSON object of card inputs, got {type(inputs).__name__}", field="card"
        )
    with open_runner(args) as runner:
        return send_or_describe(runner, runner.prepare(inputs), args, card=True)
