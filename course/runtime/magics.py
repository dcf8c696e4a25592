"""Databricks' notebook magics and predefined names in the kernels the kit starts.

`install()` (the job kernels' preload, `dbutils.notebook.run` children, and any kernel
that imports `course.runtime`) gives the IPython shell:

* ``%sql`` / ``%%sql``: Spark SQL through the kit's SQL path (Unity Catalog names,
  see `unity.py`); several statements separated by ``;``; the last result is shown as
  a table and kept in ``_sqldf``; ``${name}`` is a widget's value, ``CREATE WIDGET
  TEXT name DEFAULT "v"`` declares one.
* ``%md`` / ``%%md`` (and ``md-sandbox``): rendered Markdown / HTML.
* ``%%python``: the cell as Python.  ``%%scala`` / ``%%r``: one clear error.
* ``%run ./path [$name="value" …]``: the notebook (``.ipynb`` or source format) runs
  in this namespace, relative to the calling notebook; arguments are its widget values;
  a failure stops the caller. A plain ``.py`` script still goes to IPython's ``%run``.
* ``%fs ls …``: `dbutils.fs` (paths without a scheme are DBFS, as on Databricks).
* ``%sh`` / ``%%sh``: bash in the notebook's folder; ``-e`` fails the cell on a
  non-zero status (Databricks' rule).
* ``%pip``: not run: one line saying notebook-scoped libraries are not supported locally.
* A cell whose first line is a bare ``%sql``, ``%md`` … (how Databricks exports
  ``.ipynb`` files) runs as the matching cell magic.
* Python's own file functions on ``/Volumes/…``/``/dbfs/…`` fail naming the local folder
  (`dbx.filehook`); ``DeltaTable`` refuses in one sentence without Delta's jars (`dbx.deltatable`).
* ``spark``, ``dbutils``, ``display``, ``displayHTML`` in the user namespace, and
  ``from databricks.sdk.runtime import dbutils, spark, display`` answering with the
  kit's objects when no Databricks workspace is configured (see `_SdkRuntimeFinder`).
"""
from __future__ import annotations

import os
import re
import sys
from pathlib import Path

from course.runtime import shell

_INSTALLED = "_day7_magics"
_CELL_FIRST_LINE = re.compile(r"^%(sql|md-sandbox|md|python|sh|fs|scala|r)\b[ \t]*(.*)$")
_base_dirs: list[Path] = []  # folders of the notebooks %run is running, innermost last
_WIDGET_DECL = re.compile(r"^\s*CREATE\s+WIDGET\s+TEXT\s+(\w+)\s+DEFAULT\s+(['\"])(.*?)\2\s*$", re.I | re.S)
_WIDGET_REMOVE = re.compile(r"^\s*REMOVE\s+WIDGET\s+(\w+)\s*$", re.I)
_WIDGET_REF = re.compile(r"\$\{(\w+)\}")


def _base() -> Path:
    return _base_dirs[-1] if _base_dirs else Path.cwd()


# --- %sql ------------------------------------------------------------------------------------

def run_sql(text: str):
    """Run every statement of `text`; show the last result and keep it in ``_sqldf``."""
    from course.runtime import unity
    from course.runtime.dbutils import dbutils
    from course.runtime.display import display
    from course.runtime.spark import get_spark

    session = get_spark()
    result = None
    for statement in unity.split_statements(text):
        if (m := _WIDGET_DECL.match(statement)):
            dbutils.widgets.text(m.group(1), m.group(3))
            continue
        if (m := _WIDGET_REMOVE.match(statement)):
            dbutils.widgets.remove(m.group(1))
            continue
        statement = _WIDGET_REF.sub(lambda ref: dbutils.widgets.get(ref.group(1)), statement)
        result = unity.sql(session, statement)
    if result is not None:
        shell.user_namespace()["_sqldf"] = result
        if result.columns:
            display(result)
    return None


def sql(line: str, cell: str | None = None) -> None:
    run_sql(line if cell is None else cell)


# --- %md, %python, other languages ------------------------------------------------------------

def md(line: str, cell: str | None = None) -> None:
    from IPython.display import Markdown, display

    display(Markdown(line if cell is None else cell))


def md_sandbox(line: str, cell: str | None = None) -> None:
    from IPython.display import HTML, display

    display(HTML(line if cell is None else cell))


def run_python(source: str) -> None:
    """Run `source` (magics allowed) in the user namespace; the last expression is shown."""
    import ast

    ip = shell.ipython()
    code = ip.transform_cell(source)
    tree = ast.parse(code)
    last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    namespace = ip.user_ns
    exec(compile(tree, "<cell>", "exec"), namespace)
    if last is not None:
        value = eval(compile(ast.Expression(last.value), "<cell>", "eval"), namespace)
        if value is not None:
            ip.displayhook(value)


def python(line: str, cell: str | None = None) -> None:
    run_python(line if cell is None else cell)


def _other_language(name: str):
    def magic(line: str, cell: str | None = None) -> None:
        raise RuntimeError(f"This cell is {name}: the kit runs Python and SQL notebooks "
                           f"(it runs on Databricks as it is).")
    return magic


# --- %run ----------------------------------------------------------------------------------------

def _run_arguments(words: list[str]) -> dict[str, str]:
    arguments = {}
    for word in words:
        name, sep, value = word.partition("=")
        if not sep or not name.startswith("$") or not name[1:]:
            raise ValueError(f"%run: arguments are $name=\"value\", got {word!r}")
        arguments[name[1:]] = value
    return arguments


def _ipython_run(line: str) -> None:
    # IPython's own %run, for a plain script (its magics load lazily: only when needed)
    from IPython.core.magics.execution import ExecutionMagics

    ExecutionMagics(shell.ipython()).run(line)


def run_notebook(line: str, original=_ipython_run) -> None:
    """`%run ./path $name="value"`: the notebook's cells in this namespace."""
    import shlex

    from course.runtime import sourcenb, widgets

    words = shlex.split(line)
    if not words:
        raise ValueError("%run needs a notebook path, e.g. %run ./helpers")
    path = sourcenb.resolve(words[0], _base())
    if path.suffix.lower() == ".py" and not sourcenb.is_source_notebook(path) and original is not None:
        return original(line)  # a plain script: IPython's own %run
    notebook = sourcenb.load(path)
    widgets.push_arguments(_run_arguments(words[1:]))
    _base_dirs.append(path.parent)
    try:
        for cell in notebook.cells:
            if cell.cell_type == "code" and cell.source.strip():
                run_python(cell.source)
    finally:
        _base_dirs.pop()
        widgets.pop_arguments()


# --- %fs, %sh, %pip -----------------------------------------------------------------------------

def _dbfs(path: str) -> str:
    # On Databricks %fs paths without a scheme are DBFS paths.
    return path if re.match(r"^[a-z]+:", path) or path.startswith(("/Volumes", "/dbfs")) else "dbfs:" + path


def fs(line: str, cell: str | None = None) -> None:
    import shlex

    from course.runtime.dbutils import dbutils

    words = shlex.split(" ".join([line] + (cell.split() if cell else [])))
    if not words:
        raise ValueError("%fs needs a command, e.g. %fs ls /Volumes/workspace/day7/raw")
    command, flags = words[0], {w for w in words[1:] if w.startswith("-")}
    args = [_dbfs(w) for w in words[1:] if not w.startswith("-")]
    if command == "ls":
        entries = dbutils.fs.ls(args[0] if args else "dbfs:/")
        width = max([4] + [len(e.path) for e in entries])
        print(f"{'path'.ljust(width)}  {'size':>10}  modificationTime")
        for entry in entries:
            print(f"{entry.path.ljust(width)}  {entry.size:>10}  {entry.modificationTime}")
        return
    method = getattr(dbutils.fs, command, None)
    if method is None or command.startswith("_"):
        raise ValueError(f"%fs {command}: not a dbutils.fs command")
    kwargs = {"recurse": True} if flags & {"-r", "--recurse"} else {}
    result = method(*args, **kwargs)
    if result is not None:
        print(result)


def sh(line: str, cell: str | None = None) -> None:
    import subprocess

    fail = line.split()[:1] == ["-e"]
    script = cell if cell is not None else line
    if fail and cell is None:
        script = line.split(None, 1)[1] if len(line.split()) > 1 else ""
    done = subprocess.run(["bash", "-c", script], cwd=str(_base()), capture_output=True, text=True)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    if fail and done.returncode:
        raise RuntimeError(f"%sh: the command exited with status {done.returncode}")


def pip(line: str, cell: str | None = None) -> None:
    print(f"%pip {line.strip()}: not run: notebook-scoped libraries are not supported locally; "
          "the kit's environment (pyproject.toml) is what this notebook gets.")


# --- installing ----------------------------------------------------------------------------------

def _cell_magic_first_line(lines: list[str]) -> list[str]:
    """Input transformer: a cell starting with a bare ``%sql`` (Databricks' .ipynb export)
    runs as ``%%sql``; text after the magic on its first line is the cell's first line."""
    if len(lines) < 2 or not lines[0].startswith("%") or lines[0].startswith("%%"):
        return lines
    found = _CELL_FIRST_LINE.match(lines[0].rstrip("\n"))
    if found is None or not "".join(lines[1:]).strip():
        return lines
    first = found.group(2).strip()
    return [f"%%{found.group(1)}\n"] + ([first + "\n"] if first else []) + lines[1:]


class _SdkRuntimeFinder:
    """Serves ``databricks.sdk.runtime`` from the kit when no workspace is configured.

    The SDK's own module builds a RemoteDbUtils (which needs a workspace) and leaves
    ``spark`` None without databricks-connect. Only kernels the kit starts install this
    finder; with DATABRICKS_HOST or a ~/.databrickscfg the SDK's module is used."""

    NAME = "databricks.sdk.runtime"

    def find_spec(self, fullname, path=None, target=None):
        if fullname != self.NAME or workspace_configured():
            return None
        import importlib.util

        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return None

    def exec_module(self, module) -> None:
        import course.runtime as kit

        for name in ("dbutils", "spark", "display", "displayHTML"):
            setattr(module, name, getattr(kit, name))
        module.is_local_implementation = True
        module.getArgument = lambda name, defaultValue=None: kit.dbutils.widgets.getArgument(name, defaultValue)
        module.__all__ = ["dbutils", "spark", "display", "displayHTML", "getArgument"]


def on_databricks_runtime() -> bool:
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def workspace_configured() -> bool:
    """Whether databricks-sdk would find a workspace (environment or ~/.databrickscfg)."""
    if os.environ.get("DATABRICKS_HOST") or os.environ.get("DATABRICKS_CONFIG_PROFILE"):
        return True
    config = Path(os.environ.get("DATABRICKS_CONFIG_FILE") or Path.home() / ".databrickscfg")
    return config.is_file()


def install(ip=None) -> bool:
    """Register the magics, predefine the names and the SDK runtime module in `ip`
    (default: the running shell). Once per shell; False outside IPython."""
    ip = ip or shell.ipython()
    if ip is None or not hasattr(ip, "register_magic_function"):
        return False
    if getattr(ip, _INSTALLED, False):
        return True
    magics = {"sql": sql, "md": md, "md-sandbox": md_sandbox, "python": python, "fs": fs, "sh": sh,
              "pip": pip, "scala": _other_language("Scala"), "r": _other_language("R")}
    for name, func in magics.items():
        for kind in ("line", "cell"):
            ip.register_magic_function(func, kind, name)
    from IPython.core.magic import no_var_expand  # `$name` belongs to %run, not to IPython

    ip.register_magic_function(no_var_expand(run_notebook), "line", "run")
    ip.input_transformers_cleanup.insert(0, _cell_magic_first_line)

    import course.runtime as kit

    for name in ("spark", "dbutils", "display", "displayHTML"):
        ip.user_ns.setdefault(name, getattr(kit, name))
    if not any(isinstance(f, _SdkRuntimeFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, _SdkRuntimeFinder())
    if not on_databricks_runtime():
        from course.runtime.dbx import deltatable, filehook

        filehook.install(ip)    # open('/Volumes/…') names the local folder instead of the machine's /Volumes
        deltatable.install()    # DeltaTable refuses in one sentence when tables are Parquet
    setattr(ip, _INSTALLED, True)
    return True
