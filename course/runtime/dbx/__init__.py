"""The rest of the Databricks notebook environment, in its own package (course/runtime is full).

* `sparkpaths`: Databricks paths in every Spark reader and writer, classic and Connect.
* `sqlpaths`: file paths inside SQL text (`` parquet.`/Volumes/…` ``, ``LOCATION``,
  ``read_files(…)``), and ``COPY INTO``.
* `filehook`: Python's own file functions on ``/Volumes/…`` and ``/dbfs/…`` fail naming the local folder.
* `secrets`: ``dbutils.secrets`` from a local file, values redacted in outputs.
* `nbcontext`: ``dbutils.notebook.entry_point…getContext()``.
* `deltatable`: ``from delta.tables import DeltaTable`` refusing in one sentence when tables are Parquet.
* `sourcewriter`: a notebook written back as a Databricks source-format `.py`/`.sql` (JupyterLab saves).
"""
