"""Helpers for the runner tests: run the small jobs of tests/jobs/runner for real.

Every job lives in one bundle, `tests/jobs/runner/databricks.yml`, picked by its
resource key. `run_job` runs one in this process through `LocalRunner` (real
kernels, real papermill) and returns what a test looks at: the `jobs.Run`, every
snapshot the runner published, and its notes. `start_runner` starts
`python runner.py …` as a subprocess for the tests that need a second process
(concurrency, signals, crashes).
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from course.platform import paths
from course.platform.paths import REPO_ROOT

RUNNER_DIR = Path(__file__).parent / "jobs" / "runner"
BUNDLE = RUNNER_DIR / "databricks.yml"
NOTEBOOKS = RUNNER_DIR / "notebooks"
RUNNER_PY = REPO_ROOT / "runner.py"


def load(job_key: str, **variables: str):
    from course.jobs.spec import load_job

    return load_job(BUNDLE, job_key=job_key, variables=variables or None)


def value(enum_or_str) -> str | None:
    return getattr(enum_or_str, "value", enum_or_str)


def task_state(task) -> str:
    """A task run's result state when finished, else its life cycle state."""
    return value(task.state.result_state) or value(task.state.life_cycle_state)


def run_state(run) -> tuple[str, str | None]:
    return value(run.state.life_cycle_state), value(run.state.result_state)


def attempts(run) -> dict[str, list]:
    """Task key -> every task run of that task (attempts, repairs), oldest first."""
    out: dict[str, list] = {}
    for task in sorted(run.tasks or [], key=lambda t: t.run_id):
        out.setdefault(task.task_key, []).append(task)
    return out


def final_states(run) -> dict[str, str]:
    """Task key -> the state of its latest task run."""
    return {key: task_state(runs[-1]) for key, runs in attempts(run).items()}


def output_notebook(task) -> Path:
    """The executed notebook of a task run (its run_page_url is a file:// URL)."""
    assert task.run_page_url and task.run_page_url.startswith("file://"), task.run_page_url
    return Path(task.run_page_url[len("file://"):])


@dataclass
class Result:
    run_id: int
    run: Any                                   # jobs.Run, as `runs/get` returns it
    history: Any                               # the History it was written to
    runner: Any
    snapshots: list = field(default_factory=list)   # every jobs.Run the runner published
    notes: list[str] = field(default_factory=list)

    @property
    def states(self) -> dict[str, str]:
        return final_states(self.run)

    def values(self, task_key: str) -> dict[str, Any]:
        """Task values set by the latest task run of `task_key`."""
        return self.history.task_run_values(attempts(self.run)[task_key][-1].run_id)

    def seen(self, task_key: str) -> list[tuple[int, str]]:
        """(attempt_number, state) pairs `task_key` went through, in order, from the snapshots."""
        out: list[tuple[int, str]] = []
        for snap in self.snapshots:
            for t in snap.tasks or []:
                if t.task_key == task_key and (t.attempt_number, task_state(t)) not in out:
                    out.append((t.attempt_number, task_state(t)))
        return out


def _runner(job, history, **options):
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.local.history import History

    snapshots: list = []
    notes: list[str] = []
    opts = RunOptions(on_update=snapshots.append, on_note=notes.append, **options)
    runner = LocalRunner(job, history or History(), opts)
    return runner, snapshots, notes


def run_job(job_key: str, *, variables: dict[str, str] | None = None, history=None, **options) -> Result:
    """Run a job of the test bundle in this process; `options` are RunOptions fields."""
    runner, snapshots, notes = _runner(load(job_key, **(variables or {})), history, **options)
    run_id = runner.run()
    return Result(run_id, runner.history.get_run(run_id), runner.history, runner, snapshots, notes)


def repair_job(job_key: str, run_id: int, *, variables: dict[str, str] | None = None, history=None,
               rerun_tasks: list[str] | None = None, rerun_dependents: bool = False,
               overrides: dict[str, str] | None = None, **options) -> Result:
    runner, snapshots, notes = _runner(load(job_key, **(variables or {})), history, **options)
    runner.repair(run_id, rerun_tasks=rerun_tasks, rerun_dependents=rerun_dependents, overrides=overrides)
    return Result(run_id, runner.history.get_run(run_id), runner.history, runner, snapshots, notes)


@pytest.fixture(scope="module")
def module_home(tmp_path_factory):
    """A DAY7_HOME for module-scoped fixtures that run a job once for several tests.

    Yields a function `within(fn)` that calls `fn()` with DAY7_HOME pointing at the
    module's folder (the per-test DAY7_HOME of conftest is set up after it).
    """
    home = tmp_path_factory.mktemp("day7module")

    def within(fn: Callable[[], Any]) -> Any:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("DAY7_HOME", str(home))
            return fn()

    within.home = home
    return within


# ---------------------------------------------------------------- the command line

def cli(argv: list[str]) -> tuple[int, str, str]:
    """`course.cli.main(argv)` in this process: (exit code, stdout, stderr)."""
    import contextlib
    import io

    from course.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = exc.code
    return code, out.getvalue(), err.getvalue()


def job_args(job_key: str) -> list[str]:
    return ["--job", str(BUNDLE), "--job-key", job_key]


def start_runner(argv: list[str], **popen) -> subprocess.Popen:
    """`python runner.py ARGV` in a new process with this test's DAY7_HOME."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, str(RUNNER_PY), *argv], env=env, cwd=str(REPO_ROOT),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def wait_for(predicate: Callable[[], Any], timeout: float = 60, interval: float = 0.05, what: str = ""):
    """Poll until `predicate()` is truthy; returns its value, fails the test on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or predicate}")
        time.sleep(interval)


def started_marker(task_key: str) -> Path | None:
    """The `started` file sleep.ipynb writes, once the task's notebook is running."""
    found = sorted(paths.runs_dir().glob(f"*/{task_key}/*/started"))
    return found[-1] if found else None


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[int, str, str]:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"runner did not exit within {timeout} s\nstdout:\n{out}\nstderr:\n{err}")
    return proc.returncode, out, err


def interrupt(proc: subprocess.Popen, sig: int = signal.SIGINT) -> None:
    os.kill(proc.pid, sig)


# ---------------------------------------------------------------- processes

def _environ(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes()
    except OSError:
        return b""


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def alive(pid: int) -> bool:
    """True while `pid` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rfind(")") + 2] not in "ZX"


def processes_of(home: Path) -> dict[int, str]:
    """Live processes (pid -> command line) whose environment has DAY7_HOME=`home`:
    the kernels, job cluster JVMs and runners a test started. This process excluded."""
    marker = b"\0DAY7_HOME=" + str(home).encode() + b"\0"
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        pid = int(entry.name)
        if marker in b"\0" + _environ(pid) and alive(pid):
            found[pid] = _cmdline(pid)
    return found


def kernels_of(home: Path) -> dict[int, str]:
    return {pid: cmd for pid, cmd in processes_of(home).items() if "ipykernel" in cmd}


def no_processes_left(home: Path, timeout: float = 20) -> None:
    """Wait (a JVM takes a moment to stop) until no process of this test is left."""
    deadline = time.monotonic() + timeout
    while processes_of(home) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = processes_of(home)
    assert left == {}, f"processes outlived the runner: {left}"


def run_from_json(text: str):
    from databricks.sdk.service import jobs

    return jobs.Run.from_dict(json.loads(text))
