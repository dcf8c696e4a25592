"""The child process of a run or repair the server starts: `python -m course.server.worker …`.

With `--spare` it imports the engine first and then waits for its command on stdin (the
launcher keeps one such warm worker ready, so a run-now does not wait for the imports).
It does what `runner.py run` / `repair` do, without the progress view: load the job from
its file, run it with `LocalRunner` on the shared history, exit 0 on SUCCESS, 1 otherwise,
2 (with `error: <one sentence>`) when the request cannot be carried out — the server reads
that line back as the API's error message.
"""
from __future__ import annotations

import argparse
import json
import signal
import sys


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="course.server.worker")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("run", "repair"):
        p = sub.add_parser(name)
        p.add_argument("--job", required=True)
        p.add_argument("--job-key")
        p.add_argument("--target")
        p.add_argument("--params", default="{}")
        if name == "run":
            p.add_argument("--trigger", default="ONE_TIME")
            p.add_argument("--trigger-time-ms", type=int)
            p.add_argument("--file-arrival-location")
        else:
            p.add_argument("--run-id", type=int, required=True)
            p.add_argument("--tasks")
            p.add_argument("--dependents", action="store_true")
    return parser.parse_args(argv)


def wait_for_command() -> list[str] | None:
    """A spare worker: import the engine now, then wait for one command (a JSON argv line on stdin)."""
    import course.jobs.local.runner  # noqa: F401 - the ~2 s of imports a cold worker pays per run
    import course.jobs.spec  # noqa: F401

    line = sys.stdin.readline()
    return json.loads(line) if line.strip() else None


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--spare"]:
        argv = wait_for_command()
        if argv is None:  # the server stopped without needing it
            return 0
        print(f"command: {' '.join(argv)}", flush=True)
    args = parse(argv)
    from course.jobs.local.history import History, HistoryError, RunNotFound
    from course.jobs.local.runner import LocalRunner, RunError, RunOptions
    from course.jobs.model.params import ParamError
    from course.jobs.spec import JobSpecError, load_job

    def cancel(signum, frame):
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, cancel)  # the server's cancel: the runner stops the run cleanly
    try:
        loaded = load_job(args.job, job_key=args.job_key, target=args.target)
        params = {str(k): str(v) for k, v in json.loads(args.params).items()}
        history = History()
        if args.command == "run":
            options = RunOptions(overrides=params, trigger=args.trigger, trigger_time_ms=args.trigger_time_ms,
                                 file_arrival_location=args.file_arrival_location)
            run_id = LocalRunner(loaded, history, options).run()
        else:
            tasks = json.loads(args.tasks) if args.tasks else None
            run_id = LocalRunner(loaded, history, RunOptions()).repair(
                args.run_id, rerun_tasks=tasks, rerun_dependents=args.dependents, overrides=params)
        record = history.run_record(run_id)
    except (JobSpecError, RunError, ParamError, HistoryError) as exc:
        print(f"error: {exc}", flush=True)
        return 2
    except RunNotFound as exc:
        print(f"error: {exc}", flush=True)
        return 2
    except FileNotFoundError as exc:
        print(f"error: {exc.filename or exc}: no such job file", flush=True)
        return 2
    print(f"run {run_id}: {record.life_cycle_state} {record.result_state or ''}".rstrip(), flush=True)
    return 0 if record.result_state == "SUCCESS" else 1


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    import os
    os._exit(code)  # as runner.py: nothing left to wait for once the history is committed
