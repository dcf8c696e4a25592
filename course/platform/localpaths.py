"""Databricks paths ↔ local paths.

=====================================  ==============================================
Databricks                             local
=====================================  ==============================================
``dbfs:/a/b`` (also ``/dbfs/a/b``)     ``course.platform.paths.dbfs_root()/a/b``
``/Volumes/<cat>/<schema>/<vol>/f``    ``course.platform.paths.volumes_root()/<cat>/<schema>/<vol>/f``
``dbfs:/Volumes/…``, ``/dbfs/Volumes/…`` the same volume folder (Databricks' other spellings of it)
``file:/x``, ``file:///x``             ``/x``
anything else                          unchanged (a plain local path)
=====================================  ==============================================

Spark's readers, writers and SQL paths (`spark_path`) also take Spark's view on Databricks,
where a path without a scheme is on DBFS (its default file system): ``/FileStore/…``,
``/mnt/…``, ``/delta/…`` are the DBFS folder here too, as long as this machine has no
such top folder (``/tmp/…``, ``/home/…`` or a data file's own folder stay local files).

`spark_path` is what Spark's readers and writers, SQL file paths and dbutils.fs use;
`to_local` (the table above) is what Python's own file functions see (on Databricks they
read the driver's disk, where a path without a scheme is a local file);
`is_databricks_path` tells whether a path is one of these spellings, which never leave the
kit's state folder (`..` is refused).
`from_local` turns a local path back into the Databricks spelling for display.
"""
from __future__ import annotations

import os
from pathlib import Path

from course.platform import paths

DBFS_SCHEME = "dbfs:"
FILE_SCHEME = "file:"
VOLUMES_PREFIX = "/Volumes"
DBFS_FUSE_PREFIX = "/dbfs"


def _under(prefix: str, path: str) -> str | None:
    """The rest of `path` after the path prefix `prefix`, or None if it is not below it."""
    if path == prefix:
        return ""
    if path.startswith(prefix + "/"):
        return path[len(prefix) + 1:]
    return None


def _join(root: Path, rest: str) -> str:
    rest = rest.strip("/")
    if ".." in Path(rest).parts:
        # Keep the stand-ins closed: dbfs:/../x must not escape the kit's folder.
        raise ValueError(f"'..' is not allowed in a DBFS or Volumes path: {rest!r}")
    return str(root / rest) if rest else str(root)


def to_local(path: str) -> str:
    """The local file system path for a Databricks-style path."""
    path = os.fspath(path)
    if path.startswith(DBFS_SCHEME):
        rest = "/" + path[len(DBFS_SCHEME):].lstrip("/")
        volume = _under(VOLUMES_PREFIX, rest)  # dbfs:/Volumes/c/s/v is the volume, not a DBFS folder
        return _join(paths.volumes_root(), volume) if volume is not None else _join(paths.dbfs_root(), rest)
    if path.startswith(FILE_SCHEME):
        rest = path[len(FILE_SCHEME):]
        # file:///x and file:/x both mean /x
        return "/" + rest.lstrip("/")
    for prefix, root in ((VOLUMES_PREFIX, paths.volumes_root), (DBFS_FUSE_PREFIX, paths.dbfs_root)):
        rest = _under(prefix, path)
        if rest is not None:
            if prefix == DBFS_FUSE_PREFIX and _under(VOLUMES_PREFIX, "/" + rest) is not None:
                return to_local("/" + rest)  # /dbfs/Volumes/… is the volume too
            return _join(root(), rest)
    return path


def spark_path(path: str) -> str:
    """`to_local` for a path Spark reads or writes. On Databricks a path without a scheme
    is on DBFS: one whose top folder this machine lacks is the DBFS folder here; one this
    machine has (a local data file, /tmp) stays local, as a learner's own files must."""
    path = os.fspath(path)
    local = to_local(path)
    if local != path or not path.startswith("/") or path.startswith("//"):
        return local
    top = path.split("/", 2)[1]
    if not top or any(c in top for c in "*?[{") or os.path.lexists("/" + top):
        return path
    return _join(paths.dbfs_root(), path)


def is_databricks_path(path: str) -> bool:
    """Whether `path` is spelled the Databricks way (dbfs:, /dbfs, /Volumes) and so maps into the kit's folder."""
    path = os.fspath(path)
    return path.startswith(DBFS_SCHEME) or any(
        _under(prefix, path) is not None for prefix in (VOLUMES_PREFIX, DBFS_FUSE_PREFIX))


def from_local(local: str, style: str = "dbfs") -> str:
    """The Databricks spelling of a local path: ``dbfs:/…``, ``/Volumes/…`` or ``file:/…``.

    `style` picks the spelling for files under the DBFS stand-in: ``"dbfs"``
    (``dbfs:/a``) or ``"fuse"`` (``/dbfs/a``).
    """
    local_path = Path(os.path.abspath(os.fspath(local)))
    for root, prefix in ((paths.volumes_root(), VOLUMES_PREFIX),
                         (paths.dbfs_root(), "dbfs:" if style == "dbfs" else DBFS_FUSE_PREFIX)):
        try:
            rest = local_path.relative_to(root).as_posix()
        except ValueError:
            continue
        rest = "" if rest == "." else rest
        if prefix == "dbfs:":
            return "dbfs:/" + rest
        return prefix + ("/" + rest if rest else "")
    return "file:" + local_path.as_posix()

