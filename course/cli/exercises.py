"""`runner.py exercises release | check | grade PATH...`: exercises made from the solutions.

* ``release`` regenerates ``notebooks/exercises/`` from ``solutions/`` (``--run-solutions``
  first re-executes the solutions in a fresh state folder, to refresh their saved outputs).
* ``check`` exits 1 when the exercises on disk differ from what ``release`` would write.
* ``grade`` runs nbval on learner notebooks and prints a report per notebook: exit 0
  when every one passes, 1 otherwise.
"""
from __future__ import annotations

import json
from pathlib import Path

from course.cli import EXIT_FAILED, EXIT_OK, UsageError


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "exercises", help="release, check and grade the exercise notebooks",
        description="Exercises are generated from solutions/ (code between # BEGIN SOLUTION and "
                    "# END SOLUTION becomes a TODO); learners' notebooks are graded with nbval.")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", parser_class=type(parser))
    actions.required = True

    release = actions.add_parser("release", help="regenerate notebooks/exercises/ from solutions/")
    release.add_argument("--run-solutions", action="store_true",
                         help="first execute the solutions (fresh kit state) and save their outputs")
    release.set_defaults(handler=_release)

    check = actions.add_parser("check", help="fail when notebooks/exercises/ drifted from solutions/")
    check.set_defaults(handler=_check)

    grade = actions.add_parser("grade", help="run learner notebooks with nbval and report per notebook",
                               description="Each notebook runs in its own kernel, in the order given, "
                                           "in a fresh kit state folder (so give bronze, silver, gold in order). "
                                           "Check cells come from the solutions, whatever the notebook says.")
    grade.add_argument("paths", nargs="+", metavar="PATH", help="learner notebooks, or folders of them")
    grade.add_argument("--json", action="store_true", help="print the grades as JSON")
    grade.add_argument("--cell-timeout", type=int, default=600, help="seconds per cell (default 600)")
    grade.set_defaults(handler=_grade)


def _release(args) -> int:
    from course.platform.paths import REPO_ROOT
    from course.teaching import exercises

    if args.run_solutions:
        for path in exercises.refresh_solutions():
            print(f"executed {path.relative_to(REPO_ROOT)}")
    for path in exercises.release():
        print(f"wrote {path.relative_to(REPO_ROOT)}")
    return EXIT_OK


def _check(args) -> int:
    from course.teaching import exercises

    problems = exercises.drift()
    if problems:
        for problem in problems:
            print(f"✗ {problem}")
        print("Run `python runner.py exercises release` and commit the result.")
        return EXIT_FAILED
    print("✓ notebooks/exercises/ matches solutions/")
    return EXIT_OK


def _expand(raw_paths: list[str]) -> list[Path]:
    found = []
    for raw in raw_paths:
        path = Path(raw)
        if path.is_dir():
            found += sorted(p for p in path.glob("*.ipynb") if not p.name.startswith("."))
        elif path.is_file() and path.suffix == ".ipynb":
            found.append(path)
        else:
            raise UsageError(f"{raw}: not a notebook (.ipynb) or a folder of them")
    if not found:
        raise UsageError(f"no notebooks in {', '.join(raw_paths)}")
    return found


def _grade(args) -> int:
    from course.teaching import grading

    grades = grading.grade(_expand(args.paths), cell_timeout=args.cell_timeout)
    if args.json:
        print(json.dumps([g.as_dict() for g in grades], indent=2, ensure_ascii=False))
    else:
        print(grading.format_report(grades))
    return EXIT_OK if all(g.passed for g in grades) else EXIT_FAILED
