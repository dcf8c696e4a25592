"""`runner.py data generate`: bigger e-commerce event files for the job."""
from __future__ import annotations

from course.cli.common import add_passthrough


def register(subparsers) -> None:
    add_passthrough(subparsers, "data", "generate e-commerce event CSVs (see `data generate --help`)", handle)


def handle(args) -> int:
    from course.teaching import data

    rest = list(args.rest)
    if rest[:1] == ["generate"]:
        rest = rest[1:]
    if not rest:
        rest = ["--help"]
    from course.platform.localpaths import to_local
    # Databricks-style output paths (/Volumes/…, dbfs:/…) go to the local stand-ins.
    if "--out" in rest:
        i = rest.index("--out") + 1
        if i < len(rest):
            rest[i] = to_local(rest[i])
    return data.main(rest)
