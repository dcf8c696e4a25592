"""The bundle's other resources a job refers to, deployed before it as `databricks bundle deploy` does.

* ``existing_cluster_id: ${resources.clusters.KEY.id}``: the bundle's all-purpose cluster
  KEY is created through the Clusters API, or edited when a cluster of that name carrying
  the kit's tag exists, and the task gets its id. Creating a cluster starts it (as with the
  CLI); the workspace auto-terminates it after ``autotermination_minutes``.
* ``run_job_task.job_id: ${resources.jobs.KEY.id}``: job KEY of the same bundle is
  deployed first (its files, its own references) and the task gets its id.

Without this a deployed task would name the local stand-in (the cluster's key) or the
literal reference, and fail on Databricks only when it runs. A dry run names the
resource instead of an id.
"""
from __future__ import annotations

import dataclasses
import re

from databricks.sdk.service import compute

from course.jobs.spec import JobSpecError
from course.jobs.workspace.client import RemoteError, api_errors
from course.jobs.workspace.naming import TAG_KEY, kit_tag, short_name

CLUSTER_REF = re.compile(r"^\$\{resources\.clusters\.([^.}]+)\.id\}$")
# Clusters API: 0 turns auto-termination off; otherwise 10 to 10000 minutes, whole.
_AUTOTERMINATION = (10, 10000)


def _tasks(settings):
    for task in settings.tasks or []:
        yield task
        if task.for_each_task is not None and task.for_each_task.task is not None:
            yield task.for_each_task.task


def cluster_users(settings) -> dict[str, list]:
    """Cluster key -> the tasks whose ``existing_cluster_id`` refers to it."""
    out: dict[str, list] = {}
    for task in _tasks(settings):
        m = CLUSTER_REF.match(str(task.existing_cluster_id or ""))
        if m:
            out.setdefault(m.group(1), []).append(task)
    return out


def job_users(loaded, settings) -> dict[str, list]:
    """Job key -> the run-job tasks that run that job of the bundle (``loaded.job_refs``)."""
    out: dict[str, list] = {}
    for task in _tasks(settings):
        key = loaded.job_refs.get(task.task_key)
        if key is not None and task.run_job_task is not None:
            out.setdefault(key, []).append(task)
    return out


def cluster_spec(loaded, key: str, user: str) -> dict:
    """The Clusters API fields of ``resources.clusters.KEY`` as this deploy sends them."""
    where = f"resources.clusters.{key}"
    raw = loaded.clusters.get(key)
    if not isinstance(raw, dict):
        raise JobSpecError(loaded.source, where, "referred to by a task but not defined in this bundle")
    spec = {k: v for k, v in raw.items() if k != "permissions"}
    if not spec.get("spark_version"):
        raise JobSpecError(loaded.source, f"{where}.spark_version", "a cluster needs a spark_version to be created")
    minutes = spec.get("autotermination_minutes")
    if minutes is not None:
        low, high = _AUTOTERMINATION
        if isinstance(minutes, bool) or not isinstance(minutes, (int, float)) or minutes != int(minutes) \
                or not (minutes == 0 or low <= minutes <= high):
            raise JobSpecError(loaded.source, f"{where}.autotermination_minutes",
                               f"Databricks accepts 0 (never) or {low} to {high} whole minutes, got {minutes!r} "
                               "(a shorter time only works locally)")
        spec["autotermination_minutes"] = int(minutes)
    name = spec.get("cluster_name") or key
    if loaded.mode == "development":
        name = f"[dev {short_name(user)}] {name}"
    spec["cluster_name"] = name
    spec["custom_tags"] = {**(spec.get("custom_tags") or {}), TAG_KEY: kit_tag(loaded)}
    return spec


def _kwargs(spec: dict) -> dict:
    """`clusters.create` / `edit` arguments, typed by the SDK's own dataclass."""
    typed = compute.ClusterSpec.from_dict(spec)
    return {f.name: getattr(typed, f.name) for f in dataclasses.fields(typed) if f.name in spec}


def _differs(details, spec: dict) -> bool:
    have = details.as_dict()
    return any(have.get(k) != v for k, v in compute.ClusterSpec.from_dict(spec).as_dict().items())


def create_or_edit_cluster(client, spec: dict) -> tuple[str, bool]:
    """(cluster id, created?) of the cluster named spec["cluster_name"] with the kit's tag.

    Neither call waits for the cluster to run: the job starts it when it needs it."""
    name, tag = spec["cluster_name"], spec["custom_tags"][TAG_KEY]
    with api_errors(f"looking for the cluster '{name}'", client):
        found = [c for c in client.clusters.list()
                 if c.cluster_name == name and (c.custom_tags or {}).get(TAG_KEY) == tag]
    if len(found) > 1:
        raise RemoteError(f"several clusters are named '{name}' with the tag {TAG_KEY}={tag} "
                          f"(ids {', '.join(c.cluster_id for c in found)}): delete all but one")
    if found:
        if _differs(found[0], spec):  # an edit restarts a running cluster: only when something changed
            with api_errors(f"updating the cluster '{name}'", client):
                client.clusters.edit(found[0].cluster_id, **_kwargs(spec))
        return found[0].cluster_id, False
    with api_errors(f"creating the cluster '{name}'", client):
        return client.clusters.create(**_kwargs(spec)).cluster_id, True


def point_clusters(users: dict[str, list], ids: dict[str, str]) -> None:
    for key, tasks in users.items():
        for task in tasks:
            task.existing_cluster_id = ids[key]


def point_jobs(users: dict[str, list], ids: dict[str, int | str]) -> None:
    for key, tasks in users.items():
        for task in tasks:
            task.run_job_task.job_id = ids[key]


def check_no_cycle(loaded, key: str, chain: tuple[str, ...]) -> None:
    """A job that (through others) runs itself cannot get an id before it exists."""
    if key == loaded.key or key in chain:
        path = " → ".join((*chain, loaded.key, key))
        raise JobSpecError(loaded.source, f"resources.jobs.{loaded.key}",
                           f"run-job references form a cycle ({path}): a job's id exists only once it is "
                           "created, so one of these must name a job id instead")


def literal_job_refs(settings) -> list[str]:
    """Notes for ``${resources.jobs.KEY.id}`` left as text (anywhere but a run-job task's job_id)."""
    found = []

    def walk(obj, where: str) -> None:
        if isinstance(obj, dict):
            for k, v in obj.items():
                walk(v, f"{where}.{k}" if where else k)
        elif isinstance(obj, list):
            for i, v in enumerate(obj):
                walk(v, f"{where}[{i}]")
        elif isinstance(obj, str) and "${resources.jobs." in obj:
            found.append(f"{where} keeps {obj!r} as text: deploy puts job ids into run-job tasks only "
                         "(for a task's own job id, Databricks' dynamic value {{job.id}} works everywhere)")
    walk(settings.as_dict(), "")
    return found
