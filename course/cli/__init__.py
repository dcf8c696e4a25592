"""The command line behind `python runner.py` (also installed as `day7`).

Each subcommand lives in its own module with `register(subparsers)`, which adds
its parser and sets `handler` to a function `(args) -> exit code`; `build_parser`
lists them, in the order `--help` shows them.
Exit codes: 0 success, 1 a run that did not succeed (or a doctor failure),
2 a bad command line, job definition or configuration — in which case nothing ran.
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import sys

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """A problem with what the user asked for: printed as one message, exit 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="runner.py", description="Run, repair and deploy the Day 7 job.")
    subparsers = parser.add_subparsers(dest="command", parser_class=_Parser)
    # Imported here, not at the top: each command module imports this package's names.
    from course.cli import clusters, data, deploy, doctor, exercises, grade, practical, repair, run, runs, schedule, serve

    for command in (run, repair, runs, schedule, serve, clusters, deploy, data, practical, exercises, grade, doctor):
        command.register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt:  # Ctrl-C before a run started (e.g. while loading modules)
        print("interrupted", file=sys.stderr)
        return 130


def main_and_exit() -> None:
    """The command's process entry point: `main()`, then exit at once.

    By then every kernel, JVM and thread the command started has been stopped and
    the history is committed; what is left is Python tearing down some 2,000
    modules (pandas, pyarrow, zmq, the SDK), about 0.5 s that nobody waits for.
    Standard streams are flushed first."""
    code = main()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a closed pipe (`runner.py runs | head`) is not an error
    os._exit(code)


def _main(argv: list[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # `python runner.py --layer silver` means `run --layer silver`: run is the default.
    if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help"}):
        argv.insert(0, "run")
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        # `data` passes everything on to the generator's own parser; argparse's REMAINDER
        # does not take a leading option (`data --help`), so it arrives here.
        if getattr(args, "rest", None) is None:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
        args.rest = extra + args.rest
    try:
        return args.handler(args)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except sqlite3.DatabaseError as exc:  # the history file, not the request, is the problem
        print(f"error: {history_problem(exc)}", file=sys.stderr)
        return EXIT_USAGE


def history_problem(exc: sqlite3.DatabaseError) -> str:
    """One paragraph for a history file SQLite refuses: which file, what is wrong, what to do."""
    from course.platform import paths

    db = paths.history_db()
    if "full" in str(exc).lower():
        return (f"no space left for the run history {db} ({exc}): free some disk space under "
                f"{db.parent} and run again; SQLite rolled the unfinished change back")
    return (f"the run history {db} is damaged ({exc}); move it aside to start a new one "
            f"(mv {db} {db}.broken) — the runs it held are then no longer listed")
