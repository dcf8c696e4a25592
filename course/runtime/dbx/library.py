"""`dbutils.library` locally: ``restartPython()`` clears the notebook's namespace.

On Databricks ``restartPython()`` restarts the notebook's Python process (so that
libraries installed with ``%pip`` are imported afresh); the notebook goes on with the
next cell and every variable is gone. Locally the kernel keeps its process (the runner
reads its outputs, and ``%pip`` installs nothing, see magics.py): the variables the
notebook defined are deleted and ``spark``, ``dbutils``, ``display`` and the task
context stay, which is what the next cells can rely on either way. Modules already
imported stay imported; the printed line says so.
"""
from __future__ import annotations

KEEP = ("spark", "dbutils", "display", "displayHTML", "day7_task")


class Library:
    """dbutils.library"""

    def restartPython(self) -> None:
        """Delete the notebook's variables (the local form of a Python restart)."""
        from course.runtime import shell

        ip = shell.ipython()
        if ip is None:
            print("dbutils.library.restartPython(): not in a notebook kernel; nothing to restart.")
            return
        kept = {name: ip.user_ns[name] for name in KEEP if name in ip.user_ns}
        ip.reset(new_session=False)
        ip.user_ns.update(kept)
        print("dbutils.library.restartPython(): the notebook's variables are cleared "
              "(locally the kernel keeps its process, so imported modules stay loaded).")

    def __repr__(self) -> str:
        return "dbutils.library: restartPython() (clears the notebook's variables)"
