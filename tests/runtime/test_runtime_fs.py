"""dbutils.fs and the dbfs:/ and /Volumes/ path mapping."""
from __future__ import annotations

import pytest

from course.platform import paths
from course.runtime.fs import Fs, FileInfo
from course.platform.localpaths import from_local, to_local
from runtime_fixtures import make_notebook, observed, run


def test_to_local_maps_databricks_paths_under_the_kit_home(day7_home):
    dbfs, volumes = paths.dbfs_root(), paths.volumes_root()
    assert to_local("dbfs:/landing/events.json") == str(dbfs / "landing/events.json")
    assert to_local("dbfs:/") == str(dbfs)
    assert to_local("/dbfs/landing") == str(dbfs / "landing")
    assert to_local("/Volumes/main/day7/raw/2024/01.csv") == str(volumes / "main/day7/raw/2024/01.csv")
    assert to_local("file:/tmp/x.csv") == "/tmp/x.csv"
    assert to_local("file:///tmp/x.csv") == "/tmp/x.csv"
    assert to_local("/tmp/plain") == "/tmp/plain"
    assert to_local("relative/path") == "relative/path"
    assert to_local("/Volumesque/x") == "/Volumesque/x"   # only the /Volumes folder itself
    with pytest.raises(ValueError, match="'..' is not allowed"):
        to_local("dbfs:/../../etc/passwd")


def test_from_local_gives_the_databricks_spelling_back(day7_home):
    assert from_local(to_local("dbfs:/a/b.txt")) == "dbfs:/a/b.txt"
    assert from_local(to_local("dbfs:/")) == "dbfs:/"
    assert from_local(to_local("/dbfs/a"), style="fuse") == "/dbfs/a"
    assert from_local(to_local("/Volumes/main/day7/raw/f.csv")) == "/Volumes/main/day7/raw/f.csv"
    assert from_local("/tmp/x") == "file:/tmp/x"


def test_fs_operations_and_errors(day7_home, capsys):
    fs = Fs()
    assert fs.put("dbfs:/landing/a.txt", "hello") is True
    assert capsys.readouterr().out == "Wrote 5 bytes.\n"
    with pytest.raises(FileExistsError, match="dbfs:/landing/a.txt"):
        fs.put("dbfs:/landing/a.txt", "again")
    fs.put("dbfs:/landing/a.txt", "hello world", overwrite=True)
    assert fs.head("dbfs:/landing/a.txt") == "hello world"
    assert fs.head("dbfs:/landing/a.txt", maxBytes=5) == "hello"
    assert "[Truncated to first 5 bytes]" in capsys.readouterr().out

    fs.mkdirs("dbfs:/landing/sub")
    (entry_a, entry_sub) = fs.ls("dbfs:/landing")
    assert isinstance(entry_a, FileInfo)
    assert (entry_a.path, entry_a.name, entry_a.size) == ("dbfs:/landing/a.txt", "a.txt", 11)
    assert (entry_sub.path, entry_sub.name, entry_sub.size) == ("dbfs:/landing/sub/", "sub/", 0)
    assert entry_sub.isDir() and entry_a.isFile() and entry_a.modificationTime > 1_600_000_000_000
    assert [f.path for f in fs.ls("dbfs:/landing/a.txt")] == ["dbfs:/landing/a.txt"]

    fs.cp("dbfs:/landing/a.txt", "/Volumes/main/day7/raw/")
    assert (paths.volumes_root() / "main/day7/raw/a.txt").read_text() == "hello world"
    with pytest.raises(IsADirectoryError, match="recurse=True"):
        fs.cp("dbfs:/landing", "dbfs:/copy")
    fs.cp("dbfs:/landing", "dbfs:/copy", recurse=True)
    assert [f.name for f in fs.ls("dbfs:/copy")] == ["a.txt", "sub/"]
    fs.mv("dbfs:/copy/a.txt", "dbfs:/moved.txt")
    assert fs.head("dbfs:/moved.txt") == "hello world"

    with pytest.raises(OSError, match="recurse=True"):
        fs.rm("dbfs:/landing")
    assert fs.rm("dbfs:/landing", recurse=True) is True
    assert fs.rm("dbfs:/landing") is False
    with pytest.raises(FileNotFoundError, match="File dbfs:/landing does not exist."):
        fs.ls("dbfs:/landing")
    with pytest.raises(FileNotFoundError, match="/Volumes/main/day7/nope.csv"):
        fs.head("/Volumes/main/day7/nope.csv")


@pytest.mark.slow
def test_notebook_fs_writes_land_in_the_kit_folders(tmp_path, day7_home):
    nb = make_notebook(tmp_path / "fs.ipynb", [
        'dbutils.fs.put("dbfs:/landing/orders.csv", "id\\n1\\n")\n'
        'dbutils.fs.put("/Volumes/main/day7/raw/events.json", "{}")\n'
        'observe("ls", [(f.path, f.name, f.size) for f in dbutils.fs.ls("/Volumes/main/day7/raw")])\n'
        'observe("head", dbutils.fs.head("dbfs:/landing/orders.csv"))',
    ])
    run(nb, tmp_path / "out.ipynb")
    seen = observed(tmp_path / "out.ipynb")
    assert seen["ls"] == [["/Volumes/main/day7/raw/events.json", "events.json", 2]]
    assert seen["head"] == "id\n1\n"
    assert (day7_home / "dbfs/landing/orders.csv").read_text() == "id\n1\n"
    assert (day7_home / "volumes/main/day7/raw/events.json").read_text() == "{}"
