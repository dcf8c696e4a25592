"""What the Databricks environment's extras cost (course/runtime/dbx/), without Spark.

Prints: open()+close() with and without the file audit hook (every kernel the kit starts
has it), a printed line with and without secret redaction, mapping a SQL statement's file
paths, and finding two-part table names with sqlglot (first call includes its import).
"""
from __future__ import annotations

import io
import os
import sys
import tempfile
import time

os.environ.setdefault("DAY7_HOME", tempfile.mkdtemp(prefix="day7-bench-dbx-"))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def per_call(fn, n: int) -> float:
    """Best of three runs of n calls, in microseconds per call."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    return best * 1e6


def main() -> None:
    from course.runtime.dbx import filehook, secrets, sqlnames, sqlpaths

    opening = lambda: open(os.devnull).close()  # noqa: E731
    before = per_call(opening, 20000)
    filehook.install()
    print(f"open()+close(): {before:.2f} us without the audit hook, {per_call(opening, 20000):.2f} us with it")

    sink = io.StringIO()
    line = "row 42: customer c3 paid 17.50 for order 9001\n"
    plain = per_call(lambda: sink.write(line), 50000)
    secrets._values.add("tok-9f8e7d6c5b")
    redacting = secrets._RedactingStream(sink)
    print(f"a printed line: {plain:.2f} us plain, {per_call(lambda: redacting.write(line), 50000):.2f} us "
          "with one secret to redact")

    sql = "SELECT * FROM parquet.`/Volumes/workspace/day7/raw/events` e JOIN csv.`dbfs:/tmp/x` USING (id)"
    print(f"SQL file paths mapped: {per_call(lambda: sqlpaths.rewrite(None, sql), 2000):.1f} us per statement")
    start = time.perf_counter()
    sqlnames.qualify("SELECT 1 FROM s.t", "main")
    first = time.perf_counter() - start
    query = "SELECT o.id, c.name FROM sales.orders o JOIN sales.customers c ON o.c = c.id WHERE o.amount > 10"
    print(f"two-part names after USE CATALOG (sqlglot): first call {first * 1000:.0f} ms (import), "
          f"then {per_call(lambda: sqlnames.qualify(query, 'main'), 200) / 1000:.2f} ms per statement")


if __name__ == "__main__":
    main()
