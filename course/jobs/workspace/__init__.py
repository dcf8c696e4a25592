"""The Day 7 job on a real Databricks workspace: connect, deploy, run, follow, repair, list.

Callers use the package; one concern a module:

* :mod:`.client`   the checked SDK client, who you are, one-sentence :class:`RemoteError`
* :mod:`.naming`   the deployed job's name and ``day7-kit`` tag, and finding it again
* :mod:`.runs`     run_now, repair, list_runs: start a run and follow it to its end
* :mod:`.deploy`   bundle → Jobs API settings, uploads, create or reset (imported by name)

::

    from course.jobs import workspace
    from course.jobs.workspace.deploy import deploy
    client = workspace.workspace_client(profile=None)
    result = deploy(loaded, client=client)                             # DeployResult
    run = workspace.run_now(loaded, client=client, job_parameters={}, on_update=print)
    workspace.run_result(run)                                          # "SUCCESS" / "FAILED" / …
"""
from course.jobs.workspace.client import (SDK_HTTP_TIMEOUT_S, SDK_RETRY_TIMEOUT_S, RemoteError, api_errors,
                                          current_user, workspace_client)
from course.jobs.workspace.naming import (PLACEHOLDER_USER, TAG_KEY, deployed_name, find_job, kit_tag,
                                          short_name)
from course.jobs.workspace.runs import FollowTimeout, is_terminal, list_runs, repair, run_now, run_result

__all__ = ["RemoteError", "FollowTimeout", "workspace_client", "current_user", "api_errors", "run_now",
           "repair", "list_runs", "run_result", "is_terminal", "find_job", "deployed_name", "kit_tag",
           "short_name", "TAG_KEY", "PLACEHOLDER_USER", "SDK_RETRY_TIMEOUT_S", "SDK_HTTP_TIMEOUT_S"]
