"""Expectations, which open-source Spark Declarative Pipelines does not have: a thin layer.

Enforcement happens inside the flow, on the cluster: a `drop` expectation filters the
rows that violate it, a `fail` expectation makes the flow raise (`raise_error`) on the
first row that violates it, naming the expectation, so the update fails as on Databricks;
`warn` leaves rows alone. A row passes only when the condition is true (false and NULL
violate: the kit's choice, the docs say a condition evaluates to true or false).

Counting happens after a successful update, in the driver: the dataset's query (without
the expectations) is read once more as a batch and each condition counted over it. For a
materialized view that is exactly the rows the update saw; for a streaming table it is
every row of its sources, not only the new ones (the update's own rows are not counted
on the cluster).
"""
from __future__ import annotations

from dataclasses import dataclass

ACTIONS = ("warn", "drop", "fail")


@dataclass(frozen=True)
class Expectation:
    name: str
    condition: str
    action: str           # "warn" (keep the row), "drop" (drop it), "fail" (fail the update)

    def passed_sql(self) -> str:
        return f"coalesce(({self.condition}), false)"


def check_names(dataset: str, expectations: list[Expectation]) -> None:
    names = [e.name for e in expectations]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"dataset {dataset}: expectation names must be unique per dataset, "
                         f"{', '.join(dupes)} is used twice")


def enforce(df, dataset: str, expectations: list[Expectation]):
    """`df` with fail expectations raising and drop expectations filtering, in that order
    (a row that violates both fails the update, as a fail expectation sees every row)."""
    from pyspark.sql import functions as F

    for e in expectations:
        if e.action == "fail":
            message = f"expectation '{e.name}' on {dataset} failed (ON VIOLATION FAIL UPDATE): {e.condition}"
            df = df.filter(F.when(F.expr(e.passed_sql()), F.lit(True))
                           .otherwise(F.raise_error(F.lit(message)).cast("boolean")))
    for e in expectations:
        if e.action == "drop":
            df = df.filter(F.expr(e.passed_sql()))
    return df


def enforce_sql(query: str, dataset: str, expectations: list[Expectation]) -> str:
    """The same for a SQL dataset: its query wrapped in a filtering SELECT."""
    conds = []
    for e in expectations:
        if e.action == "fail":
            message = f"expectation '{e.name}' on {dataset} failed (ON VIOLATION FAIL UPDATE): {e.condition}"
            quoted = message.replace("\\", "\\\\").replace("'", "\\'")
            conds.append(f"(CASE WHEN {e.passed_sql()} THEN true ELSE CAST(raise_error('{quoted}') AS BOOLEAN) END)")
    conds += [e.passed_sql() for e in expectations if e.action == "drop"]
    if not conds:
        return query
    return f"SELECT * FROM ({query}) AS __day7_checked WHERE " + " AND ".join(conds)


def count(df, expectations: list[Expectation]) -> dict:
    """{rows, expectations: [{name, action, passed, failed}]} over `df`, in one pass."""
    from pyspark.sql import functions as F

    aggs = [F.count(F.lit(1)).alias("__rows")]
    aggs += [F.sum(F.when(F.expr(e.passed_sql()), 0).otherwise(1)).alias(f"__e{i}")
             for i, e in enumerate(expectations)]
    row = df.agg(*aggs).collect()[0]
    rows = int(row["__rows"])
    out = []
    for i, e in enumerate(expectations):
        failed = int(row[f"__e{i}"] or 0)
        out.append({"name": e.name, "condition": e.condition, "action": e.action,
                    "passed": rows - failed, "failed": failed,
                    "dropped": failed if e.action == "drop" else 0})
    return {"input_rows": rows, "expectations": out}
