"""What a notebook sees when it is not on Databricks: `dbutils`, `spark`, `display`.

Every course notebook starts with this cell; on Databricks the names already
exist, anywhere else the Day 7 kit stands in for them::

    # On Databricks, dbutils and spark already exist; elsewhere the Day 7 kit stands in for them.
    try:
        dbutils
    except NameError:
        from course.runtime import dbutils, spark, display

Importing this package is cheap (no pyspark, pandas, papermill, scrapbook or
ipywidgets): `spark` is a lazy proxy that starts a session on first use, and
ipywidgets loads only when a widget is shown.

Modes: under the runner, papermill injects ``day7_task`` (see
`course.runtime.context`) and widgets read the task's parameters, task values
are recorded for the runner, `dbutils.notebook.exit` ends the whole notebook.
Without it (JupyterLab) widgets are ipywidgets, `taskValues.get` returns its
debugValue and `exit` stops only the current cell.
"""
from __future__ import annotations

import sys
import types

from course.runtime.dbutils import DBUtils, dbutils
from course.runtime.display import display, displayHTML
from course.runtime.notebook import NotebookRunFailed, NotebookRunTimeout
from course.runtime.widgets import InputWidgetNotDefined, InvalidWidgetValue

__all__ = ["dbutils", "spark", "display", "displayHTML", "DBUtils",
           "InputWidgetNotDefined", "InvalidWidgetValue", "NotebookRunFailed", "NotebookRunTimeout"]


class _MissingSpark:
    """Stands for `spark` until course/runtime/spark.py exists, failing only when used."""

    def __getattr__(self, name: str):
        raise RuntimeError("course.runtime.spark is not available yet, so there is no local `spark`.")

    def __repr__(self) -> str:
        return "<spark: not available (course.runtime.spark missing)>"


class _RuntimeModule(types.ModuleType):
    # `spark` is both the submodule course.runtime.spark and the proxy object it
    # exports. Importing the submodule makes the import system set
    # `course.runtime.spark = <module>`, which would shadow a plain lazy
    # attribute; a property on the module's class wins over that, always
    # returns the proxy, and imports the submodule only on first access.
    @property
    def spark(self):
        try:
            from course.runtime.spark import spark as proxy
        except ModuleNotFoundError as exc:
            if exc.name != "course.runtime.spark":
                raise
            return _MissingSpark()
        return proxy

    @spark.setter
    def spark(self, module) -> None:
        self.__dict__["_spark_module"] = module


sys.modules[__name__].__class__ = _RuntimeModule

# In a kernel (not plain Python): Databricks' magics and predefined names (magics.py).
if "IPython" in sys.modules:
    from course.runtime import magics as _magics

    _magics.install()
