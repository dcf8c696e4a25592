"""How the deployed job is named and found again in the workspace.

The job is found by name (``[dev <short user>] `` prefix in development mode, like
the Databricks CLI) *and* the kit's tag ``day7-kit: <bundle>/<target>``, so a job
someone else created under the same name is never taken over.
"""
from __future__ import annotations

import re
from typing import TYPE_CHECKING

from course.jobs.workspace.client import RemoteError, api_errors, current_user, host_of
from course.platform import user as platform_user

if TYPE_CHECKING:
    from course.jobs.spec import LoadedJob

__all__ = ["TAG_KEY", "PLACEHOLDER_USER", "short_name", "bundle_and_target", "kit_tag", "deployed_name",
           "jobs_named", "find_job"]

TAG_KEY = "day7-kit"
PLACEHOLDER_USER = "<you>"


def short_name(user: str) -> str:
    """``workspace.current_user.short_name`` as the Databricks CLI derives it (the placeholder stays)."""
    if user == PLACEHOLDER_USER:
        return user
    return platform_user.short_name(user)  # the spec resolves ${workspace.current_user.short_name} with it


def bundle_and_target(loaded: "LoadedJob") -> tuple[str, str]:
    """(bundle name, target): a Jobs JSON file without a bundle is named after its key."""
    bundle = loaded.bundle_name or re.sub(r"[^A-Za-z0-9_.-]+", "_", str(loaded.key)).strip("_") or "job"
    return bundle, loaded.target or "default"


def kit_tag(loaded: "LoadedJob") -> str:
    """The value of the ``day7-kit`` tag: ``<bundle>/<target>``."""
    bundle, target = bundle_and_target(loaded)
    return f"{bundle}/{target}"


def deployed_name(loaded: "LoadedJob", user: str) -> str:
    """The job's name in the workspace: ``[dev <short user>] <name>`` in development mode."""
    name = loaded.settings.name or loaded.key
    if loaded.mode == "development":
        return f"[dev {short_name(user)}] {name}"
    return name


def jobs_named(client, name: str, tag: str) -> tuple[list, list]:
    """(ours, others): jobs with exactly this name, with and without the kit's tag."""
    with api_errors(f"looking up the job '{name}'", client):
        found = [j for j in client.jobs.list(name=name)
                 if j.settings is not None and (j.settings.name or "").lower() == name.lower()]
    ours = [j for j in found if (j.settings.tags or {}).get(TAG_KEY) == tag]
    others = [j for j in found if j not in ours]
    return ours, others


def find_job(loaded: "LoadedJob", client, *, required: bool = True):
    """The deployed job (a ``jobs.BaseJob``) or None; RemoteError when ambiguous or (if
    ``required``) missing."""
    user = current_user(client)
    name, tag = deployed_name(loaded, user), kit_tag(loaded)
    ours, others = jobs_named(client, name, tag)
    if len(ours) > 1:
        ids = ", ".join(str(j.job_id) for j in ours)
        raise RemoteError(f"several jobs named '{name}' carry the tag {TAG_KEY}={tag} on {host_of(client)} "
                          f"(job ids {ids}): delete all but one")
    if ours:
        return ours[0]
    if required:
        hint = f" (a job with that name exists, id {others[0].job_id}, but the kit did not deploy it)" if others else ""
        target = f" -t {loaded.target}" if loaded.target else ""
        raise RemoteError(f"the job '{name}' is not deployed on {host_of(client)}{hint}: "
                          f"run `python runner.py deploy{target}` first")
    return None
