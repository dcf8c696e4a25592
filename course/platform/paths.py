"""Where the kit keeps its state: one folder, `DAY7_HOME`, default `<repo>/.day7`.

Everything generated lives below it (warehouse, run folders, history database,
the local stand-ins for `dbfs:/` and `/Volumes/`, cluster logs), so deleting the
folder resets the kit and git never sees it.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


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


# The course's default source_path on Databricks is this volume; locally it
# starts out holding the committed sample so every notebook runs out of the box.
SAMPLE_VOLUME = ("workspace", "day7", "raw", "events")
SAMPLE_DIR = REPO_ROOT / "datasets" / "events"


def volumes_root() -> Path:
    """Local stand-in for `/Volumes/`; seeded with the sample events on first use."""
    root = _sub("volumes")
    seed_sample_volume(root)
    return root


def seed_sample_volume(root: Path) -> None:
    """Copy datasets/events into /Volumes/workspace/day7/raw/events once (never overwrites)."""
    target = root.joinpath(*SAMPLE_VOLUME)
    if target.exists() or not SAMPLE_DIR.is_dir():
        return
    staging = target.with_name(f".{target.name}.seeding-{os.getpid()}")
    shutil.copytree(SAMPLE_DIR, staging, ignore=shutil.ignore_patterns("README*", ".*"))
    try:
        staging.rename(target)  # atomic: concurrent kernels never see half a copy
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)


def logs_dir() -> Path:
    """Job cluster (Spark Connect server) logs."""
    return _sub("logs")


def outbox_dir() -> Path:
    """Notification e-mails saved as .eml files when no SMTP server is configured (or it failed)."""
    return _sub("outbox")
