"""``mp-custom-action preset NAME --input JSON``: run a preset with a checked input."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_request_options, open_runner, read_json_argument
from .paging import add_paging_options, send_or_paginate
from .presets import add_plugin_options, strict_flag

EXAMPLES = """\
examples:
  mp-custom-action preset listWarehouseSources
  mp-custom-action preset getWarehouseSource --input '{"sourceId": "src_abc123"}'
  mp-custom-action preset createWarehouseSource --input @source.json --dry-run

The input is one JSON object: path parameters at the top level (projectId defaults to
MP_PROJECT_ID), the request body under "body", query parameters under "query". It is checked
against the preset's schema (see: presets show NAME) before anything is sent.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "preset",
        help="run a named preset with a checked input",
        description="Check the input against the preset's schema, then send it like `call` "
        'and print {"status_code", "headers", "body"}.',
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("name", metavar="NAME", help="preset name (see: presets list)")
    parser.add_argument(
        "--input",
        "-i",
        metavar="JSON",
        help="the preset's input object: inline JSON, @file, or - for stdin (default: {})",
    )
    parser.add_argument(
        "--check-response",
        action="store_true",
        help="warn (never fail) when the response body does not match the preset's schema "
        "for that status",
    )
    add_plugin_options(parser)
    add_request_options(parser)
    add_paging_options(parser)
    parser.set_defaults(func=run_preset)


def run_preset(args: argparse.Namespace) -> int:
    from ..presets.plugins import preset_registry

    preset = preset_registry(strict=strict_flag(args)).get(args.name, field="NAME")
    preset_input = {} if args.input is None else read_json_argument(args.input, field="--input")
    with open_runner(args) as runner:
        inputs = preset.to_inputs(preset_input, project_id=runner.credentials.project_id)
        after = preset.warn_response if args.check_response else None
        return send_or_paginate(runner, runner.prepare(inputs), args, after=after)
