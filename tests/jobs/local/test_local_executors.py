"""The executors one by one, outside the run loop: the registry, a condition, a .py file
in its own process, and a notebook on a real kernel from a real pool."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
from databricks.sdk.service import jobs

from course.jobs.local import executors
from course.jobs.local.compute.env import child_env
from course.jobs.local.compute.kernels import KernelPool
from course.jobs.local.executors.base import Attempt, AttemptRequest
from course.jobs.model import params
from course.runtime.context import TaskContext


class NoCluster:
    """The compute of a task without a job cluster: kernels from one pool, no Spark address."""

    def __init__(self, pool=None):
        self._pool = pool

    def pool(self, task):
        return self._pool

    def remote_url(self, task):
        return None


def request(task, tmp_path: Path, compute=None, timeout: float | None = None, job_parameters=None):
    settings = jobs.JobSettings(name="direct", tasks=[task], parameters=[
        jobs.JobParameterDefinition(name=k, default=v) for k, v in (job_parameters or {}).items()])
    recorded: list[str] = []
    refs = params.RefContext(job_id=1, job_name="direct", run_id=7, task_key=task.task_key, task_run_id=8,
                             job_parameters=job_parameters or {}, job_task_keys=[task.task_key])
    req = AttemptRequest(task=task, settings=settings, job_parameters=job_parameters or {}, refs=refs,
                         context=TaskContext(job_id=1, job_name="direct", run_id=7, task_key=task.task_key,
                                             task_run_id=8, output_dir=str(tmp_path / "out")),
                         attempt=Attempt(timeout), output_stem=tmp_path / "out", compute=compute or NoCluster(),
                         record_output=recorded.append)
    return req, recorded


def test_every_registered_type_has_an_executor_module():
    for kind, module in executors.EXECUTORS.items():
        task = jobs.Task(task_key="t", **{kind: _minimal(kind)})
        executor = executors.executor_for(task)
        assert callable(executor.execute) and isinstance(executor.NEEDS_COMPUTE, bool), kind


def _minimal(kind):
    """The smallest valid value of a task type's field: its required fields filled in (so a type
    another branch adds needs no line here)."""
    import dataclasses
    import enum
    import typing

    def filled(tp):
        tp = next((a for a in typing.get_args(tp) if a is not type(None)), tp)
        if tp is str:
            return "x"
        if tp is int:
            return 1
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return list(tp)[0]
        if tp is jobs.Task:
            return jobs.Task(task_key="nested", notebook_task=jobs.NotebookTask(notebook_path="x.ipynb"))
        hints = typing.get_type_hints(tp)
        return tp(**{f.name: filled(hints[f.name]) for f in dataclasses.fields(tp)
                     if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING})

    return filled(typing.get_type_hints(jobs.Task)[kind])


def test_a_type_without_an_executor_is_refused_in_one_sentence():
    task = jobs.Task(task_key="t", spark_jar_task=jobs.SparkJarTask(main_class_name="Main"))
    assert executors.task_type(task) == "spark_jar_task"
    with pytest.raises(executors.UnsupportedTask) as err:
        executors.executor_for(task)
    said = str(err.value)
    assert said.startswith("spark_jar_task tasks cannot run locally (") and said.endswith(" can)")
    assert all(kind in said for kind in executors.EXECUTORS)  # the table names what can run


def test_a_condition_compares_resolved_operands(tmp_path):
    task = jobs.Task(task_key="gate", condition_task=jobs.ConditionTask(
        op=jobs.ConditionTaskOp.GREATER_THAN, left="{{job.parameters.rows}}", right="10"))
    req, _ = request(task, tmp_path, job_parameters={"rows": "12"})
    outcome = executors.executor_for(task).execute(req)
    assert (outcome.state, outcome.condition_outcome, outcome.exit_value) == ("SUCCESS", "true", "true")


def test_a_python_file_runs_in_its_own_process_with_argv_and_context(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("import json, os, sys\n"
                      "ctx = json.loads(os.environ['DAY7_TASK'])\n"
                      "print('args', sys.argv[1:], ctx['task_key'], ctx['run_id'])\n")
    task = jobs.Task(task_key="py", spark_python_task=jobs.SparkPythonTask(
        python_file=str(script), parameters=["--run", "{{job.run_id}}"]))
    req, recorded = request(task, tmp_path)
    outcome = executors.executor_for(task).execute(req)
    assert outcome.state == "SUCCESS", outcome
    log = Path(recorded[0])
    assert log.name == "stdout.log"
    assert "args ['--run', '7'] py 7" in log.read_text()


def test_a_failing_python_file_names_its_last_line(tmp_path):
    script = tmp_path / "boom.py"
    script.write_text("raise SystemExit('the input folder is empty')\n")
    task = jobs.Task(task_key="py", spark_python_task=jobs.SparkPythonTask(python_file=str(script)))
    req, _ = request(task, tmp_path)
    outcome = executors.executor_for(task).execute(req)
    assert outcome.state == "FAILED"
    assert outcome.message == "boom.py failed: the input folder is empty"


def test_a_python_file_is_killed_at_its_timeout(tmp_path):
    script = tmp_path / "slow.py"
    script.write_text("import time\ntime.sleep(60)\n")
    task = jobs.Task(task_key="py", spark_python_task=jobs.SparkPythonTask(python_file=str(script)))
    req, _ = request(task, tmp_path, timeout=1)
    started = time.monotonic()
    outcome = executors.executor_for(task).execute(req)
    assert outcome.state == "TIMEDOUT" and time.monotonic() - started < 20


def test_child_processes_run_this_checkout_and_its_state_folder(day7_home):
    from course.platform.paths import REPO_ROOT

    env = child_env("sc://127.0.0.1:1")
    assert env["PYTHONPATH"].split(":")[0] == str(REPO_ROOT)
    assert env["DAY7_HOME"] == str(day7_home)
    assert env["SPARK_REMOTE"] == "sc://127.0.0.1:1"


@pytest.mark.slow
def test_a_notebook_runs_on_a_kernel_from_the_pool_with_its_context(tmp_path, day7_home):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("from course.runtime import dbutils\n"
                                  "dbutils.jobs.taskValues.set('seen', dbutils.widgets.get('who'))\n"
                                  "dbutils.notebook.exit(day7_task['task_key'])")])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    task = jobs.Task(task_key="hello", notebook_task=jobs.NotebookTask(notebook_path=str(path),
                                                                         base_parameters={"who": "{{task.name}}"}))
    pool = KernelPool(child_env(None), size=1, cwd=str(tmp_path))
    taken = threading.Event()
    try:
        pool.prestart(1)
        req, recorded = request(task, tmp_path, compute=NoCluster(pool))
        req.kernel_taken = lambda p: taken.set()
        outcome = executors.executor_for(task).execute(req)
    finally:
        pool.close()
    assert outcome.state == "SUCCESS", outcome
    assert (outcome.exit_value, outcome.task_values) == ("hello", {"seen": "hello"})
    assert taken.is_set() and recorded == [str(tmp_path / "out.ipynb")]
    executed = json.loads(Path(recorded[0]).read_text())
    injected = "".join(executed["cells"][0]["source"])
    assert '"task_run_id": 8' in injected and '"parameters": {"who": "hello"}' in injected



@pytest.mark.slow
def test_the_output_notebook_is_written_after_each_code_cell_not_at_every_step(tmp_path, day7_home, monkeypatch):
    import nbformat
    import papermill.engines

    writes = []
    real_write = papermill.engines.write_ipynb
    monkeypatch.setattr(papermill.engines, "write_ipynb", lambda nb, path: (writes.append(path), real_write(nb, path)))
    go_on = tmp_path / "go-on"
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("# A title"),
        nbformat.v4.new_code_cell("print('first cell done')"),
        nbformat.v4.new_markdown_cell("Then a cell that waits"),
        nbformat.v4.new_code_cell(f"import os, time\nwhile not os.path.exists({str(go_on)!r}):\n    time.sleep(0.05)\n"
                                  "print('second cell done')")])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    task = jobs.Task(task_key="steps", notebook_task=jobs.NotebookTask(notebook_path=str(path)))
    pool = KernelPool(child_env(None), size=1, cwd=str(tmp_path))
    out = tmp_path / "out.ipynb"
    seen_while_waiting = []

    def outputs_on_disk() -> str:
        try:
            return json.dumps([c.get("outputs") for c in json.loads(out.read_text())["cells"]])
        except (OSError, ValueError):
            return ""

    def look_while_the_second_cell_waits():
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and "first cell done" not in outputs_on_disk():
            time.sleep(0.1)
        seen_while_waiting.append(out.read_text())
        go_on.touch()

    watcher = threading.Thread(target=look_while_the_second_cell_waits, daemon=True)
    watcher.start()
    try:
        pool.prestart(1)
        req, _ = request(task, tmp_path, compute=NoCluster(pool))
        outcome = executors.executor_for(task).execute(req)
    finally:
        go_on.touch()
        watcher.join()
        pool.close()
    assert outcome.state == "SUCCESS", outcome
    # A reader (the run page) sees a code cell's outputs once it completed, while later cells run.
    while_waiting = json.loads(seen_while_waiting[0])["cells"]
    assert "first cell done" in json.dumps(while_waiting[2]["outputs"]) and while_waiting[-1]["outputs"] == []
    executed = json.loads(out.read_text())
    assert "second cell done" in json.dumps(executed["cells"][-1]["outputs"])
    assert all(c["metadata"]["papermill"]["status"] == "completed" for c in executed["cells"])
    # Written at the start, after each of the 3 code cells (the injected one too) and at the end:
    # papermill alone writes 12 times (every cell's start and end, markdown cells included).
    assert len(writes) == 5, len(writes)
