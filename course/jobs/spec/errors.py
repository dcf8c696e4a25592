"""JobSpecError and the wording every spec error shares: file names, field paths, hints."""
from __future__ import annotations

import difflib
import os
from pathlib import Path

__all__ = ["JobSpecError", "display", "join", "suggest", "names"]


class JobSpecError(Exception):
    """A job definition problem: ``file``, ``field`` (path), ``problem``, ``line`` (optional)."""

    def __init__(self, file: str | os.PathLike, field: str, problem: str, line: int | None = None):
        self.file, self.field, self.problem, self.line = display(file), field, problem, line
        where = f"{self.file}:{line}" if line else self.file
        super().__init__(f"{where}: {field}: {problem}" if field else f"{where}: {problem}")


def display(path) -> str:
    """A path as the learner reads it: relative to the working directory when inside it."""
    p = Path(path)
    try:
        rel = os.path.relpath(p.resolve(), Path.cwd())
    except ValueError:
        return str(p)
    return str(p) if rel.startswith("..") else rel


def join(prefix: str, sub: str) -> str:
    """A field path: ``join("a", ".b")`` -> ``a.b``, ``join("a", "[0]")`` -> ``a[0]``, ``join("", ".b")`` -> ``b``."""
    if not prefix:
        return sub.lstrip(".")
    return prefix + sub if sub.startswith("[") or sub.startswith(".") else f"{prefix}.{sub}"


def suggest(word: str, options) -> str:
    """`` (did you mean 'x'?)`` for the closest option, or nothing."""
    close = difflib.get_close_matches(str(word), list(options), n=1)
    return f" (did you mean '{close[0]}'?)" if close else ""


def names(keys) -> str:
    """Keys as a list in a message; ``none`` when there are none."""
    return ", ".join(keys) if keys else "none"
