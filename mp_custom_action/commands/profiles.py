"""``mp-custom-action profiles list|show``: the config file's profiles, every secret redacted."""

from __future__ import annotations

import argparse
import os
from typing import Any

from ..errors import ConfigError
from .common import print_json

EXAMPLES = """\
examples:
  mp-custom-action profiles list
  mp-custom-action profiles show eu-prod

The config file is $MP_CONFIG, else $XDG_CONFIG_HOME/mp-custom-action/config.toml, else
~/.config/mp-custom-action/config.toml. username, secret, api_secret and token print as "***";
secret_env and the other *_env keys print the variable's name. See docs/configuration.md.
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "profiles",
        help="list the config file's profiles, or show one (secrets redacted)",
        description="Print the profiles of the config file as JSON, with every secret redacted.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="profiles_command", metavar="ACTION")
    actions.add_parser(
        "list", help="list the profiles (the default)", description="List the profiles."
    ).set_defaults(func=run_list)
    show = actions.add_parser("show", help="show one profile", description="Show one profile.")
    show.add_argument("name", metavar="NAME", help="profile name")
    show.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    from ..profiles import list_profiles

    print_json(list_profiles(os.environ))
    return 0


def run_show(args: argparse.Namespace) -> int:
    from ..profiles import list_profiles

    listing = list_profiles(os.environ)
    profiles = listing["profiles"]
    if args.name not in profiles:
        known = ", ".join(profiles) or "none"
        raise ConfigError(
            f"unknown profile {args.name!r} in {listing['config']}; profiles there: {known}"
        )
    print_json(
        {
            "name": args.name,
            "config": listing["config"],
            "default": listing["default"] == args.name,
            "settings": profiles[args.name],
        }
    )
    return 0
