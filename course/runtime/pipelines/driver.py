"""One pipeline update on Spark Declarative Pipelines, through the job cluster's Spark Connect.

    python -m course.runtime.pipelines.driver SPEC.json

SPEC (written by the pipeline_task executor): name, schema (local), configuration,
files (absolute paths, in order), root (cwd and sys.path for imports), storage
(file:// URI for checkpoints), full_refresh, summary (where to write the summary JSON).

The steps are `pyspark.pipelines.cli.run`'s (create a dataflow graph, register the
definitions, start the run, follow its events) with the kit's layers between: the `dlt`
module, Databricks SQL rewritten, expectations enforced and counted. The summary is the
update's event log in short: state, duration, tables with their rows, expectation results.
Exit code 0 when the update COMPLETED, 1 otherwise (the last line says why).
"""
from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

from course.runtime.pipelines import dltapi, expectations, sources, sqltext

_FLOW_EVENT = re.compile(r"^Flow (\S+) (?:is|has) (\w+)")


def _log(text: str) -> None:
    print(time.strftime("%H:%M:%S ") + text, flush=True)


def _rows(session, name: str) -> int | None:
    try:
        return session.table(name).count()
    except Exception:  # not created yet (first update) or a view
        return None


def _register(session, spec: dict, gid: str) -> tuple[list[dltapi.Dataset], list[sqltext.FileSource]]:
    """Run every library file in the graph's registration context; the datasets they define."""
    from pyspark.pipelines.add_pipeline_analysis_context import add_pipeline_analysis_context
    from pyspark.pipelines.block_session_mutations import block_session_mutations
    from pyspark.pipelines.graph_element_registry import graph_element_registration_context
    from pyspark.pipelines.spark_connect_graph_element_registry import SparkConnectGraphElementRegistry

    registry = SparkConnectGraphElementRegistry(session, gid)
    spark = sources.PipelineSpark()
    dltapi.install(spark, session, gid)
    rewriter = sqltext.Rewriter(spec["configuration"])
    sql_datasets: list[dltapi.Dataset] = []
    root = Path(spec["root"])
    with graph_element_registration_context(registry):
        for name in spec["files"]:
            path = Path(name)
            language, text = sources.source_of(path)
            _log(f"registering {path.relative_to(root) if path.is_relative_to(root) else path}")
            if language == "python":
                module = {"__name__": path.stem, "__file__": str(path), "spark": spark}
                with add_pipeline_analysis_context(spark=session, dataflow_graph_id=gid, flow_name=None):
                    with block_session_mutations():
                        exec(compile(text, str(path), "exec"), module)
                continue
            before = len(rewriter.sources)
            parts = []
            for st in rewriter.file(text):
                if st.dataset and st.expectations:
                    expectations.check_names(st.dataset, st.expectations)
                    parts.append(st.head + expectations.enforce_sql(st.query, st.dataset, st.expectations))
                else:
                    parts.append(st.sql)
                if st.dataset and st.kind != "view":
                    sql_datasets.append(dltapi.Dataset(st.dataset, st.kind, None, st.expectations, st.query))
            for source in rewriter.sources[before:]:
                dltapi.define_view(
                    lambda s=source: sources.file_source_reader(spark, s, streaming=True), name=source.view)
            registry.register_sql(";\n".join(parts), path.relative_to(root) if path.is_relative_to(root) else path)
    datasets = [d for d in dltapi.state.datasets if d.kind != "view"] + sql_datasets
    return datasets, rewriter.sources


def _forget_registered_views(session, schema: str, datasets) -> None:
    """A new job cluster registers the tables it finds on disk as EXTERNAL (course.runtime.catalog),
    and SDP cannot refresh an external table (it truncates it). A materialized view is recomputed
    in full anyway: its registration and folder go, and SDP creates it again."""
    import shutil

    from course.platform import paths

    for d in datasets:
        if d.kind != "materialized_view":
            continue
        name = d.name.split(".")[-1].strip("`")
        try:
            external = session.catalog.getTable(f"{schema}.{name}").tableType == "EXTERNAL"
        except Exception:  # not there yet
            continue
        if external:
            session.sql(f"DROP TABLE IF EXISTS `{schema}`.`{name}`")
            shutil.rmtree(paths.warehouse_dir() / f"{schema}.db" / name, ignore_errors=True)


def _count_expectations(session, datasets, file_sources) -> list[dict]:
    """Each dataset's expectations counted over its input, read once more as a batch."""
    dltapi.state.batch = True
    spark = dltapi.state.spark
    for source in file_sources:
        # `_metadata` (file name, size …) kept as a plain column: a temporary view would hide it
        df = sources.file_source_reader(spark, source, streaming=False)
        df.select("*", "_metadata").createOrReplaceTempView(source.view)
    results = []
    for d in datasets:
        if not d.expectations:
            continue
        try:
            df = d.query() if d.query is not None else spark.sql(sqltext.batch_query(d.sql_query))
            counted = expectations.count(df, d.expectations)
        except Exception as exc:  # the input cannot be read back (e.g. a failed upstream)
            results += [{"dataset": d.name, "name": e.name, "action": e.action, "condition": e.condition,
                         "passed": None, "failed": None, "dropped": None,
                         "note": f"not counted: {str(exc).splitlines()[0][:200]}"} for e in d.expectations]
            continue
        results += [dict(r, dataset=d.name) for r in counted["expectations"]]
    return results


def run(spec: dict) -> dict:
    from pyspark.pipelines.spark_connect_pipeline import create_dataflow_graph, start_run

    from course.runtime.spark import get_spark

    started = time.time()
    summary = {"pipeline": spec["name"], "full_refresh": bool(spec["full_refresh"]), "state": "FAILED",
               "tables": [], "expectations": [], "events": [], "error": None}
    session = get_spark()
    conf = dict(spec["configuration"])
    conf.setdefault("spark.sql.streaming.schemaInference", "true")  # read_files / Auto Loader infer
    # a failed flow fails the update at once (SDP would retry it twice): the task's max_retries retry it
    conf.setdefault("spark.sql.pipelines.maxFlowRetryAttempts", "0")
    for k, v in conf.items():
        session.conf.set(k, v)
    session.sql(f"CREATE SCHEMA IF NOT EXISTS `{spec['schema']}`")
    session.sql(f"USE `{spec['schema']}`")
    graph = lambda: create_dataflow_graph(session, default_catalog=None, default_database=spec["schema"],  # noqa: E731
                                          sql_conf=conf)
    if any(t.tableType == "EXTERNAL" for t in session.catalog.listTables(spec["schema"])):
        # learn the datasets' names on a graph of its own, forget them, then define the real graph
        datasets, _ = _register(session, spec, graph())
        _forget_registered_views(session, spec["schema"], datasets)
        dltapi.state.datasets.clear()
        dltapi.state.target_expectations.clear()
    gid = graph()
    datasets, file_sources = _register(session, spec, gid)
    before = {d.name: _rows(session, d.name) for d in datasets}
    summary["setup_seconds"] = round(time.time() - started, 2)
    flows: dict[str, str] = {}
    _log("starting the update" + (" (full refresh)" if spec["full_refresh"] else ""))
    try:
        for result in start_run(session, gid, full_refresh=spec.get("full_refresh_selection"),
                                full_refresh_all=bool(spec["full_refresh"]), refresh=spec.get("refresh_selection"), dry=False, storage=spec["storage"]):
            if "pipeline_event_result" not in result:
                continue
            event = result["pipeline_event_result"].event
            when = event.timestamp.ToDatetime().strftime("%H:%M:%S.%f")[:-3]
            summary["events"].append({"time": when, "message": event.message})
            _log(event.message)
            m = _FLOW_EVENT.match(event.message)
            if m:
                flows[m.group(1)] = m.group(2)
        summary["state"] = "COMPLETED"
    except Exception as exc:
        summary["error"] = str(exc).split("\n\nJVM stacktrace:")[0].strip()
        _log(f"update failed: {summary['error']}")
    summary["update_seconds"] = round(time.time() - started - summary["setup_seconds"], 2)
    for d in datasets:
        after = _rows(session, d.name)
        full = spec["full_refresh"] or d.kind == "materialized_view" or before[d.name] is None
        written = None if after is None else (after if full else after - before[d.name])
        flow = next((state for name, state in flows.items() if name.split(".")[-1] == d.name.split(".")[-1]), None)
        summary["tables"].append({"name": d.name, "type": d.kind, "rows_written": written, "rows": after,
                                  "flow": flow})
    summary["expectations"] = _count_expectations(session, datasets, file_sources)
    summary["duration_seconds"] = round(time.time() - started, 2)
    return summary


def main(argv: list[str]) -> int:
    spec = json.loads(Path(argv[0]).read_text())
    os.chdir(spec["root"])
    sys.path.insert(0, spec["root"])
    try:
        summary = run(spec)
    except (dltapi.PipelineError, sqltext.Unsupported, ValueError) as exc:
        summary = {"pipeline": spec["name"], "state": "FAILED", "error": str(exc), "tables": [],
                   "expectations": [], "events": []}
    except Exception as exc:  # Spark's own errors (a bad query, a missing table): their first paragraph
        import traceback

        print(traceback.format_exc().split("\n\nJVM stacktrace:")[0], flush=True)
        summary = {"pipeline": spec["name"], "state": "FAILED", "tables": [], "expectations": [], "events": [],
                   "error": str(exc).split("\n\nJVM stacktrace:")[0].strip()}
    Path(spec["summary"]).write_text(json.dumps(summary, indent=2))
    if summary["state"] != "COMPLETED":
        print(f"pipeline update failed: {summary['error']}", flush=True)
        return 1
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)  # skip the Spark Connect client's teardown
