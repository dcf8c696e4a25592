"""Which local file a task's notebook / python file path means, and making task paths local.

A relative path is relative to the bundle root (paths from included files were
rebased onto it) or the JSON's folder; a path under ``${workspace.file_path}``
maps back to the bundle root; any other workspace path means the file itself if
it exists here, else the local file with the longest matching tail. Extensions
may be left out, as in the workspace.
"""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from course.jobs.spec.errors import JobSpecError, display, join

__all__ = ["NOTEBOOK_EXTS", "localise_paths"]

NOTEBOOK_EXTS = (".ipynb", ".py", ".sql", ".scala", ".r")


def _find_file(written: str, base: Path, root: Path, file_path: str | None, exts) -> Path | None:
    """The local file a task path means (see the module docstring); None when there is none."""
    p = written
    if file_path and (p == file_path or p.startswith(file_path.rstrip("/") + "/")):
        candidates = [root / p[len(file_path.rstrip("/")) + 1:]]
    elif not p.startswith("/"):
        candidates = [base / p]
    else:  # a workspace path: the file itself if it exists here, else its longest local suffix
        parts = Path(p).parts[1:]
        candidates = [Path(p)] + [base / Path(*parts[i:]) for i in range(len(parts))]
    for c in candidates:
        if c.suffix.lower() in exts:
            if c.is_file():
                return c
            continue
        for cand in (c, *[c.with_name(c.name + e) for e in exts]):
            if cand.is_file():
                return cand
    return None


def _missing_file_problem(written: str, base: Path, exts, what: str) -> str:
    """The error text: what was tried and, when there is one, a near miss."""
    target = base / written if not written.startswith("/") else Path(written)
    hint = ""
    if target.parent.is_dir():
        siblings = [f.name for f in target.parent.iterdir() if f.suffix.lower() in exts]
        close = difflib.get_close_matches(target.name, siblings, n=1)
        if close:
            rel = Path(written).parent / close[0]
            hint = f" (did you mean '{rel.as_posix() if not written.startswith('./') else './' + rel.as_posix()}'?)"
    tried = "" if Path(written).suffix.lower() in exts else f" (also tried {', '.join(exts)})"
    if written.startswith("/"):
        hint += f" (no local file under {display(base)} matches the end of this workspace path)"
    return f"{what} not found: {written}{tried}{hint}"


def localise_paths(s, prefix: str, file_of, base: Path, root: Path,
                   file_path: str | None) -> dict[str, str]:
    """Make notebook / python file paths absolute and local; return root-relative ones."""
    rel: dict[str, str] = {}
    placed = []  # (task, its field path, the key its file errors name): a for-each's nested task too
    for i, t in enumerate(s.tasks or []):
        placed.append((t, f".tasks[{i}]", t.task_key))
        if t.for_each_task is not None and t.for_each_task.task is not None:
            placed.append((t.for_each_task.task, f".tasks[{i}].for_each_task.task", t.task_key))
    for t, where, owner in placed:
        for kind, attr, exts, what in (
                ("notebook_task", "notebook_path", NOTEBOOK_EXTS, "notebook"),
                ("spark_python_task", "python_file", (".py",), "python file"),
                ("sql_task", "path", (".sql",), "SQL file")):
            spec = getattr(t, kind)
            if kind == "sql_task":
                spec = spec.file if spec is not None else None
                kind = "sql_task.file"
            if spec is None or str(getattr(getattr(spec, "source", None), "value", "")).upper() == "GIT":
                continue
            if s.git_source is not None and getattr(spec, "source", None) is None:
                continue  # with git_source, paths are in the remote repository
            written = getattr(spec, attr)
            found = _find_file(written, base, root, file_path, exts)
            if found is None:
                raise JobSpecError(file_of(owner), join(prefix, f"{where}.{kind}.{attr}"),
                                   _missing_file_problem(written, base, exts, what))
            found = found.resolve()
            setattr(spec, attr, str(found))
            try:
                rel[t.task_key] = found.relative_to(root.resolve()).as_posix()
            except ValueError:
                rel[t.task_key] = Path(os.path.relpath(found, root.resolve())).as_posix()
    return rel
