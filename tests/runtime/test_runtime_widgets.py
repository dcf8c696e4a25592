"""dbutils.widgets as notebooks see it, in real kernels (papermill): runner mode and interactive mode."""
from __future__ import annotations

import papermill
import pytest

from runtime_fixtures import WIDGET_STATE, WIDGET_VIEW, make_notebook, observed, outputs, run, task_context

pytestmark = pytest.mark.slow

SEED = """\
dbutils.widgets.text("source_path", "/default/path")
dbutils.widgets.dropdown("layer", "bronze", ["bronze","silver","gold"])
source_path = dbutils.widgets.get("source_path")
layer = dbutils.widgets.get("layer")"""


def test_runner_parameters_beat_defaults_and_no_widgets_are_displayed(tmp_path):
    nb = make_notebook(tmp_path / "seed.ipynb", [
        SEED,
        'observe("source_path", source_path); observe("layer", layer)',
        # declared, with a parameter: the parameter wins
        'dbutils.widgets.text("catalog", "hive_metastore", "Catalog")\n'
        'observe("catalog", dbutils.widgets.get("catalog"))',
        # names with dots and dashes, declared and undeclared
        'dbutils.widgets.text("out.path-v2", "/nowhere")\n'
        'observe("out.path-v2", dbutils.widgets.get("out.path-v2"))\n'
        'observe("run.date", dbutils.widgets.get("run.date"))\n'
        'observe("max-rows", dbutils.widgets.get("max-rows"))',
        # multiselect: a comma-joined parameter, and a default
        'dbutils.widgets.multiselect("regions", "eu", ["eu", "us", "apac"])\n'
        'dbutils.widgets.multiselect("tiers", "a", ["a", "b"])\n'
        'dbutils.widgets.combobox("format", "parquet", ["parquet", "delta"])\n'
        'observe("regions", dbutils.widgets.get("regions")); observe("tiers", dbutils.widgets.get("tiers"))\n'
        'observe("format", dbutils.widgets.get("format"))',
        'observe("all", dbutils.widgets.getAll())',
        'observe("getArgument", [dbutils.widgets.getArgument("layer"), dbutils.widgets.getArgument("nope", "fallback")])',
    ])
    params = {"layer": "silver", "catalog": "spark_catalog", "run.date": "2024-01-31", "max-rows": "10",
              "out.path-v2": "/data/out", "regions": "eu,apac", "format": "csv"}
    result = run(nb, tmp_path / "out.ipynb", task_context(tmp_path, parameters=params))

    seen = observed(tmp_path / "out.ipynb")
    assert seen["source_path"] == "/default/path"      # declared, no parameter: its default
    assert seen["layer"] == "silver"                   # parameter beats the declared default
    assert seen["catalog"] == "spark_catalog"
    assert seen["out.path-v2"] == "/data/out"
    assert seen["run.date"] == "2024-01-31"            # never declared: the parameter still answers
    assert seen["max-rows"] == "10"
    assert seen["regions"] == "eu,apac"
    assert seen["tiers"] == "a"
    assert seen["format"] == "csv"                     # a combobox takes any value
    assert seen["all"] == {"source_path": "/default/path", "layer": "silver", "catalog": "spark_catalog",
                           "out.path-v2": "/data/out", "regions": "eu,apac", "tiers": "a", "format": "csv",
                           "run.date": "2024-01-31", "max-rows": "10"}
    assert seen["getArgument"] == ["silver", "fallback"]
    warnings = [o["text"] for o in result.cells[-1].outputs if o.get("name") == "stderr"]
    assert len(warnings) == 1 and "getArgument is deprecated" in warnings[0]   # works, warns once
    # Under the runner: no widget views, no widget state.
    assert not [o for o in outputs(result) if WIDGET_VIEW in o.get("data", {})]
    assert "widgets" not in result.metadata


def _views(result):
    return [o["data"][WIDGET_VIEW]["model_id"] for o in outputs(result) if WIDGET_VIEW in o.get("data", {})]


def _value(state: dict) -> object:
    """A widget model's value as the front end shows it (selection widgets sync indexes)."""
    if "index" in state and "_options_labels" in state:
        labels, index = state["_options_labels"], state["index"]
        return [labels[i] for i in index] if isinstance(index, list) else labels[index]
    return state["value"]


def test_interactive_declarations_are_ipywidgets_with_the_defaults(tmp_path):
    nb = make_notebook(tmp_path / "seed.ipynb", [
        SEED,
        'observe("source_path", source_path); observe("layer", layer)',
        'dbutils.widgets.multiselect("regions", "eu", ["eu", "us", "apac"], "Regions")\n'
        'dbutils.widgets.combobox("format", "parquet", ["parquet", "delta"])\n'
        'observe("regions", dbutils.widgets.get("regions"))',
        # same widget twice in one cell: one view
        'dbutils.widgets.text("source_path", "/default/path")\ndbutils.widgets.text("source_path", "/default/path")',
        'dbutils.widgets.remove("format")\n'
        'try:\n    dbutils.widgets.get("format")\nexcept Exception as e:\n    observe("removed", type(e).__name__)',
        'observe("all", dbutils.widgets.getAll())',
    ])
    result = run(nb, tmp_path / "out.ipynb")  # no day7_task: interactive mode

    seen = observed(tmp_path / "out.ipynb")
    assert (seen["source_path"], seen["layer"], seen["regions"]) == ("/default/path", "bronze", "eu")
    assert seen["removed"] == "InputWidgetNotDefined"
    assert seen["all"] == {"source_path": "/default/path", "layer": "bronze", "regions": "eu"}

    per_cell = [[o for o in c.outputs if WIDGET_VIEW in o.get("data", {})] for c in result.cells]
    # Cell 4 showed regions and format; removing format (cell 5) turned its output into a note,
    # so a reopened notebook shows no dead view ("model not found").
    assert [len(v) for v in per_cell] == [0, 0, 2, 0, 1, 1, 0, 0]
    notes = [o["data"].get("text/html", "") for o in result.cells[4].outputs if "data" in o]
    assert any("widget <code>format</code> removed" in n for n in notes), result.cells[4].outputs
    state = result.metadata["widgets"][WIDGET_STATE]["state"]
    models = {m: state[m]["state"] for m in _views(result)}
    # A combobox is shown in a box with a hint ("pick parquet, delta, or type any value").
    for m, s in list(models.items()):
        if s["_model_name"] == "HBoxModel":
            inner, hint = (state[c[len("IPY_MODEL_"):]]["state"] for c in s["children"])
            assert "or type any value" in hint["value"]
            models[m] = inner
    by_label = {s["description"]: (s["_model_name"], _value(s)) for s in models.values()}
    assert by_label == {
        "source_path": ("TextModel", "/default/path"),
        "layer": ("DropdownModel", "bronze"),
        "Regions": ("SelectMultipleModel", ["eu"]),
    }
    # The re-run of "source_path" in cell 5 shows the same model again, not a new one.
    text_views = [m for m in _views(result) if models[m]["_model_name"] == "TextModel"]
    assert len(set(text_views)) == 1


@pytest.mark.parametrize("case, cells, params, expected", [
    ("default-not-in-choices",
     ['dbutils.widgets.dropdown("layer", "platinum", ["bronze", "silver", "gold"])'], None,
     ["InvalidWidgetValue", "'platinum'", "'layer'", "['bronze', 'silver', 'gold']"]),
    ("parameter-not-in-choices", [SEED], {"layer": "platinum"},
     ["InvalidWidgetValue", "Parameter value 'platinum'", "'layer'", "['bronze', 'silver', 'gold']"]),
    ("multiselect-parameter", ['dbutils.widgets.multiselect("regions", "eu", ["eu", "us"])'], {"regions": "eu,mars"},
     ["InvalidWidgetValue", "'eu,mars'", "not among them: ['mars']"]),
    ("undefined", [SEED, 'dbutils.widgets.get("sink.table")'], {"run.date": "2024-01-31"},
     ["InputWidgetNotDefined", "No input widget named sink.table is defined",
      "layer, run.date, source_path"]),
])
def test_widget_errors_fail_the_notebook_with_a_clear_message(tmp_path, case, cells, params, expected):
    nb = make_notebook(tmp_path / f"{case}.ipynb", cells, observe=False)
    context = task_context(tmp_path, parameters=params) if params is not None else None
    with pytest.raises(papermill.PapermillExecutionError) as info:
        run(nb, tmp_path / "out.ipynb", context)
    message = f"{info.value.ename}: {info.value.evalue}"
    for part in expected:
        assert part in message
