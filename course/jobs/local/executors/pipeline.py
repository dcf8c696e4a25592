"""pipeline_task: one update of a bundle pipeline on Spark Declarative Pipelines.

The pipeline comes from the bundle's `resources.pipelines` (`spec/pipelines.py`); the
task's `pipeline_id` is `${resources.pipelines.<key>.id}` (left literal by the loader
today, so the key is read from it here), the key itself, or the pipeline's name. The
update runs as its own Python process (`course.runtime.pipelines.driver`) through Spark
Connect: on the run's job cluster (`compute.manager` gives a pipeline task the job's first
job cluster when it names none), or, in a job without job clusters, on a cluster of the
pipeline's own, started for the update as Databricks starts a pipeline's cluster (with the
first `clusters[].spark_conf`), and stopped after it.

Output: `pipeline.log` (the driver's lines and the update's events) and `summary.json`
(state, duration, tables and their rows, expectation counts); the summary, without the
events, is the task's exit value, so `runs output` shows it.
"""
from __future__ import annotations

import glob
import json
import re
import sys
from pathlib import Path

from course.jobs.local.compute.env import child_env
from course.jobs.local.executors.base import AttemptRequest, Outcome
from course.jobs.local.executors.python_file import run_logged
from course.platform import paths

NEEDS_COMPUTE = True
_REFERENCE = re.compile(r"^\$\{resources\.pipelines\.([^.}]+)\.id\}$")


def pipeline_key(pipeline_id: str, pipelines: dict[str, dict]) -> str:
    """The resource key `pipeline_id` names; ValueError in one sentence if none."""
    m = _REFERENCE.match(pipeline_id.strip())
    key = m.group(1) if m else pipeline_id
    if key in pipelines:
        return key
    by_name = [k for k, p in pipelines.items() if p.get("name") == pipeline_id]
    if by_name:
        return by_name[0]
    known = ", ".join(pipelines) or "none defined"
    raise ValueError(f"pipeline_id {pipeline_id!r} names no pipeline of this bundle's resources.pipelines "
                     f"({known})")


def library_files(pipeline: dict) -> list[str]:
    """Every source file of the pipeline, in the order its libraries list them."""
    files: list[str] = []
    for lib in pipeline.get("libraries") or []:
        if "glob" in lib:
            pattern = lib["glob"]["include"]
            pattern = pattern + "/*" if pattern.endswith("**") else pattern
            found = sorted(p for p in glob.glob(pattern, recursive=True)
                           if Path(p).is_file() and Path(p).suffix in (".py", ".sql", ".ipynb")
                           and "__pycache__" not in Path(p).parts)
            files += [f for f in found if f not in files]
        else:
            path = (lib.get("file") or lib.get("notebook"))["path"]
            if path not in files:
                files.append(path)
    return files


def local_schema(pipeline: dict) -> str:
    from course.runtime.unity import DEFAULT_CATALOG, schema_for

    schema = pipeline.get("schema") or pipeline.get("target") or "default"
    return schema_for(pipeline.get("catalog") or DEFAULT_CATALOG, schema)


def describe(summary: dict) -> str:
    """The summary in one line per table and expectation, for the log."""
    lines = [f"update {summary.get('state')} in {summary.get('duration_seconds', '?')} s"
             + (" (full refresh)" if summary.get("full_refresh") else "")]
    lines += [f"  {t['type']:<18} {t['name']}: {t['rows_written']} rows written, {t['rows']} in total"
              for t in summary.get("tables", [])]
    lines += [f"  expectation {e['dataset']}.{e['name']} ({e['action']}): {e['passed']} passed, "
              f"{e['failed']} failed" + (f", {e['dropped']} dropped" if e["action"] == "drop" else "")
              for e in summary.get("expectations", [])]
    return "\n".join(lines)


def execute(req: AttemptRequest) -> Outcome:
    task = req.task
    pipelines = getattr(req.loaded, "pipelines", None) or {}
    try:
        key = pipeline_key(task.pipeline_task.pipeline_id or "", pipelines)
    except ValueError as exc:
        return Outcome("FAILED", str(exc))
    pipeline = pipelines[key]
    if pipeline.get("continuous"):
        return Outcome("FAILED", f"pipeline {key} is continuous: a pipeline_task runs triggered pipelines "
                                 "(set continuous: false)")
    files = library_files(pipeline)
    if not files:
        return Outcome("FAILED", f"pipeline {key} has no source files (its libraries match none)")
    out_dir = req.output_stem
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = {"name": pipeline["name"], "schema": local_schema(pipeline), "files": files,
            "configuration": pipeline.get("configuration") or {},
            "root": pipeline.get("root_path") or str(req.loaded.root),
            "storage": (paths.home() / "pipelines" / key / "storage").resolve().as_uri(),
            "full_refresh": bool(task.pipeline_task.full_refresh), "summary": str(out_dir / "summary.json"),
            "full_refresh_selection": list(task.pipeline_task.full_refresh_selection or []),
            "refresh_selection": list(task.pipeline_task.refresh_selection or [])}
    (out_dir / "spec.json").write_text(json.dumps(spec, indent=2))
    req.record_output(str(out_dir / "summary.json"))
    remote = req.compute.remote_url(task)
    cluster = None
    if remote is None:
        cluster, remote = _own_cluster(key, pipeline, out_dir, req)
        if cluster is None:
            return remote  # an Outcome: the cluster did not start, or the attempt was stopped
    try:
        return _run_driver(spec, out_dir, remote, req)
    finally:
        if cluster is not None:
            cluster.stop()


def _own_cluster(key: str, pipeline: dict, out_dir: Path, req: AttemptRequest):
    """(cluster, url) of a cluster started for this update, or (None, Outcome)."""
    from course.jobs.local.compute.cluster import ClusterError, LocalCluster

    clusters = pipeline.get("clusters") or [{}]
    conf = dict((clusters[0] or {}).get("spark_conf") or {})
    cluster = LocalCluster(conf, name=f"pipeline-{key}", log_path=out_dir / "cluster.log")
    req.attempt.on_kill(cluster.stop)
    try:
        cluster.start()
    except ClusterError as exc:
        return None, Outcome("INTERNAL_ERROR", f"pipeline {key}'s cluster failed to start: {exc}")
    if req.attempt.stopped_as:
        cluster.stop()
        return None, req.attempt.stopped_outcome()
    return cluster, cluster.url


def _run_driver(spec: dict, out_dir: Path, remote: str, req: AttemptRequest) -> Outcome:
    attempt = req.attempt
    log_path = out_dir / "pipeline.log"
    env = dict(child_env(remote), DAY7_TASK=json.dumps(dict(req.context._asdict())))
    code = run_logged([sys.executable, "-m", "course.runtime.pipelines.driver", str(out_dir / "spec.json")],
                      cwd=spec["root"], env=env, log_path=log_path, attempt=attempt)
    if attempt.stopped_as:
        return attempt.stopped_outcome()
    summary_path = Path(spec["summary"])
    tail = log_path.read_text(errors="replace")[-4000:]
    if not summary_path.is_file():
        last = [line for line in tail.splitlines() if line.strip()][-1:] or [f"exit code {code}"]
        return Outcome("FAILED", f"pipeline {spec['name']} failed: {last[0]}", tail)
    summary = json.loads(summary_path.read_text())
    with open(log_path, "a") as log:
        log.write(describe(summary) + "\n")
    short = {k: v for k, v in summary.items() if k != "events"}
    if code != 0 or summary.get("state") != "COMPLETED":
        return Outcome("FAILED", f"pipeline {spec['name']} update failed: {summary.get('error')}", tail,
                       exit_value=json.dumps(short))
    return Outcome("SUCCESS", exit_value=json.dumps(short))
