"""spark_python_task: the file runs as its own Python process with the parameters as argv;
its output goes to stdout.log and the task context arrives as DAY7_TASK. A task with
libraries runs with its isolated environment's interpreter (course.jobs.local.environments)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from course.jobs.local.compute.env import child_env
from course.jobs.local.executors.base import Attempt, AttemptRequest, Outcome
from course.jobs.model import params
from course.platform import lifeline

NEEDS_COMPUTE = True


def execute(req: AttemptRequest) -> Outcome:
    task = req.task
    args = params.resolve_python_arguments(req.settings, task, req.job_parameters, req.refs)
    out_dir = req.output_stem
    req.record_output(str(out_dir / "stdout.log"))
    prepared = environment_of(req)
    if isinstance(prepared, Outcome):
        return prepared
    return run_python(Path(task.spark_python_task.python_file), args, out_dir, dict(req.context._asdict()),
                      child_env(req.compute.remote_url(task)), req.attempt,
                      python=str(prepared.python) if prepared else None)


def environment_of(req: AttemptRequest):
    """The task's isolated environment (environments.Prepared), None for the kit's own, or
    the FAILED Outcome when its libraries cannot be built or installed."""
    from course.jobs.local import environments

    plan = getattr(req.loaded, "libraries", None)
    if plan is None:
        return None
    try:
        return environments.prepare(plan, req.settings, req.task, on_process=lambda p: req.attempt.on_kill(p.kill))
    except environments.LibraryError as exc:
        return req.attempt.stopped_outcome() if req.attempt.stopped_as else Outcome("FAILED", str(exc))


def run_python(script: Path, args: list[str], output_dir: Path, context: dict, env: dict[str, str],
               attempt: Attempt, python: str | None = None, label: str | None = None) -> Outcome:
    """Run a spark_python_task's file with `args` as argv (with `python`, default the kit's);
    its output goes to stdout.log."""
    from course.runtime.scraps import read_task_outputs

    output_dir.mkdir(parents=True, exist_ok=True)
    log_path = output_dir / "stdout.log"
    env = dict(env, DAY7_TASK=json.dumps(context))
    code = run_logged([python or sys.executable, str(script), *args], cwd=str(script.parent), env=env,
                      log_path=log_path, attempt=attempt)
    if attempt.stopped_as:
        return attempt.stopped_outcome()
    tail = log_path.read_text(errors="replace")[-4000:]
    if code != 0:
        last = [line for line in tail.splitlines() if line.strip()][-1:] or [f"exit code {code}"]
        return Outcome("FAILED", f"{label or script.name} failed: {last[0]}", tail)
    outputs = read_task_outputs(output_dir)
    return Outcome("SUCCESS", exit_value=outputs.exit_value, task_values=outputs.task_values)


def run_logged(argv: list[str], *, cwd, env: dict, log_path: Path, attempt: Attempt) -> int:
    """Run `argv` as a child that dies with us, stdout and stderr into `log_path`, under the
    attempt's clock and kill switch; its exit code (check `attempt.stopped_as` after)."""
    with open(log_path, "wb") as log:
        proc = lifeline.launch(subprocess.Popen, argv, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, preexec_fn=lifeline.process_group_preexec())
    attempt.on_kill(proc.kill)
    attempt.start_clock()
    try:
        return proc.wait()
    finally:
        attempt.finish()
