"""Deploying a job that names the bundle's other resources: an all-purpose cluster
(`existing_cluster_id: ${resources.clusters.KEY.id}`) and another job (`run_job_task.job_id:
${resources.jobs.KEY.id}`). They are created first and the tasks get their ids, through the
real SDK against a fake workspace that refuses unknown cluster and job ids as Databricks does."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from databricks.sdk import WorkspaceClient

from course import cli
from course.jobs.spec import JobSpecError, load_job
from course.jobs.workspace.deploy import deploy
from fake_databricks import DEFAULT_USER, FakeDatabricks, clean_env, connected, fake  # noqa: F401

BUNDLE = Path(__file__).parent / "refs_bundle" / "databricks.yml"
FILES = f"/Workspace/Users/{DEFAULT_USER}/.bundle/retail_refs/dev/files"


def load(job_key: str, tmp_path=None, text=None):
    path = BUNDLE
    if text is not None:  # a variant of the bundle, beside the same notebooks
        path = tmp_path / "databricks.yml"
        path.write_text(text)
        shutil.copytree(BUNDLE.parent / "src", tmp_path / "src")
    return load_job(path, job_key=job_key, target="dev", local=False)


def test_the_cluster_and_the_job_run_are_created_first_and_the_tasks_get_their_ids(fake: FakeDatabricks):
    client = WorkspaceClient(host=fake.host, token=fake.token)
    result = deploy(load("nightly"), client=client)

    (cluster_id,) = fake.clusters
    cluster = fake.clusters[cluster_id]
    assert cluster["cluster_name"] == "[dev learner] retail-interactive"
    assert cluster["autotermination_minutes"] == 20 and cluster["num_workers"] == 1
    assert cluster["custom_tags"] == {"day7-kit": "retail_refs/dev"}
    ingest = result.jobs["ingest_orders"]
    assert fake.jobs[ingest.job_id]["settings"]["name"] == "[dev learner] ingest orders"
    assert fake.jobs[ingest.job_id]["settings"]["tasks"][0]["existing_cluster_id"] == cluster_id
    nightly = {t["task_key"]: t for t in fake.jobs[result.job_id]["settings"]["tasks"]}
    assert nightly["run_ingest"]["run_job_task"] == {"job_id": ingest.job_id, "job_parameters": {"catalog": "workspace"}}
    assert nightly["report"]["existing_cluster_id"] == cluster_id
    assert fake.content(f"{FILES}/src/load_orders") and fake.content(f"{FILES}/src/report")
    creates = [c.path for c in fake.api_calls() if c.path.endswith(("/create", "/import"))]
    assert creates.index("/api/2.2/jobs/create") < len(creates) - 1  # the run job came before nightly's create

    again = deploy(load("nightly"), client=client)       # a second deploy edits, never duplicates
    assert list(fake.clusters) == [cluster_id] and len(fake.jobs) == 2
    assert (again.job_id, again.jobs["ingest_orders"].job_id) == (result.job_id, ingest.job_id)
    assert fake.calls("/api/2.1/clusters/edit") == []  # unchanged: an edit would restart it


def test_the_dry_run_names_the_resources_and_sends_nothing(connected: FakeDatabricks, capsys):
    code = cli.main(["deploy", "--job", str(BUNDLE), "--job-key", "nightly", "--dry-run"])
    out = capsys.readouterr().out
    assert code == 0 and connected.requests == []
    assert "\"job_id\": \"<id of job '[dev <you>] ingest orders'>\"" in out
    assert "\"existing_cluster_id\": \"<id of cluster '[dev <you>] retail-interactive'>\"" in out
    assert "job ingest_orders (run by this job): [dev <you>] ingest orders  (would be deployed first, 1 file)" in out


def test_the_job_still_runs_locally_with_its_local_ids():
    loaded = load_job(BUNDLE, job_key="nightly", target="dev")
    tasks = {t.task_key: t for t in loaded.settings.tasks}
    assert tasks["report"].existing_cluster_id == "interactive" and loaded.job_refs == {}
    assert isinstance(tasks["run_ingest"].run_job_task.job_id, int) and tasks["run_ingest"].run_job_task.job_id > 0


def test_a_cycle_of_run_job_references_is_refused_before_anything_is_sent(fake: FakeDatabricks, tmp_path):
    text = BUNDLE.read_text().replace(
        "      tasks:\n        - task_key: load\n",
        "      tasks:\n        - task_key: back\n          run_job_task:\n"
        "            job_id: ${resources.jobs.nightly.id}\n        - task_key: load\n", 1)
    with pytest.raises(JobSpecError) as exc:
        deploy(load("nightly", tmp_path, text), client=WorkspaceClient(host=fake.host, token=fake.token))
    assert "run-job references form a cycle (nightly → ingest_orders → nightly)" in str(exc.value)
    assert [c.path for c in fake.api_calls() if c.method == "POST"] == []


def test_an_auto_termination_databricks_refuses_is_named_before_anything_is_sent(fake: FakeDatabricks, tmp_path):
    text = BUNDLE.read_text().replace("autotermination_minutes: 20", "autotermination_minutes: 0.5")
    with pytest.raises(JobSpecError) as exc:
        deploy(load("nightly", tmp_path, text), client=WorkspaceClient(host=fake.host, token=fake.token))
    assert "resources.clusters.interactive.autotermination_minutes: Databricks accepts 0 (never) or 10 to 10000 " \
           "whole minutes, got 0.5" in str(exc.value)
    assert [c.path for c in fake.api_calls() if c.method == "POST"] == []


def test_a_job_two_others_run_is_deployed_once(fake: FakeDatabricks, tmp_path):
    weekly = ("\n    weekly:\n      name: weekly rebuild\n      tasks:\n"
              "        - task_key: ingest\n          run_job_task:\n            job_id: ${resources.jobs.ingest_orders.id}\n"
              "        - task_key: nightly\n          depends_on: [{task_key: ingest}]\n"
              "          run_job_task:\n            job_id: ${resources.jobs.nightly.id}\n")
    text = BUNDLE.read_text().replace("\ntargets:", weekly + "\ntargets:", 1)
    result = deploy(load("weekly", tmp_path, text), client=WorkspaceClient(host=fake.host, token=fake.token))
    assert [c.path for c in fake.api_calls() if c.path.startswith("/api/2.2/jobs/")
            and c.method == "POST"] == ["/api/2.2/jobs/create"] * 3   # ingest once, nightly, weekly
    assert result.jobs["nightly"].jobs["ingest_orders"].job_id == result.jobs["ingest_orders"].job_id


def test_a_job_id_reference_left_as_text_is_named_in_a_note(tmp_path):
    text = BUNDLE.read_text().replace("            notebook_path: ./src/report.py\n",
                                      "            notebook_path: ./src/report.py\n            base_parameters:\n"
                                      "              upstream: ${resources.jobs.ingest_orders.id}\n", 1)
    result = deploy(load("nightly", tmp_path, text), dry_run=True)
    assert any(n.startswith("tasks[1].notebook_task.base_parameters.upstream keeps "
                            "'${resources.jobs.ingest_orders.id}' as text") for n in result.notes), result.notes
