"""Grading a class: `python runner.py grade CLASS_DIR [--out REPORT_DIR] [--timeout S] [--jobs N]`.

CLASS_DIR holds one folder per learner, with their exercise notebooks under the released names
(any subset) and, for the practical exercise, their ``databricks.yml`` (and ``history.db``).

* `batch.grade_class` runs each learner in a process of its own (`learner`), N at a time.
* `learner` gives the learner a state folder (``DAY7_HOME``) and a job cluster of their own,
  and runs their notebooks in order with nbval, each under a wall-clock timeout, with the
  reference check cells in place of theirs, the instructor's hidden checks included.
* `plugin` is the pytest plugin that records each cell's outcome.
* `report` writes grades.csv, summary.md, report.html and feedback/<learner>.md.

Grading runs learners' code: it is not a sandbox (see the README).
"""
from course.teaching.classgrade.model import STATUSES, Check, NotebookResult, Problem

__all__ = ["STATUSES", "Check", "NotebookResult", "Problem"]
