"""`runner.py practical check [ITEM…]`: the practical exercise's checklist."""
from __future__ import annotations

import argparse


def register(subparsers) -> None:
    p = subparsers.add_parser("practical", help="check the practical exercise (see `practical --help`)",
                              add_help=False)
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    from course.teaching import practical

    return practical.main(list(args.rest) or ["--help"])
