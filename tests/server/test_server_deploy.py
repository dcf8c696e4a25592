"""`runner.py deploy` to the local workspace: DATABRICKS_HOST / DATABRICKS_TOKEN as `serve` prints them.

The same deploy that goes to a real workspace: notebooks uploaded through Workspace import,
the job created through jobs/create, found again by name and tag on the second deploy.
"""
from __future__ import annotations

import json

import pytest

from course import cli
from fake_databricks import bundle, clean_env  # noqa: F401
from server_fixtures import local_workspace, sdk  # noqa: F401

pytestmark = pytest.mark.slow


@pytest.fixture
def pointed_at_local(clean_env, local_workspace, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", local_workspace.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", local_workspace.state.token)
    return local_workspace


def test_deploy_uploads_and_creates_then_updates_the_same_job(pointed_at_local, bundle, sdk, capsys):
    user = pointed_at_local.state.user
    assert cli.main(["deploy", "--job", str(bundle), "-t", "dev", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["created"] is True
    job = sdk.jobs.get(first["job_id"])
    assert job.settings.name == f"[dev {user.split('@')[0]}] day7-medallion"
    bronze = job.settings.tasks[0].notebook_task.notebook_path
    assert bronze == f"/Workspace/Users/{user}/.bundle/day7/dev/files/solutions/01_bronze"
    assert sdk.workspace.get_status(bronze).object_type.value == "NOTEBOOK"
    # the job's file finds the uploaded notebooks: the shell could run the deployed job
    from course.jobs.spec import load_job
    loaded = load_job(pointed_at_local.state.jobs.file_of(first["job_id"]))
    assert loaded.settings.tasks[0].notebook_task.notebook_path == str(
        pointed_at_local.state.files.root / f"Users/{user}/.bundle/day7/dev/files/solutions/01_bronze.ipynb")

    assert cli.main(["deploy", "--job", str(bundle), "-t", "dev", "--json"]) == 0
    second = json.loads(capsys.readouterr().out)
    assert second["created"] is False and second["job_id"] == first["job_id"]


def test_deploy_with_a_wrong_token_says_so_in_one_line(clean_env, local_workspace, bundle, monkeypatch, capsys):
    monkeypatch.setenv("DATABRICKS_HOST", local_workspace.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-the-token")
    assert cli.main(["deploy", "--job", str(bundle), "-t", "dev"]) == 2
    err = capsys.readouterr().err
    assert "did not accept the credentials" in err and "dapi-not-the-token" not in err
