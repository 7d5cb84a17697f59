"""``mp-custom-action call METHOD API RELATIVE_URL``: one Custom API Action from arguments."""

from __future__ import annotations

import argparse
from typing import Any

from ..errors import InputError
from .common import add_request_options, open_runner, read_json_argument
from .paging import add_paging_options, send_or_paginate

EXAMPLES = """\
examples:
  mp-custom-action call GET query /2.0/events/names --query '{"type": "general"}'
  mp-custom-action call POST ingestion /track --body '[{"event": "Signed up", "properties": {"distinct_id": "u1"}}]'
  mp-custom-action call GET export '' --query-param from_date=2024-01-01 --query-param to_date=2024-01-31 -o events.jsonl
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "call",
        help="send one custom API call",
        description="Send one authenticated call to a Mixpanel API and print "
        '{"status_code", "headers", "body"}.',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("method", metavar="METHOD", help="GET, POST, PUT, PATCH or DELETE")
    parser.add_argument(
        "api",
        metavar="API",
        help="ingestion, query, lexicon, export, pipelines, connectors (or the card's names)",
    )
    parser.add_argument(
        "relative_url",
        metavar="RELATIVE_URL",
        nargs="?",
        default="",
        help="path under the API's base URL, may hold ?query and #operation ('' or / for the base)",
    )
    parser.add_argument("--query", metavar="JSON", help="query object (JSON, @file or -)")
    parser.add_argument(
        "--query-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="one query parameter; repeat a key to send it several times",
    )
    parser.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="one extra header, as Name=Value or 'Name: Value' (auth, cookies, framing and "
        "connection headers are the "
        "connector's; Content-Type and Content-Encoding pick among what the endpoint accepts, "
        "e.g. Content-Type=application/x-ndjson, Content-Encoding=gzip on /import)",
    )
    parser.add_argument(
        "--body",
        metavar="JSON",
        help="JSON body (inline, @file or - for stdin), encoded as the endpoint takes it: JSON, "
        "form fields, JSON Lines or CSV (docs/inputs.md)",
    )
    add_request_options(parser)
    add_paging_options(parser)
    parser.set_defaults(func=run_call)


def _pairs(values: list[str], *, field: str) -> list[tuple[str, str]]:
    pairs = []
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            # The item is not quoted back: a header's value may be an API key.
            raise InputError("expected KEY=VALUE", field=field)
        pairs.append((key, value))
    return pairs


def _header_pairs(values: list[str]) -> list[tuple[str, str]]:
    """``Name=Value`` or httpie's and curl's ``Name: Value``: a header name holds neither sign,
    so whichever comes first separates (a value may hold both: ``Bearer a=b``)."""
    pairs = []
    for item in values:
        colon, equals = item.find(":"), item.find("=")
        if colon > 0 and (equals < 0 or colon < equals):
            pairs.append((item[:colon].strip(), item[colon + 1 :].strip(" \t")))
        else:
            pairs.extend(_pairs([item], field="--header"))
    return pairs


def inputs_from_args(args: argparse.Namespace) -> dict[str, Any]:
    query: Any = None
    if args.query is not None:
        query = read_json_argument(args.query, field="--query")
        if not isinstance(query, dict):
            raise InputError("expected a JSON object", field="--query")
    for key, value in _pairs(args.query_param, field="--query-param"):
        query = {} if query is None else query
        if key in query:
            existing = query[key]
            query[key] = [*existing, value] if isinstance(existing, list) else [existing, value]
        else:
            query[key] = value
    headers = dict(_header_pairs(args.header)) if args.header else None
    inputs: dict[str, Any] = {
        "method": args.method,
        "api": args.api,
        "relative_url": args.relative_url,
        "query": query,
        "headers": headers,
    }
    if args.body is not None:
        inputs["body"] = read_json_argument(args.body, field="--body")
    return inputs


def run_call(args: argparse.Namespace) -> int:
    inputs = inputs_from_args(args)
    with open_runner(args) as runner:
        return send_or_paginate(runner, runner.prepare(inputs), args)
