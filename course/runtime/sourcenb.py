"""Databricks *source-format* notebooks (`.py` / `.sql` files) read as Jupyter notebooks.

A workspace exports a notebook as plain source: a first line
``# Databricks notebook source`` (``-- Databricks notebook source`` in SQL), cells
separated by ``# COMMAND ----------``, other-language cells as ``# MAGIC %sql`` lines,
and a cell title as ``# DBTITLE 1,Title``. `read()` turns such a file into an
in-memory nbformat v4 notebook that the kit's kernels run unchanged: a ``%md`` cell
becomes a markdown cell, ``%sql`` / ``%sh`` / ``%python`` cells become ``%%sql`` …
cell magics, ``%run`` / ``%fs`` / ``%pip`` stay line magics (see `magics.py`). In a SQL
notebook every plain cell is a ``%%sql`` cell. `resolve()` finds the file a
Databricks path means (Databricks paths omit the extension).

Only the standard library here: nbformat is imported by the caller (papermill
brings it), so `read()` returns a plain dict that `nbformat.from_dict` accepts.
"""
from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

NOTEBOOK_EXTS = (".ipynb", ".py", ".sql", ".scala", ".r")
_HEADERS = {".py": "# Databricks notebook source", ".sql": "-- Databricks notebook source",
            ".scala": "// Databricks notebook source", ".r": "# Databricks notebook source"}
_COMMENT = {".py": "#", ".sql": "--"}
_LANGUAGE_NAMES = {".scala": "Scala", ".r": "R"}
_TITLE = re.compile(r"^DBTITLE \d+,(.*)$")
# Cell magics: a cell whose first line is one of these runs the whole cell in that language.
CELL_LANGUAGES = ("sql", "python", "sh", "md", "md-sandbox", "scala", "r")
DATABRICKS_NOTEBOOK = "application/vnd.databricks.v1+notebook"  # an exported .ipynb's metadata key


class SourceNotebookError(ValueError):
    """A source file the kit cannot run as a notebook (a Scala/R notebook, a bad header)."""


def is_source_notebook(path: Path) -> bool:
    """Whether `path` is a Databricks source-format notebook (its first line says so)."""
    header = _HEADERS.get(path.suffix.lower())
    if header is None or not path.is_file():
        return False
    with path.open(encoding="utf-8", errors="replace") as handle:
        return handle.readline().strip() == header


def resolve(path: str | Path, base: Path | None = None) -> Path:
    """The notebook file `path` means, relative to `base` (default: the working folder);
    without an extension ``.ipynb``, ``.py``, ``.sql`` … are tried, as Databricks paths omit it."""
    written = Path(path)
    target = written if written.is_absolute() or base is None else base / written
    candidates = [target]
    if target.suffix.lower() not in NOTEBOOK_EXTS:
        candidates += [target.with_name(target.name + ext) for ext in NOTEBOOK_EXTS]
    for candidate in candidates:
        if candidate.is_file():
            return candidate.resolve()
    tried = ", ".join(c.name for c in candidates)
    raise FileNotFoundError(f"notebook {str(path)!r} not found in {target.parent} (tried {tried})")


def _strip_blank_edges(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _unmagic(lines: list[str], comment: str) -> list[str] | None:
    """The cell's lines without their ``# MAGIC`` prefix, or None when it is not a MAGIC cell."""
    prefix = f"{comment} MAGIC"
    if not lines or not all(line.startswith(prefix) or not line.strip() for line in lines):
        return None
    out = []
    for line in lines:
        rest = line[len(prefix):] if line.startswith(prefix) else ""
        out.append(rest[1:] if rest.startswith(" ") else rest)
    return out


def _cell(lines: list[str], comment: str, default_sql: bool) -> dict | None:
    lines = _strip_blank_edges(lines)
    title = None
    if lines and lines[0].startswith(f"{comment} DBTITLE"):
        found = _TITLE.match(lines[0][len(comment) + 1:])
        title = found.group(1).strip() if found else None
        lines = _strip_blank_edges(lines[1:])
    if not lines:
        return None
    metadata = {"title": title} if title else {}
    magic = _unmagic(lines, comment)
    if magic is None:
        source = "\n".join(lines)
        return _code(f"%%sql\n{source}" if default_sql else source, metadata)
    first, rest = (magic[0].strip() + " ").split(" ", 1)
    language = first[1:] if first.startswith("%") else ""
    body = "\n".join([rest.strip()] + magic[1:] if rest.strip() else magic[1:])
    if language in ("md", "md-sandbox"):
        return {"cell_type": "markdown", "metadata": metadata, "source": body.strip("\n")}
    if language == "python":
        return _code(body.strip("\n"), metadata)
    if language in CELL_LANGUAGES:
        return _code(f"%%{language}\n{body.strip(chr(10))}", metadata)
    # %run, %fs, %pip and any other line magic: the MAGIC lines as they are.
    return _code("\n".join(magic).strip("\n"), metadata)


def _code(source: str, metadata: dict) -> dict:
    return {"cell_type": "code", "metadata": metadata, "source": source, "outputs": [], "execution_count": None}


def cell_digest(cell: dict) -> str:
    """A fingerprint of what the learner sees of a cell (type, source, title): unchanged
    fingerprint, unchanged cell, so the writer puts back the cell's original text."""
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else source
    title = (cell.get("metadata") or {}).get("title") or ""
    return hashlib.sha1(json.dumps([cell.get("cell_type"), source, title]).encode()).hexdigest()


def read(path: Path, layout: bool = False) -> dict:
    """The source notebook at `path` as an nbformat v4 notebook dict. With `layout`, each cell's
    metadata ``day7_source`` keeps its original text (separator line, body) and the notebook's
    keeps the header, so `course.runtime.dbx.sourcewriter.write` gives the file back byte for byte."""
    suffix = path.suffix.lower()
    if suffix in _LANGUAGE_NAMES:
        raise SourceNotebookError(f"{path} is a {_LANGUAGE_NAMES[suffix]} notebook: "
                                  "the kit runs Python and SQL notebooks")
    if suffix not in _COMMENT:
        raise SourceNotebookError(f"{path} is not a Databricks source notebook (.py or .sql)")
    text = path.read_bytes().decode("utf-8")  # bytes: keeps \r\n for a byte-identical write
    lines, raw = text.splitlines(), text.splitlines(keepends=True)
    if not lines or lines[0].strip() != _HEADERS[suffix]:
        raise SourceNotebookError(f"{path}: a Databricks source notebook starts with "
                                  f"{_HEADERS[suffix]!r} (line 1 is {lines[0][:60]!r})" if lines
                                  else f"{path} is empty")
    comment = _COMMENT[suffix]
    head, cells = raw[0], []
    for separator, start, end in _chunk_bounds(lines, comment):
        cell = _cell(lines[start:end], comment, suffix == ".sql")
        original = (raw[separator] if separator is not None else "", "".join(raw[start:end]))
        if cell is not None:
            cell["metadata"]["day7_source"] = {"separator": original[0], "raw": original[1]}
            cells.append(cell)
        elif cells:  # an empty cell: its text stays with the cell before it
            cells[-1]["metadata"]["day7_source"]["raw"] += "".join(original)
        else:
            head += "".join(original)
    for cell in cells:
        if layout:
            cell["metadata"]["day7_source"]["digest"] = cell_digest(cell)
        else:
            del cell["metadata"]["day7_source"]
    language = "sql" if suffix == ".sql" else "python"
    return {
        "nbformat": 4, "nbformat_minor": 5, "cells": cells,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
            "language_info": {"name": "python"},
            "day7_source": {"path": str(path), "language": language, **({"head": head} if layout else {})},
        },
    }


def _chunk_bounds(lines: list[str], comment: str):
    """(separator line index or None, first body line, end) of each cell after the header line."""
    separator = f"{comment} COMMAND ----------"
    bounds, sep, start = [], None, 1
    for i in range(1, len(lines)):
        if lines[i].rstrip() == separator:
            bounds.append((sep, start, i))
            sep, start = i, i + 1
    bounds.append((sep, start, len(lines)))
    return bounds


def is_sql_export(nb: dict | Path) -> bool:
    """Whether `nb` (a notebook or an .ipynb file) is a SQL notebook exported from a workspace:
    its plain code cells are SQL."""
    if isinstance(nb, Path):
        try:
            nb = json.loads(nb.read_text(encoding="utf-8"))
        except ValueError:
            return False  # not JSON: the caller's reader says what is wrong
    return (nb.get("metadata") or {}).get(DATABRICKS_NOTEBOOK, {}).get("language") == "sql"


def load(path: Path):
    """`path` as an nbformat NotebookNode: a source notebook converted, an .ipynb read as it is
    (an exported SQL notebook's plain code cells become ``%%sql`` cells)."""
    import nbformat

    if path.suffix.lower() == ".ipynb":
        nb = nbformat.read(path, as_version=4)
        if is_sql_export(nb):
            for cell in nb.cells:
                if cell.cell_type == "code" and not cell.source.lstrip().startswith("%"):
                    cell.source = "%%sql\n" + cell.source
        return nb
    node = nbformat.from_dict(read(path))
    for i, cell in enumerate(node.cells):  # nbformat 4.5 wants cell ids
        cell.setdefault("id", f"cell-{i}")
    return node
