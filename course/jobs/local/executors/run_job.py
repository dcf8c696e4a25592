"""run_job_task: another job runs as a run of its own; this task follows its result.

`job_id` is a job id of the kit's history: a job of the same bundle written
`${resources.jobs.x.id}` (the loader registers it), or any job that ran here before. The
job is loaded from the file, key and target the history recorded for it, as it is now,
and runs with `job_parameters` (references resolved) in this process, on its own
clusters, triggered RUN_JOB_TASK. The task run names the child run
(`run_job_output.run_id` in `runs/get-output`) as soon as it exists.
"""
from __future__ import annotations

from course.jobs.local.executors.base import AttemptRequest, Outcome
from course.jobs.model import params, states

NEEDS_COMPUTE = False


def _child_job(req: AttemptRequest, job_id: int):
    """The LoadedJob `job_id` names, or an Outcome saying why there is none."""
    from course.jobs.local.history import RunNotFound
    from course.jobs.spec import JobSpecError, load_job

    key = req.task.task_key
    try:
        name, _ = req.history.job_settings(job_id)
    except RunNotFound:
        return Outcome("FAILED", f"task '{key}': job {job_id} is not in the run history: run it once, or "
                                 "name a job of this bundle as ${resources.jobs.<key>.id}")
    source = req.history.job_source(job_id)
    if not source:
        return Outcome("FAILED", f"task '{key}': job {job_id} ('{name}') has no recorded job file to load it from")
    try:
        return load_job(source["file"], job_key=source.get("job_key"), target=source.get("target"))
    except (JobSpecError, FileNotFoundError) as exc:
        return Outcome("FAILED", f"task '{key}': job {job_id} ('{name}') cannot be loaded: {exc}")


def execute(req: AttemptRequest) -> Outcome:
    from course.jobs.local.runner import LocalRunner, RunError, RunOptions

    spec = req.task.run_job_task
    key = req.task.task_key
    calling = (*(req.options.calling_jobs if req.options else ()), req.refs.job_id)
    if spec.job_id in calling:  # it would wait for itself (or run forever): Databricks refuses cycles too
        chain = " -> ".join(str(j) for j in (*calling[calling.index(spec.job_id):], spec.job_id))
        return Outcome("FAILED", f"task '{key}': job {spec.job_id} is already running this one (jobs {chain})")
    child = _child_job(req, spec.job_id)
    if isinstance(child, Outcome):
        return child
    overrides = {k: params.resolve_refs(params.render_value(v), req.refs,
                                        where=f"task '{key}' job parameter '{k}'")
                 for k, v in (spec.job_parameters or {}).items()}
    linked: list[int] = []

    def on_update(run) -> None:
        if not linked:
            linked.append(run.run_id)
            req.record(child_run_id=run.run_id)
    note = req.options.on_note if req.options else None
    options = RunOptions(overrides=overrides, trigger="RUN_JOB_TASK", on_update=on_update, calling_jobs=calling,
                         on_note=(lambda text: note(f"{key} -> {text}")) if note else None)
    runner = LocalRunner(child, req.history, options)
    req.attempt.on_kill(lambda: runner.cancel("CANCELED"))
    req.attempt.start_clock()
    try:
        run_id = runner.run()
    except RunError as exc:
        return Outcome("FAILED", f"task '{key}': job '{child.settings.name}' did not start: {exc}")
    finally:
        req.attempt.finish()
    record = req.history.run_record(run_id)
    if req.attempt.stopped_as:
        return req.attempt.stopped_outcome()
    said = f"run {run_id} of job '{child.settings.name}' ended {record.result_state}"
    if record.result_state in (states.SUCCESS, states.SUCCESS_WITH_FAILURES):
        return Outcome("SUCCESS", said, exit_value=str(run_id))
    return Outcome("FAILED", f"{said}: {record.state_message}" if record.state_message else said,
                   exit_value=str(run_id))
