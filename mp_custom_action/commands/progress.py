"""The ``--progress`` option the bulk commands share, and what it asks of the bulk jobs."""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["add_progress_option", "progress_mode"]


def add_progress_option(parser: Any) -> None:
    parser.add_argument(
        "--progress",
        choices=("auto", "bar", "lines", "none"),
        default="auto",
        help="on stderr: a bar on a terminal (with the 'progress' extra), plain lines "
        "otherwise (default auto; none with -q)",
    )


def progress_mode(args: argparse.Namespace) -> Any:
    """The bulk jobs' ``progress=``: None (auto), False (silent), ``"bar"`` or ``"lines"``."""
    if getattr(args, "quiet", False) and args.progress == "auto":
        return False  # -q: no notices on stderr, progress included
    return {"auto": None, "none": False}.get(args.progress, args.progress)
