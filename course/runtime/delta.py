"""Delta Lake when its jars are on disk, Parquet otherwise.

`delta-spark` (the pip package) holds only Python; its jars normally come from
Maven Central on first use. Asking Spark for a package it cannot download kills
the JVM with a stack trace, so we decide from what is on disk *before* starting
Spark: Ivy/Maven caches, the kit's own jar cache (filled by
`runner.py doctor --fetch-delta`), or a folder named by DAY7_DELTA_JARS. DAY7_DELTA=off
forces Parquet.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from course.platform.maven import Artifact, FetchError, fetch

SCALA = "2.13"  # pyspark 4.x is built for Scala 2.13
FETCH_HINT = "run `python runner.py doctor --fetch-delta` once while online"


@dataclass(frozen=True)
class Storage:
    format: str                      # "delta" or "parquet"
    jars: tuple[str, ...] = ()       # Delta jars to put on the classpath
    reason: str = ""                 # why Parquet, in one sentence
    conf: dict = field(default_factory=dict, hash=False, compare=False)


def delta_version() -> str | None:
    try:
        return metadata.version("delta-spark")
    except metadata.PackageNotFoundError:
        return None


def spark_artifact() -> str:
    """delta-spark's artifact for the installed pyspark, as delta's own pip_utils names it:
    from Delta 4.1 on the jar carries the Spark minor version (delta-spark_4.2_2.13)."""
    from course.runtime.spark import spark_version  # not pyspark.__version__: no pyspark import

    return f"delta-spark_{'.'.join(spark_version().split('.')[:2])}_{SCALA}"


def delta_artifacts(version: str) -> list[Artifact]:
    """The jars Spark needs on its classpath for Delta `version` (antlr4 ships in Spark)."""
    return [Artifact("io.delta", spark_artifact(), version), Artifact("io.delta", "delta-storage", version)]


def jar_cache() -> Path:
    """Where `doctor --fetch-delta` puts the jars: the first DAY7_DELTA_JARS folder, else the
    user's cache (shared by every checkout of the kit, outlives `.day7`)."""
    named = [p for p in os.environ.get("DAY7_DELTA_JARS", "").split(os.pathsep) if p]
    if named:
        return Path(named[0]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "day7" / "jars"


def _candidate_dirs(version: str) -> list[Path]:
    home = Path.home()
    dirs = [Path(p) for p in os.environ.get("DAY7_DELTA_JARS", "").split(os.pathsep) if p]
    dirs += [jar_cache(), home / ".ivy2.5.2" / "jars", home / ".ivy2" / "jars"]
    m2 = home / ".m2" / "repository" / "io" / "delta"
    dirs += [m2 / spark_artifact() / version, m2 / f"delta-spark_{SCALA}" / version, m2 / "delta-storage" / version]
    return dirs


def find_delta_jars(version: str | None = None) -> tuple[str, ...] | None:
    """The delta-spark and delta-storage jars of `version`, or None if either is missing."""
    version = version or delta_version()
    if not version:
        return None
    spark_names = (f"{spark_artifact()}-{version}.jar", f"delta-spark_{SCALA}-{version}.jar")
    wanted = {
        "spark": spark_names + tuple(f"io.delta_{name}" for name in spark_names),
        "storage": (f"delta-storage-{version}.jar", f"io.delta_delta-storage-{version}.jar"),
    }
    found: dict[str, str] = {}
    for folder in _candidate_dirs(version):
        for role, names in wanted.items():
            for name in names:
                if role not in found and (folder / name).is_file():
                    found[role] = str(folder / name)
    return (found["spark"], found["storage"]) if len(found) == 2 else None


def fetch_delta_jars() -> tuple[str, ...]:
    """Download the Delta jars for the installed delta-spark into `jar_cache()` (verified,
    atomic); raises maven.FetchError in one sentence. Returns the jars Spark will use."""
    version = delta_version()
    if not version:
        raise FetchError("the delta-spark package is not installed, so there is no Delta version "
                         "to fetch jars for: run `make install`.")
    found = find_delta_jars(version)
    if found:
        return found
    fetch(delta_artifacts(version), jar_cache())
    storage.cache_clear()
    found = find_delta_jars(version)
    assert found, "jars fetched into the cache must be found there"
    return found


DELTA_CONF = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
    "spark.sql.sources.default": "delta",
}


@lru_cache(maxsize=1)
def storage() -> Storage:
    """Decide once per process which table format the local Spark uses."""
    if os.environ.get("DAY7_DELTA", "").lower() in {"0", "off", "false", "no"}:
        return Storage("parquet", reason="Delta is switched off (DAY7_DELTA=off)")
    version = delta_version()
    if not version:
        return Storage("parquet", reason="the delta-spark package is not installed")
    jars = find_delta_jars(version)
    if not jars:
        return Storage("parquet", reason=f"the Delta Lake {version} jars are not on this machine "
                                         f"({FETCH_HINT})")
    conf = dict(DELTA_CONF, **{"spark.jars": ",".join(jars)})
    return Storage("delta", jars=jars, conf=conf)


_announced = False


def announcement() -> str | None:
    """The one sentence about Parquet, the first time it is asked for in this process (else None)."""
    global _announced
    choice = storage()
    if _announced or choice.format == "delta" or os.environ.get("DAY7_QUIET_STORAGE"):
        return None
    _announced = True
    return (f"Note: tables are stored as Parquet because {choice.reason}; "
            "notebook code is unchanged and is Delta on Databricks.")


def announce(stream=None, say=None) -> None:
    """Say once per process, in one sentence, when tables fall back to Parquet: through `say`
    (the runner's progress, which keeps a live table from drawing over it) or to `stream`."""
    text = announcement()
    if text is None:
        return
    if say is not None:
        say(text)
    else:
        print(text, file=stream or sys.stderr)
