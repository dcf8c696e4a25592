"""Where the kit keeps its state: one folder, `DAY7_HOME`, default `<repo>/.day7`.

Everything generated lives below it (warehouse, run folders, history database,
the local stand-ins for `dbfs:/` and `/Volumes/`, cluster logs), so deleting the
folder resets the kit and git never sees it.
"""
from __future__ import annotations

import contextlib
import os
import shutil
from pathlib import Path
from typing import Iterator

REPO_ROOT = Path(__file__).resolve().parents[2]

# The state folder chosen in code (`using_home`), which beats DAY7_HOME: a grader or a
# test points this process at another folder without writing to os.environ. Process-wide
# on purpose: the runner's threads must see it too.
_home_override: list[Path] = []


def home() -> Path:
    """The state folder; created on first use."""
    root = (_home_override[-1] if _home_override else None) or Path(os.environ.get("DAY7_HOME") or REPO_ROOT / ".day7").expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    return root


@contextlib.contextmanager
def using_home(folder: str | os.PathLike[str]) -> Iterator[Path]:
    """Within the block the state folder is `folder` (for this process and the ones it starts)."""
    root = Path(folder).expanduser().resolve()
    _home_override.append(root)
    try:
        yield root
    finally:
        _home_override.remove(root)


def child_environment(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment of a process the kit starts (kernel, .py task, JVM): it runs this
    checkout's code and state folder, whatever else the environment or the installed
    package points at (two clones may share one virtualenv)."""
    env = dict(os.environ if base is None else base)
    env["DAY7_HOME"] = str(home())
    kit = str(REPO_ROOT)
    rest = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p and p != kit]
    env["PYTHONPATH"] = os.pathsep.join([kit, *rest])
    return env


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


def clusters_dir() -> Path:
    """All-purpose clusters: `<key>.json` (state, pid, port), `<key>.heartbeat`, `<key>.log`."""
    return _sub("clusters")


def outbox_dir() -> Path:
    """Notification e-mails saved as .eml files when no SMTP server is configured (or it failed)."""
    return _sub("outbox")
