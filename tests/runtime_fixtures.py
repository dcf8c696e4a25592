"""Helpers for the runtime tests: write small notebooks, run them in real kernels.

Every notebook starts with the course idiom. A notebook reports what it saw with
`observe(name, value)` (a scrap, read back with scrapbook), so assertions look
at values, not at printed text.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable

import nbformat
import papermill
import scrapbook

NOTEBOOKS = Path(__file__).parent / "notebooks" / "runtime"

IDIOM = """\
# On Databricks, dbutils and spark already exist; elsewhere the Day 7 kit stands in for them.
try:
    dbutils
except NameError:
    from course.runtime import dbutils, spark, display"""

OBSERVE = """\
from course.runtime.scraps import emit_scrap as _emit
def observe(name, value):
    _emit("observed." + name, value)"""

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def make_notebook(path: Path, cells: Iterable[str], observe: bool = True) -> Path:
    """A python3 notebook: the idiom cell, an `observe` helper, then `cells`."""
    sources = [IDIOM] + ([OBSERVE] if observe else []) + list(cells)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, path)
    return path


def task_context(tmp_path: Path, task_key: str = "silver", parameters: dict | None = None,
                 task_values: dict | None = None) -> dict[str, Any]:
    """A `day7_task` dict as the runner injects it."""
    return {
        "job_id": 1, "job_name": "day7", "run_id": 12, "task_key": task_key, "task_run_id": 15,
        "attempt_number": 0, "repair_count": 0,
        "parameters": parameters or {}, "task_values": task_values or {},
        "output_dir": str(tmp_path / "runs" / "12" / task_key / "attempt-0"),
    }


def run(notebook: Path, out: Path, context: dict | None = None, **kwargs: Any) -> nbformat.NotebookNode:
    """Execute with papermill in a fresh kernel; `context` becomes the injected `day7_task`."""
    return papermill.execute_notebook(
        str(notebook), str(out),
        parameters={"day7_task": context} if context is not None else None,
        kernel_name="python3", cwd=str(notebook.parent), progress_bar=False,
        shutdown_kernel="immediate", **kwargs,
    )


def observed(notebook: Path) -> dict[str, Any]:
    """What the notebook reported with `observe`."""
    scraps = scrapbook.read_notebook(str(notebook)).scraps
    return {name[len("observed."):]: s.data for name, s in scraps.items() if name.startswith("observed.")}


def outputs(nb: nbformat.NotebookNode) -> list[dict]:
    return [out for cell in nb.cells for out in cell.get("outputs", [])]


def stdout_of(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


class InteractiveKernel:
    """A kernel driven the way JupyterLab drives it: requests carry allow_stdin=True and
    widget edits arrive as comm `update` messages from the front end."""

    def __init__(self) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3")

    def execute(self, code: str) -> tuple[dict, list[dict]]:
        """(execute_reply content, iopub messages of this request)."""
        messages: list[dict] = []
        reply = self.kc.execute_interactive(code, allow_stdin=True, output_hook=messages.append, timeout=60)
        return reply["content"], messages

    def update_widget(self, comm_id: str, state: dict) -> None:
        msg = self.kc.session.msg("comm_msg", {"comm_id": comm_id,
                                               "data": {"method": "update", "state": state, "buffer_paths": []}})
        self.kc.shell_channel.send(msg)

    def close(self) -> None:
        self.kc.stop_channels()
        self.km.shutdown_kernel(now=True)


def stdout_of_messages(messages: list[dict]) -> str:
    return "".join(m["content"]["text"] for m in messages
                   if m["msg_type"] == "stream" and m["content"]["name"] == "stdout")
