"""``from delta.tables import DeltaTable`` when tables are Parquet: one sentence, not a Java error.

delta-spark's Python package is installed with the kit, but its jars come from Maven
Central; without them ``DeltaTable.forName(spark, …)`` ends in a Py4J or Spark Connect
error about a missing class. The kit decides Delta or Parquet from what is on disk,
before Spark starts (`delta.storage()`), so an import hook can tell early: when tables
are Parquet, DeltaTable's entry points (forName, forPath, isDeltaTable, create…,
convertToDelta) raise `unity.DeltaOnlyError` saying why and what to do, like MERGE and
time travel in SQL. With Delta's jars, nothing is changed.
"""
from __future__ import annotations

import sys

MODULE = "delta.tables"
ENTRY_POINTS = ("forName", "forPath", "isDeltaTable", "convertToDelta", "create", "createIfNotExists",
                "replace", "createOrReplace")


def _refusing(name: str):
    def refuse(*args, **kwargs):
        from course.runtime import unity

        raise unity.delta_only(f"DeltaTable.{name}")
    return classmethod(lambda cls, *args, **kwargs: refuse())


def patch(module) -> None:
    """Make DeltaTable's entry points refuse in `module` (delta.tables) when tables are Parquet."""
    from course.runtime import unity

    table = getattr(module, "DeltaTable", None)
    if table is None or not unity.parquet_only() or getattr(table, "_day7_refuses", False):
        return
    for name in ENTRY_POINTS:
        if hasattr(table, name):
            setattr(table, name, _refusing(name))
    table._day7_refuses = True


class _Finder:
    """Patches delta.tables right after Python imports it (the kit's kernels install this)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != MODULE:
            return None
        sys.meta_path.remove(self)
        try:
            import importlib.util

            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return None
        loader = spec.loader
        original = loader.exec_module

        def exec_module(module):
            original(module)
            patch(module)

        loader.exec_module = exec_module
        return spec


def install() -> None:
    """Patch delta.tables now if it is loaded, else when it is imported."""
    if MODULE in sys.modules:
        patch(sys.modules[MODULE])
    elif not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
