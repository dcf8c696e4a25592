"""A table catalog kept on the file system, so every Spark process sees every table.

Spark's embedded Derby metastore admits one JVM at a time, but a job cluster, a
later run and the learner's notebook are different JVMs. So each session runs
with the in-memory catalog and, when it starts, registers the tables it finds in
the warehouse folder (`<schema>.db/<table>/`, `default` tables at the top).

One Spark rule then gets in the way: `saveAsTable(mode="overwrite")` on a table
registered by location (EXTERNAL) drops the entry and creates a managed table at
the same folder, which Spark refuses because the folder exists. `install_overwrite_fix`
moves the old folder aside for the duration of that write (restoring it if the
write fails), which gives exactly Spark's managed-table overwrite semantics.
"""
from __future__ import annotations

import shutil
import time
from pathlib import Path

DELTA_LOG = "_delta_log"


def _has_data(folder: Path) -> bool:
    # Spark's `_temporary` (a write still under way in another session), `_SUCCESS` and
    # hidden files are not a table's data: registering such a folder fails to infer a schema.
    return any(p.name == DELTA_LOG or not p.name.startswith(("_", ".")) for p in folder.iterdir())


def discover(warehouse: Path) -> list[tuple[str, str, Path, str]]:
    """(schema, table, folder, format) for every table folder under the warehouse."""
    found = []
    if not warehouse.is_dir():
        return found
    for entry in sorted(warehouse.iterdir()):
        if not entry.is_dir() or entry.name.startswith((".", "_")):
            continue
        if entry.name.endswith(".db"):
            schema, tables = entry.name[:-3], sorted(p for p in entry.iterdir() if p.is_dir())
        else:
            schema, tables = "default", [entry]
        for folder in tables:
            if folder.name.startswith((".", "_")) or ".replaced-" in folder.name or not _has_data(folder):
                continue
            fmt = "delta" if (folder / DELTA_LOG).is_dir() else "parquet"
            found.append((schema, folder.name, folder, fmt))
    return found


def register_tables(spark, warehouse: Path, delta_enabled: bool) -> list[str]:
    """Register every table folder not yet known to this session's catalog."""
    registered = []
    known: dict[str, set[str]] = {}
    # Schemas persist like tables, also while empty (a setup task creates one, the next task writes to it).
    for folder in sorted(warehouse.glob("*.db")) if warehouse.is_dir() else ():
        if folder.is_dir() and not folder.name.startswith((".", "_")):
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{folder.name[:-3]}`")
    for schema, table, folder, fmt in discover(warehouse):
        if fmt == "delta" and not delta_enabled:
            continue  # a Delta folder read as Parquet would show deleted files
        if schema not in known:
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
            known[schema] = {r[1] for r in spark.sql(f"SHOW TABLES IN `{schema}`").collect()}
        if table in known[schema]:
            continue
        spark.sql(f"CREATE TABLE IF NOT EXISTS `{schema}`.`{table}` USING {fmt} LOCATION '{folder}'")
        registered.append(f"{schema}.{table}")
    return registered


def _external_location(spark, name: str, warehouse: Path) -> Path | None:
    """The folder of `name` if it is a Parquet table we registered by location."""
    if not spark.catalog.tableExists(name):  # asking first avoids an error logged by Spark
        return None
    rows = spark.sql(f"DESCRIBE TABLE EXTENDED {name}").collect()
    info = {r[0]: r[1] for r in rows}
    if info.get("Type") != "EXTERNAL" or (info.get("Provider") or "").lower() == "delta":
        return None
    location = Path(str(info.get("Location", "")).removeprefix("file:"))
    return location if warehouse in location.parents else None


def install_overwrite_fix(warehouse: Path) -> None:
    """Patch both DataFrameWriter classes (classic and Connect) once per process."""
    from pyspark.sql import readwriter as classic
    from pyspark.sql.connect import readwriter as connect

    for cls in (classic.DataFrameWriter, connect.DataFrameWriter):
        if getattr(cls, "_day7_patched", False):
            continue
        original_mode, original_save = cls.mode, cls.saveAsTable

        def mode(self, saveMode, _orig=original_mode):
            self._day7_mode = saveMode
            return _orig(self, saveMode)

        def saveAsTable(self, name, format=None, mode=None, partitionBy=None, _orig=original_save, **options):
            effective = (mode or getattr(self, "_day7_mode", None) or "").lower()
            aside = None
            if effective == "overwrite":
                location = _external_location(self._spark, name, warehouse)
                if location is not None and location.exists():
                    aside = location.with_name(f"{location.name}.replaced-{time.time_ns()}")
                    location.rename(aside)
            try:
                result = _orig(self, name, format=format, mode=mode, partitionBy=partitionBy, **options)
            except BaseException:
                if aside is not None:
                    if location.exists():
                        shutil.rmtree(location, ignore_errors=True)
                    aside.rename(location)
                    self._spark.sql(f"CREATE TABLE IF NOT EXISTS {name} USING parquet LOCATION '{location}'")
                raise
            if aside is not None:
                shutil.rmtree(aside, ignore_errors=True)
            return result

        cls.mode, cls.saveAsTable, cls._day7_patched = mode, saveAsTable, True
