"""The contract with the runner: context parsing, the scrap format, and a cheap import."""
from __future__ import annotations

import json
import subprocess
import sys

import nbformat
import pytest
from scrapbook.api import _prepare_ipy_data_format
from scrapbook.encoders import registry
from scrapbook.scraps import Scrap, scrap_to_payload

from course.runtime import context, scraps


def test_scrap_output_is_what_scrapbook_glue_emits():
    value = {"rows": 3, "tables": ["a"], "ok": True}
    glued = _prepare_ipy_data_format(
        "day7.task_value.stats", scrap_to_payload(registry.encode(Scrap("day7.task_value.stats", value, "json"))),
        "json")
    assert scraps.scrap_output("day7.task_value.stats", value) == glued


def _notebook_with(*bundles) -> nbformat.NotebookNode:
    outs = [nbformat.v4.new_output("display_data", data=data, metadata=meta) for data, meta in bundles]
    cell = nbformat.v4.new_code_cell("", outputs=outs)
    return nbformat.v4.new_notebook(cells=[cell])


@pytest.mark.parametrize("value", ["123", "beans", "", "null", None, 0, 1.5, True, [1, "2"], {"a": None}])
def test_values_read_back_exactly_and_the_latest_wins(tmp_path, value):
    path = tmp_path / "nb.ipynb"
    nbformat.write(_notebook_with(scraps.scrap_output("day7.task_value.k", "old"),
                                  scraps.scrap_output("day7.task_value.k", value),
                                  scraps.scrap_output("day7.notebook_exit", "42")), path)
    assert scraps.read_task_outputs(path) == ({"k": value}, "42")


def test_output_dir_without_files_means_nothing_was_set(tmp_path):
    assert scraps.read_task_outputs(tmp_path) == ({}, None)


def test_context_comes_from_the_namespace_or_the_environment(monkeypatch):
    monkeypatch.delenv("DAY7_TASK", raising=False)
    assert context.current() is None
    monkeypatch.setenv("DAY7_TASK", json.dumps({"task_key": "py", "parameters": {"n": 3}}))
    ctx = context.current()
    assert (ctx.task_key, ctx.parameters, ctx.task_values, ctx.output_dir) == ("py", {"n": "3"}, {}, None)
    monkeypatch.setitem(vars(sys.modules["__main__"]), "day7_task", {"task_key": "nb"})
    assert context.current().task_key == "nb"   # the injected variable wins


def test_a_malformed_context_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("DAY7_TASK", "{not json")
    with pytest.raises(ValueError, match="DAY7_TASK is not valid JSON"):
        context.current()
    monkeypatch.setenv("DAY7_TASK", json.dumps({"task_key": "x", "paramters": {}}))
    with pytest.raises(ValueError, match="unknown keys: \\['paramters'\\]"):
        context.current()


def test_importing_the_runtime_loads_nothing_heavy():
    code = ("import sys\nfrom course.runtime import dbutils, spark, display\n"
            "heavy = ['IPython', 'ipywidgets', 'pyspark', 'pandas', 'scrapbook', 'papermill', 'nbformat']\n"
            "print([m for m in heavy if m in sys.modules])")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr


def test_spark_is_the_proxy_even_after_its_module_was_imported():
    # `course.runtime.spark` is both a submodule and the proxy it exports; importing
    # the submodule first (as the job cluster code does) must not shadow the proxy.
    code = ("import sys, course.runtime.spark\nfrom course.runtime import spark\nimport course.runtime as rt\n"
            "proxy = sys.modules['course.runtime.spark'].spark\nprint(spark is proxy, rt.spark is proxy)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.stdout.split() == ["True", "True"], done.stderr
