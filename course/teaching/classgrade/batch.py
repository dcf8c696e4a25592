"""Grading a class: every learner folder in a process of its own, several at a time."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable

from course.teaching.classgrade.model import ERROR, MISSING, PRACTICAL, NotebookResult
from course.platform import lifeline

# Beyond its notebooks' timeouts, what a learner process may take (cluster start, kernels, setups).
LEARNER_SLACK = 300


class ClassError(ValueError):
    """A class folder or report folder that cannot be graded; the message names the path."""


def learner_folders(class_dir: Path, out_dir: Path | None = None) -> list[Path]:
    class_dir = Path(class_dir)
    if not class_dir.exists():
        raise ClassError(f"{class_dir}: no such folder")
    if not class_dir.is_dir():
        raise ClassError(f"{class_dir}: not a folder (give a folder holding one folder per learner)")
    out = Path(out_dir).resolve() if out_dir else None
    folders = sorted(p for p in class_dir.iterdir()
                     if p.is_dir() and not p.name.startswith((".", "_")) and p.resolve() != out)
    if not folders:
        raise ClassError(f"{class_dir}: no learner folders in it (one folder per learner, "
                         "holding their notebooks under the released names)")
    return folders


def released_names(solutions_dir: Path | None = None) -> list[str]:
    from course.teaching import exercises

    return sorted(exercises.exercises_for(solutions_dir))


def _crashed(folder: Path, names: list[str], why: str) -> list[NotebookResult]:
    return ([NotebookResult(folder.name, name, ERROR, note=why) for name in names]
            + [NotebookResult(folder.name, PRACTICAL, MISSING, note=why)])


def grade_learner_process(folder: Path, work: Path, timeout: float, names: list[str],
                          solutions_dir: Path | None = None) -> list[NotebookResult]:
    """One learner in a child process (`course.teaching.classgrade.learner`); never raises."""
    work.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "course.teaching.classgrade.learner", str(folder), str(work), "--timeout", str(timeout)]
    if solutions_dir:
        command += ["--solutions", str(solutions_dir)]
    env = dict(os.environ)
    for name in ("DAY7_HOME", "SPARK_REMOTE", "DAY7_TASK"):
        env.pop(name, None)  # the child sets its own
    deadline = timeout * (len(names) + 1) + LEARNER_SLACK
    with open(work / "grading.log", "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=work, env=env, stdout=log, stderr=subprocess.STDOUT,
                                   preexec_fn=lifeline.die_with_parent())
        try:
            process.wait(timeout=deadline)
        except subprocess.TimeoutExpired:
            from course.teaching.classgrade.learner import kill_tree

            kill_tree(process.pid)
            return _crashed(folder, names, f"grading this learner took more than {deadline:g} s and was stopped")
    result = work / "result.json"
    if process.returncode != 0 or not result.exists():
        tail = (work / "grading.log").read_text(encoding="utf-8", errors="replace").strip().splitlines()[-1:]
        return _crashed(folder, names, f"grading this learner failed (exit {process.returncode}): {' '.join(tail)}")
    return [NotebookResult.from_dict(d) for d in json.loads(result.read_text(encoding="utf-8"))]


def grade_class(class_dir: Path, *, timeout: float = 600, jobs: int = 2, solutions_dir: Path | None = None,
                out_dir: Path | None = None, work_dir: Path | None = None,
                progress: Callable[[list[NotebookResult]], None] | None = None) -> list[NotebookResult]:
    """Every learner's results, learners in name order; the batch always finishes."""
    folders = learner_folders(class_dir, out_dir)
    names = released_names(solutions_dir)
    work = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="day7-class-"))
    lock = threading.Lock()

    def one(index_folder: tuple[int, Path]) -> list[NotebookResult]:
        index, folder = index_folder
        results = grade_learner_process(folder, work / f"{index:03d}", timeout, names, solutions_dir)
        if progress is not None:
            with lock:
                progress(results)
        return results

    try:
        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            per_learner = list(pool.map(one, enumerate(folders)))
    finally:
        if work_dir is None:
            shutil.rmtree(work, ignore_errors=True)
    return [result for results in per_learner for result in results]


def progress_line(results: list[NotebookResult]) -> str:
    learner = results[0].learner if results else "?"
    parts = [f"{r.notebook.removesuffix('.ipynb')} {r.status}" for r in results]
    seconds = sum(r.seconds for r in results)
    return f"{learner}: {', '.join(parts)} ({seconds:.0f} s)"


__all__ = ["ClassError", "grade_class", "learner_folders", "progress_line"]
