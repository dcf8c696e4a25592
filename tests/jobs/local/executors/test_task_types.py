"""sql_task, for_each_task and run_job_task end to end through the real runner, and the
load-time refusals and ${resources.…} references (bundle: ./bundle/databricks.yml)."""
from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from runner_fixtures import attempts, cli, value

BUNDLE = Path(__file__).parent / "bundle" / "databricks.yml"


def run_job(job_key: str, **options):
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job

    history = History()
    notes: list[str] = []
    run_id = LocalRunner(load_job(BUNDLE, job_key=job_key), history,
                         RunOptions(on_note=notes.append, **options)).run()
    return history, history.get_run(run_id)


def test_for_each_runs_every_input_with_per_iteration_retries():
    history, run = run_job("fan_out")
    tasks = {key: runs[-1] for key, runs in attempts(run).items()}
    assert set(tasks) == {"list_countries", "per_country", "literal_inputs"}  # iterations are not tasks
    assert value(tasks["literal_inputs"].state.result_state) == "SUCCESS"
    stats = tasks["literal_inputs"].for_each_task.stats.task_run_stats
    assert (stats.total_iterations, stats.succeeded_iterations) == (3, 3)
    # one input fails (and its retry too): the others still run and the for-each task fails
    parent = tasks["per_country"]
    assert value(parent.state.result_state) == "FAILED"
    stats = parent.for_each_task.stats.task_run_stats
    assert (stats.total_iterations, stats.succeeded_iterations, stats.failed_iterations) == (3, 2, 1)
    assert "1 of 3 iterations failed" in parent.state.state_message and "no rows for BAD" in parent.state.state_message
    iterations = history.get_output(parent.run_id).metadata.iterations
    assert sorted((i.attempt_number, value(i.state.result_state)) for i in iterations) == \
        [(0, "FAILED"), (0, "SUCCESS"), (0, "SUCCESS"), (1, "FAILED")]
    assert json.loads(parent.for_each_task.inputs)[0] == {"code": "NL", "rows": 3}
    logs = sorted(Path(history.task_run(i.run_id).output_path).read_text() for i in iterations
                  if value(i.state.result_state) == "SUCCESS")
    # {{input.field}}, {{job.parameters.x}} and ${resources.schemas.x.name} all resolved
    assert logs == ["country=FR rows=2 region=emea schema=sales_local\n",
                    "country=NL rows=3 region=emea schema=sales_local\n"]


def test_run_job_task_runs_the_other_job_and_links_its_run():
    history, run = run_job("parent")
    (task,) = run.tasks
    assert value(task.state.result_state) == "SUCCESS"
    child_id = history.get_output(task.run_id).run_job_output.run_id
    child = history.get_run(child_id)
    assert value(child.trigger) == "RUN_JOB_TASK" and child.run_name == "child-job"
    assert {p.name: p.value for p in child.job_parameters}["who"] == f"parent {run.run_id}"
    assert task.run_job_task.job_id == child.job_id  # ${resources.jobs.child.id}: the history's id


def test_run_job_task_follows_a_failed_child(tmp_path):
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job

    history = History()
    # The child fails when asked: the parent's task fails with the child's message.
    text = BUNDLE.read_text().replace('{who: "parent {{job.run_id}}"}', '{who: x, fail: "yes"}')
    (tmp_path / "src").symlink_to(BUNDLE.parent / "src")
    (tmp_path / "databricks.yml").write_text(text)
    run_id = LocalRunner(load_job(tmp_path / "databricks.yml", job_key="parent"), history, RunOptions()).run()
    (task,) = history.get_run(run_id).tasks
    assert value(task.state.result_state) == "FAILED"
    assert "ended FAILED" in task.state.state_message and "asked to fail" in task.state.state_message


def test_sql_task_runs_files_with_named_markers_on_the_cluster():
    """One cluster for the SQL tasks and a for-each over a notebook (the public bundles' style)."""
    history, run = run_job("sql_report")
    tasks = {t.task_key: t for t in run.tasks}
    assert {k: value(t.state.result_state) for k, t in tasks.items()} == {
        "report": "SUCCESS", "notebook_style": "SUCCESS", "bad_sql": "FAILED", "per_table": "SUCCESS"}
    said = tasks["bad_sql"].state.state_message
    assert said.startswith("statement 2 of 3 failed:") and "no_such_table_anywhere" in said
    notebooks = [Path(history.task_run(i.run_id).output_path).read_text()
                 for i in history.get_output(tasks["per_table"].run_id).metadata.iterations]
    assert len(notebooks) == 2 and any("rows in customers: 2" in n for n in notebooks) \
        and any("rows in orders: 3" in n for n in notebooks)
    report = json.loads(Path(history.task_run(tasks["report"].run_id).output_path).read_text())
    assert report["columns"] == ["customer", "amount", "label"]
    assert [r[0] for r in report["rows"]] == ["c", "b"]  # :min_amount bound to "20"
    assert report["rows"][0][2] == str(run.job_id)       # {{job.id}} resolved first
    assert "warehouse_id abc123 is not used locally" in report["note"]
    summary = json.loads(Path(history.task_run(tasks["notebook_style"].run_id).output_path).read_text())
    assert summary["rows"] == [[5, 10]]  # the markdown cell skipped, the SQL cells run


def _bundle(tmp_path, body: str) -> Path:
    path = tmp_path / "databricks.yml"
    path.write_text("bundle: {name: t}\n" + textwrap.dedent(body))
    (tmp_path / "nb.py").write_text("print(1)\n")
    return path


@pytest.mark.parametrize("task, said", [
    ("spark_jar_task: {main_class_name: a.B}", "task 'x' is a spark_jar_task, which cannot run locally"),
    ("dbt_task: {commands: [dbt run]}", "task 'x' is a dbt_task"),
    ("sql_task: {warehouse_id: w, query: {query_id: q1}}", "runs a saved query (sql_task.query)"),
    ("for_each_task: {inputs: '[1]', task: {task_key: y, spark_jar_task: {main_class_name: a.B}}}",
     "in for_each_task 'x', task 'y' is a spark_jar_task, which cannot run locally"),
])
def test_task_types_without_an_executor_are_refused_at_load(tmp_path, task, said):
    path = _bundle(tmp_path, f"""
        resources:
          jobs:
            j:
              tasks:
                - task_key: x
                  {task}
        """)
    code, out, err = cli(["run", "--job", str(path)])
    assert code == 2 and said in err and "resources.jobs.j.tasks[0]" in err
    assert not (tmp_path / "home").exists()


def test_refusal_follows_the_executor_table(monkeypatch):
    from course.jobs.local import executors
    from databricks.sdk.service import jobs

    task = jobs.Task(task_key="p", pipeline_task=jobs.PipelineTask(pipeline_id="x"))
    assert executors.refusal(task) is None                      # pipeline_task has an executor
    monkeypatch.delitem(executors.EXECUTORS, "pipeline_task")   # without it, the same task is refused
    assert "pipeline_task" in executors.refusal(task)
    jar = jobs.Task(task_key="j", spark_jar_task=jobs.SparkJarTask(main_class_name="Main"))
    assert "spark_jar_task" in executors.refusal(jar)


def test_bundles_as_written_anchor_keys_and_resource_references(tmp_path):
    from course.jobs.spec import JobSpecError, load_job

    path = _bundle(tmp_path, """
        x-common: &common
          max_retries: 2
        notes:
          owner: someone
        resources:
          pipelines:
            p: {name: my pipeline}
          jobs:
            j:
              tasks:
                - task_key: a
                  <<: *common
                  spark_python_task:
                    python_file: ./nb.py
                    parameters: ["${resources.pipelines.p.id}", "${resources.pipelines.p.name}",
                                 "${resources.jobs.j.id}"]
        """)
    loaded = load_job(path)
    assert loaded.settings.tasks[0].max_retries == 2
    params = loaded.settings.tasks[0].spark_python_task.parameters
    assert params[:2] == ["p", "my pipeline"] and params[2].isdigit()
    assert [w.split(" (in ")[0] for w in loaded.warnings] == ["Warning: unknown field: notes"]  # the anchor: silent
    path.write_text(path.read_text().replace("jobs.j.id", "jobs.nope.id"))
    with pytest.raises(JobSpecError, match=r"databricks.yml: .*\$\{resources.jobs.nope.id\}: no jobs 'nope'"):
        load_job(path)
    path.write_text(path.read_text() + "python:\n  resources: ['resources:load_resources']\n")
    with pytest.raises(JobSpecError, match="databricks.yml: python: load_resources failed: "
                                           "Can't find function 'load_resources' in module 'resources'"):
        load_job(path)


def test_jobs_defined_in_python_load_through_databricks_bundles(tmp_path):
    from course.jobs.spec import load_job

    (tmp_path / "resources").mkdir()
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "hello.py").write_text("print('hello')\n")
    (tmp_path / "databricks.yml").write_text(textwrap.dedent("""
        bundle: {name: py}
        python:
          resources: ["resources:load_resources"]
        variables:
          greeting: {default: hi}
        """))
    (tmp_path / "resources" / "__init__.py").write_text(textwrap.dedent("""
        from databricks.bundles.core import Resources
        from databricks.bundles.jobs import Job


        def load_resources(bundle):
            resources = Resources()
            for region in ("emea", "apac"):  # what YAML cannot do: jobs made in a loop
                resources.add_job(f"hello_{region}", Job.from_dict({
                    "name": f"hello-{region}-{bundle.target}",
                    "tasks": [{"task_key": "hello", "spark_python_task": {
                        "python_file": "../src/hello.py", "parameters": [region, "${var.greeting}"]}}]}))
            return resources
        """))
    loaded = load_job(tmp_path / "databricks.yml", job_key="hello_apac")
    assert loaded.settings.name == "hello-apac-default"
    assert loaded.settings.tasks[0].spark_python_task.parameters == ["apac", "hi"]
    assert loaded.relative_paths == {"hello": "src/hello.py"}  # relative to the .py file, as the CLI reads it


def test_deploy_uploads_sql_files_and_nested_task_files():
    from course.jobs.spec import load_job
    from course.jobs.workspace.deploy import deployed_settings

    fan_out, uploads = deployed_settings(load_job(BUNDLE, job_key="fan_out", local=False), "ada@example.com")
    nested = fan_out.tasks[1].for_each_task.task.spark_python_task.python_file
    assert nested.startswith("/Workspace/Users/ada@example.com/") and nested.endswith("/src/country.py")
    report, _ = deployed_settings(load_job(BUNDLE, job_key="sql_report", local=False), "ada@example.com")
    assert report.tasks[0].sql_task.file.path.endswith("/src/report.sql")
    assert report.tasks[0].sql_task.file.path.startswith("/Workspace/Users/ada@example.com/")


@pytest.mark.parametrize("block, said", [
    ("inputs: 'a, b'", "for_each_task.inputs: expected a JSON array"),
    ("inputs: '{\"a\": 1}'", "for_each_task.inputs: expected a JSON array"),
    ("inputs: '[1]'\n                    concurrency: 101", "for_each_task.concurrency: must be between 1 and 100"),
    ("inputs: '[1]'\n                    task: {task_key: z, for_each_task: {inputs: '[2]', task: {task_key: w, "
     "spark_python_task: {python_file: ./nb.py}}}}", "cannot run another for_each_task"),
])
def test_for_each_settings_the_api_refuses_are_refused_at_load(tmp_path, block, said):
    from course.jobs.spec import JobSpecError, load_job

    if "task:" not in block:
        block += "\n                    task: {task_key: y, spark_python_task: {python_file: ./nb.py}}"
    path = _bundle(tmp_path, f"""
        resources:
          jobs:
            j:
              tasks:
                - task_key: x
                  for_each_task:
                    {block}
        """)
    with pytest.raises(JobSpecError, match=said):
        load_job(path)


def test_a_missing_input_field_fails_the_for_each_task_before_any_iteration(tmp_path):
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job

    path = _bundle(tmp_path, """
        resources:
          jobs:
            j:
              tasks:
                - task_key: x
                  for_each_task:
                    inputs: '[{"a": 1}, {"b": 2}]'
                    task: {task_key: y, spark_python_task: {python_file: ./nb.py, parameters: ["{{input.a}}"]}}
        """)
    history = History()
    run = history.get_run(LocalRunner(load_job(path), history, RunOptions()).run())
    (task,) = run.tasks
    assert value(task.state.result_state) == "FAILED"
    assert "{{input.a}}: the input {\"b\": 2} has no field 'a'" in task.state.state_message
    assert task.for_each_task.stats.task_run_stats.total_iterations == 2
    assert not history.get_output(task.run_id).metadata.iterations  # nothing ran


def test_a_for_each_timeout_stops_its_running_iterations(tmp_path):
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job

    (tmp_path / "slow.py").write_text("import time\ntime.sleep(60)\n")
    path = _bundle(tmp_path, """
        resources:
          jobs:
            j:
              tasks:
                - task_key: x
                  timeout_seconds: 2
                  for_each_task:
                    inputs: '[1, 2, 3]'
                    concurrency: 2
                    task: {task_key: y, spark_python_task: {python_file: ./slow.py}}
        """)
    history = History()
    run = history.get_run(LocalRunner(load_job(path), history, RunOptions()).run())
    (task,) = run.tasks
    assert value(task.state.result_state) == "TIMEDOUT"
    stats = task.for_each_task.stats.task_run_stats
    assert (stats.total_iterations, stats.completed_iterations, stats.scheduled_iterations) == (3, 2, 1)
    iterations = history.get_output(task.run_id).metadata.iterations
    assert [value(i.state.result_state) for i in iterations] == ["CANCELED", "CANCELED"]
    assert run.end_time - run.start_time < 20_000


def test_paths_in_an_included_file_are_its_own_for_sql_and_nested_tasks(tmp_path):
    from course.jobs.spec import load_job

    (tmp_path / "resources" / "src").mkdir(parents=True)
    (tmp_path / "resources" / "src" / "q.sql").write_text("SELECT 1")
    (tmp_path / "resources" / "src" / "one.py").write_text("print(1)")
    (tmp_path / "databricks.yml").write_text("bundle: {name: t}\ninclude: [resources/*.yml]\n")
    (tmp_path / "resources" / "job.yml").write_text(textwrap.dedent("""
        resources:
          jobs:
            j:
              tasks:
                - task_key: q
                  sql_task: {warehouse_id: w, file: {path: ./src/q.sql}}
                - task_key: loop
                  for_each_task:
                    inputs: '[1]'
                    task: {task_key: one, spark_python_task: {python_file: src/one.py}}
        """))
    loaded = load_job(tmp_path / "databricks.yml")
    assert loaded.relative_paths == {"q": "resources/src/q.sql", "one": "resources/src/one.py"}


def test_jobs_running_each_other_fail_instead_of_waiting_for_themselves(tmp_path):
    from course.jobs.local.history import History
    from course.jobs.local.runner import LocalRunner, RunOptions
    from course.jobs.spec import load_job

    path = _bundle(tmp_path, """
        resources:
          jobs:
            a:
              queue: {enabled: true}
              tasks:
                - task_key: call_b
                  run_job_task: {job_id: "${resources.jobs.b.id}"}
            b:
              tasks:
                - task_key: call_a
                  run_job_task: {job_id: "${resources.jobs.a.id}"}
        """)
    history = History()
    run = history.get_run(LocalRunner(load_job(path, job_key="a"), history, RunOptions()).run())
    (task,) = run.tasks
    assert value(task.state.result_state) == "FAILED"
    child = history.get_run(history.get_output(task.run_id).run_job_output.run_id)
    assert "is already running this one (jobs " in child.tasks[0].state.state_message
