"""Databricks paths everywhere (issue 12, item 6): the four spellings, SQL file paths,
COPY INTO, and Python's own file functions. Spark's readers and writers on these paths
run in the corpus (tests/notebooks/databricks/volumes_paths.py), as a job and in a kernel."""
from __future__ import annotations

import subprocess
import sys

import pytest

from course.platform import paths
from course.platform.localpaths import is_databricks_path, spark_path, to_local
from course.runtime.dbx import sqlpaths


def test_the_four_spellings_of_a_volume_are_one_local_folder(day7_home):
    volume = str(paths.volumes_root() / "workspace/day7/raw/f.csv")
    assert {to_local(p) for p in ("/Volumes/workspace/day7/raw/f.csv", "dbfs:/Volumes/workspace/day7/raw/f.csv",
                                  "/dbfs/Volumes/workspace/day7/raw/f.csv")} == {volume}
    assert to_local("dbfs:/tmp/x") == to_local("/dbfs/tmp/x") == str(paths.dbfs_root() / "tmp/x")
    assert [is_databricks_path(p) for p in ("/Volumes/a", "dbfs:/a", "/dbfs/a", "/tmp/a", "/Volumesque", "dbfsx")] \
        == [True, True, True, False, False, False]
    with pytest.raises(ValueError, match="'..' is not allowed"):
        to_local("dbfs:/Volumes/../../etc")


def test_a_path_spark_reads_from_dbfs_on_databricks_is_the_dbfs_folder_unless_this_machine_has_it(day7_home, tmp_path):
    # On Databricks a path without a scheme is on DBFS (/FileStore/tables/…, /delta/bronze/…):
    # a learner's write there must not land in this machine's root (or fail as a non-root user).
    assert spark_path("/FileStore/tables/events.csv") == str(paths.dbfs_root() / "FileStore/tables/events.csv")
    assert spark_path("/day7-no-such-top/bronze/events") == str(paths.dbfs_root() / "day7-no-such-top/bronze/events")
    # A folder this machine has stays local: the learner's own data files, /tmp, WSL's /mnt/c/….
    local = str(tmp_path / "2019-Oct.csv")
    assert [spark_path(p) for p in (local, "/tmp/x", "relative/x", "/*/x.csv", "")] == [local, "/tmp/x", "relative/x", "/*/x.csv", ""]
    assert spark_path("dbfs:/FileStore/x") == spark_path("/FileStore/x") == to_local("dbfs:/FileStore/x")
    assert sqlpaths.rewrite(None, "CREATE TABLE t (id INT) USING parquet LOCATION '/FileStore/t'").endswith(
        f"LOCATION '{paths.dbfs_root() / 'FileStore/t'}'")
    assert sqlpaths.rewrite(None, f"SELECT * FROM csv.`{local}`") == f"SELECT * FROM csv.`{local}`"


def test_file_paths_inside_sql_map_where_sql_means_a_path(day7_home):
    local = to_local("/Volumes/workspace/day7/raw/events")
    sql = ("SELECT '/Volumes/keep/me' AS s, * FROM parquet.`/Volumes/workspace/day7/raw/events` -- `/Volumes/x`\n"
           "JOIN json.`/tmp/plain` USING (id)")
    assert sqlpaths.rewrite(None, sql) == sql.replace("/Volumes/workspace/day7/raw/events", local)
    created = sqlpaths.rewrite(None, "CREATE TABLE t (id INT) USING parquet LOCATION 'dbfs:/Volumes/workspace/day7/raw/t'")
    assert created.endswith(f"LOCATION '{to_local('/Volumes/workspace/day7/raw/t')}'")


def test_copy_into_is_refused_in_one_sentence():
    with pytest.raises(sqlpaths.SqlPathError, match=r"^COPY INTO is Databricks SQL that open-source Spark lacks"):
        sqlpaths.rewrite(None, "COPY INTO workspace.day7.t FROM '/Volumes/workspace/day7/raw' FILEFORMAT = CSV")


def test_read_files_needs_a_path_and_named_options():
    with pytest.raises(sqlpaths.SqlPathError, match="needs a path as its first argument"):
        sqlpaths.rewrite(None, "SELECT * FROM read_files(format => 'csv')")
    with pytest.raises(sqlpaths.SqlPathError, match="options are name => value"):
        sqlpaths.rewrite(None, "SELECT * FROM read_files('/Volumes/a/b/c', 'csv')")


PYTHON_FILES = r"""
import os, pandas
from course.runtime.dbx import filehook
filehook.install()
for attempt in (lambda: open('/Volumes/workspace/day7/raw/x.csv', 'w'),
                lambda: os.makedirs('/dbfs/tmp/out'),
                lambda: os.rename('/tmp/nothing-here', '/Volumes/workspace/day7/raw/x.parquet'),
                lambda: pandas.read_csv('/dbfs/Volumes/workspace/day7/raw/x.csv')):
    try:
        attempt()
        print('no error')
    except filehook.DatabricksPathError as exc:
        print(str(exc).split(' is a Databricks path')[0], '->', str(exc).split('its local folder is ')[1].split(' (')[0])
open(os.devnull).close()  # other paths are untouched
print(os.path.exists('/Volumes'), os.path.exists('/dbfs'))
"""


def test_python_file_functions_on_databricks_paths_name_the_local_folder(day7_home):
    done = subprocess.run([sys.executable, "-c", PYTHON_FILES], capture_output=True, text=True, timeout=120,
                          env=paths.child_environment())
    assert done.returncode == 0, done.stderr
    volumes, dbfs = paths.volumes_root(), paths.dbfs_root()
    assert done.stdout.splitlines() == [
        f"/Volumes/workspace/day7/raw/x.csv -> {volumes}/workspace/day7/raw/x.csv",
        f"/dbfs -> {dbfs}",  # makedirs creates /dbfs first
        f"/Volumes/workspace/day7/raw/x.parquet -> {volumes}/workspace/day7/raw/x.parquet",
        f"/dbfs/Volumes/workspace/day7/raw/x.csv -> {volumes}/workspace/day7/raw/x.csv",
        "False False"]


IN_IPYTHON = r"""
from IPython.core.interactiveshell import InteractiveShell
ip = InteractiveShell.instance()
ip.run_cell("import course.runtime")          # the kit's kernel setup: magics, file hook
ip.run_cell("dbutils.notebook.exit('done')")  # the exit handler is set after the file hook
ip.run_cell("import pandas; pandas.DataFrame({'a': [1]}).to_csv('/Volumes/workspace/day7/raw/new/a.csv')")
result = ip.run_cell("import pandas; pandas.DataFrame({'a': [1]}).to_csv('/Volumes/workspace/day7/raw/new/a.csv')")
print("ERROR", type(result.error_in_exec).__name__)
"""


def test_in_a_kernel_an_oserror_naming_a_databricks_path_becomes_the_same_sentence(day7_home):
    done = subprocess.run([sys.executable, "-c", IN_IPYTHON], capture_output=True, text=True, timeout=120,
                          env=paths.child_environment())
    assert "Notebook exited: done" in done.stdout, done.stdout + done.stderr
    assert f"its local folder is {paths.volumes_root()}/workspace/day7/raw/new" in done.stdout, done.stdout
    assert "ERROR OSError" in done.stdout
