"""A papermill engine that keeps at most `CELL_OUTPUT_CAP` characters of each cell's output
(and writes the output notebook less often than papermill: `SparingManager`).

A task that prints without end (a debug loop, a runaway `print(df.collect())`) must not
fill the runner's memory or the disk with its executed notebook. Like Databricks Runtime 17
(its maximum cell output size defaults to 10 MB and longer output is truncated), the kit
keeps the first 10 MB of what each cell shows and drops the rest; one note at the cut says
how much was dropped. Error outputs are always kept: they explain a failed task.
"""
from __future__ import annotations

import json
from collections import defaultdict

from papermill.clientwrap import PapermillNotebookClient
from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines
from nbformat import v4

ENGINE = "day7-capped"
CELL_OUTPUT_CAP = 10 * 1024 * 1024   # characters of stream text / display data kept per cell


def _size(msg) -> int:
    content = msg["content"]
    if msg["msg_type"] == "stream":
        return len(content.get("text", ""))
    if msg["msg_type"] in ("display_data", "execute_result", "update_display_data"):
        return len(json.dumps(content.get("data", {})))
    return 0  # errors, status, clear_output: never capped


def truncation_note(dropped: int) -> str:
    return (f"\n[output truncated: this cell's output passed the {CELL_OUTPUT_CAP // 2**20} MB the kit "
            f"keeps of a cell; {dropped:,} more characters were dropped]\n")


class CappedClient(PapermillNotebookClient):
    """Papermill's client, counting what each cell has kept; past the cap, outputs are dropped."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._kept: dict[int, int] = defaultdict(int)
        self._notes: dict[int, tuple[dict, int]] = {}   # cell -> (its note output, characters dropped)

    def output(self, outs, msg, display_id, cell_index):
        if self.clear_before_next_output:   # a delayed clear_output empties the cell: count afresh
            self._forget(cell_index)
        size = _size(msg)
        if size and self._kept[cell_index] + size > CELL_OUTPUT_CAP:
            note, dropped = self._notes.get(cell_index, (None, 0))
            if note is None:
                note = v4.new_output("stream", name="stderr", text="")
                outs.append(note)
            self._notes[cell_index] = (note, dropped + size)
            note["text"] = truncation_note(dropped + size)
            return None
        self._kept[cell_index] += size
        return super().output(outs, msg, display_id, cell_index)

    def clear_output(self, outs, msg, cell_index):
        if not msg["content"].get("wait"):
            self._forget(cell_index)
        return super().clear_output(outs, msg, cell_index)

    def _forget(self, cell_index: int) -> None:
        self._kept.pop(cell_index, None)
        self._notes.pop(cell_index, None)


class SparingManager(NotebookExecutionManager):
    """papermill's bookkeeping, writing the output notebook when a reader would see something new:
    at the start, after each code cell (its outputs), at the end, and every 30 s of a long cell
    (papermill's autosave). papermill also writes it as each cell starts and for markdown cells:
    half of its ~110 writes of the Day 7 job, each a full serialization and validation, on the
    run's critical path. Only a runner killed outright loses what they recorded (which cell had
    started); the end of a notebook, however it ends, writes everything."""

    _skip_save = False

    def save(self, **kwargs):
        if not self._skip_save:
            super().save(**kwargs)

    def cell_start(self, cell, cell_index=None, **kwargs):
        self._skip_save = True
        try:
            super().cell_start(cell, cell_index, **kwargs)
        finally:
            self._skip_save = False

    def cell_complete(self, cell, cell_index=None, **kwargs):
        self._skip_save = cell.get("cell_type") != "code"
        try:
            super().cell_complete(cell, cell_index, **kwargs)
        finally:
            self._skip_save = False


class CappedEngine(NBClientEngine):
    """papermill's nbclient engine with `CappedClient` (the same arguments, one client class)
    and `SparingManager`."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, **kwargs):
        # papermill's Engine.execute_notebook, with SparingManager for NotebookExecutionManager
        nb_man = SparingManager(nb, output_path=output_path, progress_bar=progress_bar, log_output=log_output,
                                autosave_cell_every=autosave_cell_every)
        nb_man.notebook_start()
        try:
            cls.execute_managed_notebook(nb_man, kernel_name, log_output=log_output, **kwargs)
        finally:
            nb_man.cleanup_pbar()
            nb_man.notebook_complete()
        return nb_man.nb

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, log_output=False, stdout_file=None,
                                 stderr_file=None, start_timeout=60, execution_timeout=None, **kwargs):
        kwargs = {k: v for k, v in kwargs.items() if k not in ("input_path", "timeout", "startup_timeout")}
        client = CappedClient(nb_man, kernel_name=kernel_name, log_output=log_output, stdout_file=stdout_file,
                              stderr_file=stderr_file, startup_timeout=start_timeout,
                              timeout=execution_timeout, **kwargs)
        return client.execute()


papermill_engines.register(ENGINE, CappedEngine)
