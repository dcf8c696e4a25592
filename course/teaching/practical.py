"""The Day 7 practical exercise, as a checklist you verify with one command each.

The exercise: *create a job with at least two dependent tasks, running on a job cluster,
on a schedule; make it fail on purpose and fix it with a repair run.*

    python -m course.teaching.practical check                  # all four
    python -m course.teaching.practical check dependent-tasks  # or job-cluster, schedule, repair
    python -m course.teaching.practical check repair --job my_job.yml --job-key my_job

The first three read the job definition (databricks.yml by default, through
`course.jobs.spec.load_job`); `repair` reads the run history of that job
(`course.jobs.local.history.store.History`). Each prints ✓ or ✗ lines that say what is there and,
when something is missing, what to do. Exit code 0 when every item checked passes.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from course.jobs.model.cron import describe_cron
from course.platform import paths

ITEMS = ("dependent-tasks", "job-cluster", "schedule", "repair")
FAILED_STATES = {"FAILED", "TIMEDOUT", "INTERNAL_ERROR"}
DEFAULT_JOB_FILE = paths.REPO_ROOT / "databricks.yml"


@dataclass
class Result:
    item: str
    passed: bool
    lines: list[str] = field(default_factory=list)  # what was found / what is missing

    def render(self) -> str:
        mark = "✓" if self.passed else "✗"
        return "\n".join([f"{mark} {self.item}"] + [f"    {line}" for line in self.lines])


def _value(enum_or_str) -> str | None:
    return getattr(enum_or_str, "value", enum_or_str)


# --------------------------------------------------------------------------- the job definition

def check_dependent_tasks(settings) -> Result:
    """At least two tasks, and at least one depends on another."""
    tasks = settings.tasks or []
    edges = [(dep.task_key, t.task_key) for t in tasks for dep in (t.depends_on or [])]
    if len(tasks) < 2:
        return Result("dependent-tasks", False, [
            f"the job has {len(tasks)} task{'s' if len(tasks) != 1 else ''}; it needs at least two",
            "add a second task with `depends_on: [{task_key: <the first>}]`"])
    if not edges:
        return Result("dependent-tasks", False, [
            f"{len(tasks)} tasks ({', '.join(t.task_key for t in tasks)}), but none depends on another",
            f"give `{tasks[1].task_key}` a `depends_on: [{{task_key: {tasks[0].task_key}}}]`"])
    return Result("dependent-tasks", True, [f"{after} runs after {before}" for before, after in edges])


def check_job_cluster(settings) -> Result:
    """A job cluster is defined and every task that needs compute runs on it."""
    clusters = {c.job_cluster_key: c for c in settings.job_clusters or []}
    if not clusters:
        return Result("job-cluster", False, [
            "no `job_clusters` in the job: a job cluster starts with the run and stops when it ends",
            "add `job_clusters: [{job_cluster_key: day7_cluster, new_cluster: {spark_version: ..., "
            "node_type_id: ..., num_workers: 1}}]` and `job_cluster_key: day7_cluster` on each task"])
    lines, passed = [], True
    for key, cluster in clusters.items():
        spec = cluster.new_cluster
        if spec is None or not spec.spark_version:
            passed = False
            lines.append(f"job cluster `{key}` has no `new_cluster.spark_version`")
        else:
            size = (f"{spec.num_workers} worker{'s' if spec.num_workers != 1 else ''}" if spec.num_workers is not None
                    else "autoscaling" if spec.autoscale else "single node")
            lines.append(f"job cluster `{key}`: {spec.spark_version}, {spec.node_type_id or 'default node type'}, {size}")
    for task in settings.tasks or []:
        if task.job_cluster_key in clusters:
            lines.append(f"task `{task.task_key}` runs on `{task.job_cluster_key}`")
        elif task.job_cluster_key:
            passed = False
            lines.append(f"task `{task.task_key}` names job cluster `{task.job_cluster_key}`, which is not defined")
        elif task.existing_cluster_id:
            passed = False
            lines.append(f"task `{task.task_key}` runs on the all-purpose cluster {task.existing_cluster_id}: "
                         "use `job_cluster_key` instead")
        elif task.new_cluster is None and task.condition_task is None and task.run_job_task is None:
            passed = False
            lines.append(f"task `{task.task_key}` has no cluster: add `job_cluster_key: {next(iter(clusters))}`")
    return Result("job-cluster", passed, lines)


def check_schedule(settings, paused_by_mode: bool = False) -> Result:
    """A schedule with a valid Quartz cron expression (the spec already validated it)."""
    schedule = settings.schedule
    if schedule is None or not schedule.quartz_cron_expression:
        hint = ("add `schedule: {quartz_cron_expression: \"0 0 2 * * ?\", timezone_id: UTC}` "
                "(every day at 02:00 UTC)")
        other = " (the job has a trigger or runs continuously instead)" if settings.trigger or settings.continuous else ""
        return Result("schedule", False, [f"the job has no schedule{other}", hint])
    lines = [f"`{schedule.quartz_cron_expression}` in {schedule.timezone_id or 'UTC'}"
             f" ({describe_cron(schedule.quartz_cron_expression)})"]
    if _value(schedule.pause_status) == "PAUSED":
        lines.append("paused: it will not fire until `pause_status: UNPAUSED`"
                     + (" (development mode pauses schedules)" if paused_by_mode else ""))
    return Result("schedule", True, lines)


# --------------------------------------------------------------------------- the run history

def _state(task) -> str | None:
    return _value(task.state.result_state) if task.state and task.state.result_state else None


def repair_story(run) -> tuple[bool, list[str]] | None:
    """For one run: None when it never failed; else (passed, lines) about its repair."""
    history = run.repair_history or []
    original_ids = set(history[0].task_run_ids or []) if history else {t.run_id for t in run.tasks or []}
    original = [t for t in run.tasks or [] if t.run_id in original_ids]
    failed = sorted({t.task_key for t in original if _state(t) in FAILED_STATES})
    if not failed:
        return None
    repairs = [item for item in history if _value(item.type) == "REPAIR"]
    result = _value(run.state.result_state) if run.state and run.state.result_state else _value(run.state.life_cycle_state)
    lines = [f"run {run.run_id}: {', '.join(failed)} failed"]
    if not repairs:
        lines.append(f"not repaired yet: fix the cause, then `python runner.py repair {run.run_id}` "
                     "(with `--param NAME=VALUE` if a parameter was the cause)")
        return False, lines
    rerun = sorted({t.task_key for t in run.tasks or [] if t.run_id not in original_ids})
    kept = sorted({t.task_key for t in original if _state(t) == "SUCCESS"} - set(rerun))
    lines.append(f"repaired {len(repairs)} time{'s' if len(repairs) != 1 else ''}: re-ran {', '.join(rerun) or 'nothing'}"
                 + (f"; {', '.join(kept)} kept {'its' if len(kept) == 1 else 'their'} result" if kept else ""))
    if result in ("SUCCESS", "SUCCESS_WITH_FAILURES"):
        lines.append(f"the run is now {result}, under the same run id")
        return True, lines
    lines.append(f"the run is still {result}: fix the cause and repair again")
    return False, lines


def check_repair(history, job_name: str, limit: int = 50) -> Result:
    job_id = history.find_job(job_name)
    if job_id is None:
        return Result("repair", False, [f"`{job_name}` has never run here: run it with `python runner.py`"])
    runs = history.list_runs(job_id=job_id, limit=limit, completed_only=True)
    stories = []
    for summary in runs:
        story = repair_story(history.get_run(summary.run_id, include_history=True))
        if story is not None:
            stories.append(story)
            if story[0]:
                return Result("repair", True, story[1])
    if stories:
        return Result("repair", False, stories[0][1])
    return Result("repair", False, [
        f"none of the last {len(runs)} finished runs of `{job_name}` failed",
        "make one fail on purpose, e.g. `python runner.py --param max_quarantine_share=0` (silver's quality gate)"])


# --------------------------------------------------------------------------- command line

def run_checks(items: list[str], job_file: Path = DEFAULT_JOB_FILE, job_key: str | None = None,
               target: str | None = None, history=None) -> list[Result]:
    from course.jobs.spec import load_job

    loaded = load_job(job_file, target=target, job_key=job_key)
    settings = loaded.settings
    checks: dict[str, Callable[[], Result]] = {
        "dependent-tasks": lambda: check_dependent_tasks(settings),
        "job-cluster": lambda: check_job_cluster(settings),
        "schedule": lambda: check_schedule(settings, loaded.paused),
    }
    results = []
    for item in items:
        if item == "repair":
            if history is None:
                from course.jobs.local.history.store import History
                history = History()
            results.append(check_repair(history, settings.name or loaded.key))
        else:
            results.append(checks[item]())
    return results


def main(argv: list[str] | None = None, prog: str = "python -m course.teaching.practical") -> int:
    parser = argparse.ArgumentParser(prog=prog,
                                     description="Check the Day 7 practical exercise, one item at a time.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check one item, several, or all four (default)")
    check.add_argument("items", nargs="*", metavar="ITEM", help=f"one of: {', '.join(ITEMS)} (default: all)")
    check.add_argument("--job", type=Path, default=DEFAULT_JOB_FILE, metavar="FILE",
                       help="the job definition (default: databricks.yml of the kit)")
    check.add_argument("--job-key", help="which job of the bundle (default: day7_medallion)")
    check.add_argument("-t", "--target", help="bundle target (default: the one marked default)")
    args = parser.parse_args(argv)
    unknown = [item for item in args.items if item not in (*ITEMS, "all")]
    if unknown:
        parser.error(f"unknown item {', '.join(unknown)} (choose from {', '.join(ITEMS)}, all)")
    items = list(ITEMS) if not args.items or "all" in args.items else list(dict.fromkeys(args.items))
    from course.jobs.spec import JobSpecError

    try:
        results = run_checks(items, args.job, args.job_key, args.target)
    except JobSpecError as exc:
        print(f"✗ the job definition does not load: {exc}", file=sys.stderr)
        return 2
    for result in results:
        print(result.render())
    passed = sum(r.passed for r in results)
    if len(results) > 1:
        print(f"{passed} of {len(results)} done.")
    return 0 if passed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
