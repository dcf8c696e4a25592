"""`import dlt` (and Databricks' `from pyspark import pipelines as dp` additions) on pyspark.pipelines.

The driver installs this module as `dlt` and adds the `expect*` decorators to
`pyspark.pipelines`, then imports the pipeline's Python files. Mapping:

* `@dlt.table` / `@dp.table` is a streaming table when its query streams, otherwise a
  materialized view (Databricks decides the same way); `@dlt.materialized_view` /
  `@dp.materialized_view` a materialized view; `@dlt.view` / `@dp.temporary_view` a view.
* `dlt.read(x)` / `dlt.read_stream(x)` are `spark.read.table` / `spark.readStream.table`
  (SDP resolves names of the same pipeline); Unity Catalog names are mapped.
* `@dlt.expect*` decorators sit under the dataset decorator and are enforced and counted
  by `expectations.py`; `create_streaming_table(expect_all…=)` applies to its flows.
* `apply_changes` / `create_auto_cdc_flow`: SDP has AUTO CDC with SCD type 1 only;
  type 2 and history tracking are refused in one sentence.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Callable

from course.runtime.pipelines.expectations import Expectation, check_names, enforce
from course.runtime.unity import table_name

_ATTR = "__day7_expectations__"


@dataclass
class Dataset:
    """What the driver counts after the update: a dataset, its query and its expectations."""
    name: str
    kind: str                                   # materialized_view | streaming_table | view
    query: Callable | None                      # the undecorated query function (None: SQL)
    expectations: list[Expectation] = field(default_factory=list)
    sql_query: str | None = None                # a SQL dataset's query


@dataclass
class State:
    datasets: list[Dataset] = field(default_factory=list)
    batch: bool = False                         # counting: streaming reads are batch reads
    target_expectations: dict[str, list[Expectation]] = field(default_factory=dict)
    spark: object = None                        # the session proxy modules see as `spark`
    session: object = None                      # the real session and the graph, for analysing
    graph_id: str | None = None                 # a query while the graph is being defined


state = State()


class PipelineError(ValueError):
    """What the pipeline asks that Spark Declarative Pipelines cannot do, in one sentence."""


# --------------------------------------------------------------------------- expectations

def _add(fn, expectations: list[Expectation]):
    if not callable(fn):
        raise PipelineError("an expectation decorator must sit under @dlt.table / @dlt.view, above the function")
    setattr(fn, _ATTR, list(getattr(fn, _ATTR, [])) + expectations)
    return fn


def _decorator(action: str, many: bool):
    def make(*args):
        if many:
            (rules,) = args
            exps = [Expectation(k, v, action) for k, v in rules.items()]
        else:
            name, condition = args
            exps = [Expectation(name, condition, action)]
        return lambda fn: _add(fn, exps)
    return make


expect = _decorator("warn", False)
expect_or_drop = _decorator("drop", False)
expect_or_fail = _decorator("fail", False)
expect_all = _decorator("warn", True)
expect_all_or_drop = _decorator("drop", True)
expect_all_or_fail = _decorator("fail", True)


# --------------------------------------------------------------------------- datasets

def is_streaming(df) -> bool:
    """Whether a Spark Connect DataFrame's plan reads a stream, found in the plan itself
    (asking the server would analyse names the pipeline has not created yet)."""
    from pyspark.sql.connect.proto import relations_pb2

    plan = df._plan.plan(df.sparkSession.client)
    todo = [plan]
    while todo:
        msg = todo.pop()
        if isinstance(msg, relations_pb2.Read) and msg.is_streaming:
            return True
        for _desc, value in msg.ListFields():
            if hasattr(value, "ListFields"):
                todo.append(value)
            elif isinstance(value, (list, tuple)) or type(value).__name__.startswith("Repeated"):
                todo.extend(v for v in value if hasattr(v, "ListFields"))
    return False


def _streams(fn, dataset: str) -> bool:
    """Whether `fn`'s query streams; called as SDP calls a flow (its analysis context), so that
    names of the pipeline's own datasets resolve if Spark analyses the query eagerly."""
    from pyspark.pipelines.add_pipeline_analysis_context import add_pipeline_analysis_context

    if state.session is None:
        return is_streaming(fn())
    with add_pipeline_analysis_context(spark=state.session, dataflow_graph_id=state.graph_id,
                                       flow_name=dataset):
        return is_streaming(fn())


def _register(fn, kind: str, name: str | None, options: dict):
    exps = list(getattr(fn, _ATTR, []))
    dataset = table_name(name or fn.__name__)
    check_names(dataset, exps)

    @functools.wraps(fn)
    def query():
        df = fn()
        return enforce(df, dataset, exps) if exps else df

    query.__name__ = dataset.split(".")[-1]
    if kind == "auto":
        kind = "streaming_table" if _streams(fn, dataset) else "materialized_view"
    options = {k: v for k, v in options.items() if v is not None}
    if kind == "view":
        _ORIGINAL["temporary_view"](query, name=dataset, **{k: v for k, v in options.items() if k in ("comment", "spark_conf")})
    elif kind == "streaming_table":
        _ORIGINAL["table"](query, name=dataset, **options)
    else:
        _ORIGINAL["materialized_view"](query, name=dataset, **options)
    state.datasets.append(Dataset(dataset, kind, fn, exps))


def _dataset_decorator(kind: str):
    def decorator(query_function=None, *, name=None, comment=None, spark_conf=None, table_properties=None,
                  partition_cols=None, cluster_by=None, schema=None, format=None, path=None,
                  temporary=False, private=False, **others):
        unknown = sorted(k for k in others if k not in ("row_filter", "cluster_by_auto"))
        if unknown:
            raise PipelineError(f"@dlt.table: unknown argument {unknown[0]}")
        options = dict(comment=comment, spark_conf=spark_conf, table_properties=table_properties,
                       partition_cols=partition_cols, cluster_by=cluster_by, schema=schema, format=format)
        if kind == "view":
            options = dict(comment=comment, spark_conf=spark_conf)
        register = lambda fn: _register(fn, kind, name, options)  # noqa: E731
        return register(query_function) if query_function is not None else register
    return decorator


table = _dataset_decorator("auto")
materialized_view = _dataset_decorator("materialized_view")
view = temporary_view = _dataset_decorator("view")


def read(name: str):
    return state.spark.read.table(table_name(name))


def read_stream(name: str):
    return state.spark.read.table(table_name(name)) if state.batch else state.spark.readStream.table(table_name(name))


def create_streaming_table(name: str, comment=None, spark_conf=None, table_properties=None, partition_cols=None,
                           cluster_by=None, schema=None, format=None, path=None, expect_all=None,
                           expect_all_or_drop=None, expect_all_or_fail=None, **_ignored):
    dataset = table_name(name)
    exps = [Expectation(k, v, a) for a, rules in (("warn", expect_all), ("drop", expect_all_or_drop),
                                                  ("fail", expect_all_or_fail)) for k, v in (rules or {}).items()]
    state.target_expectations[dataset] = exps
    _ORIGINAL["create_streaming_table"](dataset, comment=comment, table_properties=table_properties,
                              partition_cols=partition_cols, cluster_by=cluster_by, schema=schema, format=format)


def append_flow(query_function=None, *, target: str, name=None, spark_conf=None, comment=None, once=False):
    if once:
        raise PipelineError("append_flow(once=True) (a one-time backfill flow) is not in open-source "
                            "Spark Declarative Pipelines")
    dataset = table_name(target)

    def register(fn):
        exps = state.target_expectations.get(dataset, []) + list(getattr(fn, _ATTR, []))

        @functools.wraps(fn)
        def flow():
            return enforce(fn(), dataset, exps) if exps else fn()

        _ORIGINAL["append_flow"](target=dataset, name=name, spark_conf=spark_conf)(flow)
        state.datasets.append(Dataset(dataset, "streaming_table", fn, exps))
    return register(query_function) if query_function is not None else register


def create_auto_cdc_flow(target: str, source: str, keys, sequence_by, ignore_null_updates=False,
                         apply_as_deletes=None, apply_as_truncates=None, column_list=None,
                         except_column_list=None, stored_as_scd_type=1, track_history_column_list=None,
                         track_history_except_column_list=None, name=None, once=False):
    if str(stored_as_scd_type) != "1" or track_history_column_list or track_history_except_column_list:
        raise PipelineError("AUTO CDC / apply_changes with SCD type 2 (history tracking) is not in open-source "
                            "Spark Declarative Pipelines, which keeps SCD type 1 only: run it on Databricks")
    if ignore_null_updates or apply_as_truncates or once:
        raise PipelineError("AUTO CDC / apply_changes: ignore_null_updates, apply_as_truncates and once are "
                            "not in open-source Spark Declarative Pipelines")
    _ORIGINAL["create_auto_cdc_flow"](target=table_name(target), source=table_name(source), keys=keys,
                            sequence_by=sequence_by, apply_as_deletes=apply_as_deletes, column_list=column_list,
                            except_column_list=except_column_list, stored_as_scd_type=1, name=name)


apply_changes = create_auto_cdc_flow


def define_view(query: Callable, name: str) -> None:
    """A temporary view the kit itself defines (read_files() in SQL), not counted as a dataset."""
    _ORIGINAL["temporary_view"](query, name=name)
_ORIGINAL: dict[str, Callable] = {}


def install(spark_proxy, session=None, graph_id: str | None = None) -> None:
    """`import dlt` answers with this module; `pyspark.pipelines` gains the expect decorators
    and its table decorators honour them (the originals are kept for registering)."""
    import sys

    from pyspark import pipelines as dp

    state.spark, state.session, state.graph_id = spark_proxy, session, graph_id
    if not _ORIGINAL:
        _ORIGINAL.update({name: getattr(dp, name) for name in (
            "table", "materialized_view", "temporary_view", "create_streaming_table", "append_flow",
            "create_auto_cdc_flow")})
    sys.modules["dlt"] = sys.modules[__name__]
    for name in ("expect", "expect_or_drop", "expect_or_fail", "expect_all", "expect_all_or_drop",
                 "expect_all_or_fail", "read", "read_stream", "apply_changes"):
        setattr(dp, name, globals()[name])
    dp.table, dp.materialized_view, dp.temporary_view = table, materialized_view, temporary_view
    dp.create_streaming_table, dp.append_flow, dp.create_auto_cdc_flow = (
        create_streaming_table, append_flow, create_auto_cdc_flow)
