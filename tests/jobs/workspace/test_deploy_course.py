"""The course's own bundle (databricks.yml, solutions/) deploys unchanged to a workspace, with the
same Unity Catalog names it uses locally: `workspace.day7.…` (a fake workspace, the real SDK)."""
from __future__ import annotations

import base64
import json
from pathlib import Path

from databricks.sdk import WorkspaceClient
from databricks.sdk.service.workspace import ExportFormat

from course import cli
from course.jobs.spec import load_job
from fake_databricks import clean_env, connected, fake  # noqa: F401

REPO = Path(__file__).resolve().parents[3]
BUNDLE = REPO / "databricks.yml"
FILES = "/Workspace/Users/learner@example.com/.bundle/day7/dev/files"


def parameters(settings) -> dict:
    return {p.name: p.default for p in settings.parameters}


def test_local_and_deployed_jobs_name_the_same_tables():
    """Free Edition's default style: catalog `workspace`, schema `day7`, in every target but exercises."""
    for target in ("local", "dev", "dev_serverless", "prod"):
        got = parameters(load_job(BUNDLE, target=target).settings)
        assert (got["catalog"], got["schema"]) == ("workspace", "day7"), target
    exercises = parameters(load_job(BUNDLE, target="exercises").settings)
    assert (exercises["catalog"], exercises["schema"]) == ("workspace", "day7_learner")
    layers = parameters(load_job(BUNDLE, job_key="day7_layers").settings)
    assert (layers["catalog"], layers["schema"]) == ("workspace", "day7")


def test_the_course_bundle_deploys_its_solutions_byte_for_byte(connected, capsys):
    code = cli.main(["deploy", "--job", str(BUNDLE), "-t", "dev", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    (call,) = connected.calls("/api/2.2/jobs/create")
    deployed_parameters = {p["name"]: p["default"] for p in call.body["parameters"]}
    assert deployed_parameters == parameters(load_job(BUNDLE).settings)   # the local run's, as they are
    w = WorkspaceClient(host=connected.host, token=connected.token)
    uploads = json.loads(out)["uploads"]
    assert [u["workspace_path"] for u in uploads] == [f"{FILES}/solutions/{n}"
                                                      for n in ("01_bronze", "02_silver", "03_gold")]
    for name in ("01_bronze", "02_silver", "03_gold"):
        exported = w.workspace.export(f"{FILES}/solutions/{name}", format=ExportFormat.JUPYTER)
        deployed = base64.b64decode(exported.content)
        assert deployed == (REPO / "solutions" / f"{name}.ipynb").read_bytes()
        sources = "".join(c["source"] if isinstance(c["source"], str) else "".join(c["source"])
                          for c in json.loads(deployed)["cells"])
        assert 'dbutils.widgets.text("catalog", "workspace", "Catalog")' in sources
        assert 'f"{catalog}.{schema}.' in sources and "spark_catalog" not in sources
