"""`display(obj)` and `displayHTML(html)`, Databricks' notebook helpers.

A Spark DataFrame (classic or Spark Connect) shows its first rows as an HTML
table (with a plain-text twin for text-only readers such as nbval). Anything
else goes to IPython's display, which renders pandas DataFrames as HTML.
pyspark is never imported here: a Spark DataFrame is recognised by its class.
"""
from __future__ import annotations

import html
from typing import Any

from course.runtime import shell

DISPLAY_ROW_LIMIT = 20  # Databricks shows up to 10 000 rows; a local kernel stays small


def is_spark_dataframe(obj: Any) -> bool:
    """pyspark.sql.DataFrame, pyspark.sql.connect.dataframe.DataFrame or a subclass."""
    return any(cls.__name__ == "DataFrame" and cls.__module__.startswith("pyspark.sql")
               for cls in type(obj).__mro__)


def _cell(value: Any) -> str:
    return "null" if value is None else str(value)


def spark_bundle(df: Any, limit: int = DISPLAY_ROW_LIMIT) -> dict[str, str]:
    """text/html and text/plain for the first `limit` rows of a Spark DataFrame."""
    columns = list(df.columns)
    rows = [[_cell(v) for v in row] for row in df.limit(limit + 1).collect()]
    more = len(rows) > limit
    rows = rows[:limit]
    note = f"Showing the first {limit} rows." if more else f"{len(rows)} row{'s' if len(rows) != 1 else ''}."

    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in rows)
    table = (f'<table class="dataframe day7-display"><thead><tr>{head}</tr></thead>'
             f"<tbody>{body}</tbody></table><p>{html.escape(note)}</p>")

    widths = [max([len(c)] + [len(r[i]) for r in rows]) for i, c in enumerate(columns)]
    line = "+" + "+".join("-" * (w + 2) for w in widths) + "+"
    fmt = lambda cells: "| " + " | ".join(v.ljust(w) for v, w in zip(cells, widths)) + " |"  # noqa: E731
    text = "\n".join([line, fmt(columns), line, *(fmt(r) for r in rows), line, note])
    return {"text/html": table, "text/plain": text}


def display(obj: Any, *, limit: int = DISPLAY_ROW_LIMIT) -> None:
    """Show a Spark DataFrame as a table; anything else as IPython would."""
    in_ipython = shell.ipython() is not None
    if is_spark_dataframe(obj):
        bundle = spark_bundle(obj, limit)
        if not in_ipython:
            print(bundle["text/plain"])
            return
        from IPython.display import display as ipython_display

        ipython_display(bundle, raw=True)
        return
    if not in_ipython:
        print(obj)
        return
    from IPython.display import display as ipython_display

    ipython_display(obj)


def displayHTML(html_text: str) -> None:
    """Render an HTML string (Databricks' displayHTML)."""
    if shell.ipython() is None:
        print(html_text)
        return
    from IPython.display import HTML, display as ipython_display

    ipython_display(HTML(html_text))
