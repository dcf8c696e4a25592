"""notebook_task: the notebook runs through papermill on a kernel from the run's pool,
with `day7_task` (the task context) injected as its first cell. A task with libraries gets
a kernel running its isolated environment's Python (course.jobs.local.environments)."""
from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Callable

from course.jobs.local.executors.base import Attempt, AttemptRequest, Outcome
from course.jobs.local.executors.python_file import environment_of
from course.jobs.model import params
from course.platform.quickimport import skip_iri_format_checker

skip_iri_format_checker()  # before papermill brings in nbformat

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
NEEDS_COMPUTE = True


def execute(req: AttemptRequest) -> Outcome:
    task = req.task
    parameters = params.resolve_task_parameters(req.settings, task, req.job_parameters, req.refs)
    context = req.context._replace(parameters=parameters)
    output = req.output_stem.parent / f"{req.output_stem.name}.ipynb"
    req.record_output(str(output))
    prepared = environment_of(req)  # a task with libraries: its kernel runs in their environment
    if isinstance(prepared, Outcome):
        return prepared
    pool = req.compute.pool(task, environment=prepared) if prepared else req.compute.pool(task)
    notebook = Path(task.notebook_task.notebook_path)
    # the notebook's workspace-style path (no extension) for getContext().notebookPath()
    context = context._replace(notebook_path=str(notebook.with_suffix("") if notebook.suffix.lower()
                                                 in {".ipynb", ".py", ".sql"} else notebook))
    return run_notebook(notebook, output, dict(context._asdict()), pool,
                        req.attempt, taken=lambda: req.kernel_taken(pool))


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

    from course.jobs.local.executors.cellcap import ENGINE
    from course.runtime import sourcenb
    from course.runtime.scraps import read_task_outputs

    _quiet_papermill()
    try:  # a Databricks source notebook (.py / .sql) or exported SQL notebook is converted in memory
        plain = notebook.suffix.lower() == ".ipynb" and not sourcenb.is_sql_export(notebook)
        source = str(notebook) if plain else sourcenb.load(notebook)
    except (sourcenb.SourceNotebookError, OSError) as exc:
        return Outcome("FAILED", str(exc))
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
                source, str(output), parameters={"day7_task": context},
                km=kernel.manager, kernel_name=kernel.manager.kernel_name, language="python", engine_name=ENGINE,
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
