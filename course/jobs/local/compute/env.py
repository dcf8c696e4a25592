"""The environment of kernels and .py tasks: this checkout's code and state folder, the job
cluster's address, and no Spark Connect mode inherited from the runner's own process."""
from __future__ import annotations

from course.platform import paths


def child_env(spark_remote: str | None) -> dict[str, str]:
    """Environment of kernels and .py tasks: the job cluster's address, quiet storage note."""
    env = paths.child_environment()
    env.pop("SPARK_REMOTE", None)
    env.pop("SPARK_CONNECT_MODE_ENABLED", None)  # set by pyspark once a process used Spark Connect
    if spark_remote:
        env["SPARK_REMOTE"] = spark_remote
    env["DAY7_QUIET_STORAGE"] = "1"           # the runner announced Delta/Parquet already
    env["PYTHONUNBUFFERED"] = "1"
    return env
