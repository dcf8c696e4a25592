"""`runner.py schedule` (when would the job start on its own?) and `runner.py watch`
(start it then: the local stand-in for the Databricks scheduler).

`watch` waits for the job's one trigger (Quartz `schedule`, `trigger.file_arrival`,
`trigger.periodic` or `continuous`) and runs the job in this process, one run at a
time, with the trigger type Databricks would record (PERIODIC, FILE_ARRIVAL,
CONTINUOUS). A paused trigger is not watched: the command says so and exits 1.
Ctrl-C cancels a run in progress and stops watching.
"""
from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timezone

from course.cli import EXIT_FAILED, EXIT_OK, UsageError
from course.cli.common import add_job_options, add_param_option, load, overrides, sigterm_as_interrupt


def register(subparsers) -> None:
    p = subparsers.add_parser("schedule", help="the job's trigger in words and its next fire times",
                              description="Print the job's schedule or trigger and when it fires next "
                                          "(in the job's time zone and here). Exit 2 for a bad cron or job.")
    add_job_options(p)
    p.add_argument("--count", type=int, default=5, metavar="N", help="how many fire times (default 5)")
    p.set_defaults(handler=handle_schedule)

    w = subparsers.add_parser("watch", help="run the job whenever its schedule or trigger fires",
                              description="Wait for the job's schedule, file arrival or continuous trigger and "
                                          "run the job each time, until Ctrl-C. A PAUSED trigger exits 1.")
    add_job_options(w)
    add_param_option(w)
    w.add_argument("--once", action="store_true",
                   help="stop after the first triggered run; the exit code is that run's (0 on SUCCESS)")
    w.add_argument("--poll", type=float, default=2.0, metavar="SECONDS",
                   help="how often a file arrival trigger looks at its folder (default 2)")
    w.add_argument("--max-parallel", type=int, default=4, metavar="N", help="tasks running at once (default 4)")
    w.add_argument("--json", action="store_true", help="print each finished run as one line of Jobs API JSON")
    w.set_defaults(handler=handle_watch)


def _trigger(loaded, poll: float = 2.0):
    from course.jobs.spec import JobSpecError
    from course.jobs.schedules.triggers import job_trigger

    try:
        return job_trigger(loaded, poll_seconds=poll)
    except JobSpecError as exc:
        raise UsageError(str(exc)) from None


def _paused_note(loaded) -> str:
    why = " (development mode pauses triggers)" if loaded.paused else ""
    return f"PAUSED{why}: it does not fire until `pause_status: UNPAUSED`; a manual run does not unpause it"


# ---------------------------------------------------------------- schedule

def handle_schedule(args) -> int:
    if not 1 <= args.count <= 1000:
        raise UsageError("--count must be between 1 and 1000")
    loaded = load(args)
    trigger = _trigger(loaded)
    name = loaded.settings.name or loaded.key
    print(f"{name}: ", end="")
    if trigger is None:
        print("no schedule, trigger or continuous block; it runs when you start it (runner.py run)")
        return EXIT_OK
    print(trigger.describe())
    if trigger.paused:
        print(_paused_note(loaded))
    times = trigger.upcoming(datetime.now(timezone.utc), args.count)
    if trigger.kind == "PERIODIC" and not times:
        print("it fires no more (no matching date before 2099)")
    elif times:
        print(("would fire at" if trigger.paused else "next fire times") + f" ({len(times)}):")
        print("\n".join(_fire_table(times)))
    return EXIT_OK


def _fire_table(times) -> list[str]:
    """One line per fire time: in the job's zone, then here when that differs."""
    rows = []
    for t in times:
        here = t.astimezone()
        there = t.strftime("%a %Y-%m-%d %H:%M:%S %Z")
        rows.append((there, "" if here.utcoffset() == t.utcoffset() else here.strftime("%a %Y-%m-%d %H:%M:%S %Z here")))
    width = max(len(r[0]) for r in rows)
    return [f"  {a:<{width}}   {b}".rstrip() for a, b in rows]


# ---------------------------------------------------------------- watch

def handle_watch(args) -> int:
    if args.max_parallel < 1:
        raise UsageError("--max-parallel must be at least 1")
    if args.poll <= 0:
        raise UsageError("--poll must be more than 0 seconds")
    loaded = load(args)
    params = overrides(args)
    trigger = _trigger(loaded, args.poll)
    name = loaded.settings.name or loaded.key
    if trigger is None:
        raise UsageError(f"{name} has no schedule, trigger or continuous block: nothing to watch "
                         "(start it with `runner.py run`)")
    if trigger.paused:
        print(f"{name}: {trigger.describe()}\n{_paused_note(loaded)}; not watching", file=sys.stderr)
        return EXIT_FAILED
    from course.cli.launch import require_java_if_needed
    from course.jobs.schedules.triggers import watch

    require_java_if_needed(loaded)
    sigterm_as_interrupt()
    say(f"{name}: {trigger.describe()}")
    launcher = _Launcher(loaded, params, args)
    try:
        watch(trigger, launcher.run, say=say, max_runs=1 if args.once else None)
    except (KeyboardInterrupt, _Stop):
        say("stopped watching")
        return EXIT_OK if not args.once else EXIT_FAILED
    if args.once and launcher.states:
        return EXIT_OK if launcher.states[-1] == "SUCCESS" else EXIT_FAILED
    return EXIT_OK


def say(text: str) -> None:
    print(f"{time.strftime('%H:%M:%S')}  {text}", file=sys.stderr, flush=True)


class _Stop(Exception):
    """Ctrl-C (or SIGTERM) during a run: the runner canceled the run; stop watching too."""


class _Launcher:
    """Runs the job once per firing, in this process, as `runner.py run` does."""

    def __init__(self, loaded, params, args):
        from course.jobs.local.history import History

        self.loaded, self.params, self.args = loaded, params, args
        self.history = History()
        self.states: list[str] = []

    def run(self, fire) -> bool:
        from course.cli.launch import run_locally
        from course.cli.progress import RunProgress, duration, run_state
        from course.jobs.local.runner import RunOptions

        progress = RunProgress(sys.stderr)
        announced = []

        def on_update(run):
            if not announced:  # the first snapshot: the run exists and has its id
                announced.append(run.run_id)
                say(f"{fire.reason}: run {run.run_id} started ({fire.trigger})")
            progress.update(run)

        options = RunOptions(overrides=self.params, max_parallel=self.args.max_parallel, trigger=fire.trigger,
                             trigger_time_ms=int(fire.time.timestamp() * 1000),
                             file_arrival_location=fire.location, on_update=on_update, on_note=progress.note)
        run_id = run_locally(self.loaded, self.history, options)
        progress.close()
        run = self.history.get_run(run_id)
        state = run_state(run)
        self.states.append(state)
        say(f"run {run_id} {state} in {duration(run.start_time, run.end_time or None)}")
        if self.args.json:
            print(json.dumps(run.as_dict()), flush=True)
        if state == "CANCELED":  # only a signal cancels a watched run
            raise _Stop
        return state == "SUCCESS"
