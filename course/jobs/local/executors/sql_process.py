"""A sql_task's statements on Spark SQL, in their own process (`python -m course.jobs.local.executors.sql_process`).

The job runner starts this with the task's cluster as SPARK_REMOTE: the statements (a .sql
file, or a Databricks source-format SQL notebook's SQL cells) run in order
through the kit's Unity Catalog mapping; `:name` markers take the task's parameters, as
Databricks SQL binds them. The last statement's first rows are the task's output
(result.json beside stdout.log). One failing statement ends the task with its message.
"""
from __future__ import annotations

import json
import re
import sys
from pathlib import Path

MAX_ROWS = 100                       # rows of the last result kept as the output
_MARKER = re.compile(r"(?<![:\w]):([A-Za-z_]\w*)")


def statements_of(text: str, source: Path) -> list[str]:
    """The statements of a .sql file (a source-format notebook: its SQL cells only)."""
    from course.runtime import sourcenb, unity

    if sourcenb.is_source_notebook(source):
        cells = []
        for cell in sourcenb.read(source)["cells"]:
            body = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
            if cell["cell_type"] != "code":
                continue
            if not body.startswith("%%sql"):
                raise ValueError(f"{source.name}: a SQL task runs SQL cells only, found: {body.splitlines()[0][:60]}")
            cells.append(body[len("%%sql"):])
        text = ";\n".join(cells)
    return [s.strip() for s in unity.split_statements(text)]


def run(statements: list[str], parameters: dict[str, str], out_dir: Path) -> dict:
    from course.runtime import unity
    from course.runtime.spark import get_spark

    spark = get_spark()
    result = None
    for number, statement in enumerate(statements, 1):
        used = set(_MARKER.findall(statement))
        args = {k: v for k, v in parameters.items() if k in used}
        try:
            result = unity.sql(spark, statement, args=args or None)
            if number < len(statements) and result.columns:
                result.limit(1).collect()  # a query is lazy: fail here, at its statement, as Databricks would
        except Exception as exc:  # Spark's own message names the problem
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise RuntimeError(f"statement {number} of {len(statements)} failed: {first}") from None
    rows = result.limit(MAX_ROWS + 1).collect() if result is not None and result.columns else []
    return {"statements": len(statements), "columns": list(result.columns) if result is not None else [],
            "rows": [[_plain(v) for v in r] for r in rows[:MAX_ROWS]], "truncated": len(rows) > MAX_ROWS}


def _plain(value):
    return value if value is None or isinstance(value, (bool, int, float, str)) else str(value)


def main(argv: list[str]) -> int:
    spec = json.loads(argv[0])  # {"file", "parameters", "output_dir", "note"}
    out_dir = Path(spec["output_dir"])
    source = Path(spec["file"])
    try:
        statements = statements_of(source.read_text(encoding="utf-8"), source)
        if not statements:
            raise ValueError(f"{source.name} has no SQL statement")
        output = run(statements, spec.get("parameters") or {}, out_dir)
    except (ValueError, RuntimeError, OSError) as exc:
        print(exc, flush=True)
        return 1
    if spec.get("note"):
        output["note"] = spec["note"]
    (out_dir / "result.json").write_text(json.dumps(output, indent=1))
    print(f"{output['statements']} statement(s); last result: {len(output['rows'])} row(s) "
          f"{output['columns']}", flush=True)
    for row in output["rows"][:20]:
        print(row)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
