"""Two-part table names inside SQL after ``USE CATALOG <other>``, found by a SQL parser.

In SQL text ``s.t`` may be a table or ``table.column``; only a parser knows. sqlglot
(pure Python, Databricks dialect) parses the statement and gives each table
reference's schema identifier with its position in the text; the kit replaces exactly
those characters with the mapped schema (`unity.schema_for`), leaving the rest of
the statement as written (it never regenerates SQL). Three-part names and
``` parquet.`/path` ``` are not touched here. A statement sqlglot cannot parse is left
as it is (Spark then reports the table in schema ``s`` as not found).
Loaded only after ``USE CATALOG`` of a catalog other than ``workspace``: sqlglot's
import costs about half a second.
"""
from __future__ import annotations


def qualify(statement: str, catalog: str) -> str:
    """`statement` with the schema of every two-part table name mapped into `catalog`."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import SqlglotError

    from course.runtime import unity
    from course.runtime.dbx.sqlpaths import FILE_FORMATS

    try:
        trees = sqlglot.parse(statement, read="databricks")
    except SqlglotError:
        return statement
    spans = []
    for tree in trees:
        if tree is None:
            continue
        for table in tree.find_all(exp.Table):
            db, name = table.args.get("db"), table.args.get("this")
            if db is None or table.args.get("catalog") is not None or not isinstance(db, exp.Identifier):
                continue
            if db.name.lower() in FILE_FORMATS and isinstance(name, exp.Identifier) and "/" in name.name:
                continue  # parquet.`/path`: a file, not a table
            start, end = db.meta.get("start"), db.meta.get("end")
            if start is None or end is None:
                continue
            spans.append((start, end + 1, unity.quote_name(unity.schema_for(catalog, db.name))))
    for start, end, mapped in sorted(spans, reverse=True):
        statement = statement[:start] + mapped + statement[end:]
    return statement
