"""load_job / list_jobs: open a definition, pick the job, and run it through the other rooms.

A bundle goes: reading → bundle (includes, target) → interpolate (``${…}``) →
validate (SDK dataclasses, checks) → files (local paths). A Jobs API JSON skips the
bundle steps. The result is a :class:`LoadedJob`.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from course.jobs.spec.bundle import JOB_BUNDLE_ONLY_KEYS, MODES, bundle_jobs, pause_for_development
from course.jobs.spec.errors import JobSpecError, join, names, suggest
from course.jobs.spec.files import localise_paths
from course.jobs.spec.pipelines import load_pipelines
from course.jobs.spec.interpolate import Substitution, as_text, builtin_refs, variable_values
from course.jobs.spec.libraries import LibraryPlan, plan_libraries
from course.jobs.spec.reading import open_definition
from course.jobs.spec.validate import build, check_runnable
from course.platform.user import current_user

JOB_REF = re.compile(r"\$\{resources\.jobs\.([^.}]+)\.id\}")

__all__ = ["LoadedJob", "load_job", "list_jobs", "DEFAULT_JOB_KEY", "DEFAULT_TARGET"]

DEFAULT_JOB_KEY = "day7_medallion"
DEFAULT_TARGET = "dev"       # the bundle target a workspace gets unless told otherwise


@dataclass
class LoadedJob:
    """A validated job, ready to run locally or deploy."""

    key: str                        # resource key (bundle) or job name (JSON)
    settings: Any                   # jobs.JobSettings, notebook paths absolute & local
    source: Path                    # the file given to load_job
    root: Path                      # bundle root (dir of databricks.yml) / the JSON's dir
    target: str | None = None
    mode: str | None = None
    bundle_name: str | None = None
    workspace: dict = field(default_factory=dict)       # root_path, file_path, … resolved
    variables: dict[str, Any] = field(default_factory=dict)  # resolved; scalars as str
    relative_paths: dict[str, str] = field(default_factory=dict)  # task_key -> path from root
    raw: dict = field(default_factory=dict)             # job dict after substitution
    paused: bool = False            # development mode paused a schedule/trigger
    # where the job's fields sit in the source file, for error messages:
    # "resources.jobs.<key>" (bundle), "settings" (jobs get JSON) or "" (bare JobSettings)
    field_prefix: str = ""
    # the local user name in ${workspace.current_user.*} and the default paths
    # (deploying swaps it for the workspace user)
    user: str | None = None
    libraries: LibraryPlan = field(default_factory=LibraryPlan)  # artifacts, where library paths start
    warnings: list[str] = field(default_factory=list)  # what the CLI would warn about (unknown keys)
    pipelines: dict[str, dict] = field(default_factory=dict)  # resources.pipelines, local paths
    # the bundle's resources.clusters (all-purpose clusters), substituted: key -> Clusters API fields
    clusters: dict = field(default_factory=dict)
    # run-job tasks naming a job of the bundle, when not loaded to run here: task_key -> job key
    job_refs: dict[str, str] = field(default_factory=dict)

    def field_path(self, sub: str) -> str:
        """``sub`` (e.g. ``tasks[0].depends_on``) as a path from the top of the source file."""
        return join(self.field_prefix, "." + sub)


def _pick_job(keys: list[str], job_key: str | None, file: Path) -> str:
    if job_key is not None:
        if job_key not in keys:
            raise JobSpecError(file, "resources.jobs", f"no job '{job_key}'{suggest(job_key, keys)} "
                                                       f"(jobs: {names(keys)})")
        return job_key
    if not keys:
        raise JobSpecError(file, "resources.jobs", "no jobs defined")
    if len(keys) == 1:
        return keys[0]
    if DEFAULT_JOB_KEY in keys:
        return DEFAULT_JOB_KEY
    raise JobSpecError(file, "resources.jobs",
                       f"several jobs and none is '{DEFAULT_JOB_KEY}': pick one with job_key "
                       f"(jobs: {names(keys)})")


def list_jobs(path, target: str | None = None) -> list[str]:
    """The job keys a bundle defines (after includes and the target), or ``[name]`` for a JSON."""
    path, data, kind = open_definition(path)
    if kind != "bundle":
        settings = data["settings"] if kind == "job" else data
        return [settings.get("name") or path.stem]
    return list(bundle_jobs(path, data, target)[4])


def load_job(path, *, target: str | None = None, job_key: str | None = None,
             variables: dict[str, Any] | None = None, preferred_target: str | None = None,
             local: bool = True) -> LoadedJob:
    """Load, merge, substitute and validate one job; raise JobSpecError on any problem.

    ``path`` is a bundle YAML (or its directory), a ``databricks jobs get`` JSON
    or a bare JobSettings JSON. See ``course.jobs.spec`` for the bundle rules.
    Job choice: ``job_key``; else the only job; else ``day7_medallion``; else an error.
    Target choice: ``target``; else ``preferred_target`` when the bundle (with its
    includes) has it; else the one with ``default: true``; else none.
    ``local``: the job is to run here, so task types without a local executor are refused.
    """
    path, data, kind = open_definition(path)
    if kind != "bundle":
        return _load_json(path, data, kind, job_key, local)
    bundle, tname, tgt, tree, jobs_map = bundle_jobs(path, data, target, preferred_target)
    key = _pick_job(list(jobs_map), job_key, path)
    job_file = bundle.job_files.get(key, path)
    mode = tgt.get("mode")
    if mode is not None and mode not in MODES:
        raise JobSpecError(path, f"targets.{tname}.mode", f"invalid mode {mode!r} (expected one of: {', '.join(MODES)})")

    values, declared = variable_values(bundle, tree, tgt, variables, tname)
    user = current_user()
    subst: Substitution | None = None
    builtins = builtin_refs(bundle, tree, tname, user, lambda: subst)
    def job_id(ref_key: str, name: str) -> int:
        """The kit's id of this bundle's job `ref_key`: its run history id, registered now if new."""
        from course.jobs.local.history import History

        with History() as history:
            found = history.find_job(name)
            return found if found is not None else history.ensure_job(
                name, {"name": name}, source={"file": str(path.resolve()), "job_key": ref_key, "target": tname})

    subst = Substitution(path, values, builtins, declared, resources=tree.get("resources") or {},
                         job_id=job_id if local else None)

    prefix = f"resources.jobs.{key}"
    # A task_key of the wrong type (a list, a mapping) is reported by validation, naming the file.
    file_of = lambda task_key: bundle.task_files.get((key, task_key), job_file) \
        if isinstance(task_key, str) else job_file  # noqa: E731
    job = copy.deepcopy(jobs_map[key])
    tasks = job.pop("tasks", None)
    job = subst.apply(job, job_file, prefix)
    if tasks is not None:
        if not isinstance(tasks, list):
            raise JobSpecError(job_file, prefix + ".tasks", "expected a list of tasks")
        job["tasks"] = [subst.apply(t, file_of(t.get("task_key")) if isinstance(t, dict) else job_file,
                                    f"{prefix}.tasks[{i}]") for i, t in enumerate(tasks)]
    job.setdefault("name", key)
    paused = mode == "development" and pause_for_development(job)
    raw = copy.deepcopy(job)
    for k in JOB_BUNDLE_ONLY_KEYS:
        job.pop(k, None)
    job_refs = {} if local else defer_job_refs(job)
    settings = build(job, prefix, file_of, job_file)
    if local:
        check_runnable(settings, prefix, file_of)

    workspace = {k: v for k, v in subst.apply(tree.get("workspace") or {}, path, "workspace").items()}
    for k in ("root_path", "file_path", "artifact_path", "state_path"):
        workspace[k] = subst.ref(f"workspace.{k}", path, f"workspace.{k}", True)
    rel = localise_paths(settings, prefix, file_of, bundle.root, bundle.root, workspace["file_path"])
    libraries = plan_libraries(settings, prefix, file_of, job_file, bundle.root, tree)
    pipelines = load_pipelines(tree, subst, bundle.root, path)
    resolved_vars = {name: as_text(subst.var(name, path, f"variables.{name}"))
                     for name in declared if name in values and not
                     (isinstance(values[name][0], dict) and "lookup" in values[name][0])}
    clusters = subst.apply((tree.get("resources") or {}).get("clusters") or {}, path, "resources.clusters")
    return LoadedJob(
        clusters=clusters if isinstance(clusters, dict) else {}, key=key, settings=settings, source=path.resolve(), root=bundle.root.resolve(),
        target=tname, mode=mode, bundle_name=subst.ref("bundle.name", path, "bundle.name", True),
        workspace=workspace, variables=resolved_vars, relative_paths=rel, raw=raw, paused=paused,
        field_prefix=prefix, user=user, warnings=list(bundle.warnings),
        libraries=libraries, pipelines=pipelines, job_refs=job_refs)


def defer_job_refs(job: dict) -> dict[str, str]:
    """Run-job tasks naming ``${resources.jobs.KEY.id}`` when the job is not to run here:
    task_key -> KEY, and their job_id becomes 0 (no job has it) until deploy, which creates
    job KEY first, puts its id in."""
    found = {}
    for task in job.get("tasks") or []:
        nested = (task.get("for_each_task") or {}).get("task") if isinstance(task, dict) else None
        for t in (task, nested):
            run_job = t.get("run_job_task") if isinstance(t, dict) else None
            m = JOB_REF.fullmatch(str(run_job.get("job_id", ""))) if isinstance(run_job, dict) else None
            if m:
                found[t.get("task_key")] = m.group(1)
                run_job["job_id"] = 0
    return found


def _load_json(path: Path, data: dict, kind: str, job_key: str | None, local: bool = True) -> LoadedJob:
    prefix = "settings" if kind == "job" else ""
    job = copy.deepcopy(data["settings"] if kind == "job" else data)
    key = job.get("name") or path.stem
    if job_key is not None and job_key != key:
        raise JobSpecError(path, join(prefix, ".name"), f"no job '{job_key}' (jobs: {key})")
    raw = copy.deepcopy(job)
    settings = build(job, prefix, lambda _k: path, path)
    if local:
        check_runnable(settings, prefix, lambda _k: path)
    root = path.parent.resolve()
    rel = localise_paths(settings, prefix, lambda _k: path, root, root, None)
    libraries = plan_libraries(settings, prefix, lambda _k: path, path, root)
    # no ${…} in a JSON, but a /Workspace/Users/<local user>/ path in it deploys as the workspace user's
    return LoadedJob(key=key, settings=settings, source=path.resolve(), root=root, raw=raw,
                     relative_paths=rel, field_prefix=prefix, user=current_user(), libraries=libraries)
