"""Running one task attempt: a notebook through papermill, a .py file, or a condition.

Each returns an `Outcome` (the attempt's result state, message, exit value and
task values). An `Attempt` can be cancelled or timed out from another thread:
the kernel or process is killed at once and the outcome says CANCELED/TIMEDOUT.
"""
from __future__ import annotations

import json
import logging
import os
import re
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from course.platform import lifeline
from course.platform.quickimport import skip_iri_format_checker

skip_iri_format_checker()  # before papermill brings in nbformat

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


@dataclass
class Outcome:
    state: str                          # SUCCESS, FAILED, TIMEDOUT, CANCELED, INTERNAL_ERROR
    message: str = ""
    trace: str | None = None
    exit_value: str | None = None
    task_values: dict[str, Any] = field(default_factory=dict)
    condition_outcome: str | None = None  # "true"/"false" for condition tasks


class Attempt:
    """A running attempt that another thread may stop (timeout or Ctrl-C)."""

    def __init__(self, timeout_s: float | None):
        self.timeout_s = timeout_s or None
        self.stopped_as: str | None = None  # "TIMEDOUT" or "CANCELED" once stopped
        self._kill = None
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def on_kill(self, kill) -> None:
        """Register how to stop what runs now; applies at once if already stopped."""
        with self._lock:
            self._kill = kill
            stopped = self.stopped_as
        if stopped:
            kill()

    def start_clock(self) -> None:
        if self.timeout_s:
            self._timer = threading.Timer(self.timeout_s, self.stop, args=("TIMEDOUT",))
            self._timer.daemon = True
            self._timer.start()

    def stop(self, why: str) -> None:
        with self._lock:
            if self.stopped_as:
                return
            self.stopped_as = why
            kill = self._kill
        if kill:
            kill()

    def finish(self) -> None:
        if self._timer:
            self._timer.cancel()

    def stopped_outcome(self) -> Outcome:
        if self.stopped_as == "TIMEDOUT":
            return Outcome("TIMEDOUT", f"Timed out after {self.timeout_s:g} seconds")
        return Outcome("CANCELED", "Run was canceled")


# ---------------------------------------------------------------- notebooks

def _quiet_papermill() -> None:
    # Every Databricks notebook lacks a "parameters" cell and day7_task is not a
    # declared parameter: papermill warns about both on every run.
    logging.getLogger("papermill").setLevel(logging.ERROR)


def _error_text(exc) -> tuple[str, str]:
    ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    trace = "\n".join(getattr(exc, "traceback", []) or []) or str(exc)
    return f"{ename}: {evalue}".strip(), ANSI.sub("", trace)


def _take(pool, attempt: Attempt, timeout: float = 180):
    """A kernel from the pool, or None once the attempt is stopped while waiting for one
    (a kernel may wait for the job cluster to start: Ctrl-C must not wait with it)."""
    import queue
    import time

    deadline = time.monotonic() + timeout
    while True:
        try:
            return pool.take(timeout=0.2)
        except queue.Empty:
            if attempt.stopped_as:
                return None
            if time.monotonic() > deadline:
                raise RuntimeError(f"no kernel was ready within {timeout:.0f} s") from None


def run_notebook(notebook: Path, output: Path, context: dict, pool, attempt: Attempt,
                 taken: Callable[[], None] | None = None) -> Outcome:
    """Execute `notebook` on a kernel from `pool` with `day7_task = context` injected;
    `taken()` is called once the kernel is taken (the pool may start the next one)."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from course.runtime.scraps import read_task_outputs

    _quiet_papermill()
    kernel = _take(pool, attempt)
    if kernel is None:
        return attempt.stopped_outcome()
    if taken is not None:
        taken()
    attempt.on_kill(kernel.kill)
    try:
        if attempt.stopped_as:
            return attempt.stopped_outcome()
        if kernel.error:
            return Outcome("INTERNAL_ERROR", kernel.error)
        output.parent.mkdir(parents=True, exist_ok=True)
        attempt.start_clock()
        try:
            papermill.execute_notebook(
                str(notebook), str(output), parameters={"day7_task": context},
                km=kernel.manager, kernel_name=kernel.manager.kernel_name,
                progress_bar=False, log_output=False, request_save_on_cell_execute=True)
        except PapermillExecutionError as exc:
            if attempt.stopped_as:
                return attempt.stopped_outcome()
            message, trace = _error_text(exc)
            return Outcome("FAILED", message, trace)
        except Exception as exc:  # the kernel died or was killed
            if attempt.stopped_as:
                return attempt.stopped_outcome()
            message, trace = _error_text(exc)
            return Outcome("FAILED", f"The notebook's kernel stopped: {message}", trace)
        finally:
            attempt.finish()
        if attempt.stopped_as:
            return attempt.stopped_outcome()
        outputs = read_task_outputs(output)
        return Outcome("SUCCESS", exit_value=outputs.exit_value, task_values=outputs.task_values)
    finally:
        kernel.release()  # kill it, stop papermill's client (see Kernel.release)


# ---------------------------------------------------------------- python files

def run_python(script: Path, args: list[str], output_dir: Path, context: dict, env: dict[str, str],
               attempt: Attempt) -> Outcome:
    """Run a spark_python_task's file with `args` as argv; its output goes to stdout.log."""
    from course.runtime.scraps import read_task_outputs

    output_dir.mkdir(parents=True, exist_ok=True)
    log_path = output_dir / "stdout.log"
    env = dict(env, DAY7_TASK=json.dumps(context))
    with open(log_path, "wb") as log:
        proc = lifeline.launch(subprocess.Popen, [sys.executable, str(script), *args], cwd=str(script.parent),
                               env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               preexec_fn=lifeline.process_group_preexec())
    attempt.on_kill(proc.kill)
    attempt.start_clock()
    try:
        code = proc.wait()
    finally:
        attempt.finish()
    if attempt.stopped_as:
        return attempt.stopped_outcome()
    tail = log_path.read_text(errors="replace")[-4000:]
    if code != 0:
        last = [line for line in tail.splitlines() if line.strip()][-1:] or [f"exit code {code}"]
        return Outcome("FAILED", f"{script.name} failed: {last[0]}", tail)
    outputs = read_task_outputs(output_dir)
    return Outcome("SUCCESS", exit_value=outputs.exit_value, task_values=outputs.task_values)


# ---------------------------------------------------------------- conditions

def run_condition(op, left: str, right: str) -> Outcome:
    """A condition task: compare, succeed, and report the outcome for its branches."""
    from course.jobs.model import conditions

    try:
        outcome = conditions.outcome(op, left, right)
    except ValueError as exc:
        return Outcome("FAILED", str(exc))
    return Outcome("SUCCESS", exit_value=outcome, condition_outcome=outcome)


def child_env(spark_remote: str | None) -> dict[str, str]:
    """Environment of kernels and .py tasks: the job cluster's address, quiet storage note."""
    env = dict(os.environ)
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)  # set by pyspark once a process used Spark Connect
    if spark_remote:
        env["SPARK_REMOTE"] = spark_remote
    env["DAY7_QUIET_STORAGE"] = "1"           # the runner announced Delta/Parquet already
    env["PYTHONUNBUFFERED"] = "1"
    return env
