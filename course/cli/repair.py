"""`runner.py repair RUN_ID`: re-run failed tasks inside the same run."""
from __future__ import annotations

import sys

from course.cli import UsageError
from course.cli.common import (add_job_options, add_on_option, add_param_option, load, overrides,
                               show_finished, sigterm_as_interrupt)


def register(subparsers) -> None:
    p = subparsers.add_parser("repair", help="re-run the failed tasks of a finished run",
                              description="Repair a run: by default its unsuccessful tasks and those skipped "
                                          "because of them, with the job's current definition.")
    p.add_argument("run_id", type=int)
    add_job_options(p)
    add_param_option(p)
    add_on_option(p)
    p.add_argument("--task", action="append", metavar="KEY", help="re-run this task (repeatable)")
    p.add_argument("--dependents", action="store_true", help="also re-run the tasks downstream of those")
    p.add_argument("--max-parallel", type=int, default=4, metavar="N")
    p.add_argument("--json", action="store_true", help="print the run as a Jobs API Run object")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    if args.on == "local" and not args.job:
        _job_of_the_run(args)
    loaded = load(args)
    params = overrides(args)
    from course.cli.progress import RunProgress

    progress = RunProgress(sys.stderr)
    if args.on == "databricks":
        from course.jobs import workspace as remote
        try:
            client = remote.workspace_client(args.profile)
            run = remote.repair(loaded, args.run_id, client=client, rerun_tasks=args.task,
                                rerun_dependents=args.dependents, job_parameters=params or None,
                                on_update=progress.update)
        except remote.RemoteError as exc:
            raise UsageError(str(exc)) from None
        return show_finished(run, args)

    from course.cli.launch import run_locally
    from course.jobs.local.history import History
    from course.jobs.local.runner import RunOptions

    sigterm_as_interrupt()
    from course.cli.progress import saved_notes

    for line in saved_notes(loaded):
        progress.note(line)
    history = History()
    options = RunOptions(max_parallel=args.max_parallel, on_update=progress.update, on_note=progress.note)
    run_locally(loaded, history, options, repair_of=args.run_id, rerun_tasks=args.task,
                rerun_dependents=args.dependents, overrides=params)
    progress.close()
    return show_finished(history.get_run(args.run_id), args)


def _job_of_the_run(args) -> None:
    """Without --job, a local repair uses the job file the run came from (recorded with the run)."""
    from pathlib import Path

    from course.jobs.local.history import History, RunNotFound

    history = History()
    try:
        source = history.job_source(history.run_record(args.run_id).job_id)
    except RunNotFound as exc:
        raise UsageError(exc.args[0] if exc.args else f"run {args.run_id} not found") from None
    if source is None:
        return  # a run recorded before sources were: the default job file, checked by name
    if not Path(source["file"]).exists():
        raise UsageError(f"run {args.run_id} came from {source['file']}, which no longer exists: "
                         "give the job file with --job")
    args.job, args.job_key = source["file"], args.job_key or source["job_key"]
    args.target = args.target or source["target"]
