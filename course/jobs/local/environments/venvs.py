"""Isolated environments for tasks with libraries, layered over the kit's, cached by content.

An environment is a virtualenv under `.day7/envs/<digest>/` whose site-packages come first
and whose `.pth` file then adds the kit's own site-packages: pyspark, the kit's runtime and
whatever the kit has stay importable (as Databricks Runtime's preinstalled libraries are),
a library installed here shadows the kit's version, and nothing is ever installed into the
kit's environment. pip runs with the environment's interpreter, so it sees the kit's
packages as installed ("Requirement already satisfied", as on a cluster) and installs only
what is missing or of another version.

An environment is complete once `.complete` is written after pip succeeded; a later task
with the same digest takes it at once (no lock, no pip). Builders of one digest take turns
under a lock; one that died half way leaves no marker, and the next builds it again.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
from pathlib import Path
from typing import Callable

from course.jobs.local.environments.locking import locked
from course.jobs.local.environments.requirements import LibraryError, Requirements
from course.platform import lifeline, paths

KIT_PTH = "_day7_kit.pth"


def envs_dir() -> Path:
    return paths.home() / "envs"


def python_of(env: Path) -> Path:
    return env / "bin" / "python"


def cached(digest: str) -> Path | None:
    """The environment's interpreter if it is built already (the reuse path: one stat)."""
    env = envs_dir() / digest[:16]
    return python_of(env) if (env / ".complete").is_file() else None


def _kit_site_packages() -> list[str]:
    found = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    return list(dict.fromkeys(p for p in found if p))


def _create(env: Path) -> None:
    # No pip of its own: the kit's pip is importable through the .pth file (fast: no ensurepip).
    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(env)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    site.mkdir(parents=True, exist_ok=True)
    (site / KIT_PTH).write_text("\n".join(_kit_site_packages()) + "\n")


def pip_error(output: str) -> str:
    """pip's one relevant line: its last `ERROR:` line (the cause), else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("ERROR:")]
    return (errors or lines or ["pip failed without output"])[-1]


def ensure_env(req: Requirements, on_process: Callable[[subprocess.Popen], None] = lambda p: None) -> Path:
    """The interpreter of the task's environment, built now if it is not cached."""
    digest = req.digest()
    hit = cached(digest)
    if hit is not None:
        return hit
    env = envs_dir() / digest[:16]
    with locked(envs_dir() / f"{digest[:16]}.lock"):
        hit = cached(digest)
        if hit is not None:  # another runner built it while this one waited
            return hit
        shutil.rmtree(env, ignore_errors=True)  # half built by a runner that died
        _create(env)
        (env / "requirements.txt").write_text("\n".join(req.lines) + "\n")
        log_path = env / "install.log"
        command = [str(python_of(env)), "-m", "pip", "install", "--disable-pip-version-check", "--no-input",
                   "--progress-bar", "off", "-r", str(env / "requirements.txt")]
        pip_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PIP_USER", "VIRTUAL_ENV")}
        with open(log_path, "wb") as log:
            proc = lifeline.launch(subprocess.Popen, command, cwd=str(env), env=pip_env, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   preexec_fn=lifeline.process_group_preexec())
            on_process(proc)
            code = proc.wait()
        if code != 0:
            kept = envs_dir() / f"{digest[:16]}.failed.log"
            shutil.copy(log_path, kept)
            shutil.rmtree(env, ignore_errors=True)
            raise LibraryError(f"Library installation failed: {pip_error(kept.read_text(errors='replace'))} "
                               f"(pip's output: {kept})")
        (env / "spec.json").write_text(json.dumps({"lines": req.lines, "python": sys.version}, indent=1))
        (env / ".complete").write_text(digest)
    return python_of(env)
