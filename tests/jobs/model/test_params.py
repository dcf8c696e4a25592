"""course.jobs.model.params: names, overrides, precedence and {{dynamic value references}}."""
from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import pytest
from databricks.sdk.service import jobs

from course.jobs.model import params
from course.jobs.model.params import ParamError, RefContext, resolve_refs

BUNDLE = Path(__file__).resolve().parents[2] / "jobs" / "day7" / "databricks.yml"

# Saturday 2024-03-09 04:05:06.789 UTC, and a weekday trigger time.
START = int(datetime(2024, 3, 9, 4, 5, 6, 789000, tzinfo=timezone.utc).timestamp() * 1000)
TRIGGER = int(datetime(2024, 3, 11, 23, 59, 0, tzinfo=timezone.utc).timestamp() * 1000)


@pytest.fixture
def ctx():
    return RefContext(
        job_id=42, job_name="Day 7 medallion", run_id=1001, repair_count=2,
        start_time_ms=START, trigger_type="PERIODIC", trigger_time_ms=TRIGGER,
        file_arrival_location="/Volumes/main/day7/landing/",
        job_parameters={"catalog": "spark_catalog", "my param": "spaced", "run.date": "2024-03-09"},
        task_key="silver", task_run_id=2002, execution_count=3,
        notebook_path="/Workspace/Users/me/.bundle/day7/local/files/solutions/02_silver",
        tasks={"bronze": {"run_id": 2001, "result_state": "SUCCESS",
                          "values": {"rows": 120, "ok": True, "name": "events", "cfg": {"a": [1, 2]}}},
               "quality": {"run_id": 2003, "result_state": jobs.RunResultState.UPSTREAM_FAILED, "values": {}}},
        workspace_id=1234567890123456, workspace_url="http://127.0.0.1:8080",
        job_task_keys=["bronze", "silver", "gold", "quality", "report"])


# ---------------------------------------------------------------- names and overrides

@pytest.mark.parametrize("name", ["catalog", "run_date", "run-date", "run.date", "A1", "1"])
def test_valid_names(name):
    assert params.validate_param_name(name) == name


@pytest.mark.parametrize("name", ["", "my param", "a/b", "x=y", "é", "{{x}}", None])
def test_invalid_names(name):
    with pytest.raises(ParamError, match="invalid parameter name"):
        params.validate_param_name(name)


def test_parse_overrides():
    assert params.parse_overrides(["catalog=main", "expr=a=b", "empty=", "catalog=dev"]) == {
        "catalog": "dev", "expr": "a=b", "empty": ""}
    assert params.parse_overrides([]) == {}


@pytest.mark.parametrize("item,message", [
    ("catalog", r"bad parameter 'catalog': expected NAME=VALUE"),
    ("my param=x", r"bad parameter 'my param=x': invalid parameter name 'my param'"),
    ("=x", r"bad parameter '=x': invalid parameter name ''"),
])
def test_parse_overrides_errors_name_the_item(item, message):
    with pytest.raises(ParamError, match=message):
        params.parse_overrides(["ok=1", item])


# ---------------------------------------------------------------- precedence

def settings(*job_params, base=None):
    return jobs.JobSettings.from_dict({
        "name": "j",
        "parameters": [{"name": n, "default": d} for n, d in job_params],
        "tasks": [{"task_key": "silver",
                   "notebook_task": {"notebook_path": "/x", "base_parameters": base or {}}},
                  {"task_key": "py", "spark_python_task": {"python_file": "/x.py",
                                                           "parameters": ["--c", "{{job.parameters.catalog}}"]}},
                  {"task_key": "cond", "condition_task": {"op": "EQUAL_TO",
                                                          "left": "{{job.parameters.catalog}}", "right": "main"}}],
    })


def test_job_parameter_values_defaults_then_overrides():
    s = settings(("catalog", "main"), ("schema", "day7"))
    assert params.job_parameter_values(s, None) == {"catalog": "main", "schema": "day7"}
    assert params.job_parameter_values(s, {"schema": "other"}) == {"catalog": "main", "schema": "other"}


def test_unknown_override_is_rejected_listing_defined_ones():
    with pytest.raises(ParamError, match=r"unknown job parameter 'catlog' \(defined: catalog, schema\)"):
        params.job_parameter_values(settings(("catalog", "main"), ("schema", "day7")), {"catlog": "x"})
    with pytest.raises(ParamError, match=r"\(defined: none\)"):
        params.job_parameter_values(settings(), {"x": "1"})


def test_precedence_override_beats_job_param_beats_base_parameters(ctx):
    s = settings(("catalog", "main"), ("schema", "day7"),
                 base={"catalog": "from_base", "layer": "silver", "n": "5"})
    task = s.tasks[0]
    assert params.notebook_parameters(task, {"catalog": "main"}) == {
        "catalog": "main", "layer": "silver", "n": "5"}
    got = params.resolve_task_parameters(s, task, {"catalog": "override"}, ctx)
    assert got == {"catalog": "override", "layer": "silver", "n": "5", "schema": "day7"}


def test_parameters_are_strings():
    s = settings(base={"n": "5"})
    s.tasks[0].notebook_task.base_parameters = {"n": 5, "flag": True}
    assert params.notebook_parameters(s.tasks[0], {"x": 1.5}) == {"n": "5", "flag": "true", "x": "1.5"}


def test_job_parameters_are_not_pushed_to_python_tasks(ctx):
    s = settings(("catalog", "main"))
    assert params.notebook_parameters(s.tasks[1], {"catalog": "main"}) == {}
    assert params.resolve_python_arguments(s, s.tasks[1], None, ctx) == ["--c", "main"]


def test_condition_operands_are_resolved(ctx):
    s = settings(("catalog", "main"))
    assert params.resolve_condition(s, s.tasks[2], {"catalog": "dev"}, ctx) == ("dev", "main")


def test_job_parameter_default_with_a_reference_resolves_in_job_context(ctx):
    s = settings(("run_date", "{{job.start_time.iso_date}}"), ("label", "run {{job.run_id}}"))
    assert params.resolve_job_parameters(s, None, ctx) == {"run_date": "2024-03-09", "label": "run 1001"}
    got = params.resolve_task_parameters(s, s.tasks[0], {"run_date": "2020-01-01"}, ctx)
    assert got["run_date"] == "2020-01-01"


@pytest.mark.parametrize("default", ["{{task.name}}", "{{tasks.bronze.run_id}}", "{{job.parameters.x}}"])
def test_job_parameters_cannot_use_task_context(ctx, default):
    s = settings(("p", default))
    with pytest.raises(ParamError, match=r"job parameter 'p': \{\{.*\}\}: not available in a job parameter"):
        params.resolve_job_parameters(s, None, ctx)


def test_base_parameters_can_use_job_parameters_and_task_values(ctx):
    s = settings(("catalog", "main"),
                 base={"target": "{{job.parameters.catalog}}.silver", "rows": "{{tasks.bronze.values.rows}}"})
    got = params.resolve_task_parameters(s, s.tasks[0], None, ctx)
    assert got["target"] == "main.silver" and got["rows"] == "120"


def test_fixture_bundle_run_date_default(ctx):
    from course.jobs.spec import load_job
    job = load_job(BUNDLE)
    bronze = job.settings.tasks[0]
    got = params.resolve_task_parameters(job.settings, bronze, {"schema": "s2"}, replace(ctx, task_key=None))
    assert got == {"layer": "bronze", "source_path": "./datasets/events", "catalog": "spark_catalog",
                   "schema": "s2", "run_date": "2024-03-09"}


# ---------------------------------------------------------------- every reference kind

REF_ROWS = [
    ("{{job.id}}", "42"),
    ("{{job.name}}", "Day 7 medallion"),
    ("{{job.run_id}}", "1001"),
    ("{{job.repair_count}}", "2"),
    ("{{job.start_time.iso_date}}", "2024-03-09"),
    ("{{job.start_time.iso_datetime}}", "2024-03-09T04:05:06"),
    ("{{job.start_time.year}}", "2024"),
    ("{{job.start_time.month}}", "3"),
    ("{{job.start_time.day}}", "9"),
    ("{{job.start_time.hour}}", "4"),
    ("{{job.start_time.minute}}", "5"),
    ("{{job.start_time.second}}", "6"),
    ("{{job.start_time.timestamp_ms}}", str(START)),
    ("{{job.start_time.iso_weekday}}", "6"),          # Saturday; 1 = Monday
    ("{{job.start_time.is_weekday}}", "false"),
    ("{{job.trigger.type}}", "periodic"),
    ("{{job.trigger.time.iso_datetime}}", "2024-03-11T23:59:00"),
    ("{{job.trigger.time.is_weekday}}", "true"),
    ("{{job.trigger.time.iso_weekday}}", "1"),
    ("{{job.trigger.file_arrival.location}}", "/Volumes/main/day7/landing/"),
    ("{{job.parameters.catalog}}", "spark_catalog"),
    ("{{job.parameters.`run.date`}}", "2024-03-09"),
    ("{{job.parameters.`my param`}}", "spaced"),
    ("{{task.name}}", "silver"),
    ("{{task.run_id}}", "2002"),
    ("{{task.execution_count}}", "3"),
    ("{{task.notebook_path}}", "/Workspace/Users/me/.bundle/day7/local/files/solutions/02_silver"),
    ("{{tasks.bronze.run_id}}", "2001"),
    ("{{tasks.bronze.result_state}}", "success"),
    ("{{tasks.quality.result_state}}", "upstream_failed"),
    ("{{tasks.bronze.values.rows}}", "120"),
    ("{{tasks.bronze.values.ok}}", "true"),
    ("{{tasks.bronze.values.name}}", "events"),
    ("{{tasks.bronze.values.cfg}}", '{"a": [1, 2]}'),
    ("{{tasks.`bronze`.values.`rows`}}", "120"),
    ("{{workspace.id}}", "1234567890123456"),
    ("{{workspace.url}}", "http://127.0.0.1:8080"),
    # whitespace, several refs, surrounding text
    ("{{ job.run_id }}", "1001"),
    ("run_{{job.run_id}}_{{task.name}}.log", "run_1001_silver.log"),
    # unknown namespaces and malformed references stay literal
    ("{{backfill.iso_date}}", "{{backfill.iso_date}}"),
    ("{{job_id}}", "{{job_id}}"),
    ("{{secrets/scope/key}}", "{{secrets/scope/key}}"),
    ("{{job.}}", "{{job.}}"),
    ("{{}}", "{{}}"),
    ("{ {job.id} }", "{ {job.id} }"),
    ("no refs", "no refs"),
]


@pytest.mark.parametrize("text,expected", REF_ROWS)
def test_resolve_refs(ctx, text, expected):
    assert resolve_refs(text, ctx) == expected


def test_trigger_time_falls_back_to_start_time_and_location_to_empty(ctx):
    c = replace(ctx, trigger_time_ms=None, file_arrival_location=None)
    assert resolve_refs("{{job.trigger.time.iso_date}}", c) == "2024-03-09"
    assert resolve_refs("[{{job.trigger.file_arrival.location}}]", c) == "[]"


ERROR_ROWS = [
    ("{{job.nope}}", r"\{\{job.nope\}\}: unknown reference in namespace 'job'"),
    ("{{job.start_time}}", r"\{\{job.start_time\}\}: unknown reference"),
    ("{{job.start_time.week}}", r"unknown time argument 'week' \(expected one of: iso_date"),
    ("{{job.trigger.time.nope}}", r"unknown time argument 'nope'"),
    ("{{task.nope}}", r"\{\{task.nope\}\}: unknown reference in namespace 'task'"),
    ("{{tasks.bronze}}", r"unknown reference in namespace 'tasks'"),
    ("{{tasks.bronze.values}}", r"unknown reference in namespace 'tasks'"),
    ("{{tasks.bronze.nope}}", r"unknown reference in namespace 'tasks'"),
    ("{{workspace.name}}", r"unknown reference in namespace 'workspace'"),
    ("{{job.parameters.run.date}}", r"a name with dots needs backticks: \{\{job.parameters.`run.date`\}\}"),
    ("{{job.parameters.missing}}", r"no job parameter 'missing' \(defined: catalog, my param, run.date\)"),
    ("{{tasks.gold.values.rows}}",
     r"\{\{tasks.gold.values.rows\}\}: task 'gold' has not run yet; task 'silver' must depend on 'gold'"),
    ("{{tasks.gold.run_id}}", r"task 'gold' has not run yet"),
    ("{{tasks.bronze.values.missing}}",
     r"task 'bronze' did not set task value 'missing' \(it set: rows, ok, name, cfg\)"),
    ("{{tasks.quality.values.x}}", r"did not set task value 'x' \(it set: none\)"),
    ("{{tasks.nosuch.run_id}}", r"no task 'nosuch' in this job \(tasks: bronze, silver, gold"),
]


@pytest.mark.parametrize("text,message", ERROR_ROWS)
def test_resolve_refs_errors(ctx, text, message):
    with pytest.raises(ParamError, match=message):
        resolve_refs(f"x {text} y", ctx)


def test_errors_say_where(ctx):
    with pytest.raises(ParamError, match=r"^task 'silver' parameter 'p': \{\{job.nope\}\}"):
        resolve_refs("{{job.nope}}", ctx, where="task 'silver' parameter 'p'")


def test_unavailable_values_are_errors():
    with pytest.raises(ParamError, match=r"\{\{workspace.url\}\}: workspace.url is not available here"):
        resolve_refs("{{workspace.url}}", RefContext())
    with pytest.raises(ParamError, match="the start time is not available"):
        resolve_refs("{{job.start_time.iso_date}}", RefContext())


def test_non_strings_pass_through(ctx):
    assert resolve_refs(None, ctx) is None
