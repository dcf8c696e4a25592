"""Deploying the pipelines a job's `pipeline_task`s run (`resources.pipelines` of its bundle).

What `databricks bundle deploy` does for them, through databricks-sdk's pipelines API:
each library file is uploaded under the bundle's `file_path` (a `file:` library as a
workspace file, a `notebook:` one as a notebook), the pipeline is created, or updated
when one of the same name exists, with its settings as written (`development: true`
and the `[dev user]` name prefix in development mode), and the task's `pipeline_id`
becomes the workspace's id for it. A dry run names the pipeline instead of an id.
"""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path, PurePosixPath

from databricks.sdk.service import pipelines as sdk_pipelines
from databricks.sdk.service.workspace import ImportFormat, Language

from course.jobs.spec import JobSpecError
from course.jobs.workspace.client import RemoteError, api_errors

_REFERENCE = re.compile(r"^\$\{resources\.pipelines\.([^.}]+)\.id\}$")
_LANGUAGES = {".py": Language.PYTHON, ".sql": Language.SQL}


def used(loaded, settings) -> dict[str, list]:
    """Pipeline key -> the tasks of the job that run it (by reference, key or name)."""
    out: dict[str, list] = {}
    for task in settings.tasks or []:
        if task.pipeline_task is None:
            continue
        pid = task.pipeline_task.pipeline_id or ""
        m = _REFERENCE.match(pid)
        key = m.group(1) if m else next((k for k, p in loaded.pipelines.items() if pid in (k, p.get("name"))), None)
        if key is not None:
            out.setdefault(key, []).append(task)
    return out


def _remote(loaded, local: str, files_root: str, where: str) -> str:
    rel = Path(local).resolve().relative_to(Path(loaded.root).resolve()) \
        if Path(local).resolve().is_relative_to(Path(loaded.root).resolve()) else None
    if rel is None:
        raise JobSpecError(loaded.source, where, f"{local} is outside the bundle root {loaded.root}: "
                                                 "deploy uploads files from the bundle folder only")
    return f"{files_root}/{rel.as_posix()}"


def plan(loaded, key: str, name: str, files_root: str, development: bool, upload_cls) -> tuple[dict, list]:
    """(the pipeline's settings for the API, its uploads)."""
    pipeline = {k: v for k, v in loaded.pipelines[key].items() if k != "permissions"}
    where = f"resources.pipelines.{key}"
    uploads, libraries = [], []
    for i, lib in enumerate(pipeline.get("libraries") or []):
        (kind, body), = lib.items()
        if kind == "glob":
            local_dir = body["include"].split("*")[0].rstrip("/")
            remote = _remote(loaded, local_dir, files_root, f"{where}.libraries[{i}]")
            for f in sorted(Path(local_dir).rglob("*")):
                if f.is_file() and f.suffix in (".py", ".sql") and "__pycache__" not in f.parts:
                    uploads.append(upload_cls(f, _remote(loaded, str(f), files_root, where), ImportFormat.RAW))
            libraries.append({"glob": {"include": remote + "/**"}})
            continue
        local = Path(body["path"])
        remote = _remote(loaded, str(local), files_root, f"{where}.libraries[{i}]")
        if kind == "notebook":
            remote = remote[: -len(local.suffix)] if local.suffix else remote
            fmt = ImportFormat.JUPYTER if local.suffix == ".ipynb" else ImportFormat.SOURCE
            uploads.append(upload_cls(local, remote, fmt, _LANGUAGES.get(local.suffix)))
        else:
            uploads.append(upload_cls(local, remote, ImportFormat.RAW))
        libraries.append({kind: {"path": remote}})
    pipeline["libraries"] = libraries
    if pipeline.get("root_path"):
        pipeline["root_path"] = _remote(loaded, pipeline["root_path"], files_root, f"{where}.root_path")
    pipeline["name"] = name
    if development:
        pipeline["development"] = True
    return pipeline, uploads


def create_kwargs(spec: dict) -> dict:
    """`pipelines.create(**kwargs)` / `update` arguments, typed by the SDK's own dataclasses."""
    typed = sdk_pipelines.PipelineSpec.from_dict(spec)
    return {f.name: getattr(typed, f.name) for f in dataclasses.fields(typed) if f.name in spec}


def create_or_update(client, spec: dict) -> tuple[str, bool]:
    """(pipeline id, created?) of the pipeline named spec["name"] after this deploy."""
    name = spec["name"]
    quoted = name.replace("'", "''")
    with api_errors(f"looking for the pipeline '{name}'", client):
        found = [p for p in client.pipelines.list_pipelines(filter=f"name LIKE '{quoted}'") if p.name == name]
    if len(found) > 1:
        raise RemoteError(f"several pipelines are named '{name}' (ids {', '.join(p.pipeline_id for p in found)}): "
                          "delete all but one")
    if found:
        with api_errors(f"updating the pipeline '{name}'", client):
            client.pipelines.update(found[0].pipeline_id, **create_kwargs(spec))
        return found[0].pipeline_id, False
    with api_errors(f"creating the pipeline '{name}'", client):
        return client.pipelines.create(**create_kwargs(spec)).pipeline_id, True


def point_tasks(tasks_by_key: dict[str, list], ids: dict[str, str]) -> None:
    for key, tasks in tasks_by_key.items():
        for task in tasks:
            task.pipeline_task.pipeline_id = ids[key]


def remote_folder(path: str) -> str:
    return str(PurePosixPath(path).parent)
