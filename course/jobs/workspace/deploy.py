"""Deploy a job to a Databricks workspace: bundle → Jobs API settings, uploads, create or reset.

What ``deploy`` does, in the Databricks CLI's terms (``databricks bundle deploy``):

* **Files.** The notebooks and python files the job's tasks use — only those — are
  uploaded to ``${workspace.file_path}/<path relative to the bundle root>``
  (default ``/Workspace/Users/<me>/.bundle/<bundle>/<target>/files``):
  ``.ipynb`` as JUPYTER notebooks, ``.py`` / ``.sql`` / ``.scala`` / ``.r`` notebook
  tasks as SOURCE notebooks, ``spark_python_task`` files as RAW workspace files.
  On Databricks the notebooks use the platform's ``dbutils`` and ``spark`` (the
  ``try: dbutils / except NameError: from course.runtime import …`` idiom), so
  the ``course`` package is not uploaded.
* **Settings.** Notebook paths become extension-less workspace paths (python files
  keep theirs) with ``source: WORKSPACE``; the job cluster is the bundle's, with
  ``spark_version`` / ``node_type_id`` / ``num_workers`` from the target's
  variables; parameters, schedule and triggers (paused in a ``mode: development``
  target), notifications, health rules and the rest are kept as the bundle says.
* **Development mode**, like the CLI: the name gets ``[dev <short user>] ``, the
  job a ``dev: <short user>`` tag, and ``max_concurrent_runs`` 4 unless set.
* **Serverless.** A bundle variable ``compute`` chooses the compute:
  ``job_cluster`` (default) keeps ``job_clusters``; ``serverless`` drops them and
  every task's ``job_cluster_key`` / ``new_cluster`` / ``existing_cluster_id``, so
  the tasks run on serverless jobs compute, and gives python-file tasks the
  environment serverless needs. Only this kit reads the variable: the YAML stays
  a valid bundle and ``databricks bundle deploy`` keeps the job cluster.
* **Marked as a bundle's**, like the CLI: ``deployment: {kind: BUNDLE,
  metadata_file_path: ${workspace.state_path}/metadata.json}``, ``edit_mode:
  UI_LOCKED`` and ``format: MULTI_TASK``. The kit writes no metadata file and no CLI
  state, so the CLI does not know the kit's job (see README, "On Databricks").
* **Once.** The job carries the tag ``day7-kit: <bundle>/<target>`` and is found
  again by name and tag: ``jobs/reset`` when it exists, ``jobs/create`` otherwise,
  so deploying twice never makes a second job. Bundle ``permissions`` are not
  applied (a note says so).

``deployed_settings`` is pure (no I/O beyond what ``load_job`` already checked);
``deploy(dry_run=True)`` sends no request at all.
"""
from __future__ import annotations

import base64
import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from databricks.sdk.service import compute, jobs
from databricks.sdk.service.workspace import ImportFormat, Language

from course.jobs.spec import JobSpecError, LoadedJob
from course.jobs.workspace import pipelines as pipeline_deploy
from course.jobs.workspace import references
from course.jobs.workspace.client import RemoteError, api_errors, current_user
from course.jobs.workspace.naming import (PLACEHOLDER_USER, TAG_KEY, bundle_and_target, deployed_name,
                                          jobs_named, kit_tag, short_name)

__all__ = ["Upload", "DeployResult", "deployed_settings", "deploy", "compute_mode",
           "COMPUTE_VARIABLE", "PLACEHOLDER_USER"]

COMPUTE_VARIABLE = "compute"
COMPUTE_MODES = ("job_cluster", "serverless")
SERVERLESS_ENV_KEY = "default"
SERVERLESS_ENV_VERSION = "2"
DEV_CONCURRENT_RUNS = 4  # what the Databricks CLI sets in development mode when unset
_LANGUAGES = {".py": Language.PYTHON, ".sql": Language.SQL, ".scala": Language.SCALA, ".r": Language.R}


@dataclass(frozen=True)
class Upload:
    """One file to put in the workspace."""

    local: Path               # absolute local path
    remote: str               # workspace path (extension-less for notebooks)
    format: ImportFormat      # JUPYTER / SOURCE (notebooks) or RAW (files)
    language: Language | None = None

    @property
    def kind(self) -> str:
        return "file" if self.format == ImportFormat.RAW else "notebook"


@dataclass
class DeployResult:
    job_id: int | None            # None on a dry run
    url: str | None               # <host>/jobs/<id>; None on a dry run
    uploads: list[Upload]
    settings: jobs.JobSettings
    created: bool                 # True: jobs/create; False: jobs/reset (or dry run)
    user: str = ""
    dry_run: bool = False
    notes: list[str] = field(default_factory=list)
    pipelines: dict[str, dict] = field(default_factory=dict)   # key -> settings sent (and its id)
    clusters: dict[str, dict] = field(default_factory=dict)    # key -> Clusters API fields sent (and cluster_id)
    jobs: dict[str, "DeployResult"] = field(default_factory=dict)  # key -> the bundle's jobs this one runs
    loaded: LoadedJob | None = None   # what was deployed (for a referenced job's report)


# ---------------------------------------------------------------- pure translation

def compute_mode(loaded: LoadedJob) -> str:
    """``job_cluster`` or ``serverless``, from the bundle variable ``compute``."""
    value = (loaded.variables or {}).get(COMPUTE_VARIABLE)
    if value is None or value == "":
        return "job_cluster"
    value = str(value).strip().lower()
    if value not in COMPUTE_MODES:
        raise JobSpecError(loaded.source, f"variables.{COMPUTE_VARIABLE}",
                           f"expected one of: {', '.join(COMPUTE_MODES)}, got {value!r}")
    return value


def _swap_user(text: str, old: str | None, new: str) -> str:
    """``/Workspace/Users/<old>/…`` → ``/Workspace/Users/<new>/…``: load_job resolved the
    default root path and ``${workspace.current_user.userName}`` with the local user name."""
    if old == new or not old:
        return text
    text = text.replace(f"/Workspace/Users/{old}/", f"/Workspace/Users/{new}/")
    return f"/Workspace/Users/{new}" if text == f"/Workspace/Users/{old}" else text


def _walk_strings(obj: Any, fn) -> Any:
    if isinstance(obj, dict):
        return {k: _walk_strings(v, fn) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_walk_strings(v, fn) for v in obj]
    return fn(obj) if isinstance(obj, str) else obj


def _workspace_path(loaded: LoadedJob, user: str, name: str) -> str:
    """``workspace.<name>_path`` as the CLI resolves it: set, or ``${workspace.root_path}/<name>``."""
    bundle, target = bundle_and_target(loaded)
    ws = loaded.workspace or {}
    default_root = f"/Workspace/Users/{user}/.bundle/{bundle}/{target}"
    path = ws.get(f"{name}_path") or str(ws.get("root_path") or default_root).rstrip("/") + f"/{name}"
    return _swap_user(str(path).rstrip("/"), loaded.user, user)


def _file_path(loaded: LoadedJob, user: str) -> str:
    return _workspace_path(loaded, user, "file")


def _notebook_upload(local: Path, remote_base: str) -> Upload:
    ext = local.suffix.lower()
    stem = remote_base[: -len(local.suffix)] if local.suffix else remote_base
    if ext == ".ipynb":
        return Upload(local, stem, ImportFormat.JUPYTER)
    if ext in _LANGUAGES:
        return Upload(local, stem, ImportFormat.SOURCE, _LANGUAGES[ext])
    return Upload(local, stem, ImportFormat.AUTO)


def _refuse_local_libraries(loaded: LoadedJob, settings: jobs.JobSettings) -> None:
    """A library path on this machine (`../dist/*.whl`, a bundle artifact) means nothing to a
    workspace, and building and uploading artifacts is `databricks bundle deploy`'s work: one
    sentence instead of a job whose libraries cannot be found."""
    def local(path: str | None) -> bool:
        return bool(path) and (path.startswith(("./", "../")) or (
            not path.startswith("/") and ":" not in path and path.endswith((".whl", ".txt"))))

    found = [(f"tasks[{i}].libraries[{j}]", task.task_key, lib.whl or lib.requirements)
             for i, task in enumerate(settings.tasks or []) for j, lib in enumerate(task.libraries or [])
             if local(lib.whl or lib.requirements)]
    found += [(f"environments[{i}].spec.dependencies[{j}]", env.environment_key, dep)
              for i, env in enumerate(settings.environments or [])
              for j, dep in enumerate(env.spec.dependencies or [] if env.spec else []) if local(dep)]
    if found:
        where, owner, path = found[0]
        raise JobSpecError(loaded.source, f"resources.jobs.{loaded.key}.{where}",
                           f"'{owner}' names the local file {path}: runner.py deploy does not build or upload "
                           "artifacts; deploy this bundle with `databricks bundle deploy` (it runs locally as it is)")


def deployed_settings(loaded: LoadedJob, me: str | None) -> tuple[jobs.JobSettings, list[Upload]]:
    """The Jobs API settings the workspace gets, and the files to upload first.

    ``me`` is the workspace user name (``current_user.me().user_name``); None means
    the placeholder ``<you>``. Nothing is read or sent: ``loaded`` already checked
    that every file exists.
    """
    user = me or PLACEHOLDER_USER
    mode = compute_mode(loaded)
    data = _walk_strings(loaded.settings.as_dict(),  # builds new containers: no copy needed
                         lambda s: _swap_user(s, loaded.user, user))
    settings = jobs.JobSettings.from_dict(data)
    files = _file_path(loaded, user)
    root = Path(loaded.root)
    uploads: dict[Path, Upload] = {}

    _refuse_local_libraries(loaded, settings)
    placed = []  # (index, task): a for-each's nested task sits at its parent's index
    for i, task in enumerate(settings.tasks or []):
        placed.append((i, task))
        if task.for_each_task is not None and task.for_each_task.task is not None:
            placed.append((i, task.for_each_task.task))
    for i, task in placed:
        rel = loaded.relative_paths.get(task.task_key)
        if rel is None:
            continue  # not a local file (git source, SQL, condition, …)
        if rel.startswith("../") or PurePosixPath(rel).is_absolute():
            raise JobSpecError(loaded.source, f"resources.jobs.{loaded.key}.tasks[{i}]",
                               f"{rel} is outside the bundle root {root}: deploy uploads files "
                               "from the bundle folder only")
        local = (root / rel).resolve()
        target = f"{files}/{rel}"
        if task.notebook_task is not None:
            up = _notebook_upload(local, target)
            task.notebook_task.notebook_path = up.remote
            task.notebook_task.source = jobs.Source.WORKSPACE
        elif task.spark_python_task is not None:
            up = Upload(local, target, ImportFormat.RAW)
            task.spark_python_task.python_file = up.remote
            task.spark_python_task.source = jobs.Source.WORKSPACE
        elif task.sql_task is not None and task.sql_task.file is not None:
            up = Upload(local, target, ImportFormat.RAW)
            task.sql_task.file.path = up.remote
            task.sql_task.file.source = jobs.Source.WORKSPACE
        else:
            continue
        previous = uploads.get(local)
        if previous is not None and previous.format != up.format:
            raise JobSpecError(loaded.source, f"resources.jobs.{loaded.key}.tasks[{i}]",
                               f"{rel} is used both as a notebook and as a python file")
        uploads.setdefault(local, up)

    if mode == "serverless":
        settings.job_clusters = None
        needs_env = False
        for task in settings.tasks or []:
            task.job_cluster_key = task.new_cluster = task.existing_cluster_id = None
            if (task.spark_python_task or task.python_wheel_task or task.dbt_task) and not task.environment_key:
                task.environment_key, needs_env = SERVERLESS_ENV_KEY, True
        if needs_env and not any(e.environment_key == SERVERLESS_ENV_KEY for e in settings.environments or []):
            settings.environments = list(settings.environments or []) + [jobs.JobEnvironment(
                environment_key=SERVERLESS_ENV_KEY,
                spec=compute.Environment(environment_version=SERVERLESS_ENV_VERSION))]

    # What `databricks bundle deploy` sets on every job it deploys: the job is marked as a
    # bundle's (the UI locks it and links the bundle's metadata file) and multi-task.
    settings.deployment = jobs.JobDeployment(
        kind=jobs.JobDeploymentKind.BUNDLE,
        metadata_file_path=f"{_workspace_path(loaded, user, 'state')}/metadata.json")
    settings.edit_mode = jobs.JobEditMode.UI_LOCKED
    settings.format = jobs.Format.MULTI_TASK
    settings.name = deployed_name(loaded, user)
    tags = dict(settings.tags or {})
    tags[TAG_KEY] = kit_tag(loaded)
    if loaded.mode == "development":
        tags["dev"] = short_name(user)
        if settings.max_concurrent_runs is None:
            settings.max_concurrent_runs = DEV_CONCURRENT_RUNS
    settings.tags = tags
    return settings, sorted(uploads.values(), key=lambda u: u.remote)


def _pipelines(loaded: LoadedJob, user: str, settings: jobs.JobSettings):
    """(key -> pipeline settings, their uploads, key -> the tasks that run it) for the job's pipeline tasks."""
    by_key = pipeline_deploy.used(loaded, settings)
    specs, uploads = {}, []
    for key in by_key:
        name = loaded.pipelines[key]["name"]
        if loaded.mode == "development":
            name = f"[dev {short_name(user)}] {name}"
        specs[key], ups = pipeline_deploy.plan(loaded, key, name, _file_path(loaded, user),
                                               loaded.mode == "development", Upload)
        uploads += ups
    return specs, uploads, by_key


def _notes(loaded: LoadedJob, user: str, dry_run: bool) -> list[str]:
    notes = []
    if dry_run and user == PLACEHOLDER_USER:
        notes.append("user: <you> is a placeholder; set DATABRICKS_USERNAME to see your own workspace paths")
    if compute_mode(loaded) == "serverless":
        notes.append("compute: serverless (job clusters dropped; variable compute=serverless)")
    if (loaded.raw or {}).get("permissions"):
        notes.append("permissions: not applied by this deploy (databricks bundle deploy applies them)")
    if loaded.paused:
        notes.append("schedule/triggers: PAUSED (development mode)")
    return notes


def create_kwargs(settings: jobs.JobSettings) -> dict[str, Any]:
    """``jobs.create(**kwargs)`` arguments: the fields ``settings.as_dict()`` would send
    (``from_dict`` turns absent lists into ``[]``; the request should not carry them)."""
    sent = settings.as_dict()
    return {f.name: getattr(settings, f.name) for f in dataclasses.fields(settings) if f.name in sent}


# ---------------------------------------------------------------- I/O

def _upload(client, uploads: list[Upload]) -> None:
    folders = sorted({str(PurePosixPath(u.remote).parent) for u in uploads})
    with api_errors("creating workspace folders", client):
        for folder in folders:
            client.workspace.mkdirs(folder)
    for u in uploads:
        try:
            content = base64.b64encode(u.local.read_bytes()).decode("ascii")
        except OSError as exc:
            raise RemoteError(f"cannot read {u.local}: {exc.strerror or exc}") from None
        with api_errors(f"uploading {u.local.name} to {u.remote}", client):
            client.workspace.import_(u.remote, content=content, format=u.format, language=u.language,
                                     overwrite=True)


def deploy(loaded: LoadedJob, *, client=None, dry_run: bool = False) -> DeployResult:
    """Upload the job's files and create or reset the job; see the module docstring.
    The bundle's clusters and jobs it refers to are deployed first (``references``).

    ``dry_run``: compute settings and uploads only, with no request at all (the
    user is ``DATABRICKS_USERNAME`` or the placeholder ``<you>``); ``client`` may be None.
    """
    if not dry_run and client is None:
        raise TypeError("deploy() needs a client (workspace.workspace_client()) unless dry_run=True")
    return _deploy(loaded, client, dry_run, (), {})


def _referenced_jobs(loaded: LoadedJob, settings, client, dry_run: bool, chain: tuple[str, ...], done: dict):
    """Deploy (or dry-run) every job of the bundle this one runs; point its run-job tasks at them.
    ``done``: the jobs this deploy already deployed (a job two others run is deployed once)."""
    from course.jobs.spec import load_job

    users = references.job_users(loaded, settings)
    results = {}
    for key in users:
        references.check_no_cycle(loaded, key, chain)
        if key not in done:
            other = load_job(loaded.source, target=loaded.target, job_key=key, variables=loaded.variables,
                             local=False)
            done[key] = _deploy(other, client, dry_run, (*chain, loaded.key), done)
        results[key] = done[key]
    references.point_jobs(users, {k: r.job_id if not dry_run else f"<id of job '{r.settings.name}'>"
                                  for k, r in results.items()})
    return results


def _clusters(loaded: LoadedJob, settings, user: str) -> tuple[dict[str, list], dict[str, dict]]:
    """(cluster key -> the tasks naming it, key -> Clusters API fields): checked, nothing sent."""
    users = references.cluster_users(settings)
    return users, {key: references.cluster_spec(loaded, key, user) for key in users}


def _point_clusters(users: dict[str, list], specs: dict[str, dict], client, dry_run: bool) -> None:
    """Create or edit the clusters (a dry run names them) and point the tasks at their ids."""
    for spec in specs.values():
        spec["cluster_id"] = (f"<id of cluster '{spec['cluster_name']}'>" if dry_run
                              else references.create_or_edit_cluster(client, spec)[0])
    references.point_clusters(users, {k: s["cluster_id"] for k, s in specs.items()})


def _deploy(loaded: LoadedJob, client, dry_run: bool, chain: tuple[str, ...], done: dict) -> DeployResult:
    if dry_run:
        user = os.environ.get("DATABRICKS_USERNAME") or PLACEHOLDER_USER
        settings, uploads = deployed_settings(loaded, user)
        specs, more, by_key = _pipelines(loaded, user, settings)
        pipeline_deploy.point_tasks(by_key, {k: f"<id of pipeline '{s['name']}'>" for k, s in specs.items()})
        users, clusters = _clusters(loaded, settings, user)
        _point_clusters(users, clusters, None, True)
        jobs_run = _referenced_jobs(loaded, settings, None, True, chain, done)
        return DeployResult(job_id=None, url=None, uploads=uploads + more, settings=settings, created=False,
                            user=user, dry_run=True, pipelines=specs,
                            notes=_notes(loaded, user, True) + references.literal_job_refs(settings),
                            clusters=clusters, jobs=jobs_run, loaded=loaded)
    user = current_user(client)
    settings, uploads = deployed_settings(loaded, user)
    specs, more, by_key = _pipelines(loaded, user, settings)
    users, clusters = _clusters(loaded, settings, user)  # a cluster the workspace would refuse stops us here
    jobs_run = _referenced_jobs(loaded, settings, client, False, chain, done)  # they exist before this job names them
    _upload(client, uploads + more)  # files first: the job never points at a missing notebook
    ids = {key: pipeline_deploy.create_or_update(client, spec)[0] for key, spec in specs.items()}
    pipeline_deploy.point_tasks(by_key, ids)
    for key, spec in specs.items():
        spec["pipeline_id"] = ids[key]
    _point_clusters(users, clusters, client, False)
    notes = _notes(loaded, user, False) + references.literal_job_refs(settings)
    ours, others = jobs_named(client, settings.name, kit_tag(loaded))
    if others and not ours:
        notes.append(f"another job named '{settings.name}' exists (id {others[0].job_id}) without the "
                     f"{TAG_KEY} tag; it is left alone and a new job is created")
    if len(ours) > 1:
        raise RemoteError(f"several jobs named '{settings.name}' carry the tag "
                          f"{TAG_KEY}={kit_tag(loaded)} (job ids "
                          f"{', '.join(str(j.job_id) for j in ours)}): delete all but one")
    if ours:
        job_id, created = ours[0].job_id, False
        with api_errors(f"updating job {job_id}", client):
            client.jobs.reset(job_id, settings)
    else:
        with api_errors(f"creating the job '{settings.name}'", client):
            job_id, created = client.jobs.create(**create_kwargs(settings)).job_id, True
    host = (client.config.host or "").rstrip("/")
    return DeployResult(job_id=job_id, url=f"{host}/jobs/{job_id}", uploads=uploads + more, settings=settings,
                        created=created, user=user, notes=notes, pipelines=specs, clusters=clusters, jobs=jobs_run,
                        loaded=loaded)
