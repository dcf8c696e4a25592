"""`dbutils.fs` on the local disk.

Paths are mapped by `course.platform.localpaths.spark_path`, as Spark's readers map them:
``dbfs:/…`` and ``/dbfs/…`` live under the kit's DBFS folder, ``/Volumes/<catalog>/<schema>/<volume>/…``
under its volumes folder, ``/FileStore/…`` and other paths without a scheme whose top folder
this machine lacks are DBFS (as on Databricks), ``file:/…`` and other paths are plain local paths.
Results spell paths the way the caller did (``ls("dbfs:/x")`` lists ``dbfs:/x/…``).
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import NamedTuple

from course.platform.localpaths import spark_path


class FileInfo(NamedTuple):
    """One entry of `dbutils.fs.ls`, shaped like Databricks' FileInfo."""

    path: str
    name: str
    size: int
    modificationTime: int  # epoch milliseconds

    def isDir(self) -> bool:
        return self.name.endswith("/")

    def isFile(self) -> bool:
        return not self.isDir()


def _existing(path: str) -> Path:
    local = Path(spark_path(path))
    if not local.exists():
        raise FileNotFoundError(f"File {path} does not exist.")
    return local


def _info(shown: str, local: Path) -> FileInfo:
    stat = local.stat()
    is_dir = local.is_dir()
    name = local.name + ("/" if is_dir else "")
    return FileInfo(shown + ("/" if is_dir and not shown.endswith("/") else ""), name,
                    0 if is_dir else stat.st_size, int(stat.st_mtime * 1000))


def _no_mounts(method: str) -> RuntimeError:
    return RuntimeError(f"dbutils.fs.{method}: mounts are deprecated with Unity Catalog and the kit has none: "
                        "keep files in a volume (/Volumes/<catalog>/<schema>/<volume>/…), which works here and there.")


class Fs:
    """dbutils.fs"""

    def ls(self, path: str) -> list[FileInfo]:
        """Entries of a folder, sorted by name (a file lists itself); directories end with '/'."""
        local = _existing(path)
        if local.is_file():
            return [_info(path, local)]
        base = path.rstrip("/")
        return [_info(f"{base}/{child.name}", child) for child in sorted(local.iterdir())]

    def head(self, file: str, maxBytes: int = 65536) -> str:
        """The first `maxBytes` bytes of a file, decoded as UTF-8."""
        local = _existing(file)
        if local.is_dir():
            raise IsADirectoryError(f"Cannot head a directory: {file}")
        with open(local, "rb") as handle:
            data = handle.read(maxBytes + 1)
        if len(data) > maxBytes:
            print(f"[Truncated to first {maxBytes} bytes]")
            data = data[:maxBytes]
        return data.decode("utf-8", errors="replace")

    def mkdirs(self, dir: str) -> bool:
        """Create a folder and its parents; True."""
        Path(spark_path(dir)).mkdir(parents=True, exist_ok=True)
        return True

    def put(self, file: str, contents: str, overwrite: bool = False) -> bool:
        """Write a string to a file (UTF-8); refuses to replace a file unless overwrite=True."""
        local = Path(spark_path(file))
        if local.exists() and not overwrite:
            raise FileExistsError(f"File {file} already exists (pass overwrite=True to replace it).")
        local.parent.mkdir(parents=True, exist_ok=True)
        data = contents.encode("utf-8")
        local.write_bytes(data)
        print(f"Wrote {len(data)} bytes.")
        return True

    def cp(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Copy a file, or a folder with recurse=True."""
        source, target = _existing(from_), Path(spark_path(to))
        if source.is_dir():
            if not recurse:
                raise IsADirectoryError(f"{from_} is a directory: pass recurse=True to copy it.")
            shutil.copytree(source, target, dirs_exist_ok=True)
        else:
            if target.is_dir() or to.endswith("/"):  # into a folder, keeping the name
                target = target / source.name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
        return True

    def mv(self, from_: str, to: str, recurse: bool = False) -> bool:
        """Move a file, or a folder with recurse=True."""
        source, target = _existing(from_), Path(spark_path(to))
        if source.is_dir() and not recurse:
            raise IsADirectoryError(f"{from_} is a directory: pass recurse=True to move it.")
        if target.is_dir() or to.endswith("/"):
            target = target / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(source), str(target))
        return True

    def rm(self, dir: str, recurse: bool = False) -> bool:
        """Delete a file, or a folder with recurse=True; False when there was nothing to delete."""
        local = Path(spark_path(dir))
        if not local.exists() and not local.is_symlink():
            return False
        if local.is_dir() and not local.is_symlink():
            if recurse:
                shutil.rmtree(local)
            elif any(local.iterdir()):
                raise OSError(f"{dir} is a non-empty directory: pass recurse=True to delete it.")
            else:
                local.rmdir()
        else:
            os.remove(local)
        return True

    def mount(self, source: str = "", mount_point: str = "", *args, **kwargs) -> bool:
        """Refused: mounts are deprecated with Unity Catalog, and the kit has none."""
        raise _no_mounts("mount")

    def unmount(self, mount_point: str = "") -> bool:
        raise _no_mounts("unmount")

    def mounts(self) -> list:
        raise _no_mounts("mounts")

    def refreshMounts(self) -> bool:
        raise _no_mounts("refreshMounts")

    def updateMount(self, *args, **kwargs) -> bool:
        raise _no_mounts("updateMount")

    def __repr__(self) -> str:
        return ("dbutils.fs: ls, head, mkdirs, put, cp, mv, rm "
                "(dbfs:/ and /Volumes/ map to folders under DAY7_HOME)")
