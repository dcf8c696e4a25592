"""Pipelines (Lakeflow Declarative Pipelines, formerly DLT) on Spark Declarative Pipelines.

The `pipeline_task` executor (course/jobs/local/executors/pipeline.py) starts
`driver.py` as a process of its own on the run's job cluster. Here: `dltapi` (`import
dlt`, Databricks' `pyspark.pipelines` additions), `sqltext` (Databricks pipeline SQL
for SDP's parser), `expectations` (enforced in the flow, counted after the update),
`sources` (what source files see, how each file is read).
"""
