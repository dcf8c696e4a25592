"""Reading a job definition file: JSON or YAML with line numbers in errors, and what kind it is."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from course.jobs.spec.errors import JobSpecError

__all__ = ["read", "kind", "open_definition"]


def read(path: Path) -> Any:
    """Parse JSON or YAML, turning syntax errors into JobSpecErrors with a line number."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise JobSpecError(path, "", "file not found") from None
    except OSError as exc:
        raise JobSpecError(path, "", f"cannot read: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise JobSpecError(path, "", f"JSON syntax error: {exc.msg} (column {exc.colno})",
                               line=exc.lineno) from None
    import yaml  # only bundles need it
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        what = " ".join(filter(None, [getattr(exc, "context", None), getattr(exc, "problem", None)]))
        col = f" (column {mark.column + 1})" if mark else ""
        raise JobSpecError(path, "", f"YAML syntax error: {what or exc}{col}",
                           line=mark.line + 1 if mark else None) from None


def kind(data: Any) -> str:
    """``bundle``, ``job`` (``databricks jobs get`` JSON), ``settings`` (bare JobSettings) or ``unknown``."""
    if isinstance(data, dict):
        if "resources" in data or "bundle" in data or "include" in data or "targets" in data:
            return "bundle"
        if isinstance(data.get("settings"), dict):
            return "job"
        if "tasks" in data or "name" in data and "job_id" not in data:
            return "settings"
    return "unknown"


def open_definition(path) -> tuple[Path, Any, str]:
    """(file, parsed data, kind); a directory means its ``databricks.yml``."""
    path = Path(path)
    if path.is_dir():
        path = path / "databricks.yml"
    data = read(path)
    found = kind(data)
    if found == "unknown":
        raise JobSpecError(path, "", "neither a bundle (no 'bundle' / 'resources.jobs') nor a "
                                     "Jobs API JSON (no 'settings' / 'tasks')")
    return path, data, found
