"""A job's libraries, environments and the bundle's artifacts, checked at load.

The kit installs Python locally: `whl`, `pypi` and `requirements` libraries and an
environment's `spec.dependencies`. A JVM or R library (`jar`, `maven`, `cran`, an
environment's `java_dependencies`) or an `egg` cannot be installed here: the job is
refused at load (exit 2) naming the task and the library, before any cluster starts.

What a run needs later is kept in a :class:`LibraryPlan`: the artifacts (where each is
built, its command, the files it makes) and the folder each task's relative library
paths start from (the file that declares the task, as the CLI reads them).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.jobs.spec.errors import JobSpecError, join

__all__ = ["Artifact", "LibraryPlan", "plan_libraries"]

REFUSED = {"jar": "a JVM library", "maven": "a JVM library", "cran": "an R library",
           "egg": "an egg (Databricks Runtime 14 and later do not install eggs either)"}


@dataclass(frozen=True)
class Artifact:
    """One `artifacts.<name>` entry of type whl."""
    name: str
    path: Path                 # the folder its build runs in
    build: str | None          # the shell command; None: the CLI's default (setup.py bdist_wheel)
    files: tuple[str, ...]     # absolute globs of what the build leaves (default <path>/dist/*.whl)


@dataclass
class LibraryPlan:
    """What the local run needs to install a task's libraries."""
    artifacts: dict[str, Artifact] = field(default_factory=dict)
    task_bases: dict[str, Path] = field(default_factory=dict)   # task_key -> folder of relative paths
    job_base: Path = Path(".")                                  # folder of the job's file (environments)

    def base(self, task_key: str) -> Path:
        return self.task_bases.get(task_key, self.job_base)


def _refuse(settings, prefix: str, file_of, job_file: Path) -> None:
    for i, task in enumerate(settings.tasks or []):
        for j, lib in enumerate(task.libraries or []):
            for kind, what in REFUSED.items():
                value = getattr(lib, kind, None)
                if value:
                    shown = value if isinstance(value, str) else (
                        getattr(value, "coordinates", None) or getattr(value, "package", None) or kind)
                    raise JobSpecError(file_of(task.task_key), join(prefix, f".tasks[{i}].libraries[{j}].{kind}"),
                                       f"task '{task.task_key}': {kind} library '{shown}' is {what}; the kit "
                                       "installs Python libraries only (whl, pypi, requirements)")
        wheel = task.python_wheel_task
        if wheel is not None and wheel.parameters and wheel.named_parameters:
            raise JobSpecError(file_of(task.task_key), join(prefix, f".tasks[{i}].python_wheel_task"),
                               f"task '{task.task_key}': set parameters or named_parameters, not both "
                               "(the Jobs API: leave one empty when the other is set)")
    keys = [e.environment_key for e in settings.environments or []]
    for i, env in enumerate(settings.environments or []):
        spec = env.spec
        where = join(prefix, f".environments[{i}].spec")
        if spec is not None and spec.java_dependencies:
            raise JobSpecError(job_file, where + ".java_dependencies",
                               f"environment '{env.environment_key}': java_dependencies "
                               f"('{spec.java_dependencies[0]}') are JVM libraries; the kit installs Python "
                               "dependencies only")
        for name in ("base_environment", "project_environment"):
            if spec is not None and getattr(spec, name, None):
                raise JobSpecError(job_file, f"{where}.{name}",
                                   f"environment '{env.environment_key}': {name} is not supported locally; "
                                   "list the packages under spec.dependencies instead")
    for i, task in enumerate(settings.tasks or []):
        if task.environment_key and task.environment_key not in keys:
            raise JobSpecError(file_of(task.task_key), join(prefix, f".tasks[{i}].environment_key"),
                               f"task '{task.task_key}': environment '{task.environment_key}' is not defined "
                               f"(environments: {', '.join(keys) or 'none'})")


def _artifacts(tree: dict, root: Path, needs_local: bool) -> dict[str, Artifact]:
    """The whl artifacts to build; paths are relative to the bundle root (where the CLI reads
    the root file's artifacts; an included file's artifacts are read from the root too)."""
    raw = tree.get("artifacts")
    if raw is None and needs_local and (root / "setup.py").is_file():
        # The CLI's auto-detection: no artifacts block, local libraries and a setup.py at the root.
        raw = {"python_artifact": {"type": "whl", "path": str(root)}}
    if raw is not None and not isinstance(raw, dict):
        raise JobSpecError(root / "databricks.yml", "artifacts", "expected a mapping of artifact name -> artifact")
    out: dict[str, Artifact] = {}
    for name, spec in (raw or {}).items():
        where = root / "databricks.yml"
        if not isinstance(spec, dict):
            raise JobSpecError(where, f"artifacts.{name}", "expected a mapping (type, build, path, files)")
        if spec.get("type", "whl") != "whl":
            raise JobSpecError(where, f"artifacts.{name}.type",
                               f"artifact type {spec.get('type')!r} cannot be built locally (the kit builds whl)")
        base = where.parent
        path = Path(os.path.normpath(base / str(spec.get("path") or root)))
        listed = spec.get("files") or []
        files = [f.get("source") if isinstance(f, dict) else None for f in (listed if isinstance(listed, list) else [None])]
        if None in files:
            raise JobSpecError(where, f"artifacts.{name}.files", "each entry needs a 'source' (a path or glob)")
        globs = tuple(os.path.normpath(base / f) for f in files) or (str(path / "dist" / "*.whl"),)
        build = spec.get("build")
        if build is not None and not isinstance(build, str):
            raise JobSpecError(where, f"artifacts.{name}.build", "expected a shell command")
        if build is None and files:
            continue  # built outside the bundle (files only): nothing to build, as with the CLI
        out[name] = Artifact(name=name, path=path, build=build, files=globs)
    return out


def _has_local_libraries(settings) -> bool:
    paths = [lib.whl for t in settings.tasks or [] for lib in t.libraries or [] if lib.whl]
    paths += [d for e in settings.environments or [] for d in (e.spec.dependencies or [] if e.spec else [])]
    return any(p.startswith(("./", "../")) or p.endswith(".whl") for p in paths)


def plan_libraries(settings, prefix: str, file_of, job_file: Path, root: Path,
                   tree: dict[str, Any] | None = None) -> LibraryPlan:
    """Refuse what cannot be installed locally (JobSpecError), then plan what can."""
    _refuse(settings, prefix, file_of, job_file)
    bases = {t.task_key: Path(file_of(t.task_key)).resolve().parent for t in settings.tasks or []}
    artifacts = _artifacts(tree or {}, root.resolve(), _has_local_libraries(settings))
    return LibraryPlan(artifacts=artifacts, task_bases=bases, job_base=Path(job_file).resolve().parent)
