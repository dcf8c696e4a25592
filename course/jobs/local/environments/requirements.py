"""A task's libraries as pip requirement lines, and the digest that names its environment.

A task's environment is what Databricks installs before it runs: the job environment its
`environment_key` names (`spec.dependencies`, pip requirement lines) and its own
`libraries` (`whl`, `pypi` with an optional `repo`, `requirements`). Local paths (`./dist/*.whl`,
`../dist/*.whl`, `/Volumes/…`, `dbfs:/…`) are made absolute and their globs expanded; the
digest covers the lines with each local file's *content*, so an unchanged wheel reuses the
environment and a rebuilt one with other code gets a new one.
"""
from __future__ import annotations

import glob
import hashlib
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from course.platform import localpaths

WHEEL_NAME = re.compile(r"^(?P<dist>[^-]+)-(?P<version>[^-]+)(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$")


class LibraryError(Exception):
    """A library that cannot be found or installed: fails the task, in one sentence."""


@dataclass
class Requirements:
    lines: list[str] = field(default_factory=list)    # what pip installs, in order
    files: list[Path] = field(default_factory=list)   # local files the lines name (their content counts)
    notes: list[str] = field(default_factory=list)

    def digest(self) -> str:
        """Names the environment: the Python, the kit it layers over, the lines, the files' content."""
        h = hashlib.sha256()
        for part in (sys.version, sys.prefix, *self.lines):
            h.update(part.encode() + b"\0")
        for path in self.files:
            h.update(_file_digest(path).encode())
        return h.hexdigest()


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_local(spec: str) -> bool:
    """A path rather than a requirement specifier (`pandas>=2`, a URL)."""
    s = spec.strip()
    return (s.startswith(("./", "../", "/", "~", "dbfs:", "file:")) or s.lower().endswith((".whl", ".txt"))
            ) and "://" not in s.replace("file://", "").replace("dbfs://", "")


def _local_files(spec: str, base: Path, what: str) -> list[Path]:
    """The files a local library path means (a glob may match several)."""
    written = spec.strip()
    mapped = localpaths.to_local(written) if written.startswith(("dbfs:", "/Volumes/", "/dbfs/", "file:")) \
        else os.path.expanduser(written)
    full = mapped if os.path.isabs(mapped) else os.path.normpath(base / mapped)
    matches = sorted(glob.glob(full)) if glob.has_magic(full) else ([full] if os.path.exists(full) else [])
    if not matches:
        hint = " (was its artifact built? see the bundle's artifacts)" if written.endswith(".whl") else ""
        raise LibraryError(f"{what} '{written}' not found: no file matches {full}{hint}")
    return [Path(m) for m in matches]


def _newest_per_distribution(wheels: list[Path], notes: list[str], written: str) -> list[Path]:
    """`./dist/*.whl` after several builds matches old versions too; pip cannot install two
    versions of one distribution, so the newest file of each is taken (and said)."""
    by_dist: dict[str, list[Path]] = {}
    for w in wheels:
        m = WHEEL_NAME.match(w.name)
        by_dist.setdefault(m.group("dist").lower() if m else w.name, []).append(w)
    chosen = []
    for dist, files in by_dist.items():
        newest = max(files, key=lambda p: p.stat().st_mtime)
        if len(files) > 1:
            notes.append(f"'{written}' matches {len(files)} wheels of {dist}; installing the newest, {newest.name}")
        chosen.append(newest)
    return chosen


def _add_local(req: Requirements, spec: str, base: Path, what: str, *, requirement_file: bool = False) -> None:
    files = _local_files(spec, base, what)
    wheels = [f for f in files if f.suffix == ".whl"]
    if wheels:
        files = _newest_per_distribution(wheels, req.notes, spec.strip()) + [f for f in files if f.suffix != ".whl"]
    for f in files:
        req.files.append(f)
        req.lines.append(f"-r {f}" if requirement_file or f.suffix == ".txt" else str(f))


def for_task(plan, settings, task) -> Requirements | None:
    """The task's requirement lines; None when it has no libraries and no environment."""
    req = Requirements()
    env = next((e for e in settings.environments or [] if e.environment_key == task.environment_key), None)
    if task.environment_key and env is not None and env.spec is not None:
        for dep in env.spec.dependencies or []:
            text = dep.strip()
            if text.startswith("-r "):
                _add_local(req, text[3:], plan.job_base, "requirements file", requirement_file=True)
            elif is_local(text):
                _add_local(req, text, plan.job_base, f"environment '{env.environment_key}' dependency")
            elif text:
                req.lines.append(text)
    base = plan.base(task.task_key)
    for lib in task.libraries or []:
        if lib.whl:
            _add_local(req, lib.whl, base, "whl library")
        elif lib.requirements:
            _add_local(req, lib.requirements, base, "requirements file", requirement_file=True)
        elif lib.pypi is not None:
            if lib.pypi.repo:
                req.lines.append(f"--extra-index-url {lib.pypi.repo}")
            req.lines.append(lib.pypi.package)
    return req if req.lines else None


def has_local_wheels(plan, settings, task) -> bool:
    """Whether the task names local files a bundle artifact may build (then artifacts build first)."""
    env = next((e for e in settings.environments or [] if e.environment_key == task.environment_key), None)
    deps = list(env.spec.dependencies or []) if env is not None and env.spec is not None else []
    deps += [lib.whl for lib in task.libraries or [] if lib.whl]
    return any(is_local(d) and d.strip().endswith(".whl") for d in deps)
