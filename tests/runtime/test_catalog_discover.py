"""Which warehouse folders a session registers as tables (course/runtime/catalog.discover): not
one another session is writing right now (Spark's `_temporary` only), which would fail to
infer a schema; a Delta table whose log is all it has yet is one."""
from __future__ import annotations

from course.runtime.catalog import discover


def test_a_folder_being_written_is_not_a_table_yet(tmp_path):
    written = tmp_path / "day7.db" / "silver_events"
    (written / "_temporary" / "0").mkdir(parents=True)          # a write under way elsewhere
    done = tmp_path / "day7.db" / "bronze_events"
    done.mkdir(parents=True)
    (done / "part-00000-1b2c.snappy.parquet").write_bytes(b"PAR1")
    (done / "_SUCCESS").write_text("")
    empty_delta = tmp_path / "day7.db" / "gold_funnel" / "_delta_log"
    empty_delta.mkdir(parents=True)
    (empty_delta / "00000000000000000000.json").write_text("{}")

    found = {(schema, table, fmt) for schema, table, _, fmt in discover(tmp_path)}
    assert found == {("day7", "bronze_events", "parquet"), ("day7", "gold_funnel", "delta")}
