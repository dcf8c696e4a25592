"""Where the kit keeps its state: one folder, `DAY7_HOME`, default `<repo>/.day7`.

Everything generated lives below it (warehouse, run folders, history database,
the local stand-ins for `dbfs:/` and `/Volumes/`, cluster logs), so deleting the
folder resets the kit and git never sees it.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def home() -> Path:
    """The state folder; created on first use."""
    root = Path(os.environ.get("DAY7_HOME") or REPO_ROOT / ".day7").expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


def _sub(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def warehouse_dir() -> Path:
    """Table data: `<schema>.db/<table>/` as Spark lays it out."""
    return _sub("warehouse")


def runs_dir() -> Path:
    """Executed notebooks of every task attempt: `runs/<run_id>/<task_key>/…`."""
    return _sub("runs")


def history_db() -> Path:
    """SQLite file with runs, task runs, attempts and repairs."""
    return home() / "history.db"


def dbfs_root() -> Path:
    """Local stand-in for `dbfs:/`."""
    return _sub("dbfs")


def volumes_root() -> Path:
    """Local stand-in for `/Volumes/`."""
    return _sub("volumes")


def logs_dir() -> Path:
    """Job cluster (Spark Connect server) logs."""
    return _sub("logs")
