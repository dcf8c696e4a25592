"""The bundle's whl artifacts, built as `databricks bundle deploy` builds them, cached by content.

The build is the artifact's `build` command, run by a shell in the artifact's `path` (the
CLI's way). Without one, the CLI runs `<python> setup.py bdist_wheel` (its
`bundle/artifacts/prepare.go`), so the kit does too when there is a `setup.py`; a project with
only a `pyproject.toml` fails on deploy as well, so the kit says so instead of guessing.

The cache key is a digest of the build command and every file under the artifact's folder
(their paths and content; build outputs, VCS and virtualenv folders left out): unchanged
sources reuse the wheels built before (kept under `.day7/artifacts/`) and are put back in
`dist/` if it was cleaned. Concurrent runs wait on one lock per artifact and digest.
"""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from course.jobs.local.environments.locking import locked
from course.jobs.local.environments.requirements import LibraryError
from course.platform import lifeline, paths

SKIP_DIRS = {"dist", "build", ".git", ".venv", "venv", "__pycache__", ".databricks", ".day7", "node_modules",
             ".pytest_cache", ".mypy_cache", ".ruff_cache", ".ipynb_checkpoints", ".tox"}


def default_build(artifact) -> str:
    if not (artifact.path / "setup.py").is_file():
        raise LibraryError(f"artifact '{artifact.name}' has no build command and {artifact.path} has no setup.py: "
                           "the Databricks CLI's default build is `python setup.py bdist_wheel`; add "
                           "`build: uv build --wheel` (or `python -m build --wheel`) to the artifact")
    return f'"{sys.executable}" setup.py bdist_wheel'


def source_digest(artifact, command: str) -> str:
    h = hashlib.sha256(command.encode() + b"\0")
    for folder, dirs, files in os.walk(artifact.path):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.endswith(".egg-info"))
        for name in sorted(files):
            full = Path(folder) / name
            h.update(str(full.relative_to(artifact.path)).encode() + b"\0")
            try:
                with open(full, "rb") as f:
                    for chunk in iter(lambda: f.read(1 << 20), b""):
                        h.update(chunk)
            except OSError:
                continue  # a socket or a file that vanished: not part of a build's input
    return h.hexdigest()


def _outputs(artifact) -> list[Path]:
    return sorted({Path(m) for pattern in artifact.files for m in glob.glob(pattern)})


def _shell_env() -> dict[str, str]:
    """The build sees the kit's Python first on PATH (`python`, `uv`, `pip` of the kit's venv)."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def ensure_built(artifact, on_process: Callable[[subprocess.Popen], None] = lambda p: None) -> list[Path]:
    """The artifact's files, built now or taken from the cache; LibraryError when the build fails."""
    command = artifact.build or default_build(artifact)
    if not artifact.path.is_dir():
        raise LibraryError(f"artifact '{artifact.name}': its path {artifact.path} is not a folder")
    digest = source_digest(artifact, command)[:16]
    cache = paths.home() / "artifacts" / f"{artifact.name}-{digest}"
    with locked(cache.parent / f"{cache.name}.lock"):
        if (cache / ".complete").is_file():
            return _restore(artifact, cache)
        shutil.rmtree(cache, ignore_errors=True)
        started = time.time() - 1
        log_path = cache.parent / f"{cache.name}.log"
        with open(log_path, "wb") as log:
            proc = lifeline.launch(subprocess.Popen, ["bash", "-c", command], cwd=str(artifact.path), env=_shell_env(),
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=lifeline.process_group_preexec())
            on_process(proc)
            code = proc.wait()
        if code != 0:
            lines = [line for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
            last = lines[-1].strip() if lines else f"exit code {code}"
            raise LibraryError(f"artifact '{artifact.name}': build `{command}` failed: {last} (its output: {log_path})")
        made = [p for p in _outputs(artifact) if p.stat().st_mtime >= started] or _outputs(artifact)
        if not made:
            raise LibraryError(f"artifact '{artifact.name}': build `{command}` made no file matching "
                               f"{', '.join(artifact.files)} (its output: {log_path})")
        cache.mkdir(parents=True)
        for p in made:
            shutil.copy2(p, cache / p.name)
        (cache / ".complete").write_text("\n".join(str(p) for p in made))
        return made


def cached_build(artifact) -> bool:
    """Whether the artifact's sources are unchanged since a build in the cache (and its files in place)."""
    try:
        command = artifact.build or default_build(artifact)
    except LibraryError:
        return False
    cache = paths.home() / "artifacts" / f"{artifact.name}-{source_digest(artifact, command)[:16]}"
    done = cache / ".complete"
    return done.is_file() and all(Path(line).exists() for line in done.read_text().splitlines())


def _restore(artifact, cache: Path) -> list[Path]:
    """A cached build: its files back where the build left them, if `dist/` was cleaned since."""
    out = []
    for line in (cache / ".complete").read_text().splitlines():
        target = Path(line)
        if not target.exists() or target.stat().st_size != (cache / target.name).stat().st_size:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(cache / target.name, target)
        out.append(target)
    return out
