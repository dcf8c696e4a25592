"""sql_task: a .sql file on Spark SQL, on the run's cluster.

The statements run in a process of their own (`sql_process`) connected to the
task's job cluster, like a Python file task; `parameters` (references resolved, job
parameters laid over them as for notebooks) bind `:name` markers. `warehouse_id` names a
SQL warehouse, which a local run does not have: noted in the output. Saved queries,
alerts and dashboards live in a workspace and are refused at load (`executors.refusal`).
"""
from __future__ import annotations

import json
import subprocess
import sys

from course.jobs.local.compute.env import child_env
from course.jobs.local.executors.base import AttemptRequest, Outcome
from course.jobs.model import params
from course.platform import lifeline

NEEDS_COMPUTE = True


def parameters(req: AttemptRequest) -> dict[str, str]:
    task = req.task
    resolved = {k: params.resolve_refs(params.render_value(v), req.refs,
                                       where=f"task '{task.task_key}' parameter '{k}'")
                for k, v in (task.sql_task.parameters or {}).items()}
    resolved.update(req.job_parameters)
    return resolved


def execute(req: AttemptRequest) -> Outcome:
    sql = req.task.sql_task
    out_dir = req.output_stem
    out_dir.mkdir(parents=True, exist_ok=True)
    log_path = out_dir / "stdout.log"
    req.record_output(str(log_path))
    note = (f"warehouse_id {sql.warehouse_id} is not used locally: the statements ran on Spark SQL "
            "on the run's cluster") if sql.warehouse_id else None
    spec = {"file": sql.file.path, "parameters": parameters(req),
            "output_dir": str(out_dir), "note": note}
    env = dict(child_env(req.compute.remote_url(req.task)), DAY7_TASK=json.dumps(dict(req.context._asdict())))
    with open(log_path, "wb") as log:
        proc = lifeline.launch(subprocess.Popen, [sys.executable, "-m", "course.jobs.local.executors.sql_process", json.dumps(spec)],
                               env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                               preexec_fn=lifeline.process_group_preexec())
    req.attempt.on_kill(proc.kill)
    req.attempt.start_clock()
    try:
        code = proc.wait()
    finally:
        req.attempt.finish()
    if req.attempt.stopped_as:
        return req.attempt.stopped_outcome()
    text = log_path.read_text(errors="replace")
    lines = [line for line in text.splitlines() if line.strip() and not line.startswith(("WARNING", "Using "))]
    if code != 0:
        return Outcome("FAILED", lines[-1] if lines else f"exit code {code}", text[-4000:])
    result = out_dir / "result.json"
    req.record_output(str(result))
    return Outcome("SUCCESS", note or "", exit_value=result.read_text()[:4000])
