"""`dbutils.notebook`: `exit(value)` ends a notebook successfully; `run(...)` runs another.

How `exit` works in a Jupyter kernel (IPython 9 / ipykernel 7):

1. It records the value as the ``day7.notebook_exit`` scrap, then raises the
   private `NotebookExit` (a BaseException, so ``except Exception`` in user
   code does not swallow it).
2. ``shell.set_custom_exc`` routes it to a handler that prints
   ``Notebook exited: <value>``. IPython's ``run_code`` handles custom
   exceptions without ``showtraceback``, so no ``error`` output is published.
3. A ``post_run_cell`` hook clears ``result.error_in_exec`` before ipykernel
   builds the execute_reply, so the reply status is ``ok`` and nbclient,
   papermill and nbval see a cell that succeeded.
4. Under the runner (a task context) and in any batch run (papermill, nbclient,
   nbval: clients that send ``allow_stdin: false``), an input transformer turns
   every later cell into ``pass``: the rest of the notebook does not run.
   Interactively (JupyterLab, no context) only the current cell stops; cells the
   learner runs afterwards run normally.

Outside IPython (a ``.py`` task) `exit` writes ``notebook_exit.json`` into the
output_dir and raises ``SystemExit(0)``.
"""
from __future__ import annotations

import itertools
import time
from pathlib import Path
from typing import Any, Mapping

from course.runtime import context, scraps, shell


class NotebookExit(BaseException):
    """Raised by dbutils.notebook.exit; the kit's IPython hooks turn it into a clean stop."""

    def __init__(self, value: str) -> None:
        super().__init__(value)
        self.value = value


class NotebookRunFailed(RuntimeError):
    """dbutils.notebook.run: the child notebook raised an error."""


class NotebookRunTimeout(TimeoutError):
    """dbutils.notebook.run: the child notebook ran longer than timeout_seconds."""


_HOOKED = "_day7_notebook_exit_hooks"
_skip_later_cells = False


def _skip_if_exited(lines: list[str]) -> list[str]:
    # Input transformer: once a batch run has exited, later cells do nothing.
    if _skip_later_cells and (context.current() is not None or not shell.client_is_interactive()):
        return ["pass\n"]
    return lines


def _clear_exit_error(result: Any) -> None:
    # post_run_cell hook: an exit is a success, so the execute_reply says "ok".
    if isinstance(getattr(result, "error_in_exec", None), NotebookExit):
        result.error_in_exec = None


def _install_exit_hooks(ip: Any) -> None:
    if getattr(ip, _HOOKED, False):
        return
    previous_types = tuple(ip.custom_exceptions)
    previous_handler = ip.CustomTB if previous_types else None

    def handler(self: Any, etype: type, value: BaseException, tb: Any, tb_offset: Any = None) -> list[str]:
        if issubclass(etype, NotebookExit):
            print(f"Notebook exited: {value.value}")
            return []
        return previous_handler(etype, value, tb, tb_offset=tb_offset)  # someone else's custom exception

    ip.set_custom_exc(previous_types + (NotebookExit,), handler)
    ip.events.register("post_run_cell", _clear_exit_error)
    ip.input_transformers_post.append(_skip_if_exited)
    setattr(ip, _HOOKED, True)


class Notebook:
    """dbutils.notebook"""

    def __init__(self) -> None:
        self._run_numbers = itertools.count(1)

    def exit(self, value: Any) -> None:
        """End this notebook successfully; `value` (a string) becomes the task's output."""
        global _skip_later_cells
        value = value if isinstance(value, str) else str(value)
        ctx = context.current()
        ip = shell.ipython()
        if shell.kernel_shell() is not None:
            scraps.emit_scrap(scraps.EXIT_NAME, value)
        elif ctx is not None and ctx.output_dir:
            scraps.write_exit_file(ctx.output_dir, value)
        if ip is None:  # plain Python, e.g. a .py task
            print(f"Notebook exited: {value}")
            raise SystemExit(0)
        _install_exit_hooks(ip)
        if ctx is not None or not shell.client_is_interactive():
            _skip_later_cells = True
        raise NotebookExit(value)

    def run(self, path: str, timeout_seconds: int = 0, arguments: Mapping[str, Any] | None = None) -> str | None:
        """Run the notebook at `path` with widget values `arguments`; return its exit value.

        The child runs in a fresh kernel (papermill) as a task of its own: its
        widgets get `arguments`, it sees no task values. `timeout_seconds` bounds
        the whole child run (0 = no limit). The executed child is saved under the
        task's output_dir (``notebook_runs/``), or a temporary folder interactively.
        Returns the child's exit string, or None when it did not call exit.
        """
        import logging
        import tempfile

        import papermill  # with its dependencies: loaded only when a child runs
        from nbclient.exceptions import CellTimeoutError, DeadKernelError
        from papermill.exceptions import PapermillExecutionError

        from course.runtime import sourcenb

        try:
            source = sourcenb.resolve(path)
        except FileNotFoundError as exc:
            raise FileNotFoundError(f"dbutils.notebook.run: {exc} (cwd {Path.cwd()})") from None
        notebook = sourcenb.load(source)  # an .ipynb, or a source-format .py / .sql converted
        ctx = context.current()
        if ctx is not None and ctx.output_dir:
            runs_folder = Path(ctx.output_dir) / "notebook_runs"
        else:
            runs_folder = Path(tempfile.mkdtemp(prefix="day7-notebook-run-"))
        runs_folder.mkdir(parents=True, exist_ok=True)
        stem = f"{next(self._run_numbers):03d}-{source.stem}"
        output = runs_folder / f"{stem}.ipynb"

        parent = ctx.to_dict() if ctx is not None else {}
        child = {
            **{k: parent.get(k) for k in ("job_id", "job_name", "run_id", "task_key", "task_run_id")},
            "parameters": {str(k): str(v) for k, v in (arguments or {}).items()},
            "task_values": {},
            "output_dir": str(runs_folder / stem),
            "notebook_path": str(source.with_suffix("")),
        }
        kernelspec = notebook.metadata.get("kernelspec", {})
        deadline = time.monotonic() + timeout_seconds if timeout_seconds and timeout_seconds > 0 else None

        def remaining(cell: Any) -> float | None:
            # nbclient asks per cell; answering with what is left bounds the whole run.
            return None if deadline is None else max(deadline - time.monotonic(), 0.001)

        # papermill (and nbclient through its logger) would print warnings about the
        # missing "parameters" cell and the timeout into the parent's cell output;
        # every failure reaches the caller as an exception below anyway.
        papermill_log = logging.getLogger("papermill")
        level = papermill_log.level
        papermill_log.setLevel(logging.CRITICAL)
        try:
            papermill.execute_notebook(
                notebook, str(output), parameters={context.CONTEXT_VARIABLE: child},
                kernel_name=kernelspec.get("name") or "python3", cwd=str(source.parent),
                progress_bar=False, timeout_func=remaining,
                shutdown_kernel="immediate",  # a graceful shutdown sometimes waits 3 s
                # the child kernel's start-up warning ("TCP without encryption") would land in the
                # calling cell's output through the inherited stderr: errors only
                extra_arguments=["--IPKernelApp.log_level=ERROR",
                                 # Databricks' magics and predefined names, as in every kit kernel
                                 "--IPKernelApp.exec_lines=['import course.runtime']"],
            )
        except PapermillExecutionError as exc:
            raise NotebookRunFailed(
                f"Notebook {path} failed: {exc.ename}: {exc.evalue} (output notebook: {output})"
            ) from exc
        except CellTimeoutError as exc:
            raise NotebookRunTimeout(
                f"Notebook {path} did not finish within {timeout_seconds} s (output notebook: {output})"
            ) from exc
        except DeadKernelError as exc:
            raise NotebookRunFailed(f"Notebook {path} failed: its kernel died ({exc})") from exc
        finally:
            papermill_log.setLevel(level)
        return scraps.read_task_outputs(output).exit_value

    @property
    def entry_point(self):
        """`entry_point.getDbutils().notebook().getContext()`: the notebook context (dbx/nbcontext.py)."""
        from course.runtime.dbx.nbcontext import EntryPoint

        return EntryPoint()

    def __repr__(self) -> str:
        return "dbutils.notebook: exit(value), run(path, timeout_seconds, arguments), entry_point…getContext()"
