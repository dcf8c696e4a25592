"""The rest of dbutils that notebooks use (issue 12, item 7) and DeltaTable without Delta's
jars: secrets from a local file with redaction, the notebook context, mounts refused."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from course.platform import paths
from course.runtime.dbx import nbcontext, secrets
from course.runtime.fs import Fs


@pytest.fixture
def scopes(day7_home):
    (day7_home / "secrets.json").write_text(json.dumps({"kaggle": {"api_key": "s3cr3t-value", "user": "ana"},
                                                        "smtp": {"password": "pw-123"}}))


def test_secrets_come_from_the_learners_file_with_databricks_errors(scopes):
    s = secrets.Secrets()
    assert [x.name for x in s.listScopes()] == ["kaggle", "smtp"]
    assert [x.key for x in s.list("kaggle")] == ["api_key", "user"]
    with pytest.raises(secrets.IllegalArgumentException, match="^Secret does not exist with scope: kaggle and key: nope$"):
        s.get("kaggle", "nope")
    with pytest.raises(secrets.IllegalArgumentException, match="^Secret does not exist with scope: other and key: k$"):
        s.get("other", "k")
    with pytest.raises(secrets.IllegalArgumentException, match="Secret scope other does not exist"):
        s.list("other")


REDACTION = r"""
from course.runtime.dbx import secrets
value = secrets.Secrets().get("kaggle", "api_key")
print("key is", value, "and bytes", secrets.Secrets().getBytes("smtp", "password"))
import sys; print("len", len(value), file=sys.stderr)
"""


def test_secret_values_print_redacted_but_stay_usable(scopes):
    done = subprocess.run([sys.executable, "-c", REDACTION], capture_output=True, text=True, timeout=60,
                          env=paths.child_environment())
    assert done.returncode == 0, done.stderr
    assert done.stdout == "key is [REDACTED] and bytes b'[REDACTED]'\n"
    assert done.stderr.endswith("len 12\n")


def test_the_notebook_context_answers_from_the_task(monkeypatch):
    monkeypatch.setenv("DATABRICKS_USERNAME", "ana@example.com")
    monkeypatch.setenv("DAY7_TASK", json.dumps({"job_id": 3, "job_name": "day7", "run_id": 40, "task_key": "bronze",
                                                "task_run_id": 41, "notebook_path": "/w/notebooks/bronze"}))
    ctx = nbcontext.EntryPoint().getDbutils().notebook().getContext()
    assert ctx.userName().get() == "ana@example.com"
    assert ctx.notebookPath().get() == "/w/notebooks/bronze"
    assert ctx.tags().apply("jobId") == "3" and ctx.tags().get("multitaskParentRunId").get() == "40"
    assert ctx.currentRunId().get().id() == 41 and not ctx.apiToken().isDefined()
    data = json.loads(ctx.toJson())
    assert data["tags"]["runId"] == "41" and data["extraContext"]["notebook_path"] == "/w/notebooks/bronze"
    monkeypatch.delenv("DAY7_TASK")
    alone = nbcontext.NotebookContext()
    assert alone.tags().contains("user") and not alone.tags().contains("jobId")
    with pytest.raises(ValueError, match="None.get"):
        alone.currentRunId().get()


def test_mounts_are_refused_in_one_sentence():
    for call in (lambda fs: fs.mount("s3a://bucket", "/mnt/raw"), lambda fs: fs.mounts(), lambda fs: fs.unmount("/mnt/raw")):
        with pytest.raises(RuntimeError, match="mounts are deprecated with Unity Catalog and the kit has none"):
            call(Fs())


DELTA_TABLE = r"""
import os
os.environ["DAY7_DELTA"] = "off"
from course.runtime.dbx import deltatable
deltatable.install()
from delta.tables import DeltaTable
for call in (lambda: DeltaTable.forName(None, "workspace.day7.events"), lambda: DeltaTable.isDeltaTable(None, "/x")):
    try:
        call()
    except Exception as exc:
        print(type(exc).__name__, str(exc).split(" because")[0])
import sys; print("pyspark session started:", "pyspark.sql.session" in sys.modules and bool(
    sys.modules["pyspark.sql.session"].SparkSession._instantiatedSession))
"""


def test_delta_table_refuses_in_one_sentence_before_spark_starts():
    done = subprocess.run([sys.executable, "-c", DELTA_TABLE], capture_output=True, text=True, timeout=120,
                          env=paths.child_environment())
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "DeltaOnlyError DeltaTable.forName needs Delta Lake, and tables here are Parquet",
        "DeltaOnlyError DeltaTable.isDeltaTable needs Delta Lake, and tables here are Parquet",
        "pyspark session started: False"]
