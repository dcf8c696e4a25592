"""A Jupyter notebook written back as a Databricks *source-format* notebook (`.py` / `.sql`).

The reverse of `course.runtime.sourcenb.read`. A cell the learner did not change (its
fingerprint, kept by ``read(path, layout=True)`` in the cell's ``day7_source`` metadata, still
matches) is written as the exact text it was read from: title line, ``# MAGIC`` prefix forms,
blank lines, trailing spaces, line endings. So read → write of an untouched file is byte for
byte the file. A new or edited cell is written the way a workspace exports one: a blank line
after ``# COMMAND ----------`` and before the next, ``%md`` / ``%sql`` … cells as ``# MAGIC``
lines, the title as ``# DBTITLE 1,…``.
"""
from __future__ import annotations

from course.runtime.sourcenb import cell_digest

HEADERS = {"python": "# Databricks notebook source", "sql": "-- Databricks notebook source"}
COMMENTS = {"python": "#", "sql": "--"}


def language_of(suffix: str) -> str:
    return "sql" if suffix.lower() == ".sql" else "python"


def write(nb: dict, language: str) -> str:
    """The text of `nb` as a Databricks source notebook in `language` ("python" or "sql")."""
    comment = COMMENTS[language]
    meta = (nb.get("metadata") or {}).get("day7_source") or {}
    same_language = meta.get("language", language) == language
    out = meta["head"] if same_language and meta.get("head") else HEADERS[language] + "\n"
    cells = [c for c in nb.get("cells", []) if _kept(c)]
    for i, cell in enumerate(cells):
        layout = ((cell.get("metadata") or {}).get("day7_source") or {}) if same_language else {}
        unchanged = bool(layout) and layout.get("digest") == cell_digest(cell)
        if i > 0:
            if not out.endswith("\n"):
                out += "\n"
            out += layout.get("separator") or f"{comment} COMMAND ----------\n"
        if unchanged:
            out += layout["raw"]
        else:
            body = "\n".join(_lines(cell, comment, language)) + "\n"
            out += ("\n" if i > 0 else "") + body + ("\n" if i < len(cells) - 1 else "")
    return out


def _kept(cell: dict) -> bool:
    """Raw cells have no source-format form; an empty new cell is not worth a separator."""
    source = _source(cell)
    has_layout = "day7_source" in (cell.get("metadata") or {})
    return cell.get("cell_type") in ("code", "markdown") and (source.strip() or has_layout)


def _source(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _magic(lines: list[str], comment: str) -> list[str]:
    return [f"{comment} MAGIC {line}" if line else f"{comment} MAGIC" for line in lines]


def _lines(cell: dict, comment: str, language: str) -> list[str]:
    """A new or edited cell's lines, as a workspace exports them."""
    title = (cell.get("metadata") or {}).get("title")
    lines = [f"{comment} DBTITLE 1,{title}"] if title else []
    source = _source(cell).strip("\n")
    if cell["cell_type"] == "markdown":
        return lines + _magic(["%md", *source.split("\n")], comment)
    first, _, rest = source.partition("\n")
    if first.startswith("%%"):
        cell_language = first[2:].partition(" ")[0]
        if cell_language == language:  # the notebook's own language needs no magic
            return lines + rest.split("\n")
        return lines + _magic([f"%{first[2:]}", *rest.split("\n")], comment)
    if first.startswith("%"):  # %run, %pip, %fs …: line magics stay MAGIC lines
        return lines + _magic(source.split("\n"), comment)
    if language == "sql":  # the kernel runs a plain cell as Python, so on Databricks it is %python
        return lines + _magic(["%python", *source.split("\n")], comment)
    return lines + source.split("\n")
