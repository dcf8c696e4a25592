"""A task run's executed notebook as HTML (nbconvert), cached by file and modification time,
and the cell that failed, for the task run page.

nbconvert's HTMLExporter takes about half a second per notebook; a page opened twice, or
the same page for several learners' clicks, should not pay that again, so the HTML is kept
in memory per (path, mtime) — a notebook that changes on disk (a running task) renders anew.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import nbformat

_CACHE_SIZE = 32
_cache: OrderedDict[tuple[str, int], str] = OrderedDict()
_lock = threading.Lock()
_exporter: Any = None


def _html_exporter():
    """One HTMLExporter, built on first use (importing nbconvert's templates costs ~1 s)."""
    global _exporter
    if _exporter is None:
        from nbconvert import HTMLExporter

        _exporter = HTMLExporter(template_name="lab")
    return _exporter


def render(path: Path) -> str:
    """The notebook at `path` as a standalone HTML page (FileNotFoundError if it is gone)."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns)
    with _lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    notebook = nbformat.read(path, as_version=4)
    with _lock:   # the exporter keeps state between calls; one render at a time
        html, _ = _html_exporter().from_notebook_node(notebook)
        _cache[key] = html
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return html


def failing_cell(path: Path) -> dict[str, Any] | None:
    """The first code cell with an error output: its index, source, and the error's name and value."""
    try:
        notebook = nbformat.read(path, as_version=4)
    except (OSError, ValueError):
        return None
    for index, cell in enumerate(notebook.cells):
        if cell.get("cell_type") != "code":
            continue
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                if output.get("ename") == "PapermillExecutionError":
                    continue
                return {"index": index, "source": cell.get("source", ""), "ename": output.get("ename", ""),
                        "evalue": output.get("evalue", "")}
    return None
