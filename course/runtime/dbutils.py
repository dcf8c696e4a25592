"""The local `dbutils`: widgets, jobs.taskValues, notebook, fs, secrets, library.

One instance per process (`dbutils`), like the object Databricks puts in every
notebook. Each utility lives in its own module; this one only assembles them.
"""
from __future__ import annotations

from course.runtime.fs import Fs
from course.runtime.notebook import Notebook
from course.runtime.taskvalues import Jobs
from course.runtime.widgets import Widgets


class DBUtils:
    """Local stand-in for Databricks' dbutils (widgets, jobs, notebook, fs, secrets, library)."""

    def __init__(self) -> None:
        self.widgets = Widgets()
        self.jobs = Jobs()
        self.notebook = Notebook()
        self.fs = Fs()
        self._secrets = self._library = None

    # secrets and library load on first use: the kernel's import of the kit stays light
    @property
    def secrets(self):
        if self._secrets is None:
            from course.runtime.dbx.secrets import Secrets

            self._secrets = Secrets()
        return self._secrets

    @property
    def library(self):
        if self._library is None:
            from course.runtime.dbx.library import Library

            self._library = Library()
        return self._library

    def help(self) -> None:
        """Print what this stand-in offers."""
        for name in ("widgets", "jobs", "notebook", "fs", "secrets", "library"):
            print(repr(getattr(self, name)))
        print("dbutils.jobs.taskValues: set(key, value), get(taskKey, key, default=None, debugValue=None)")

    def __repr__(self) -> str:
        return "<Day 7 kit dbutils (local stand-in): widgets, jobs.taskValues, notebook, fs, secrets, library — dbutils.help()>"


dbutils = DBUtils()
