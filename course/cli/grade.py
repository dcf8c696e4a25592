"""`runner.py grade CLASS_DIR [--out REPORT_DIR] [--timeout S] [--jobs N]`: grade a whole class.

Exit 0 when every learner passed every notebook and the practical, 1 when some did not,
2 for a bad command line (a CLASS_DIR that is missing or holds no learner folders, …).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from course.cli import EXIT_FAILED, EXIT_OK, UsageError


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if value <= 0:
            import argparse

            raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
        return value
    return parse


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "grade", help="grade a class: one folder per learner -> grades.csv, summary.md, report.html",
        description="Each learner's notebooks (01_bronze, 02_silver, 03_gold: any subset) run in order with the "
                    "solutions' check cells, the instructor's hidden checks included, in a process, state folder "
                    "and Spark of their own; the practical is checked from their databricks.yml and history.db. "
                    "Grading runs the learners' code: it is not a sandbox.")
    parser.add_argument("class_dir", type=Path, metavar="CLASS_DIR", help="one folder per learner")
    parser.add_argument("--out", type=Path, metavar="REPORT_DIR",
                        help="where the report goes (default: CLASS_DIR-report next to CLASS_DIR)")
    parser.add_argument("--timeout", type=_positive(float), default=600, metavar="S",
                        help="seconds per notebook (default 600)")
    parser.add_argument("--jobs", type=_positive(int), default=os.cpu_count() or 1, metavar="N",
                        help="learners graded at the same time (default: the number of cores)")
    parser.set_defaults(handler=_grade)


def _grade(args) -> int:
    from course.teaching.classgrade import batch, report

    class_dir = args.class_dir
    out = args.out or class_dir.resolve().with_name(class_dir.resolve().name + "-report")
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder")
    try:
        folders = batch.learner_folders(class_dir, out)
    except batch.ClassError as exc:
        raise UsageError(str(exc)) from None
    print(f"grading {len(folders)} learner{'s' if len(folders) != 1 else ''} from {class_dir}, "
          f"{args.jobs} at a time, {args.timeout:g} s per notebook", flush=True)
    results = batch.grade_class(class_dir, timeout=args.timeout, jobs=args.jobs, out_dir=out,
                                progress=lambda rows: print(batch.progress_line(rows), flush=True))
    report.write_report(results, out, class_dir.resolve().name)
    learners = report.by_learner(results)
    passed = sum(all(r.passed for r in rows) for rows in learners.values())
    print(f"{passed} of {len(learners)} learners passed everything; report: {out / 'report.html'}")
    sys.stdout.flush()
    return EXIT_OK if passed == len(learners) else EXIT_FAILED
