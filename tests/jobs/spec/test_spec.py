"""course.jobs.spec: bundles, targets, variables, includes, JSON inputs and every error."""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest
import yaml
from databricks.sdk.service import jobs

from course.jobs.model.cron import validate_quartz_cron
from course.jobs.spec import JobSpecError, list_jobs, load_job

FIXTURE = Path(__file__).resolve().parents[2] / "jobs" / "day7"
NOTEBOOKS = ("01_bronze", "02_silver", "03_gold")

BASE = {
    "bundle": {"name": "day7"},
    "variables": {"catalog": {"default": "main"}, "schema": {"default": "day7"},
                  "source_path": {"default": "./datasets/events"}},
    "targets": {"local": {"default": True, "variables": {"catalog": "spark_catalog"}},
                "dev": {"mode": "development", "workspace": {"host": "https://example.cloud.databricks.com"}}},
    "resources": {"jobs": {"day7_medallion": {
        "name": "Day 7 medallion",
        "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"spark_version": "15.4.x-scala2.12",
                                                                  "num_workers": 1}}],
        "parameters": [{"name": "catalog", "default": "${var.catalog}"},
                       {"name": "run_date", "default": "{{job.start_time.iso_date}}"}],
        "tasks": [
            {"task_key": "bronze", "job_cluster_key": "c", "max_retries": 2,
             "notebook_task": {"notebook_path": "./solutions/01_bronze.ipynb"}},
            {"task_key": "silver", "depends_on": [{"task_key": "bronze"}], "job_cluster_key": "c",
             "notebook_task": {"notebook_path": "./solutions/02_silver.ipynb"}},
            {"task_key": "gold", "depends_on": [{"task_key": "silver"}], "job_cluster_key": "c",
             "notebook_task": {"notebook_path": "./solutions/03_gold.ipynb"}},
        ],
        "schedule": {"quartz_cron_expression": "0 0 2 * * ?", "timezone_id": "UTC"},
    }}},
}
JOB = ("resources", "jobs", "day7_medallion")
P = "resources.jobs.day7_medallion"


def job_of(d):
    return d["resources"]["jobs"]["day7_medallion"]


def make(tmp_path: Path, mutate=None, files: dict[str, object] | None = None) -> Path:
    """Write a bundle (BASE, changed by ``mutate``) plus notebooks; return databricks.yml."""
    d = copy.deepcopy(BASE)
    if mutate:
        mutate(d)
    (tmp_path / "solutions").mkdir(exist_ok=True)
    for nb in NOTEBOOKS:
        (tmp_path / "solutions" / f"{nb}.ipynb").write_text("{}")
    for name, content in (files or {}).items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(content if isinstance(content, str) else yaml.safe_dump(content))
    path = tmp_path / "databricks.yml"
    path.write_text(yaml.safe_dump(d, sort_keys=False))
    return path


@pytest.fixture(autouse=True)
def user(monkeypatch):
    monkeypatch.setenv("DATABRICKS_USERNAME", "learner@example.com")
    for k in ("catalog", "schema", "source_path"):
        monkeypatch.delenv(f"BUNDLE_VAR_{k}", raising=False)


# ---------------------------------------------------------------- the example bundle

def test_fixture_bundle_default_target():
    job = load_job(FIXTURE / "databricks.yml")
    s = job.settings
    assert isinstance(s, jobs.JobSettings)
    assert (job.key, job.target, job.mode, job.bundle_name, job.paused) == (
        "day7_medallion", "local", None, "day7", False)
    assert job.source == (FIXTURE / "databricks.yml").resolve() and job.root == FIXTURE.resolve()
    assert s.name == "Day 7 medallion (local)"
    assert [t.task_key for t in s.tasks] == ["bronze", "silver", "gold"]
    assert [t.notebook_task.notebook_path for t in s.tasks] == [
        str((FIXTURE / "solutions" / f"{nb}.ipynb").resolve()) for nb in NOTEBOOKS]  # gold had no extension
    assert job.relative_paths == {"bronze": "solutions/01_bronze.ipynb", "silver": "solutions/02_silver.ipynb",
                                  "gold": "solutions/03_gold.ipynb"}
    bronze = s.tasks[0]
    assert (bronze.max_retries, bronze.min_retry_interval_millis) == (2, 10000)
    assert s.job_clusters[0].new_cluster.spark_conf == {"spark.sql.shuffle.partitions": "4"}
    assert {p.name: p.default for p in s.parameters} == {
        "source_path": "./datasets/events", "catalog": "spark_catalog", "schema": "day7",
        "run_date": "{{job.start_time.iso_date}}"}  # dynamic references are left for run time
    assert s.schedule.quartz_cron_expression == "0 0 2 * * ?" and s.schedule.pause_status is None
    assert s.health.rules[0].value == 600 and s.email_notifications.on_failure == ["instructor@example.com"]
    assert job.variables == {"catalog": "spark_catalog", "schema": "day7",
                             "source_path": "./datasets/events", "retries": "2"}
    assert job.workspace["root_path"] == "/Workspace/Users/learner@example.com/.bundle/day7/local"
    assert job.workspace["file_path"] == job.workspace["root_path"] + "/files"
    assert job.raw["permissions"] == [{"level": "CAN_VIEW", "group_name": "users"}]
    assert job.raw["tasks"][0]["notebook_task"]["notebook_path"] == "./solutions/01_bronze.ipynb"


def test_fixture_bundle_dev_target_merges_and_pauses():
    job = load_job(FIXTURE, target="dev")  # a directory means its databricks.yml
    s = job.settings
    assert (job.target, job.mode, job.paused) == ("dev", "development", True)
    assert s.schedule.pause_status == jobs.PauseStatus.PAUSED
    assert s.name == "Day 7 medallion (dev)"
    gold = s.tasks[2]  # merged by task_key: override adds a field, keeps the rest
    assert (gold.timeout_seconds, gold.depends_on[0].task_key) == (1800, "silver")
    assert gold.notebook_task.notebook_path.endswith("03_gold.ipynb")
    assert len(s.tasks) == 3
    assert s.email_notifications.on_failure == ["instructor@example.com", "dev-team@example.com"]
    assert {p.name: p.default for p in s.parameters}["catalog"] == "dev_catalog"
    assert job.workspace["host"].startswith("https://adb-")
    assert job.workspace["root_path"].endswith("/.bundle/day7/dev")


def test_fixture_bundle_second_job_from_include():
    assert list_jobs(FIXTURE / "databricks.yml") == ["day7_medallion", "day7_quality"]
    job = load_job(FIXTURE / "databricks.yml", job_key="day7_quality")
    by_key = {t.task_key: t for t in job.settings.tasks}
    # paths in resources/quality.yml are relative to that file
    assert job.relative_paths == {"count": "scripts/check_counts.py", "report": "solutions/04_report.ipynb",
                                  "alert": "solutions/04_report.ipynb"}
    assert by_key["count"].spark_python_task.python_file == str((FIXTURE / "scripts/check_counts.py").resolve())
    assert by_key["count"].spark_python_task.parameters == ["--catalog", "spark_catalog",
                                                            "{{job.parameters.min_rows}}"]
    assert by_key["report"].depends_on[0].outcome == "true"
    assert by_key["enough_rows"].condition_task.op == jobs.ConditionTaskOp.GREATER_THAN_OR_EQUAL


# ---------------------------------------------------------------- JSON inputs

def test_json_jobs_get_shape_with_workspace_paths():
    job = load_job(FIXTURE / "deployed_job.json")
    assert job.key == "[dev me] Day 7 medallion (dev)"
    assert job.root == FIXTURE.resolve() and job.target is None and job.bundle_name is None
    # /Workspace/…/files/solutions/01_bronze → the local solutions/01_bronze.ipynb
    assert job.relative_paths == {"bronze": "solutions/01_bronze.ipynb", "silver": "solutions/02_silver.ipynb"}
    assert job.settings.schedule.pause_status == jobs.PauseStatus.PAUSED
    assert list_jobs(FIXTURE / "deployed_job.json") == [job.key]


def test_json_bare_settings_relative_to_the_file():
    path = FIXTURE.parent / "json" / "bare_settings.json"
    job = load_job(path, job_key="bare settings job")
    assert job.key == "bare settings job" and job.root == path.parent.resolve()
    assert job.settings.tasks[1].notebook_task.notebook_path == str((FIXTURE / "solutions/02_silver.ipynb").resolve())


def test_json_error_paths(tmp_path):
    wrapped = {"job_id": 1, "settings": {"name": "j", "tasks": [
        {"task_key": "a", "notebook_task": {"notebook_path": "nb.ipynb"}, "retries": 3}]}}
    (tmp_path / "nb.ipynb").write_text("{}")
    (tmp_path / "job.json").write_text(json.dumps(wrapped, indent=2))
    with pytest.raises(JobSpecError) as e:
        load_job(tmp_path / "job.json")
    assert e.value.field == "settings.tasks[0].retries"
    assert "unknown field 'retries'" in str(e.value) and "job.json" in str(e.value)
    bare = wrapped["settings"]
    bare["tasks"][0].pop("retries")
    bare["tasks"][0]["max_retries"] = -5
    (tmp_path / "bare.json").write_text(json.dumps(bare))
    with pytest.raises(JobSpecError, match=r"bare.json: tasks\[0\].max_retries: must be -1"):
        load_job(tmp_path / "bare.json")
    with pytest.raises(JobSpecError, match=r"no job 'other' \(jobs: j\)"):
        load_job(tmp_path / "bare.json", job_key="other")


def test_the_loaded_job_carries_its_field_prefix_and_user(tmp_path):
    """Messages about a loaded job (triggers, deploy) name fields from the top of its file."""
    bundle = load_job(FIXTURE)
    assert (bundle.field_prefix, bundle.user) == ("resources.jobs.day7_medallion", "learner@example.com")
    assert bundle.field_path("tasks[0].depends_on") == "resources.jobs.day7_medallion.tasks[0].depends_on"
    wrapped = load_job(FIXTURE / "deployed_job.json")
    assert (wrapped.field_prefix, wrapped.field_path("trigger")) == ("settings", "settings.trigger")
    bare = load_job(FIXTURE.parent / "json" / "bare_settings.json")
    assert (bare.field_prefix, bare.field_path("trigger")) == ("", "trigger")


def test_json_syntax_error_has_a_line(tmp_path):
    (tmp_path / "job.json").write_text('{\n  "name": "j",\n  "tasks": [\n}\n')
    with pytest.raises(JobSpecError, match=r"job.json:4: JSON syntax error") as e:
        load_job(tmp_path / "job.json")
    assert e.value.line == 4


# ---------------------------------------------------------------- targets, variables, includes

def test_no_default_target_means_top_level(tmp_path):
    path = make(tmp_path, lambda d: d["targets"]["local"].pop("default"))
    job = load_job(path)
    assert job.target is None and job.variables["catalog"] == "main"
    assert job.workspace["root_path"].endswith("/.bundle/day7/default")


def test_variable_precedence(tmp_path, monkeypatch):
    path = make(tmp_path)
    assert load_job(path).variables["catalog"] == "spark_catalog"                 # target
    monkeypatch.setenv("BUNDLE_VAR_catalog", "from_env")
    assert load_job(path).variables["catalog"] == "from_env"                      # env beats target
    job = load_job(path, variables={"catalog": "from_cli"})
    assert job.variables["catalog"] == "from_cli"                                 # --var beats env
    assert job.settings.parameters[0].default == "from_cli"


def test_builtin_references(tmp_path):
    def mutate(d):
        job = job_of(d)
        job["description"] = "${bundle.name}/${bundle.target} by ${workspace.current_user.userName}"
        job["tags"] = {"owner": "${workspace.current_user.short_name}", "root": "${workspace.root_path}"}
        job["tasks"][0]["notebook_task"]["notebook_path"] = "${workspace.file_path}/solutions/01_bronze"
        job["tasks"][1]["notebook_task"]["base_parameters"] = {"out": "${resources.jobs.day7_medallion.id}"}
    job = load_job(make(tmp_path, mutate))
    s = job.settings
    assert s.description == "day7/local by learner@example.com"
    assert s.tags == {"owner": "learner", "root": "/Workspace/Users/learner@example.com/.bundle/day7/local"}
    assert job.relative_paths["bronze"] == "solutions/01_bronze.ipynb"           # mapped back to the bundle
    assert s.tasks[1].notebook_task.base_parameters["out"].isdigit()  # the job's id in the local history


def test_custom_root_path_and_variable_chains(tmp_path):
    def mutate(d):
        d["workspace"] = {"root_path": "~/courses/${bundle.name}/${var.schema}"}
        d["variables"]["schema"] = {"default": "s_${var.catalog}"}
        d["variables"]["cluster"] = {"type": "complex", "default": {"spark_version": "15.4.x", "num_workers": 2}}
        job_of(d)["job_clusters"][0]["new_cluster"] = "${var.cluster}"
        job_of(d)["tasks"][0]["description"] = "v${var.cluster.spark_version}"
    job = load_job(make(tmp_path, mutate))
    assert job.workspace["root_path"] == "/Workspace/Users/learner@example.com/courses/day7/s_spark_catalog"
    assert job.settings.job_clusters[0].new_cluster.num_workers == 2
    assert job.settings.tasks[0].description == "v15.4.x"
    assert job.variables["cluster"] == {"spark_version": "15.4.x", "num_workers": 2}


def test_development_mode_respects_explicit_unpaused(tmp_path):
    def mutate(d):
        job_of(d)["schedule"]["pause_status"] = "UNPAUSED"
        job_of(d)["trigger"] = {"file_arrival": {"url": "/Volumes/main/day7/landing/"}}
    job = load_job(make(tmp_path, mutate), target="dev")
    assert job.settings.schedule.pause_status == jobs.PauseStatus.UNPAUSED
    assert job.settings.trigger.pause_status == jobs.PauseStatus.PAUSED and job.paused


def test_target_can_add_a_task_and_override_a_cluster(tmp_path):
    def mutate(d):
        d["targets"]["local"]["resources"] = {"jobs": {"day7_medallion": {
            "job_clusters": [{"job_cluster_key": "c", "new_cluster": {"num_workers": 0}}],
            "tasks": [{"task_key": "report", "depends_on": [{"task_key": "gold"}],
                       "notebook_task": {"notebook_path": "./solutions/03_gold.ipynb"}},
                      {"task_key": "silver", "depends_on": [{"task_key": "bronze"}], "max_retries": 1}]}}}
    s = load_job(make(tmp_path, mutate)).settings
    assert [t.task_key for t in s.tasks] == ["bronze", "silver", "gold", "report"]
    assert s.tasks[1].max_retries == 1 and len(s.tasks[1].depends_on) == 1   # repeated dep folded
    assert s.job_clusters[0].new_cluster.num_workers == 0
    assert s.job_clusters[0].new_cluster.spark_version == "15.4.x-scala2.12"


def test_includes_merge_jobs_with_paths_relative_to_their_file(tmp_path):
    def mutate(d):
        d["include"] = ["resources/*.yml"]
        d["resources"]["jobs"] = {}
    inc = {"resources": {"jobs": {"day7_medallion": copy.deepcopy(job_of(BASE))}}}
    for t in inc["resources"]["jobs"]["day7_medallion"]["tasks"]:
        t["notebook_task"]["notebook_path"] = "../" + t["notebook_task"]["notebook_path"][2:]
    job = load_job(make(tmp_path, mutate, {"resources/medallion.yml": inc}))
    assert job.relative_paths["silver"] == "solutions/02_silver.ipynb"
    assert job.raw["tasks"][1]["notebook_task"]["notebook_path"] == "solutions/02_silver.ipynb"


def test_job_pick_rules(tmp_path):
    def two(d, second="other"):
        d["resources"]["jobs"][second] = copy.deepcopy(job_of(d))
    assert load_job(make(tmp_path, two)).key == "day7_medallion"               # the Day 7 default
    assert load_job(make(tmp_path, two), job_key="other").key == "other"

    def only(d):
        d["resources"]["jobs"] = {"solo": job_of(d)}
    assert load_job(make(tmp_path, only)).key == "solo"                        # the only job
    assert load_job(make(tmp_path, only)).settings.name == "Day 7 medallion"

    def unnamed(d):
        job_of(d).pop("name")
    assert load_job(make(tmp_path, unnamed)).settings.name == "day7_medallion"  # key as name


# ---------------------------------------------------------------- errors: one row per problem

def set_path(*keys, value):
    """A mutation setting d[keys…] = value (ints index lists)."""
    def mutate(d):
        node = d
        for k in keys[:-1]:
            node = node[k]
        node[keys[-1]] = value
    return mutate


def delete(*keys):
    def mutate(d):
        node = d
        for k in keys[:-1]:
            node = node[k]
        del node[keys[-1]]
    return mutate


def both(*mutations):
    def mutate(d):
        for m in mutations:
            m(d)
    return mutate


def task_set(i, key, value):
    return set_path(*JOB, "tasks", i, key, value=value)


ERROR_ROWS = [
    # (id, mutation, load_job kwargs, field, problem regex)
    ("unknown task field", task_set(0, "notebok_task", {}), {},
     f"{P}.tasks[0].notebok_task", r"unknown field 'notebok_task' \(did you mean 'notebook_task'\?\)"),
    ("unknown nested field", task_set(0, "notebook_task", {"notebook_path": "./solutions/01_bronze.ipynb",
                                                           "base_params": {}}), {},
     f"{P}.tasks[0].notebook_task.base_params", r"unknown field 'base_params' \(did you mean 'base_parameters'"),
    ("unknown job field", set_path(*JOB, "max_concurent_runs", value=1), {},
     f"{P}.max_concurent_runs", r"did you mean 'max_concurrent_runs'"),
    ("bad enum", task_set(1, "run_if", "ALL_SUCESS"), {},
     f"{P}.tasks[1].run_if", r"invalid value 'ALL_SUCESS' \(did you mean 'ALL_SUCCESS'\?\) \(expected one of: ALL_DONE"),
    ("wrong type", task_set(0, "max_retries", "lots"), {},
     f"{P}.tasks[0].max_retries", r"expected an integer, got str 'lots'"),
    ("missing required field", delete(*JOB, "schedule", "timezone_id"), {},
     f"{P}.schedule", r"missing required field 'timezone_id'"),
    ("duplicate task key", task_set(2, "task_key", "silver"), {},
     f"{P}.tasks[2].task_key", r"duplicate task key 'silver' \(also tasks\[1\]\)"),
    ("missing dependency", set_path(*JOB, "tasks", 1, "depends_on", 0, "task_key", value="bronz"), {},
     f"{P}.tasks[1].depends_on[0]", r"task 'bronz' does not exist \(tasks: bronze, silver, gold\)"),
    ("cycle", task_set(0, "depends_on", [{"task_key": "gold"}]), {},
     f"{P}.tasks[0].depends_on", r"dependency cycle: bronze -> gold -> silver -> bronze"),
    ("missing notebook", set_path(*JOB, "tasks", 1, "notebook_task", "notebook_path",
                                  value="./solutions/02_silvr.ipynb"), {},
     f"{P}.tasks[1].notebook_task.notebook_path",
     r"notebook not found: ./solutions/02_silvr.ipynb \(did you mean './solutions/02_silver.ipynb'\?\)"),
    ("missing notebook without extension", set_path(*JOB, "tasks", 1, "notebook_task", "notebook_path",
                                                    value="./solutions/nope"), {},
     f"{P}.tasks[1].notebook_task.notebook_path", r"notebook not found: ./solutions/nope \(also tried .ipynb, .py"),
    ("bad job parameter name", set_path(*JOB, "parameters", 0, "name", value="my catalog"), {},
     f"{P}.parameters[0].name", r"invalid parameter name 'my catalog'"),
    ("duplicate job parameter", set_path(*JOB, "parameters", 1, "name", value="catalog"), {},
     f"{P}.parameters[1].name", r"duplicate job parameter 'catalog'"),
    ("bad base parameter name", set_path(*JOB, "tasks", 0, "notebook_task", "base_parameters",
                                         value={"a/b": "1"}), {},
     f"{P}.tasks[0].notebook_task.base_parameters.a/b", r"invalid parameter name 'a/b'"),
    ("max_retries below -1", task_set(0, "max_retries", -2), {},
     f"{P}.tasks[0].max_retries", r"must be -1 \(retry forever\), 0 or more, got -2"),
    ("negative task timeout", task_set(0, "timeout_seconds", -1), {},
     f"{P}.tasks[0].timeout_seconds", r"must be >= 0, got -1"),
    ("negative retry interval", task_set(0, "min_retry_interval_millis", -1), {},
     f"{P}.tasks[0].min_retry_interval_millis", r"must be >= 0, got -1"),
    ("negative job timeout", set_path(*JOB, "timeout_seconds", value=-5), {},
     f"{P}.timeout_seconds", r"must be >= 0 \(0 = no timeout\), got -5"),
    ("cron field count", set_path(*JOB, "schedule", "quartz_cron_expression", value="0 2 * * *"), {},
     f"{P}.schedule.quartz_cron_expression", r"bad Quartz cron: expected 6 or 7 fields .* got 5"),
    ("cron without ?", set_path(*JOB, "schedule", "quartz_cron_expression", value="0 0 2 * * *"), {},
     f"{P}.schedule.quartz_cron_expression", r"exactly one of day-of-month \('\*'\) and day-of-week"),
    ("file arrival wait under 60 s", set_path(*JOB, "trigger", value={"file_arrival": {
        "url": "/Volumes/main/day7/landing/", "wait_after_last_change_seconds": 1}}), {},
     f"{P}.trigger.file_arrival.wait_after_last_change_seconds",
     r"must be at least 60 seconds \(as on Databricks\), got 1"),
    ("file arrival gap under 60 s", set_path(*JOB, "trigger", value={"file_arrival": {
        "url": "/Volumes/main/day7/landing/", "min_time_between_triggers_seconds": 59}}), {},
     f"{P}.trigger.file_arrival.min_time_between_triggers_seconds", r"must be at least 60 seconds"),
    ("backfill reference", set_path(*JOB, "parameters", 0, "default", value="{{backfill.iso_datetime}}"), {},
     f"{P}.parameters[0].default", r"\{\{backfill.iso_datetime\}\}: backfill references are not supported locally"),
    ("outcome on a non-condition task", set_path(*JOB, "tasks", 1, "depends_on", 0, "outcome", value="true"), {},
     f"{P}.tasks[1].depends_on[0].outcome",
     r"outcome 'true' needs a condition task upstream, but 'bronze' is not a condition_task"),
    ("undefined job cluster", task_set(0, "job_cluster_key", "big"), {},
     f"{P}.tasks[0].job_cluster_key", r"job cluster 'big' is not defined \(job_clusters: c\)"),
    ("task without a type", delete(*JOB, "tasks", 0, "notebook_task"), {},
     f"{P}.tasks[0]", r"task 'bronze' has no task type"),
    ("undefined variable", set_path(*JOB, "tasks", 0, "notebook_task", "base_parameters",
                                    value={"layer": "${var.layer}"}), {},
     f"{P}.tasks[0].notebook_task.base_parameters.layer",
     r"undefined variable \$\{var.layer\} \(defined: catalog, schema, source_path\)"),
    ("variable without value", both(set_path("variables", "schema", value={"description": "no default"}),
                                    set_path(*JOB, "description", value="schema ${var.schema}")),
     {"target": "dev"}, f"{P}.description",
     r"variable 'schema' has no value: give it a default, set it in the target or pass --var schema="),
    ("unknown --var", None, {"variables": {"catalogue": "x"}},
     "variables", r"--var catalogue: variable 'catalogue' is not defined \(defined: catalog, schema, source_path\)"),
    ("variable cycle", both(set_path("variables", "schema", value={"default": "${var.source_path}"}),
                            set_path("variables", "source_path", value={"default": "x/${var.schema}"})), {},
     "variables.schema", r"variable cycle: schema -> source_path -> schema"),
    ("unknown target", None, {"target": "prod"}, "targets", r"unknown target 'prod' \(targets: local, dev\)"),
    ("unknown job key", None, {"job_key": "day7_medalion"}, "resources.jobs",
     r"no job 'day7_medalion' \(did you mean 'day7_medallion'\?\) \(jobs: day7_medallion\)"),
    ("unknown top-level key", set_path("varibles", value={}), {}, "varibles",
     r"unknown top-level key 'varibles' \(did you mean 'variables'\?\)"),
    ("unknown target key", set_path("targets", "dev", "workspaces", value={}), {}, "targets.dev.workspaces",
     r"unknown target key 'workspaces' \(did you mean 'workspace'\?\)"),
    ("invalid mode", set_path("targets", "dev", "mode", value="dev"), {"target": "dev"}, "targets.dev.mode",
     r"invalid mode 'dev' \(expected one of: development, production\)"),
    ("two default targets", set_path("targets", "dev", "default", value=True), {}, "targets",
     r"more than one target has default: true \(local, dev\)"),
    ("missing include", set_path("include", value=["resources/jobs.yml"]), {}, "include[0]",
     r"file not found: resources/jobs.yml"),
    ("bundle without a name", delete("bundle", "name"), {}, "bundle.name", r"a bundle needs a name"),
    ("root_path refers to itself", set_path("workspace", value={"root_path": "${workspace.root_path}/x"}), {},
     "workspace.root_path", r"reference cycle: workspace.root_path -> workspace.root_path"),
    ("workspace path without a local file", set_path(*JOB, "tasks", 0, "notebook_task", "notebook_path",
                                                     value="/Workspace/Shared/etl/load"), {},
     f"{P}.tasks[0].notebook_task.notebook_path",
     r"notebook not found: /Workspace/Shared/etl/load \(also tried .ipynb.*no local file under .* matches"),
]


@pytest.mark.parametrize("name,mutate,kwargs,field,problem", ERROR_ROWS, ids=[r[0] for r in ERROR_ROWS])
def test_errors_name_file_field_and_problem(tmp_path, name, mutate, kwargs, field, problem):
    path = make(tmp_path, mutate)
    with pytest.raises(JobSpecError) as e:
        load_job(path, **kwargs)
    err = e.value
    assert err.file.endswith("databricks.yml")
    assert err.field == field
    assert f"databricks.yml: {field}: " in str(err)
    assert re.search(problem, err.problem), err.problem


def test_message_matches_the_documented_example(tmp_path):
    path = make(tmp_path, set_path(*JOB, "tasks", 1, "depends_on", 0, "task_key", value="bronz"))
    with pytest.raises(JobSpecError) as e:
        load_job(path)
    assert str(e.value).endswith("databricks.yml: resources.jobs.day7_medallion.tasks[1].depends_on[0]: "
                                 "task 'bronz' does not exist (tasks: bronze, silver, gold)")


def test_several_jobs_without_the_default(tmp_path):
    def mutate(d):
        d["resources"]["jobs"] = {"a": job_of(d), "b": copy.deepcopy(job_of(d))}
    with pytest.raises(JobSpecError, match=r"several jobs and none is 'day7_medallion'.*\(jobs: a, b\)"):
        load_job(make(tmp_path, mutate))


def test_condition_outcome_must_be_true_or_false(tmp_path):
    def mutate(d):
        job_of(d)["tasks"][0] = {"task_key": "bronze",
                                 "condition_task": {"op": "EQUAL_TO", "left": "1", "right": "1"}}
        job_of(d)["tasks"][1]["depends_on"][0]["outcome"] = "yes"
    with pytest.raises(JobSpecError, match=r"tasks\[1\].depends_on\[0\].outcome: outcome must be \"true\" or \"false\""):
        load_job(make(tmp_path, mutate))


def test_yaml_syntax_error_has_a_line_number(tmp_path):
    path = tmp_path / "databricks.yml"
    path.write_text("bundle:\n  name: day7\nresources:\n  jobs:\n    x: [unclosed\n")
    with pytest.raises(JobSpecError, match=r"databricks.yml:\d+: YAML syntax error") as e:
        load_job(path)
    assert e.value.line is not None and e.value.line >= 5


@pytest.mark.parametrize("content", ["foo: bar\n", "- a\n- b\n", "", '{"job_id": 3}'])
def test_neither_bundle_nor_jobs_json(tmp_path, content):
    path = tmp_path / "thing.yml"
    path.write_text(content)
    with pytest.raises(JobSpecError, match=r"thing.yml: neither a bundle .* nor a Jobs API JSON"):
        load_job(path)


def test_missing_file():
    with pytest.raises(JobSpecError, match=r"nope.yml: file not found"):
        load_job("nope.yml")


def test_errors_in_an_included_file_name_that_file(tmp_path):
    def mutate(d):
        d["include"] = ["resources/*.yml"]
        d["resources"]["jobs"] = {}
    inc = {"resources": {"jobs": {"day7_medallion": copy.deepcopy(job_of(BASE))}}}
    inc["resources"]["jobs"]["day7_medallion"]["tasks"][2]["depends_on"] = [{"task_key": "silverr"}]
    path = make(tmp_path, mutate, {"resources/medallion.yml": inc})
    with pytest.raises(JobSpecError) as e:
        load_job(path)
    assert e.value.file.endswith("medallion.yml") and e.value.field == f"{P}.tasks[2].depends_on[0]"


def test_a_job_defined_twice(tmp_path):
    def mutate(d):
        d["include"] = ["resources/*.yml"]
    inc = {"resources": {"jobs": {"day7_medallion": {"name": "again"}}}}
    with pytest.raises(JobSpecError, match=r"medallion.yml: resources.jobs.day7_medallion: job 'day7_medallion' "
                                           r"is already defined in .*databricks.yml"):
        load_job(make(tmp_path, mutate, {"resources/medallion.yml": inc}))


# ---------------------------------------------------------------- Quartz cron shape

@pytest.mark.parametrize("expr", [
    "0 0 2 * * ?", "0 15 10 ? * MON-FRI", "0 0 12 1/5 * ?", "0 0/5 14,18 * * ?", "0 15 10 L * ?",
    "0 15 10 LW * ?", "0 15 10 L-3 * ?", "0 15 10 15W * ?", "0 15 10 ? * 6L", "0 15 10 ? * 6#3",
    "0 0 2 * * ? 2030", "0 0 2 ? JAN-MAR SUN", "0 0 2 ? * 1,7", "*/10 * * * * ?", "0 0 2 ? * L",
])
def test_valid_quartz_cron(expr):
    validate_quartz_cron(expr)


@pytest.mark.parametrize("expr,message", [
    ("0 2 * * *", r"expected 6 or 7 fields"),
    ("0 0 2 * * ? 2030 x", r"got 8"),
    ("0 0 2 * * *", r"exactly one of day-of-month"),
    ("0 0 2 ? * ?", r"exactly one of day-of-month"),
    ("0 0 24 * * ?", r"hours: 24 is out of range 0–23"),
    ("60 0 2 * * ?", r"seconds: 60 is out of range 0–59"),
    ("0 0 2 ? * 0", r"day-of-week: 0 is out of range 1–7"),
    ("0 0 2 * FOO ?", r"month: 'FOO' is not a number or a name \(JAN–DEC\)"),
    ("0 0/0 2 * * ?", r"step after '/' must be a positive number"),
    ("? 0 2 * * ?", r"seconds: '\?' is only allowed in day-of-month or day-of-week"),
    ("0 0 2 ? * 6#9", r"'#' takes a weekday and a week 1–5"),
    ("0 0 2 1,,2 * ?", r"empty list item"),
])
def test_invalid_quartz_cron(expr, message):
    with pytest.raises(ValueError, match=message):
        validate_quartz_cron(expr)


def test_a_preferred_target_is_taken_when_the_bundle_or_an_include_has_it(tmp_path):
    """What `--on databricks` and deploy use: `dev` when defined (even in an included file),
    else the default target; an explicit target always wins."""
    assert load_job(make(tmp_path), preferred_target="dev").target == "dev"
    assert load_job(make(tmp_path), target="local", preferred_target="dev").target == "local"

    def dev_in_include(d):
        d["include"] = ["targets/*.yml"]
        del d["targets"]["dev"]
    (tmp_path / "inc").mkdir()
    (tmp_path / "none").mkdir()
    path = make(tmp_path / "inc", dev_in_include,
                {"targets/dev.yml": {"targets": {"dev": {"mode": "development"}}}})
    assert load_job(path, preferred_target="dev").target == "dev"
    assert load_job(path).target == "local"
    assert load_job(make(tmp_path / "none", lambda d: d["targets"].pop("dev")),
                    preferred_target="dev").target == "local"
