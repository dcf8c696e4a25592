"""File paths inside SQL text, and the two Databricks SQL forms open-source Spark lacks.

Rewritten before Spark sees the statement (outside comments; string literals are
only touched where SQL means a path):

* ``` parquet.`/Volumes/…` ``` (any file format before a back-quoted path): the local folder;
  ``delta.`…``` reads Parquet when Delta's jars are missing.
* ``LOCATION '/Volumes/…'`` (external tables): the local folder.
* ``read_files('/Volumes/…', format => 'csv', header => true)``: Spark has no such
  function, so the files are read with Spark's reader (the format from ``format`` or
  the files' extension; CSV and JSON column types inferred, as read_files does) into a
  temporary view that takes the call's place in the statement.
* ``COPY INTO``: refused in one sentence (it skips files it already loaded, which a
  plain INSERT cannot promise).
"""
from __future__ import annotations

import itertools
import re

from course.platform.localpaths import spark_path

FILE_FORMATS = {"parquet", "csv", "json", "orc", "text", "delta", "avro", "binaryfile", "xml"}
_EXTENSIONS = {".csv": "csv", ".json": "json", ".jsonl": "json", ".parquet": "parquet", ".orc": "orc",
               ".txt": "text", ".avro": "avro", ".xml": "xml"}
_COPY_INTO = re.compile(r"^\s*COPY\s+INTO\b", re.I)
_views = itertools.count(1)


class SqlPathError(ValueError):
    """A file path or file function in SQL that cannot run locally."""


def copy_into_refusal() -> SqlPathError:
    return SqlPathError("COPY INTO is Databricks SQL that open-source Spark lacks, and an INSERT cannot "
                        "skip files already loaded as it does: locally write INSERT INTO <table> SELECT * "
                        "FROM read_files('<path>', format => '<csv|json|parquet>') (run it once), or use "
                        "spark.read on the path.")


def _literal(token: str) -> str | None:
    """The text of a quoted string token, or None."""
    if len(token) >= 2 and token[0] in "'\"" and token[-1] == token[0]:
        return re.sub(r"\\(.)", r"\1", token[1:-1])
    return None


def _quoted(text: str, quote: str = "'") -> str:
    return quote + text.replace("\\", "\\\\").replace(quote, "\\" + quote) + quote


def _next(tokens: list[str], i: int) -> int:
    """Index of the first non-blank token at or after i."""
    while i < len(tokens) and tokens[i].isspace():
        i += 1
    return i


def rewrite(session, statement: str) -> str:
    """`statement` with Databricks file paths mapped and read_files(…) replaced by a view."""
    from course.runtime import unity

    if _COPY_INTO.match(statement):
        raise copy_into_refusal()
    tokens = unity.sql_tokens(statement)
    out, i = [], 0
    while i < len(tokens):
        token = tokens[i]
        low = token.lower()
        if (low in FILE_FORMATS and i + 2 < len(tokens) and tokens[i + 1] == "."
                and tokens[i + 2].startswith("`") and (i == 0 or tokens[i - 1] != ".")):
            path = tokens[i + 2][1:-1].replace("``", "`")
            if (local := spark_path(path)) != path:
                fmt = unity.local_format(token) if low == "delta" else token
                out.append(f"{fmt}.`{local.replace('`', '``')}`")
                i += 3
                continue
        if low == "location":
            j = _next(tokens, i + 1)
            text = _literal(tokens[j]) if j < len(tokens) else None
            if text is not None and (local := spark_path(text)) != text:
                out.extend(tokens[i:j] + [_quoted(local)])
                i = j + 1
                continue
        if low == "read_files":
            j = _next(tokens, i + 1)
            if j < len(tokens) and tokens[j] == "(":
                end, view = _read_files(session, tokens, j)
                out.append(view)
                i = end + 1
                continue
        out.append(token)
        i += 1
    return "".join(out)


def _arguments(tokens: list[str], open_at: int) -> tuple[int, list[list[str]]]:
    """The index of the matching ')' and the call's arguments, each a list of non-blank tokens."""
    depth, args, current = 0, [], []
    for k in range(open_at, len(tokens)):
        t = tokens[k]
        if t == "(":
            depth += 1
            if depth == 1:
                continue
        elif t == ")":
            depth -= 1
            if depth == 0:
                args.append(current)
                return k, [a for a in args if a]
        elif t == "," and depth == 1:
            args.append(current)
            current = []
            continue
        if not t.isspace():
            current.append(t)
    raise SqlPathError("read_files( has no closing parenthesis")


def _value(tokens: list[str]) -> str:
    text = "".join(tokens)
    literal = _literal(text)
    return literal if literal is not None else text


def _read_files(session, tokens: list[str], open_at: int) -> tuple[int, str]:
    end, args = _arguments(tokens, open_at)
    if not args or _literal(args[0][0]) is None or len(args[0]) != 1:
        raise SqlPathError("read_files needs a path as its first argument, e.g. read_files('/Volumes/c/s/v/f.csv')")
    path = _literal(args[0][0])
    options = {}
    for arg in args[1:]:
        if len(arg) < 3 or arg[1] != "=" or arg[2] != ">":
            raise SqlPathError(f"read_files: options are name => value, got {''.join(arg)!r}")
        options[arg[0].strip("`")] = _value(arg[3:])
    return end, _register(session, path, options)


def _register(session, path: str, options: dict[str, str]) -> str:
    from pathlib import Path

    local = spark_path(path)
    fmt = options.pop("format", None) or _format_of(Path(local))
    if fmt is None:
        raise SqlPathError(f"read_files('{path}'): say which format (format => 'csv'), the files' extension does not")
    from course.runtime import unity

    fmt = unity.local_format(fmt.lower())
    if fmt in {"csv", "json"}:
        options.setdefault("inferSchema", "true")  # read_files infers column types
    name = f"day7_read_files_{next(_views)}"
    session.read.format(fmt).options(**options).load(local).createOrReplaceTempView(name)
    return name


def _format_of(local) -> str | None:
    files = [local] if local.is_file() else sorted(p for p in local.rglob("*") if p.is_file()
                                                      and not p.name.startswith(("_", ".")))
    for file in files[:1]:
        return _EXTENSIONS.get(file.suffix.lower())
    return None
