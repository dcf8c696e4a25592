"""`runner.py deploy` and course.jobs.workspace.deploy against a fake workspace, through the real SDK."""
from __future__ import annotations

import base64
import json

import pytest
from databricks.sdk import WorkspaceClient
from databricks.sdk.service import jobs
from databricks.sdk.service.workspace import ExportFormat

from course import cli
from course.jobs.workspace import client as connection
from course.jobs.workspace.deploy import deployed_settings
from course.jobs.spec import JobSpecError, load_job
from fake_databricks import (FakeDatabricks, bundle, clean_env, connected, fake,  # noqa: F401
                             write_profile)

USER = "learner@example.com"
DEV_FILES = f"/Workspace/Users/{USER}/.bundle/day7/dev/files"


def deploy_cli(capsys, *args) -> tuple[int, str, str]:
    code = cli.main(["deploy", *args])
    out, err = capsys.readouterr()
    return code, out, err


def created_settings(fake: FakeDatabricks) -> dict:
    (call,) = fake.calls("/api/2.2/jobs/create")
    return call.body


def sdk(fake: FakeDatabricks) -> WorkspaceClient:
    return WorkspaceClient(host=fake.host, token=fake.token)


# ---------------------------------------------------------------- dry run

def test_dry_run_prints_settings_and_uploads_and_sends_no_request(connected, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "--dry-run")
    assert code == 0, err
    assert connected.requests == []  # not even the SDK's host-metadata probe
    assert "no request was sent" in out
    assert "<you> is a placeholder" in out and "DATABRICKS_USERNAME" in out
    line = next(x for x in out.splitlines() if "01_bronze.ipynb" in x)
    assert "/Workspace/Users/<you>/.bundle/day7/dev/files/solutions/01_bronze" in line
    settings = json.loads(out[out.index("\n{") + 1: out.rindex("}") + 1])
    assert settings["name"] == "[dev <you>] day7-medallion"
    assert settings["tasks"][0]["notebook_task"]["notebook_path"].endswith("/files/solutions/01_bronze")


def test_dry_run_json_uses_databricks_username(fake, bundle, capsys, monkeypatch):
    monkeypatch.setenv("DATABRICKS_USERNAME", "ada.lovelace@example.com")
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "--dry-run", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert fake.requests == []
    assert data["dry_run"] is True and data["job_id"] is None
    assert data["settings"]["name"] == "[dev ada_lovelace] day7-medallion"
    assert [u["workspace_path"] for u in data["uploads"]] == [
        f"/Workspace/Users/ada.lovelace@example.com/.bundle/day7/dev/files/solutions/{n}"
        for n in ("01_bronze", "02_silver", "03_gold")]
    assert {u["format"] for u in data["uploads"]} == {"JUPYTER"}


# ---------------------------------------------------------------- deploy

def test_deploy_uploads_the_notebooks_unchanged(connected, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "dev")
    assert code == 0, err
    w = sdk(connected)
    for name in ("01_bronze", "02_silver", "03_gold"):
        path = f"{DEV_FILES}/solutions/{name}"
        assert w.workspace.get_status(path).object_type.value == "NOTEBOOK"
        exported = w.workspace.export(path, format=ExportFormat.JUPYTER)
        assert base64.b64decode(exported.content) == (bundle / "solutions" / f"{name}.ipynb").read_bytes()
    imports = connected.calls("/api/2.0/workspace/import")
    assert {c.body["format"] for c in imports} == {"JUPYTER"}
    assert all(c.body["overwrite"] is True and not c.body["path"].endswith(".ipynb") for c in imports)
    # only the job's notebooks: no course/ package, no databricks.yml, no scripts for this job
    assert sorted(c.body["path"].rsplit("/", 1)[1] for c in imports) == ["01_bronze", "02_silver", "03_gold"]


def test_deployed_settings_round_trip_and_follow_the_bundle(connected, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "dev")
    assert code == 0, err
    body = created_settings(connected)
    assert jobs.JobSettings.from_dict(body).as_dict() == body  # nothing the SDK does not know
    assert body["name"] == "[dev learner] day7-medallion"
    assert body["tags"] == {"day7-kit": "day7/dev", "dev": "learner"}
    paths = [t["notebook_task"]["notebook_path"] for t in body["tasks"]]
    assert paths == [f"{DEV_FILES}/solutions/01_bronze", f"{DEV_FILES}/solutions/02_silver",
                     f"{DEV_FILES}/solutions/03_gold"]
    assert all(t["notebook_task"]["source"] == "WORKSPACE" for t in body["tasks"])
    cluster = body["job_clusters"][0]["new_cluster"]          # from the dev target's variables
    assert (cluster["spark_version"], cluster["node_type_id"], cluster["num_workers"]) == \
        ("15.4.x-scala2.12", "m5d.large", 2)
    assert cluster["spark_conf"] == {"spark.sql.shuffle.partitions": "8"}
    assert all(t["job_cluster_key"] == "day7_cluster" for t in body["tasks"])
    assert body["schedule"] == {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC",
                                "pause_status": "PAUSED"}
    assert body["parameters"] == [
        {"name": "source_path", "default": "/Volumes/workspace/day7/raw/events"},
        {"name": "catalog", "default": "workspace"}, {"name": "schema", "default": "day7"},
        {"name": "run_date", "default": "{{job.start_time.iso_date}}"}]
    assert body["email_notifications"] == {"on_failure": ["day7-learner@example.com"]}
    assert body["health"]["rules"][0]["value"] == 1200
    assert body["tasks"][0]["max_retries"] == 2 and body["max_concurrent_runs"] == 1
    assert "permissions" not in body
    # What `databricks bundle deploy` sets on every job it deploys (state under the target's root).
    assert body["deployment"] == {"kind": "BUNDLE", "metadata_file_path":
                                  DEV_FILES.removesuffix("/files") + "/state/metadata.json"}
    assert (body["edit_mode"], body["format"]) == ("UI_LOCKED", "MULTI_TASK")
    (job_id,) = connected.jobs
    assert f"{connected.host}/jobs/{job_id}" in out
    assert "created with jobs/create" in out and "permissions: not applied" in out


def test_deploying_twice_resets_the_same_job(connected, bundle, capsys):
    assert deploy_cli(capsys, "--job", str(bundle), "-t", "dev")[0] == 0
    (bundle / "solutions" / "02_silver.ipynb").write_text(
        (bundle / "solutions" / "02_silver.ipynb").read_text().replace("print('ok')", "print('v2')"))
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "dev")
    assert code == 0, err
    assert len(connected.calls("/api/2.2/jobs/create")) == 1
    (reset,) = connected.calls("/api/2.2/jobs/reset")
    (job_id,) = connected.jobs
    assert reset.body["job_id"] == job_id
    assert reset.body["new_settings"] == created_settings(connected)
    assert [j.job_id for j in sdk(connected).jobs.list(name="[dev learner] day7-medallion")] == [job_id]
    assert b"print('v2')" in connected.content(f"{DEV_FILES}/solutions/02_silver")
    assert "updated with jobs/reset" in out


def test_a_job_the_kit_did_not_create_is_left_alone(connected, bundle, capsys):
    w = sdk(connected)
    foreign = w.jobs.create(name="[dev learner] day7-medallion").job_id
    assert deploy_cli(capsys, "--job", str(bundle), "-t", "dev")[0] == 0
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "dev")
    assert code == 0, err
    ours = [j for j in connected.jobs if j != foreign]
    assert len(ours) == 1 and connected.jobs[foreign]["settings"] == {"name": "[dev learner] day7-medallion"}
    assert connected.calls("/api/2.2/jobs/reset")[0].body["job_id"] == ours[0]


def test_production_target_keeps_its_name_schedule_and_root_path(connected, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "prod")
    assert code == 0, err
    body = created_settings(connected)
    assert body["name"] == "day7-medallion" and body["tags"] == {"day7-kit": "day7/prod"}
    assert body["schedule"].get("pause_status", "UNPAUSED") == "UNPAUSED"
    assert body["tasks"][0]["notebook_task"]["notebook_path"] == \
        "/Workspace/Shared/.bundle/day7/prod/files/solutions/01_bronze"


def test_serverless_compute_drops_the_job_cluster(connected, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "serverless", "--job-key", "day7_quality")
    assert code == 0, err
    body = created_settings(connected)
    assert "job_clusters" not in body
    assert all("job_cluster_key" not in t and "new_cluster" not in t for t in body["tasks"])
    count = body["tasks"][0]
    assert count["environment_key"] == "default"
    assert body["environments"] == [{"environment_key": "default", "spec": {"environment_version": "2"}}]
    assert "environment_key" not in body["tasks"][1]  # notebooks bring their own environment
    assert "compute: serverless" in out


def test_the_compute_variable_also_works_from_the_command_line(fake, bundle):
    loaded = load_job(bundle, target="dev", variables={"compute": "serverless"})
    settings, _ = deployed_settings(loaded, USER)
    assert not settings.job_clusters and not settings.environments
    bad = load_job(bundle, target="dev", variables={"compute": "gpu"})
    with pytest.raises(JobSpecError, match="variables.compute: expected one of: job_cluster, serverless"):
        deployed_settings(bad, USER)


def test_python_files_upload_as_files_and_keep_their_extension(connected, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "dev", "--job-key", "day7_quality")
    assert code == 0, err
    body = created_settings(connected)
    assert body["tasks"][0]["spark_python_task"] == {
        "python_file": f"{DEV_FILES}/scripts/check_counts.py", "source": "WORKSPACE",
        "parameters": ["--schema", "day7"]}
    info = sdk(connected).workspace.get_status(f"{DEV_FILES}/scripts/check_counts.py")
    assert info.object_type.value == "FILE"
    assert connected.content(f"{DEV_FILES}/scripts/check_counts.py") == \
        (bundle / "scripts" / "check_counts.py").read_bytes()
    raw = [c for c in connected.calls("/api/2.0/workspace/import") if c.body["format"] == "RAW"]
    assert len(raw) == 1


def test_databricks_username_does_not_turn_into_basic_auth(connected, bundle, capsys, monkeypatch):
    """The kit's DATABRICKS_USERNAME (bundle paths) is also the SDK's basic-auth user name."""
    monkeypatch.setenv("DATABRICKS_USERNAME", USER)
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "dev")
    assert code == 0, err
    assert created_settings(connected)["name"] == "[dev learner] day7-medallion"


def test_deploy_with_a_profile_from_the_config_file(fake, bundle, clean_env, capsys):
    write_profile(clean_env, "day7", fake.host, fake.token)
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "dev", "--profile", "day7")
    assert code == 0, err
    assert len(fake.calls("/api/2.2/jobs/create")) == 1


def test_deployed_settings_is_pure_and_uses_the_workspace_user(bundle, monkeypatch):
    monkeypatch.delenv("DATABRICKS_USERNAME", raising=False)
    loaded = load_job(bundle, target="dev")  # default paths hold the local login name
    settings, uploads = deployed_settings(loaded, "grace@example.com")
    root = "/Workspace/Users/grace@example.com/.bundle/day7/dev/files"
    assert [u.remote for u in uploads] == [f"{root}/solutions/0{i}" for i in
                                           ("1_bronze", "2_silver", "3_gold")]
    assert all(u.local.is_absolute() and u.local.exists() for u in uploads)
    assert settings.tasks[1].notebook_task.notebook_path == f"{root}/solutions/02_silver"
    assert loaded.settings.tasks[1].notebook_task.notebook_path.endswith("02_silver.ipynb")  # untouched


def test_a_notebook_outside_the_bundle_cannot_be_deployed(tmp_path, bundle):
    (tmp_path / "elsewhere.ipynb").write_text((bundle / "solutions" / "01_bronze.ipynb").read_text())
    yml = bundle / "databricks.yml"
    yml.write_text(yml.read_text().replace("./solutions/01_bronze.ipynb", "../elsewhere.ipynb"))
    loaded = load_job(bundle, target="dev")
    with pytest.raises(JobSpecError, match="outside the bundle root"):
        deployed_settings(loaded, USER)


def test_a_bad_job_definition_exits_2_before_any_request(connected, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "-t", "nope")
    assert code == 2 and "unknown target 'nope'" in err
    assert connected.requests == []


# ---------------------------------------------------------------- auth errors

def one_sentence(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ")
    return lines[0]


def test_no_credentials(clean_env, bundle, capsys):
    code, out, err = deploy_cli(capsys, "--job", str(bundle))
    assert code == 2
    assert "no Databricks workspace configured" in one_sentence(err)


def test_host_without_token(fake, bundle, capsys, monkeypatch):
    monkeypatch.setenv("DATABRICKS_HOST", fake.host)
    code, out, err = deploy_cli(capsys, "--job", str(bundle))
    assert code == 2
    assert "no credentials for the configured Databricks host" in one_sentence(err)


def test_unknown_profile(fake, clean_env, bundle, capsys):
    write_profile(clean_env, "day7", fake.host, fake.token)
    code, out, err = deploy_cli(capsys, "--job", str(bundle), "--profile", "nope")
    assert code == 2
    assert "profile 'nope' is not in" in one_sentence(err)
    assert fake.requests == []


def test_wrong_host_nothing_listening(clean_env, bundle, capsys, monkeypatch):
    import socket
    with socket.socket() as s:  # a free port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("DATABRICKS_HOST", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-whatever")
    monkeypatch.setattr(connection, "CONNECT_TIMEOUT_S", 1)
    code, out, err = deploy_cli(capsys, "--job", str(bundle))
    assert code == 2
    line = one_sentence(err)
    assert f"cannot reach http://127.0.0.1:{port}" in line and "connection refused" in line


def test_wrong_token_401(connected, bundle, capsys, monkeypatch):
    monkeypatch.setenv("DATABRICKS_TOKEN", "dapi-not-the-right-one")
    code, out, err = deploy_cli(capsys, "--job", str(bundle))
    assert code == 2
    line = one_sentence(err)
    assert "did not accept the credentials" in line and "401" in line and "Invalid access token" in line
    assert "dapi-not-the-right-one" not in out + err
    assert connected.calls("/api/2.2/jobs/create") == []


def test_forbidden_403(connected, bundle, capsys):
    connected.forbidden["/api/2.0/preview/scim/v2/Me"] = "This token is not allowed to use this workspace."
    code, out, err = deploy_cli(capsys, "--job", str(bundle))
    assert code == 2
    assert "403 permission denied: This token is not allowed" in one_sentence(err)


def test_forbidden_403_when_creating_the_job(connected, bundle, capsys):
    connected.forbidden["/api/2.2/jobs/create"] = "You are not allowed to create jobs."
    code, out, err = deploy_cli(capsys, "--job", str(bundle))
    assert code == 2
    line = one_sentence(err)
    assert "refused creating the job '[dev learner] day7-medallion'" in line and "not allowed to create jobs" in line


# ---------------------------------------------------------------- secrets

def test_the_token_never_appears_in_output_logs_or_files(fake, bundle, clean_env, capsys, caplog, tmp_path,
                                                         monkeypatch, day7_home):
    import logging
    caplog.set_level(logging.DEBUG)
    write_profile(clean_env, "day7", fake.host, fake.token)
    seen = []
    seen.append(deploy_cli(capsys, "--job", str(bundle), "--profile", "day7"))
    seen.append(deploy_cli(capsys, "--job", str(bundle), "--profile", "day7", "--json"))
    seen.append(deploy_cli(capsys, "--job", str(bundle), "--dry-run"))
    monkeypatch.setenv("DATABRICKS_HOST", fake.host)
    monkeypatch.setenv("DATABRICKS_TOKEN", fake.token + "-wrong")
    seen.append(deploy_cli(capsys, "--job", str(bundle)))
    assert [s[0] for s in seen] == [0, 0, 0, 2]
    text = "\n".join(o + e for _, o, e in seen) + caplog.text
    for secret in (fake.token, fake.token + "-wrong"):
        assert secret not in text
    files = [p for base in (tmp_path, day7_home) for p in base.rglob("*")
             if p.is_file() and p != clean_env]
    assert files, "expected the bundle files at least"
    for p in files:
        assert fake.token.encode() not in p.read_bytes(), p
