"""Python's own file functions on ``/Volumes/…`` and ``/dbfs/…``: an error naming the local folder.

Spark and dbutils map those paths (`sparkpaths`, `fs`); Python's ``open``, ``os``,
``shutil``, pathlib and pandas go to the machine's real ``/Volumes`` or ``/dbfs``, which
do not exist here (or, worse, are some other folder). Wrapping ``open``, ``os`` and
pathlib to redirect them would miss C code (pyarrow, compiled readers) and change
what ``os.path.exists`` answers half the time, so the kit does not redirect: a
CPython audit hook (PEP 578, seen by every file opening and change in the process)
refuses such a path with one sentence that names the local folder to use instead.
Nothing is read from or written to the real folders.
"""
from __future__ import annotations

import os
import re
import sys

from course.platform.localpaths import is_databricks_path, to_local

EVENTS = {"open", "os.listdir", "os.scandir", "os.mkdir", "os.remove", "os.rmdir", "os.rename",
          "os.truncate", "os.chmod", "os.utime", "os.symlink", "os.link", "shutil.copyfile",
          "shutil.copytree", "shutil.rmtree", "shutil.move", "shutil.make_archive"}
_PREFIXES = ("/Volumes", "/dbfs")
_installed = False


class DatabricksPathError(FileNotFoundError):
    """A Databricks path given to Python's own file functions, which do not map it."""


def refusal(path: str) -> DatabricksPathError:
    return DatabricksPathError(
        f"{path} is a Databricks path, which Python's own file functions (open, os, pandas) do not "
        f"map here: its local folder is {to_local(path)} (course.platform.localpaths.to_local gives it); "
        "spark and dbutils.fs take the Databricks path as it is.")


def _hook(event: str, args: tuple) -> None:
    if event not in EVENTS:
        return
    for arg in args[:2]:
        if isinstance(arg, os.PathLike):
            arg = os.fspath(arg)
        if isinstance(arg, str) and arg.startswith(_PREFIXES) and is_databricks_path(arg):
            raise refusal(arg)


_MENTIONED = re.compile(r"(?:/Volumes|/dbfs)/[^'\"\s]*")


def _explain(shell, etype, value, tb, tb_offset=None):
    """IPython's handler for OSErrors raised before any file is touched (pandas checks a
    folder with os.stat, which no audit event sees): the cell fails with the same sentence
    as the audit hook's, the original error as its cause."""
    found = _MENTIONED.search(str(value))
    if found and not isinstance(value, DatabricksPathError) and is_databricks_path(found.group(0)):
        clearer = refusal(found.group(0))
        clearer.__cause__ = value
        etype, value = DatabricksPathError, clearer
    return shell.showtraceback((etype, value, tb), tb_offset=tb_offset)


def install(ip=None) -> None:
    """Add the audit hook (once per process; CPython cannot remove one) and, in IPython,
    the note on other OSErrors that mention a Databricks path."""
    global _installed
    if not _installed:
        sys.addaudithook(_hook)
        _installed = True
    if ip is not None and not getattr(ip, "_day7_filehook", False):
        # keep any handler set before (dbutils.notebook.exit's) for its own exception types
        previous_types = tuple(ip.custom_exceptions)
        previous = ip.CustomTB if previous_types else None

        def handler(shell, etype, value, tb, tb_offset=None):
            if previous is not None and issubclass(etype, previous_types):
                return previous(etype, value, tb, tb_offset=tb_offset)
            return _explain(shell, etype, value, tb, tb_offset)

        ip.set_custom_exc(previous_types + (OSError,), handler)
        ip._day7_filehook = True
