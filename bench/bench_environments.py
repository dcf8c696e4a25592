"""What libraries cost a task: an isolated environment's first build and its cached reuse.

On a copy of tests/jobs/local/wheel_bundle (a wheel built by `uv build --wheel`, installed
with pip into a virtualenv layered over the kit's), each sample in a fresh state folder:

* the artifact build, then its reuse (sources unchanged: a digest of the folder);
* the environment of the wheel task (venv + pip), then its reuse (one digest, one stat);
* `environments.prepare` as a task calls it, first and again (both of the above);
* the whole wheel_demo job through `LocalRunner`, first run and second run, per task.

With `--uv`, the same environment built with `uv pip install` for comparison (uv does not see
the kit's packages through the layering, so it reinstalls what the kit already has).

    python bench/bench_environments.py [-n 3] [--uv] [--no-job]
"""
from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
BUNDLE = ROOT / "tests" / "jobs" / "local" / "wheel_bundle"


def timed(fn):
    t = time.perf_counter()
    result = fn()
    return time.perf_counter() - t, result


def one_sample(work: Path) -> dict[str, float]:
    from course.jobs.local import environments
    from course.jobs.local.environments import artifacts, requirements, venvs
    from course.jobs.spec import load_job
    from course.platform import paths

    folder = work / "bundle"
    shutil.copytree(BUNDLE, folder)
    out: dict[str, float] = {}
    with paths.using_home(work / "home"):
        job = load_job(folder / "databricks.yml", job_key="wheel_demo")
        plan, settings = job.libraries, job.settings
        task = next(t for t in settings.tasks if t.task_key == "main_task")
        artifact = plan.artifacts["python_artifact"]
        out["artifact build (uv build --wheel)"], _ = timed(lambda: artifacts.ensure_built(artifact))
        out["artifact reuse (unchanged sources)"], _ = timed(lambda: artifacts.ensure_built(artifact))
        req = requirements.for_task(plan, settings, task)
        out["environment first build (venv + pip)"], _ = timed(lambda: venvs.ensure_env(req))
        out["environment reuse (cached)"], _ = timed(lambda: venvs.ensure_env(req))
    with paths.using_home(work / "home2"):
        shutil.rmtree(folder / "dist", ignore_errors=True)
        out["prepare(task), first: build + install"], _ = timed(lambda: environments.prepare(plan, settings, task))
        out["prepare(task), reuse"], _ = timed(lambda: environments.prepare(plan, settings, task))
    return out


def uv_sample(work: Path) -> float:
    """A layered environment with the same wheel, installed by uv instead of pip."""
    import sysconfig
    import venv

    wheel = next((work / "bundle" / "dist").glob("*.whl"))
    env = work / "uvenv"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(env)
    site = Path(sysconfig.get_path("purelib", vars={"base": str(env), "platbase": str(env)}))
    (site / "_day7_kit.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    uv = Path(sys.executable).parent / "uv"
    seconds, _ = timed(lambda: subprocess.run([str(uv), "pip", "install", "--python", str(env / "bin" / "python"),
                                               "-q", str(wheel)], check=True))
    return seconds


def job_runs(work: Path) -> dict[str, tuple[float, float]]:
    """Task durations (s) of the wheel_demo job: first run, second run."""
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job
    from course.platform import paths

    folder = work / "jobbundle"
    shutil.copytree(BUNDLE, folder)
    durations: list[dict[str, float]] = []
    with paths.using_home(work / "jobhome"):
        for _ in range(2):
            runner = LocalRunner(load_job(folder / "databricks.yml", job_key="wheel_demo"), History(), RunOptions())
            run = runner.history.get_run(runner.run())
            durations.append({t.task_key: (t.end_time - t.start_time) / 1000 for t in run.tasks})
    return {key: (durations[0][key], durations[1][key]) for key in durations[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=3, help="samples, each in a fresh state folder")
    parser.add_argument("--uv", action="store_true", help="also time uv pip install into a layered env")
    parser.add_argument("--no-job", action="store_true", help="skip the two runs of the whole job")
    args = parser.parse_args()

    samples: list[dict[str, float]] = []
    uv_times: list[float] = []
    for i in range(args.n):
        with tempfile.TemporaryDirectory(prefix="day7-bench-env-") as tmp:
            samples.append(one_sample(Path(tmp)))
            if args.uv:
                uv_times.append(uv_sample(Path(tmp)))
        print(f"sample {i + 1}/{args.n} done", file=sys.stderr)
    print(f"{'what':44} {'median':>9} {'min':>9} {'max':>9}")
    for key in samples[0]:
        values = [s[key] for s in samples]
        print(f"{key:44} {statistics.median(values):9.3f} {min(values):9.3f} {max(values):9.3f}  s")
    if uv_times:
        print(f"{'the same environment with uv pip install':44} {statistics.median(uv_times):9.3f} "
              f"{min(uv_times):9.3f} {max(uv_times):9.3f}  s")
    if not args.no_job:
        with tempfile.TemporaryDirectory(prefix="day7-bench-job-") as tmp:
            runs = job_runs(Path(tmp))
        print(f"\nwheel_demo job through LocalRunner, task durations (s): {'first':>8} {'second':>8}")
        for key, (first, second) in runs.items():
            print(f"  {key:52} {first:8.2f} {second:8.2f}")


if __name__ == "__main__":
    main()
