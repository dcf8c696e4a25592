"""How task values and the exit value travel from a task back to the runner.

Both sides of the format live here.

Notebook tasks (kernel side, `emit_scrap`): a ``display_data`` output exactly
like ``scrapbook.glue(name, data, encoder="json")`` makes, without importing
scrapbook (2.4 s in a kernel)::

    data:     {"application/scrapbook.scrap.json+json":
                   {"name": name, "data": <payload>, "encoder": "json", "version": 1}}
    metadata: {"scrapbook": {"name": name, "data": true, "display": false}}

Names: ``day7.task_value.<key>`` for each task value, ``day7.notebook_exit``
for the exit value. The payload is the value itself for dicts, lists, numbers
and booleans; strings and null are stored as their JSON text (``"\\"beans\\""``,
``"null"``) because scrapbook's json decoder runs ``json.loads`` on every
string it reads — stored raw, the string ``"123"`` would come back as the
number 123.

``.py`` tasks (no kernel) write files into the context's ``output_dir``:
``task_values.json`` (one JSON object, key → value, rewritten on each set) and
``notebook_exit.json`` (the exit string as a JSON document).

Runner side, `read_task_outputs(path)`: ``path`` is an executed notebook
(``*.ipynb``, read with ``scrapbook.read_notebook``) or a ``.py`` task's
output_dir (read from the two files). When a key is set twice, the latest wins.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, NamedTuple

SCRAP_MIMETYPE = "application/scrapbook.scrap.json+json"  # scrapbook GLUE_PAYLOAD_FMT, encoder "json"
SCRAP_VERSION = 1
TASK_VALUE_PREFIX = "day7.task_value."
EXIT_NAME = "day7.notebook_exit"
TASK_VALUES_FILE = "task_values.json"
EXIT_FILE = "notebook_exit.json"


class TaskOutputs(NamedTuple):
    """What a finished task hands back: its task values and its exit value."""

    task_values: dict[str, Any]
    exit_value: str | None


# --- kernel side -------------------------------------------------------------

def _payload_data(data: Any) -> Any:
    if data is None or isinstance(data, str):
        return json.dumps(data, ensure_ascii=False)
    return json.loads(json.dumps(data, allow_nan=False))  # plain JSON types only


def scrap_output(name: str, data: Any) -> tuple[dict, dict]:
    """The (data, metadata) bundle of a scrap, as scrapbook.glue(..., encoder="json") builds it."""
    payload = {"name": name, "data": _payload_data(data), "encoder": "json", "version": SCRAP_VERSION}
    return {SCRAP_MIMETYPE: payload}, {"scrapbook": {"name": name, "data": True, "display": False}}


def emit_scrap(name: str, data: Any) -> None:
    """Record `data` under `name` in the current cell's outputs (needs IPython)."""
    from IPython.display import display  # already loaded in any kernel

    bundle, metadata = scrap_output(name, data)
    display(bundle, metadata=metadata, raw=True)


# --- .py tasks: files in output_dir -----------------------------------------

def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, path)  # readers never see half a file


def write_task_value_file(output_dir: str | os.PathLike, key: str, value: Any) -> None:
    path = Path(output_dir) / TASK_VALUES_FILE
    values = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    values[key] = value
    _write_json(path, values)


def write_exit_file(output_dir: str | os.PathLike, value: str) -> None:
    _write_json(Path(output_dir) / EXIT_FILE, value)


# --- runner side -------------------------------------------------------------

def read_task_outputs(path: str | os.PathLike) -> TaskOutputs:
    """Task values and exit value of a finished task.

    `path` is the executed notebook (scraps read with scrapbook) or, for a
    ``.py`` task, its output_dir (``task_values.json`` / ``notebook_exit.json``;
    missing files mean nothing was set).
    """
    path = Path(path)
    if path.is_dir():
        values_file, exit_file = path / TASK_VALUES_FILE, path / EXIT_FILE
        values = json.loads(values_file.read_text(encoding="utf-8")) if values_file.exists() else {}
        exit_value = json.loads(exit_file.read_text(encoding="utf-8")) if exit_file.exists() else None
        return TaskOutputs(values, exit_value)

    import scrapbook  # runner side only: heavy (pulls papermill, pandas)

    values: dict[str, Any] = {}
    exit_value = None
    # scrapbook walks outputs in order and keeps the last scrap per name.
    for name, scrap in scrapbook.read_notebook(str(path)).scraps.items():
        if name.startswith(TASK_VALUE_PREFIX):
            values[name[len(TASK_VALUE_PREFIX):]] = scrap.data
        elif name == EXIT_NAME:
            exit_value = scrap.data
    return TaskOutputs(values, exit_value)
