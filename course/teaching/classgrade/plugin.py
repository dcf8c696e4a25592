"""The pytest plugin of a class-grading notebook run (``pytest -p course.teaching.classgrade.plugin --nbval-lax``).

One JSON line per nbval cell goes to the file named by ``DAY7_CLASSGRADE_RESULTS``, as soon as
the cell has run (so a notebook killed at its timeout still leaves the cells it finished): the
cell's number, whether it passed, and for a failure the exception (name, value, traceback) and
the cell's actual text output. The expected output is not recorded: the grader has it, in the
graded notebook it wrote.
"""
from __future__ import annotations

import json
import os
import re

from course.platform.quickimport import skip_iri_format_checker

RESULTS_ENV = "DAY7_CLASSGRADE_RESULTS"
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")

skip_iri_format_checker()  # before nbval loads nbformat (see course/jobs/quickimport.py)


def clean(text: str) -> str:
    return _ANSI.sub("", text or "")


def output_text(outputs) -> str:
    """What a cell printed: streams and plain-text results, in order (no errors, no images)."""
    parts = []
    for output in outputs or []:
        kind = output.get("output_type")
        if kind == "stream":
            text = output.get("text", "")
            parts.append("".join(text) if isinstance(text, list) else text)
        elif kind in ("execute_result", "display_data"):
            text = output.get("data", {}).get("text/plain", "")
            parts.append(("".join(text) if isinstance(text, list) else text) + "\n")
    return clean("".join(parts))


def pytest_runtest_makereport(item, call):
    target = os.environ.get(RESULTS_ENV)
    if not target or call.when != "call" or not hasattr(item, "cell_num"):
        return None
    record = {"cell": item.cell_num, "passed": call.excinfo is None, "ename": "", "evalue": "",
              "traceback": "", "actual": output_text(getattr(item, "test_outputs", None))}
    if call.excinfo is not None:
        if call.excinfo.typename == "Skipped":  # after dbutils.notebook.exit
            record["passed"] = True
        else:
            error = next((o for o in getattr(item, "test_outputs", None) or [] if o.get("output_type") == "error"), None)
            if error is not None:
                record["ename"] = error.get("ename", "")
                record["evalue"] = clean(str(error.get("evalue", ""))).strip()
                record["traceback"] = clean("\n".join(error.get("traceback", [])))
            else:  # outputs differ, or nbval's own timeout
                exc = call.excinfo.value
                record["ename"] = "OutputMismatch" if "outputs differ" in str(exc).lower() else type(exc).__name__
                record["evalue"] = clean(str(exc)).strip()
                record["traceback"] = clean(str(getattr(exc, "inner_traceback", "") or ""))
    with open(target, "a", encoding="utf-8") as out:
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    return None
