"""`runner.py runs`: the run history (list, show one, a task's output)."""
from __future__ import annotations

import json
import sys
import time

from course.cli import EXIT_OK, UsageError
from course.cli.common import add_job_options, add_on_option, exit_code_for, load, print_json


def register(subparsers) -> None:
    p = subparsers.add_parser("runs", help="list runs; `runs show RUN_ID`; `runs output TASK_RUN_ID`")
    p.add_argument("action", nargs="?", choices=["list", "show", "output"], default="list")
    p.add_argument("id", nargs="?", type=int, help="run id (show) or task run id (output)")
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true", help="Jobs API JSON (Run / RunOutput)")
    add_on_option(p)
    add_job_options(p)
    p.set_defaults(handler=handle)


def handle(args) -> int:
    if args.on == "databricks":
        return _remote(args)
    from course.jobs.local.history import History, RunNotFound

    history = History()
    try:
        if args.action == "list":
            return _list(history.list_runs(limit=args.limit), args)
        if args.id is None:
            raise UsageError(f"runs {args.action} needs an id")
        if args.action == "show":
            run = history.get_run(args.id)
            if args.json:
                print_json(run.as_dict())
                return EXIT_OK
            from course.cli.progress import Colors, attempts_table, summary
            colors = Colors(sys.stdout.isatty())
            print(summary(run, colors))
            print("\nEvery task run (`runs output TASK_RUN_ID` shows one):")
            print(attempts_table(run, colors))
            return exit_code_for(run)
        return _output(history, args)
    except RunNotFound as exc:
        raise UsageError(exc.args[0] if exc.args else str(exc)) from None


def _list(runs, args) -> int:
    if args.json:
        print_json({"runs": [r.as_dict() for r in runs]})
        return EXIT_OK
    if not runs:
        print("no runs yet: start one with `python runner.py`")
        return EXIT_OK
    from course.cli.progress import Colors, duration, run_state

    colors = Colors(sys.stdout.isatty())
    print(f"{'run_id':>8}  {'started':<19}  {'state':<22}  {'duration':>8}  name")
    for run in runs:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime((run.start_time or 0) / 1000))
        state = run_state(run)
        print(f"{run.run_id:>8}  {started:<19}  {colors.state(state, 22)}  "
              f"{duration(run.start_time, run.end_time or None):>8}  {run.run_name or ''}")
    return EXIT_OK


def _output(history, args) -> int:
    output = history.get_output(args.id)
    values = history.task_run_values(args.id)
    if args.json:
        body = output.as_dict()
        body["task_values"] = values  # Databricks shows these only in its UI
        print_json(body)
        return EXIT_OK
    meta = output.metadata
    task = meta.tasks[0] if meta and meta.tasks else None
    from course.cli.progress import task_state
    print(f"task run {args.id}: {task.task_key if task else ''} {task_state(task) if task else ''}")
    if output.notebook_output and output.notebook_output.result is not None:
        print(f"exit value: {output.notebook_output.result}")
    if output.logs and task is not None and task.pipeline_task is not None:
        from course.jobs.local.executors.pipeline import describe  # the pipeline update's summary
        print(describe(json.loads(output.logs)))
    if values:
        print("task values:")
        for key, value in values.items():
            print(f"  {key} = {value!r}")
    if output.error:
        print(f"error: {output.error}")
    if output.error_trace and args.json is False:
        print(output.error_trace[-3000:])
    return EXIT_OK


def _remote(args) -> int:
    from course.jobs import workspace as remote

    loaded = load(args)
    try:
        runs = remote.list_runs(loaded, client=remote.workspace_client(args.profile), limit=args.limit)
    except remote.RemoteError as exc:
        raise UsageError(str(exc)) from None
    return _list(runs, args)
