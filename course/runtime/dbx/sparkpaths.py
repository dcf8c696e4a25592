"""Databricks paths in every Spark reader and writer, not only in `spark.read`.

`install()` wraps the path-taking methods of DataFrameReader, DataFrameWriter,
DataStreamReader and DataStreamWriter, classic and Spark Connect, once per process:
``dbfs:/…``, ``dbfs:/Volumes/…``, ``/dbfs/…`` and ``/Volumes/…`` become folders of the
kit's state folder (`course.platform.localpaths`), and so does a path Spark on Databricks
reads from DBFS (``/FileStore/…``, ``/delta/…`` when this machine has no such folder), in positional paths, ``path=``,
``option("path", …)`` and ``checkpointLocation``; ``format("delta")`` becomes Parquet
when Delta's jars are missing (`unity.local_format`). Without this, a writer given
``/Volumes/…`` writes into the machine's real ``/Volumes`` and ``dbfs:/`` fails with
"No FileSystem for scheme".
"""
from __future__ import annotations

import functools

from course.platform.localpaths import spark_path

PATH_METHODS = ("load", "save", "csv", "json", "parquet", "orc", "text", "xml", "start")
OPTION_KEYS = {"path", "paths", "checkpointlocation"}
_MARK = "_day7_paths"


def _map(value):
    if isinstance(value, str):
        return spark_path(value)
    if isinstance(value, (list, tuple)):
        return type(value)(spark_path(v) if isinstance(v, str) else v for v in value)
    return value


def _map_kwargs(kwargs: dict) -> dict:
    from course.runtime import unity

    mapped = {k: (_map(v) if k.lower() in OPTION_KEYS else v) for k, v in kwargs.items()}
    if isinstance(mapped.get("format"), str):
        mapped["format"] = unity.local_format(mapped["format"])
    return mapped


def _path_method(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        # spark_path leaves anything that is not a path unchanged (a mode, a schema)
        return method(self, *(_map(a) for a in args), **_map_kwargs(kwargs))
    return call


def _option(method):
    @functools.wraps(method)
    def call(self, key, value, *args, **kwargs):
        if isinstance(key, str) and key.lower() in OPTION_KEYS:
            value = _map(value)
        return method(self, key, value, *args, **kwargs)
    return call


def _options(method):
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return method(self, *args, **_map_kwargs(kwargs))
    return call


def _format(method):
    @functools.wraps(method)
    def call(self, source, *args, **kwargs):
        from course.runtime import unity

        return method(self, unity.local_format(source), *args, **kwargs)
    return call


def _table_options(method):
    # saveAsTable(name, …, path=…) / toTable(name, …, checkpointLocation=…)
    @functools.wraps(method)
    def call(self, *args, **kwargs):
        return method(self, *args, **_map_kwargs(kwargs))
    return call


def _classes() -> list[type]:
    from pyspark.sql import readwriter as classic
    from pyspark.sql.connect import readwriter as connect
    from pyspark.sql.connect.streaming import readwriter as connect_stream
    from pyspark.sql.streaming import readwriter as classic_stream

    return [classic.DataFrameReader, classic.DataFrameWriter, connect.DataFrameReader, connect.DataFrameWriter,
            classic_stream.DataStreamReader, classic_stream.DataStreamWriter,
            connect_stream.DataStreamReader, connect_stream.DataStreamWriter]


def install() -> None:
    """Wrap the readers' and writers' path methods (once per process)."""
    for cls in _classes():
        if cls.__dict__.get(_MARK):
            continue
        for name in PATH_METHODS:
            if name in cls.__dict__:
                setattr(cls, name, _path_method(cls.__dict__[name]))
        for name, wrap in (("option", _option), ("options", _options), ("saveAsTable", _table_options),
                           ("toTable", _table_options)):
            if name in cls.__dict__:
                setattr(cls, name, wrap(cls.__dict__[name]))
        if "format" in cls.__dict__ and "Stream" in cls.__name__:  # batch writers: unity.install_writer_names
            setattr(cls, "format", _format(cls.__dict__["format"]))
        setattr(cls, _MARK, True)
