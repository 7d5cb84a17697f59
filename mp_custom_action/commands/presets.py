"""``mp-custom-action presets list|show``: the presets that plugins (built-in ones included) offer."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any, Optional

from .common import print_json

if TYPE_CHECKING:
    from ..presets.model import Preset

__all__ = ["add_parser", "add_plugin_options", "strict_flag"]

EXAMPLES = """\
examples:
  mp-custom-action presets list
  mp-custom-action presets list --api query
  mp-custom-action presets list lookup table
  mp-custom-action presets list --api connectors --json
  mp-custom-action presets show query-jql
"""


def add_plugin_options(parser: argparse.ArgumentParser) -> None:
    """``--strict-plugins``, for every command that loads plugins."""
    parser.add_argument(
        "--strict-plugins",
        action="store_true",
        default=None,
        help="fail (exit 7) instead of warning when a plugin cannot load or offers a refused "
        "definition (env MP_STRICT_PLUGINS=1)",
    )


def strict_flag(args: argparse.Namespace) -> Optional[bool]:
    """True when ``--strict-plugins`` was given; None lets MP_STRICT_PLUGINS decide."""
    return True if getattr(args, "strict_plugins", None) else None


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "presets",
        help="list the presets, or show one's input schema",
        description="List the presets offered by plugins (a built-in one for every operation of "
        "Mixpanel's reference, grouped by family), or show one preset's input schema and example.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_plugin_options(parser)
    parser.set_defaults(func=run_list, json=False)
    actions = parser.add_subparsers(dest="presets_command", metavar="ACTION")

    list_parser = actions.add_parser(
        "list",
        help="list the presets (the default), optionally only some",
        description="List the presets; --api and TEXT keep only those that match both.",
    )
    list_parser.add_argument(
        "text",
        nargs="*",
        metavar="TEXT",
        help="keep presets whose name or summary holds every word given (any case)",
    )
    list_parser.add_argument(
        "--api",
        metavar="NAME",
        help="keep presets of this API selector (ingestion, query, lexicon, export, pipelines, "
        "connectors, or a plugin's; any of its names)",
    )
    list_parser.add_argument(
        "--json",
        action="store_true",
        help='print an array of {"name", "api", "method", "path", "summary", "plugin"}',
    )
    add_plugin_options(list_parser)
    list_parser.set_defaults(func=run_list)

    show = actions.add_parser(
        "show",
        help="print one preset with its input schema and an example input",
        description='Print {"name", "api", "method", "path", "summary", "plugin", "input_schema", '
        '"example"}: what a form needs to ask for the preset\'s input.',
    )
    show.add_argument("name", metavar="NAME", help="preset name, e.g. createWarehouseSource")
    add_plugin_options(show)
    show.set_defaults(func=run_show)


def _registry(args: argparse.Namespace) -> Any:
    from ..presets.plugins import loaded_plugins

    plugins = loaded_plugins()
    # Listing is where a user looks at what is installed: conflicts are shown there too.
    plugins.report(strict_flag(args), conflicts=args.func is run_list)
    return plugins.presets


def _matching(args: argparse.Namespace, presets: list[Preset]) -> list[Preset]:
    """The presets of ``--api`` (any name of the selector) holding every word of TEXT."""
    api_name = getattr(args, "api", None)
    if api_name is not None:
        from ..presets.plugins import loaded_plugins

        # An unknown name is an input error listing the selectors, not an empty list.
        api = loaded_plugins().apis.get(api_name, field="--api").name
        presets = [p for p in presets if p.api == api]
    words = [w.casefold() for w in getattr(args, "text", None) or [] if w.strip()]
    if words:
        presets = [
            p for p in presets if all(w in f"{p.name} {p.summary}".casefold() for w in words)
        ]
    return presets


def run_list(args: argparse.Namespace) -> int:
    presets: list[Preset] = _matching(args, list(_registry(args)))
    if args.json:
        print_json([p.summary_row() for p in presets])
        return 0
    rows = [("NAME", "METHOD", "API", "PATH", "PLUGIN", "SUMMARY")]
    rows += [(p.name, p.method, p.api, p.path, p.plugin, p.summary) for p in presets]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths)]
        sys.stdout.write("  ".join([*cells, row[-1]]).rstrip() + "\n")
    return 0


def run_show(args: argparse.Namespace) -> int:
    preset: Preset = _registry(args).get(args.name, field="NAME")
    print_json(preset.describe())
    return 0
