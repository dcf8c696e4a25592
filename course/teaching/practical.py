"""The Day 7 practical exercise, as a checklist about *your own* job.

The exercise: *create a job of your own (your exercise notebooks from notebooks/exercises/)
with at least two dependent tasks, running on a job cluster, on a schedule; make it fail on
purpose and fix it with a repair run.* Your job lives in `my_job.yml` at the top of the
repository (`python runner.py practical new` writes a starter with one task and TODOs).

    python runner.py practical new                    # write the starter my_job.yml
    python runner.py practical check                  # all five items
    python runner.py practical check schedule repair  # or some of them
    python runner.py practical check --job other.yml  # another file of yours

`own-job` says whether the file is yours (not the kit's `databricks.yml` or a lesson's job, a
name of its own, notebook tasks from notebooks/exercises/); the next three read its definition
(`course.jobs.spec.load_job`); `repair` reads the run history of *that job's name*
(`course.jobs.local.history.History`), so the kit's `day7-medallion` runs and the lessons' runs never
count. Each prints ✓ or ✗ lines that say what is there and, when something is missing, what
to do. Exit code 0 when every item checked passes, 1 when one does not, 2 for a bad command
line or a job file that does not load.
"""
from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from course.jobs.model.cron import describe_cron
from course.platform import paths
from course.jobs.model.states import value

ITEMS = ("own-job", "dependent-tasks", "job-cluster", "schedule", "repair")
FAILED_STATES = {"FAILED", "TIMEDOUT", "INTERNAL_ERROR"}
LEARNER_JOB_FILE = paths.REPO_ROOT / "my_job.yml"   # the learner's job: theirs, at a fixed place
DEFAULT_JOB_FILE = LEARNER_JOB_FILE
KIT_JOB_FILES = (paths.REPO_ROOT / "databricks.yml",)  # and every notebooks/jobs/*.yml
KIT_JOBS_DIR = paths.REPO_ROOT / "notebooks" / "jobs"
EXERCISES_DIR = paths.REPO_ROOT / "notebooks" / "exercises"

STARTER = """\
# My Day 7 job: the practical exercise (written by `python runner.py practical new`).
#   python runner.py --job my_job.yml            run it (from the top of the repository)
#   python runner.py practical check             what is done, what is left
bundle:
  name: my-day7

resources:
  jobs:
    my_job:
      name: my-day7-job          # a name of your own: the check follows the runs of this name
      parameters:
        - name: schema
          default: day7_learner
        - name: max_quarantine_share
          default: "0.05"
      tasks:
        - task_key: bronze
          notebook_task:
            notebook_path: ./notebooks/exercises/01_bronze.ipynb
        # TODO 1: add silver (./notebooks/exercises/02_silver.ipynb) after bronze,
        #         and gold (./notebooks/exercises/03_gold.ipynb) after silver (depends_on)
        # TODO 2: a job cluster (job_clusters:) and job_cluster_key on every task
        # TODO 3: a schedule (schedule: quartz_cron_expression, timezone_id)
"""


@dataclass
class Result:
    item: str
    passed: bool
    lines: list[str] = field(default_factory=list)  # what was found / what is missing

    def render(self) -> str:
        mark = "✓" if self.passed else "✗"
        return "\n".join([f"{mark} {self.item}"] + [f"    {line}" for line in self.lines])


# --------------------------------------------------------------------------- whose job it is

def _rel(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(paths.REPO_ROOT.resolve()).as_posix()
    except ValueError:
        return str(path)


def kit_job_names() -> set[str]:
    """The names of the kit's own jobs (databricks.yml, every target, and the lessons' jobs)."""
    from course.jobs.spec import JobSpecError, list_jobs, load_job

    names: set[str] = set()
    files = [*KIT_JOB_FILES, *sorted(KIT_JOBS_DIR.glob("*.yml"))]
    for path in files:
        targets = [None]
        if path.name == "databricks.yml":
            import yaml

            targets += list((yaml.safe_load(path.read_text()) or {}).get("targets") or {})
        for target in targets:
            try:
                for key in list_jobs(path, target=target):
                    names.add(load_job(path, target=target, job_key=key).settings.name or key)
            except (JobSpecError, OSError):
                continue
    return names


def is_kit_file(path: Path) -> bool:
    path = Path(path).resolve()
    return path in {p.resolve() for p in KIT_JOB_FILES} or path.parent == KIT_JOBS_DIR.resolve()


def check_own_job(loaded, kit_names: set[str] | None = None, exercises_dir: Path | None = None) -> Result:
    """The job is the learner's: its own file and name, notebook tasks from the exercises."""
    exercises_dir = Path(exercises_dir or EXERCISES_DIR).resolve()
    name = loaded.settings.name or loaded.key
    if is_kit_file(loaded.source):
        return Result("own-job", False, [
            f"{_rel(loaded.source)} is one of the kit's own jobs: the practical is about a job you write",
            f"write yours in {_rel(LEARNER_JOB_FILE)} (`python runner.py practical new` gives a starter)"])
    kit_names = kit_job_names() if kit_names is None else kit_names
    if name in kit_names:
        return Result("own-job", False, [
            f"your job is named `{name}`, like one of the kit's jobs: their runs would count as yours",
            f"give it a name of your own (`name:` in {_rel(loaded.source)}), e.g. `my-day7-job`"])
    lines, passed = [f"`{name}` in {_rel(loaded.source)}"], True
    for task in loaded.settings.tasks or []:
        if task.notebook_task is None:
            continue
        notebook = Path(task.notebook_task.notebook_path).resolve()
        if notebook.parent == exercises_dir:
            lines.append(f"task `{task.task_key}` runs your exercise {_rel(notebook)}")
        else:
            passed = False
            lines.append(f"task `{task.task_key}` runs {_rel(notebook)}: use your exercise notebooks "
                         f"({_rel(exercises_dir)}/01_bronze.ipynb, 02_silver.ipynb, 03_gold.ipynb)")
    if not any(t.notebook_task for t in loaded.settings.tasks or []):
        passed = False
        lines.append(f"no notebook task: run your exercise notebooks from {_rel(exercises_dir)}/")
    return Result("own-job", passed, lines)


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
    if value(schedule.pause_status) == "PAUSED":
        lines.append("paused: it will not fire until `pause_status: UNPAUSED`"
                     + (" (development mode pauses schedules)" if paused_by_mode else ""))
    return Result("schedule", True, lines)


# --------------------------------------------------------------------------- the run history

def _state(task) -> str | None:
    return value(task.state.result_state) if task.state and task.state.result_state else None


def repair_story(run, job_option: str = "") -> tuple[bool, list[str]] | None:
    """For one run: None when it never failed; else (passed, lines) about its repair."""
    history = run.repair_history or []
    original_ids = set(history[0].task_run_ids or []) if history else {t.run_id for t in run.tasks or []}
    original = [t for t in run.tasks or [] if t.run_id in original_ids]
    failed = sorted({t.task_key for t in original if _state(t) in FAILED_STATES})
    if not failed:
        return None
    repairs = [item for item in history if value(item.type) == "REPAIR"]
    result = value(run.state.result_state) if run.state and run.state.result_state else value(run.state.life_cycle_state)
    lines = [f"run {run.run_id}: {', '.join(failed)} failed"]
    if not repairs:
        lines.append(f"not repaired yet: fix the cause, then `python runner.py repair {run.run_id}{job_option}` "
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


def check_repair(history, job_name: str, limit: int = 50, job_file: Path | None = None) -> Result:
    """A run of the job named `job_name` (and only that name) that failed and was repaired to success."""
    job_option = f" --job {_rel(job_file)}" if job_file is not None else ""
    job_id = history.find_job(job_name)
    if job_id is None:
        return Result("repair", False, [f"`{job_name}` has never run here: run it with `python runner.py{job_option}`"])
    runs = history.list_runs(job_id=job_id, limit=limit, completed_only=True)
    stories = []
    for summary in runs:
        story = repair_story(history.get_run(summary.run_id, include_history=True), job_option)
        if story is not None:
            stories.append(story)
            if story[0]:
                return Result("repair", True, story[1])
    if stories:
        return Result("repair", False, stories[0][1])
    return Result("repair", False, [
        f"none of the last {len(runs)} finished runs of `{job_name}` failed",
        f"make one fail on purpose, e.g. `python runner.py{job_option} --param max_quarantine_share=0` "
        "(silver's quality gate; the job needs that parameter)"])


# --------------------------------------------------------------------------- command line

def run_checks(items: list[str], job_file: Path = DEFAULT_JOB_FILE, job_key: str | None = None,
               target: str | None = None, history=None, exercises_dir: Path | None = None) -> list[Result]:
    """The results of `items` for the job in `job_file` (FileNotFoundError when there is none)."""
    from course.jobs.spec import load_job

    job_file = Path(job_file)
    if not job_file.is_file():
        raise FileNotFoundError(job_file)
    loaded = load_job(job_file, target=target, job_key=job_key)
    settings = loaded.settings
    own = check_own_job(loaded, exercises_dir=exercises_dir)
    not_yours = not own.passed and not any(line.startswith("task `") for line in own.lines)
    checks: dict[str, Callable[[], Result]] = {
        "own-job": lambda: own,
        "dependent-tasks": lambda: check_dependent_tasks(settings),
        "job-cluster": lambda: check_job_cluster(settings),
        "schedule": lambda: check_schedule(settings, loaded.paused),
    }
    results = []
    for item in items:
        if not_yours and item != "own-job":
            results.append(Result(item, False, ["only your own job counts: see own-job"]))
        elif item == "repair":
            if history is None:
                from course.jobs.local.history import History
                history = History()
            results.append(check_repair(history, settings.name or loaded.key, job_file=job_file))
        else:
            results.append(checks[item]())
    return results


def missing_file(items: list[str], job_file: Path) -> list[Result]:
    first = [f"there is no {_rel(job_file)} yet: the practical is about a job of your own",
             "write a starter with `python runner.py practical new` (one task and TODOs), then complete it"]
    return [Result(item, False, first if i == 0 else [f"needs {_rel(job_file)} first"])
            for i, item in enumerate(items)]


def write_starter(path: Path = LEARNER_JOB_FILE) -> Path:
    if path.exists():
        raise FileExistsError(path)
    path.write_text(STARTER, encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python runner.py practical",
                                     description="The Day 7 practical exercise: your own job, checked item by item.")
    sub = parser.add_subparsers(dest="command", required=True)
    check = sub.add_parser("check", help="check one item, several, or all (default)")
    check.add_argument("items", nargs="*", metavar="ITEM", help=f"one of: {', '.join(ITEMS)} (default: all)")
    check.add_argument("--job", type=Path, default=DEFAULT_JOB_FILE, metavar="FILE",
                       help=f"your job definition (default: {_rel(LEARNER_JOB_FILE)} at the top of the repository)")
    check.add_argument("--job-key", help="which job of the bundle (default: its only job)")
    check.add_argument("-t", "--target", help="bundle target (default: the one marked default)")
    new = sub.add_parser("new", help=f"write the starter job file ({_rel(LEARNER_JOB_FILE)}; never overwrites)")
    new.add_argument("--job", type=Path, default=LEARNER_JOB_FILE, metavar="FILE", help="where to write it")
    args = parser.parse_args(argv)
    if args.command == "new":
        try:
            written = write_starter(args.job)
        except FileExistsError:
            print(f"{_rel(args.job)} already exists: edit it (nothing was written)", file=sys.stderr)
            return 1
        print(f"wrote {_rel(written)}: complete its TODOs, then `python runner.py practical check`")
        return 0
    unknown = [item for item in args.items if item not in (*ITEMS, "all")]
    if unknown:
        parser.error(f"unknown item {', '.join(unknown)} (choose from {', '.join(ITEMS)}, all)")
    items = list(ITEMS) if not args.items or "all" in args.items else list(dict.fromkeys(args.items))
    from course.jobs.spec import JobSpecError

    try:
        results = run_checks(items, args.job, args.job_key, args.target)
    except FileNotFoundError:
        if args.job != DEFAULT_JOB_FILE:
            print(f"✗ {args.job}: no such job file", file=sys.stderr)
            return 2
        results = missing_file(items, args.job)
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
