"""Deploying the Day 7 pipeline job (`day7_pipeline` in databricks.yml) unchanged: its pipeline is
created (then updated) through the SDK's pipelines API on a fake workspace, its files uploaded."""
from __future__ import annotations

import base64

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.workspace import ExportFormat

from course.jobs.spec import load_job
from course.jobs.workspace.deploy import deploy
from course.platform.paths import REPO_ROOT
from fake_databricks import DEFAULT_USER, FakeDatabricks, clean_env, fake  # noqa: F401

USER = DEFAULT_USER
FILES = f"/Workspace/Users/{USER}/.bundle/day7/dev/files"


def test_the_day7_pipeline_job_deploys_with_its_pipeline(fake: FakeDatabricks):
    client = WorkspaceClient(host=fake.host, token=fake.token)
    loaded = load_job(REPO_ROOT / "databricks.yml", job_key="day7_pipeline", target="dev")
    first = deploy(loaded, client=client)

    (pipeline_id,) = fake.pipelines
    spec = fake.pipelines[pipeline_id]
    assert spec["name"] == "[dev learner] day7-silver-gold" and spec["development"] is True
    assert spec["catalog"] == "workspace" and spec["schema"] == "day7_pipeline" and spec["serverless"] is True
    assert spec["configuration"] == {"bronze_table": "workspace.day7.bronze_events", "top_n": "10"}
    assert spec["libraries"] == [{"file": {"path": f"{FILES}/solutions/pipeline/silver_events.sql"}},
                                 {"file": {"path": f"{FILES}/solutions/pipeline/gold.py"}}]
    exported = client.workspace.export(f"{FILES}/solutions/pipeline/silver_events.sql", format=ExportFormat.SOURCE)
    assert base64.b64decode(exported.content) == (REPO_ROOT / "solutions/pipeline/silver_events.sql").read_bytes()
    job = fake.jobs[first.job_id]["settings"]
    task = next(t for t in job["tasks"] if t["task_key"] == "silver_gold")
    assert task["pipeline_task"] == {"pipeline_id": pipeline_id, "full_refresh": False}

    again = deploy(loaded, client=client)                   # a second deploy updates, never duplicates
    assert list(fake.pipelines) == [pipeline_id] and again.job_id == first.job_id
    assert len(fake.calls(f"/api/2.0/pipelines/{pipeline_id}", "PUT")) == 1


def test_a_dry_run_names_the_pipeline_instead_of_an_id(fake: FakeDatabricks):
    loaded = load_job(REPO_ROOT / "databricks.yml", job_key="day7_pipeline", target="dev")
    result = deploy(loaded, dry_run=True)
    task = next(t for t in result.settings.tasks if t.task_key == "silver_gold")
    assert task.pipeline_task.pipeline_id == "<id of pipeline '[dev <you>] day7-silver-gold'>"
    assert fake.requests == []
