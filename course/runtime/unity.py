"""Unity Catalog names and Delta-only SQL on the local Spark, by rewriting names in the kit's SQL path.

Spark's catalog plugin API needs JVM code, so the local Spark has one catalog (the
session catalog). The kit maps Unity Catalog's three-part names onto it:

* ``workspace`` (the default catalog, as on Free Edition), ``spark_catalog`` and
  ``hive_metastore`` are the session catalog: ``workspace.day7.events`` is the table
  ``day7.events``, the same table the kit's notebooks have always written.
* Any other catalog ``c`` maps its schema ``s`` onto the schema ``c__s``
  (``main.sales.orders`` is ``main__sales.orders``).
* ``USE CATALOG c`` is tracked per process; later ``USE SCHEMA s`` and, in the
  Python API, two-part names (``spark.table("s.t")``) resolve in it. ``CREATE
  CATALOG`` only records the name; ``CREATE SCHEMA c.s`` creates ``c__s``; ``CREATE
  VOLUME c.s.v`` creates the volume's folder (``/Volumes/c/s/v``).

Three-part names are rewritten wherever they appear in SQL (outside strings and
comments) when their first part is a known catalog. After ``USE CATALOG main``, two-part
names in SQL text (``s.t`` may as well be ``table.column``) are mapped where a SQL parser
says they are tables (`dbx/sqlnames.py`).

Delta without Delta's jars (tables are Parquet then, see `delta.py`): ``USING DELTA``
and ``format("delta")`` become Parquet with the one-line note; what only Delta can do
(MERGE, time travel, DESCRIBE HISTORY, OPTIMIZE, VACUUM, RESTORE) fails with
`DeltaOnlyError`, one sentence saying why and what to do.
"""
from __future__ import annotations

import re

DEFAULT_CATALOG = "workspace"
SESSION_CATALOGS = {"workspace", "spark_catalog", "hive_metastore"}

_current_catalog = DEFAULT_CATALOG
_catalogs: set[str] = set()   # created or used in this process

# One token: a string, a comment, a back-quoted name, a word, or any other character.
_TOKEN = re.compile(r"""'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"|--[^\n]*|/\*.*?\*/|`(?:``|[^`])*`|\w+|\s+|.""",
                    re.S)
_DELTA_ONLY = [
    (re.compile(r"^\s*MERGE\s+INTO\b", re.I), "MERGE INTO"),
    (re.compile(r"\b(VERSION|TIMESTAMP)\s+AS\s+OF\b", re.I), "time travel (VERSION/TIMESTAMP AS OF)"),
    (re.compile(r"^\s*DESCRIBE\s+HISTORY\b", re.I), "DESCRIBE HISTORY"),
    (re.compile(r"^\s*(OPTIMIZE|VACUUM|RESTORE)\b", re.I), None),
]


class DeltaOnlyError(RuntimeError):
    """Something only Delta Lake can do, asked of a machine whose tables are Parquet."""


def delta_only(what: str) -> DeltaOnlyError:
    from course.runtime import delta

    return DeltaOnlyError(f"{what} needs Delta Lake, and tables here are Parquet because "
                          f"{delta.storage().reason}: run this on Databricks, or put Delta's jars on "
                          "this machine (DAY7_DELTA_JARS, see the README) and restart the kernel.")


def parquet_only() -> bool:
    from course.runtime import delta

    return delta.storage().format != "delta"


def local_format(fmt: str | None) -> str | None:
    """`fmt` for the local Spark: "delta" is Parquet when Delta's jars are missing (said once)."""
    if fmt is not None and fmt.lower() == "delta" and parquet_only():
        from course.runtime import delta

        delta.announce()
        return "parquet"
    return fmt


# --- names ----------------------------------------------------------------------------

def current_catalog() -> str:
    return _current_catalog


def set_current_catalog(name: str) -> None:
    global _current_catalog
    _current_catalog = _unquote(name)
    _catalogs.add(_current_catalog.lower())


def reset() -> None:
    """Back to the default catalog (tests; a new kernel starts here anyway)."""
    global _current_catalog
    _current_catalog = DEFAULT_CATALOG
    _catalogs.clear()


def _unquote(part: str) -> str:
    part = part.strip()
    return part[1:-1].replace("``", "`") if part.startswith("`") and part.endswith("`") else part


def schema_for(catalog: str, schema: str) -> str:
    """The local schema that Unity Catalog's `catalog`.`schema` maps to."""
    catalog, schema = _unquote(catalog), _unquote(schema)
    return schema if catalog.lower() in SESSION_CATALOGS else f"{catalog}__{schema}"


def _split(name: str) -> list[str]:
    return [p for p in re.findall(r"`(?:``|[^`])*`|[^.]+", name.strip())]


def table_name(name: str) -> str:
    """A table name from the Python API (spark.table, saveAsTable …) for the local catalog."""
    parts = _split(name)
    if len(parts) == 3:
        _catalogs.add(_unquote(parts[0]).lower())
        return f"{schema_for(parts[0], parts[1])}.{parts[2]}"
    if len(parts) == 2 and _current_catalog.lower() not in SESSION_CATALOGS:
        return f"{schema_for(_current_catalog, parts[0])}.{parts[1]}"
    return name


def known_catalog(name: str) -> bool:
    name = _unquote(name).lower()
    if name in SESSION_CATALOGS or name in _catalogs:
        return True
    from course.platform import paths

    warehouse = paths.warehouse_dir()
    return warehouse.is_dir() and any(warehouse.glob(f"{name}__*.db"))


# --- SQL ---------------------------------------------------------------------------------

def split_statements(text: str) -> list[str]:
    """`text` split at top-level semicolons (not inside strings, comments or names)."""
    statements, current = [], []
    for token in _TOKEN.findall(text):
        if token == ";":
            statements.append("".join(current))
            current = []
        else:
            current.append(token)
    statements.append("".join(current))
    return [s for s in statements if _strip_comments(s).strip()]


def sql_tokens(text: str) -> list[str]:
    """`text` as tokens: strings, comments, back-quoted names, words, blanks and single characters."""
    return _TOKEN.findall(text)


def _strip_comments(sql: str) -> str:
    return "".join(t for t in _TOKEN.findall(sql) if not t.startswith(("--", "/*")))


def _rewrite_names(sql: str) -> str:
    tokens = _TOKEN.findall(sql)
    out, i = [], 0
    is_name = lambda t: bool(t) and (t[0] == "`" or t[0].isalpha() or t[0] == "_")  # noqa: E731
    while i < len(tokens):
        t = tokens[i]
        if (is_name(t) and i + 4 < len(tokens) and tokens[i + 1] == "." and tokens[i + 3] == "."
                and is_name(tokens[i + 2]) and is_name(tokens[i + 4]) and (i == 0 or tokens[i - 1] != ".")
                and known_catalog(t)):
            out.append(f"{_quote(schema_for(t, tokens[i + 2]))}.{tokens[i + 4]}")
            i += 5
            continue
        if t.upper() == "USING" and parquet_only():
            j = i + 1
            while j < len(tokens) and tokens[j].isspace():
                j += 1
            if j < len(tokens) and tokens[j].lower() == "delta":
                out.extend(tokens[i:j] + ["parquet"])
                local_format("delta")
                i = j + 1
                continue
        out.append(t)
        i += 1
    return "".join(out)


def rewrite_names(sql: str) -> str:
    """`sql` with its Unity Catalog three-part names mapped (text only; for SQL run elsewhere)."""
    return _rewrite_names(sql)


def quote_name(schema: str) -> str:
    """`schema` as SQL spells it: back-quoted unless it is a plain word."""
    return schema if re.fullmatch(r"\w+", schema) else "`" + schema.replace("`", "``") + "`"


_quote = quote_name


_USE_CATALOG = re.compile(r"^\s*(?:USE|SET)\s+CATALOG\s+(\S+)\s*$", re.I)
_USE_SCHEMA = re.compile(r"^\s*USE\s+(?:SCHEMA\s+|DATABASE\s+)?(?!CATALOG\b)(\S+)\s*$", re.I)
_CREATE_CATALOG = re.compile(r"^\s*CREATE\s+CATALOG\s+(IF\s+NOT\s+EXISTS\s+)?(\S+)", re.I)
_CREATE_SCHEMA = re.compile(r"^\s*CREATE\s+(SCHEMA|DATABASE)\s+(IF\s+NOT\s+EXISTS\s+)?(\S+)(.*)$", re.I | re.S)
_CREATE_VOLUME = re.compile(r"^\s*CREATE\s+(?:EXTERNAL\s+)?VOLUME\s+(IF\s+NOT\s+EXISTS\s+)?(\S+)", re.I)
_CURRENT_CATALOG = re.compile(r"\bcurrent_catalog\s*\(\s*\)", re.I)
# Statements naming a schema (`catalog.schema`, two parts that are not a table): SHOW TABLES IN …
_ON_SCHEMA = re.compile(r"^(\s*(?:SHOW\s+(?:TABLES|VIEWS|FUNCTIONS)\s+(?:IN|FROM)|DROP\s+(?:SCHEMA|DATABASE)"
                        r"(?:\s+IF\s+EXISTS)?|DESCRIBE\s+(?:SCHEMA|DATABASE)(?:\s+EXTENDED)?)\s+)(\S+)(.*)$", re.I | re.S)


def _schema_ref(name: str) -> str:
    parts = _split(name)
    if len(parts) == 2:
        _catalogs.add(_unquote(parts[0]).lower())
        return _quote(schema_for(parts[0], parts[1]))
    return _quote(schema_for(_current_catalog, parts[0]))


def _create_volume(name: str, if_not_exists: bool) -> None:
    from pathlib import Path

    from course.platform.localpaths import to_local

    parts = [_unquote(p) for p in _split(name)]
    parts = {1: [_current_catalog, "default"], 2: [_current_catalog], 3: []}[len(parts)] + parts
    folder = Path(to_local("/Volumes/" + "/".join(parts)))
    if folder.exists() and not if_not_exists:
        raise FileExistsError(f"Volume {'.'.join(parts)} already exists ({folder})")
    folder.mkdir(parents=True, exist_ok=True)


_CREATE_OR_REPLACE = re.compile(r"^(\s*CREATE\s+)OR\s+REPLACE\s+(TABLE\s+)((?:`(?:``|[^`])*`|\w+)(?:\.(?:`(?:``|[^`])*`|\w+))?)",
                                re.I)


def _replace_table(session, statement: str) -> str:
    """CREATE OR REPLACE TABLE on Parquet (Spark's session catalog refuses it for file tables):
    drop the table and its folder in the warehouse, then CREATE TABLE. Not atomic, unlike Delta."""
    import shutil

    from course.platform import paths

    m = _CREATE_OR_REPLACE.match(statement)
    if m is None or not parquet_only():
        return statement
    parts = [_unquote(p) for p in _split(m.group(3))]
    schema, table = (parts if len(parts) == 2 else [None, parts[0]])
    schema = schema or session.catalog.currentDatabase()
    session.sql(f"DROP TABLE IF EXISTS {m.group(3)}")
    folder = paths.warehouse_dir() / (table if schema == "default" else f"{schema}.db/{table}")
    shutil.rmtree(folder, ignore_errors=True)
    return m.group(1) + m.group(2) + m.group(3) + statement[m.end():]


def _no_result(session):
    return session.range(0).select()  # what a DDL statement returns: no columns, no rows


def sql(session, statement: str, args=None, **kwargs):
    """`session.sql(statement)` after mapping Unity Catalog names and Delta-only syntax."""
    text = _strip_comments(statement).strip()
    if parquet_only():
        for pattern, what in _DELTA_ONLY:
            found = pattern.search(text)
            if found:
                raise delta_only(what or found.group(1).upper())
    if (m := _USE_CATALOG.match(text)):
        set_current_catalog(m.group(1))
        return _no_result(session)
    if (m := _CREATE_CATALOG.match(text)):
        _catalogs.add(_unquote(m.group(2)).lower())
        return _no_result(session)
    if (m := _CREATE_VOLUME.match(text)):
        _create_volume(m.group(2), bool(m.group(1)))
        return _no_result(session)
    if (m := _CREATE_SCHEMA.match(text)):
        statement = f"CREATE {m.group(1)} {m.group(2) or ''}{_schema_ref(m.group(3))}{_rewrite_names(m.group(4))}"
    elif (m := _USE_SCHEMA.match(text)):
        statement = f"USE {_schema_ref(m.group(1))}"
    elif (m := _ON_SCHEMA.match(text)):
        statement = f"{m.group(1)}{_schema_ref(m.group(2))}{m.group(3)}"
    else:
        from course.runtime.dbx import sqlpaths

        statement = _strip_comments(statement)
        if _current_catalog.lower() not in SESSION_CATALOGS:  # two-part names are in that catalog
            from course.runtime.dbx import sqlnames

            statement = sqlnames.qualify(statement, _current_catalog)
        statement = sqlpaths.rewrite(session, _rewrite_names(statement))
        statement = _CURRENT_CATALOG.sub(f"'{_current_catalog}'", statement)
        statement = _replace_table(session, _strip_comments(statement).strip())
    if args is not None:
        return session.sql(statement, args, **kwargs)
    return session.sql(statement, **kwargs)


# --- the Python API -------------------------------------------------------------------------

class MappedCatalog:
    """`spark.catalog` taking three-part names, with the current catalog tracked."""

    _NAME_FIRST = {"tableExists", "getTable", "dropTempView", "refreshTable", "isCached",
                   "cacheTable", "uncacheTable", "listColumns", "recoverPartitions"}

    def __init__(self, catalog) -> None:
        self._catalog = catalog

    def currentCatalog(self) -> str:
        return _current_catalog

    def setCurrentCatalog(self, name: str) -> None:
        set_current_catalog(name)

    def setCurrentDatabase(self, name: str) -> None:
        self._catalog.setCurrentDatabase(_unquote(_schema_ref(name)))

    def databaseExists(self, name: str) -> bool:
        return self._catalog.databaseExists(_unquote(_schema_ref(name)))

    def __getattr__(self, name):
        attr = getattr(self._catalog, name)
        if name not in self._NAME_FIRST:
            return attr

        def call(table, *args, **kwargs):
            return attr(table_name(table), *args, **kwargs)
        return call


def install_writer_names() -> None:
    """Patch both DataFrameWriter classes (classic and Connect) once per process: table
    names go through `table_name`, "delta" through `local_format`."""
    from pyspark.sql import readwriter as classic
    from pyspark.sql.connect import readwriter as connect

    for cls in (classic.DataFrameWriter, connect.DataFrameWriter):
        if getattr(cls, "_day7_names", False):
            continue
        fmt, save_as, insert = cls.format, cls.saveAsTable, cls.insertInto

        def format(self, source, _orig=fmt):
            return _orig(self, local_format(source))

        def saveAsTable(self, name, format=None, *args, _orig=save_as, **kwargs):
            return _orig(self, table_name(name), local_format(format), *args, **kwargs)

        def insertInto(self, tableName, *args, _orig=insert, **kwargs):
            return _orig(self, table_name(tableName), *args, **kwargs)

        cls.format, cls.saveAsTable, cls.insertInto, cls._day7_names = format, saveAsTable, insertInto, True

