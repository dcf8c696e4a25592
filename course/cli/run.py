"""`runner.py run` (the default command): run the job, locally or on Databricks."""
from __future__ import annotations

import sys

from course.cli import UsageError
from course.cli.common import (add_job_options, add_on_option, add_param_option, load, overrides,
                               show_finished, sigterm_as_interrupt)


def register(subparsers) -> None:
    p = subparsers.add_parser("run", help="run the job (default command)",
                              description="Run the Day 7 job and print a summary. Exit 0 on SUCCESS, "
                                          "1 when the run did not succeed, 2 for bad input.")
    add_job_options(p)
    add_param_option(p)
    add_on_option(p)
    p.add_argument("--layer", action="append", metavar="TASK",
                   help="run only this task (repeatable); upstream values come from the latest successful run")
    p.add_argument("--max-parallel", type=int, default=4, metavar="N", help="tasks running at once (default 4)")
    p.add_argument("--json", action="store_true", help="print the run as a Jobs API Run object")
    p.set_defaults(handler=handle)


def handle(args) -> int:
    loaded = load(args)
    params = overrides(args)
    if args.on == "databricks":
        return run_remote(args, loaded, params)
    if args.max_parallel < 1:
        raise UsageError("--max-parallel must be at least 1")
    from course.cli.launch import require_java_if_needed, run_locally
    from course.cli.progress import RunProgress
    from course.jobs.local.history import History
    from course.jobs.local.runner import RunOptions

    require_java_if_needed(loaded)
    sigterm_as_interrupt()
    progress = RunProgress(sys.stderr)
    options = RunOptions(overrides=params, layers=args.layer, max_parallel=args.max_parallel,
                         on_update=progress.update, on_note=progress.note)
    from course.cli.progress import saved_notes

    for line in saved_notes(loaded):
        progress.note(line)
    history = History()
    run_id = run_locally(loaded, history, options)
    progress.close()
    return show_finished(history.get_run(run_id), args)


def run_remote(args, loaded, params) -> int:
    from course.cli.progress import RunProgress
    from course.jobs import workspace as remote

    if args.layer:
        raise UsageError("--layer runs locally only (on Databricks, repair the run with --task instead)")
    progress = RunProgress(sys.stderr)
    try:
        client = remote.workspace_client(args.profile)
        run = remote.run_now(loaded, client=client, job_parameters=params, on_update=progress.update)
    except remote.RemoteError as exc:
        raise UsageError(str(exc)) from None
    progress.close()
    return show_finished(run, args)
