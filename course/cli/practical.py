"""`runner.py practical check [ITEM…]`: the practical exercise's checklist."""
from __future__ import annotations

from course.cli.common import add_passthrough


def register(subparsers) -> None:
    add_passthrough(subparsers, "practical", "check the practical exercise (see `practical --help`)", handle)


def handle(args) -> int:
    from course.teaching import practical

    return practical.main(list(args.rest) or ["--help"])
