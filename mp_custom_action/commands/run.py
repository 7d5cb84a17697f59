"""``mp-custom-action run MANIFEST``: check a JSON manifest whole, then run its steps in order."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .common import add_request_options, open_runner, print_json
from .presets import add_plugin_options, strict_flag

EXAMPLES = """\
examples:
  mp-custom-action run manifests/examples/quickstart.json --sandbox
  mp-custom-action run sync.json --profile eu-prod
  mp-custom-action run sync.json --dry-run
  mp-custom-action run reports.json --parallel 4

Every step is checked before the first request is sent (schema, presets and their inputs, card
inputs, references, credentials); a manifest that fails a check sends nothing (exit 2 or 3).
Output: {"ok": true|false, "steps": [...]}. Exit 0 when ok, else the first failed step's code:
4 (a status outside the step's expect, 5 for a 5xx), 6 (transport), 2 (input) or 3 (credential).
With --parallel N (or "parallel": N in the manifest), up to N steps that do not read each other
run at once, within each API's limits (Query: 5 at once); the output stays in manifest order.
See docs/manifests.md.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run a JSON manifest of steps (presets or raw calls)",
        description="Check a manifest, then send its steps in order with one connection pool. "
        "--region and --origin apply to every step; --check-status is implied.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("manifest", metavar="MANIFEST", help="the manifest JSON file (- for stdin)")
    parser.add_argument(
        "--parallel",
        type=int,
        metavar="N",
        help="run up to N (1-16) independent steps at once; overrides the manifest's parallel "
        "(default: the manifest's, else 1: in order)",
    )
    add_plugin_options(parser)
    # A manifest judges each step by its own `expect`, and a step says where its body goes.
    add_request_options(parser, output=False, check_status=False)
    parser.set_defaults(func=run_manifest_command)


def run_manifest_command(args: argparse.Namespace) -> int:
    from ..core.inputs import parse_json_text
    from ..manifests.load import load_manifest
    from ..manifests.run import check_manifest, check_parallel, dry_run, run_manifest

    source: Any = args.manifest
    if source == "-":
        source = parse_json_text(sys.stdin.read(), field="MANIFEST")
    if args.parallel is not None:
        check_parallel(args.parallel)  # refused before the manifest is even read
    manifest = load_manifest(source)
    # The manifest's profile applies when neither --profile nor MP_PROFILE chooses one.
    args.manifest_profile = manifest.profile
    strict = strict_flag(args)
    with open_runner(args) as runner:
        check_manifest(manifest, runner, region=args.region, strict_plugins=strict)
        if args.dry_run:
            print_json(dry_run(manifest, runner))
            return 0
        outcome = run_manifest(manifest, runner, strict_plugins=strict, parallel=args.parallel)
    print_json(outcome.to_dict())
    return outcome.exit_status
