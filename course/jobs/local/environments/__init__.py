"""The isolated environment a task with libraries runs in (see venvs.py), and the bundle's
artifacts it installs (artifacts.py).

`prepare(plan, settings, task)` is the one entry point: None for a task without libraries
or environment (it runs in the kit's own environment), else the environment's interpreter,
built now or taken from the cache. A library that cannot be built or installed raises
`LibraryError` with one sentence; the executor fails the task with it.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from course.jobs.local.environments import artifacts, requirements, venvs
from course.jobs.local.environments.requirements import LibraryError

__all__ = ["Prepared", "LibraryError", "prepare", "cached", "kernel_dir"]

KERNEL_NAME = "day7-env"


@dataclass
class Prepared:
    python: Path                                  # the environment's interpreter
    notes: list[str] = field(default_factory=list)

    @property
    def folder(self) -> Path:
        return self.python.parent.parent


def prepare(plan, settings, task, on_process: Callable[[subprocess.Popen], None] = lambda p: None) -> Prepared | None:
    """The task's environment (built or cached), or None when it installs nothing."""
    if requirements.has_local_wheels(plan, settings, task):
        for artifact in plan.artifacts.values():  # the CLI builds every artifact before it deploys
            artifacts.ensure_built(artifact, on_process)
    req = requirements.for_task(plan, settings, task)
    if req is None:
        return None
    return Prepared(venvs.ensure_env(req, on_process), req.notes)


def cached(plan, settings, task) -> Prepared | None:
    """The task's environment if it is ready without building anything (its artifacts
    unchanged since their cached build, its environment built): a run starts the task's
    kernel ahead of time then, as for a task without libraries. None otherwise."""
    try:
        if requirements.has_local_wheels(plan, settings, task) and not all(
                artifacts.cached_build(a) for a in plan.artifacts.values()):
            return None
        req = requirements.for_task(plan, settings, task)
    except (LibraryError, OSError):
        return None  # the task itself will say why
    python = venvs.cached(req.digest()) if req is not None else None
    return Prepared(python, req.notes) if python is not None else None


def kernel_dir(prepared: Prepared) -> str:
    """A folder holding a Jupyter kernel spec that starts ipykernel with the environment's
    interpreter (the kit's ipykernel, through the layering); written once per environment."""
    kernels = prepared.folder / "share" / "jupyter" / "kernels"
    spec = kernels / KERNEL_NAME / "kernel.json"
    if not spec.is_file():
        spec.parent.mkdir(parents=True, exist_ok=True)
        tmp = spec.with_name(f"kernel.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(json.dumps({"argv": [str(prepared.python), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                                   "display_name": f"Day 7 task environment ({prepared.folder.name})",
                                   "language": "python"}))
        tmp.replace(spec)  # atomic: a concurrent reader sees the whole file or none
    return str(kernels)
