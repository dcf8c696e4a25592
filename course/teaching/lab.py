"""`make lab`: JupyterLab on the course, set up for the kit's learners.

    python -m course.teaching.lab [--port N] [--ip HOST] [--token T] [--no-browser] [NOTEBOOK]

What it adds to a plain `jupyter lab`:

* **Terminals have the kit's Python.** The server's environment gets the venv first on
  `PATH` and `VIRTUAL_ENV`, and terminals start `bash` with `course/teaching/lab_terminal.bashrc`,
  which reads your usual bash start-up files and *then* activates the venv (a login shell,
  JupyterLab's default when the server has no terminal of its own, resets `PATH` from
  /etc/profile). So `python runner.py` works in a JupyterLab terminal.
* **`.day7/` opens.** Executed notebooks, cluster logs and alert e-mails live under the
  hidden `.day7/`; `--ContentsManager.allow_hidden=True` lets JupyterLab open them (from a
  link, or *File → Open from Path…*), and the runner prints JupyterLab links to them when it
  runs in a JupyterLab terminal (`link_for`).
* **Widgets survive a reopened notebook.** The widgets extension's `saveState` setting is
  on (in the venv's `share/jupyter/lab/settings/overrides.json`), so a saved notebook keeps
  its widgets' state: reopened, it shows the widgets instead of "model not found".
* **Databricks source notebooks open as notebooks.** A `.py`/`.sql` file exported from a
  workspace (first line `# Databricks notebook source`) is served as a notebook (right-click →
  *Open With → Notebook*) and saved back in source format, byte-identical where nothing
  changed (`labcontents.py`).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

from course.platform import paths

RCFILE = Path(__file__).with_name("lab_terminal.bashrc")
WIDGETS_PLUGIN = "@jupyter-widgets/jupyterlab-manager:plugin"
START_NOTEBOOK = "notebooks/00_start_here.ipynb"
# Databricks source notebooks (.py/.sql) open as notebooks and save back as source (labcontents.py).
CONTENTS_MANAGER = "course.teaching.labcontents.SourceNotebookContentsManager"


def venv_dir() -> Path:
    return Path(sys.prefix)


def write_settings_overrides(prefix: Path | None = None) -> Path:
    """Turn on the widgets' saveState in JupyterLab's app settings overrides (merged, idempotent)."""
    path = Path(prefix or sys.prefix) / "share" / "jupyter" / "lab" / "settings" / "overrides.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        overrides = json.loads(path.read_text()) if path.exists() else {}
    except ValueError:
        overrides = {}
    if overrides.get(WIDGETS_PLUGIN, {}).get("saveState") is not True:
        overrides.setdefault(WIDGETS_PLUGIN, {})["saveState"] = True
        path.write_text(json.dumps(overrides, indent=2) + "\n")
    return path


def lab_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The server's environment: the venv first on PATH (kernels and terminals inherit it)."""
    env = dict(os.environ if base is None else base)
    venv = venv_dir()
    env["VIRTUAL_ENV"] = str(venv)
    env["DAY7_VENV"] = str(venv)
    parts = [p for p in env.get("PATH", "").split(os.pathsep) if p and p != str(venv / "bin")]
    env["PATH"] = os.pathsep.join([str(venv / "bin"), *parts])
    env.pop("PYTHONHOME", None)
    return env


def terminal_command() -> list[str] | None:
    bash = shutil.which("bash")
    return [bash, "--rcfile", str(RCFILE), "-i"] if bash else None  # without bash: the env's PATH


def command(args: argparse.Namespace) -> list[str]:
    jupyter = str(venv_dir() / "bin" / "jupyter")
    cmd = [jupyter, "lab", f"--ServerApp.root_dir={paths.REPO_ROOT}", "--ContentsManager.allow_hidden=True",
           f"--ServerApp.contents_manager_class={CONTENTS_MANAGER}"]
    shell = terminal_command()
    if shell:
        cmd.append("--ServerApp.terminado_settings=" + json.dumps({"shell_command": shell}))
    if os.geteuid() == 0:
        cmd.append("--allow-root")
    if args.port:
        cmd.append(f"--port={args.port}")
    if args.ip:
        cmd.append(f"--ip={args.ip}")
    if args.token is not None:
        cmd.append(f"--IdentityProvider.token={args.token}")
    if args.no_browser:
        cmd.append("--no-browser")
    if args.notebook:
        cmd.append(args.notebook)
    return cmd


def link_for(path: str | os.PathLike[str], env: dict[str, str] | None = None) -> str | None:
    """A JupyterLab URL that opens `path`, in a JupyterLab terminal (None elsewhere, or outside its root).

    JupyterLab gives its terminals JUPYTER_SERVER_URL and JUPYTER_SERVER_ROOT; a click on the
    URL in the terminal opens the file in the same JupyterLab (hidden paths need allow_hidden,
    which `make lab` sets)."""
    env = os.environ if env is None else env
    url, root = env.get("JUPYTER_SERVER_URL"), env.get("JUPYTER_SERVER_ROOT")
    if not url or not root:
        return None
    try:
        rel = Path(path).resolve().relative_to(Path(root).expanduser().resolve())
    except (ValueError, OSError):
        return None
    from urllib.parse import quote

    return f"{url.rstrip('/')}/lab/tree/{quote(rel.as_posix())}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course.teaching.lab",
                                     description="JupyterLab on the course (terminals with the kit's Python, "
                                                 ".day7/ openable, widget state saved).")
    parser.add_argument("notebook", nargs="?", default=START_NOTEBOOK, help=f"open this first (default {START_NOTEBOOK})")
    parser.add_argument("--port", type=int, help="port (default: JupyterLab's, 8888 or the next free one)")
    parser.add_argument("--ip", help="interface (default: JupyterLab's, localhost)")
    parser.add_argument("--token", help="the login token (default: a random one, printed)")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser")
    args = parser.parse_args(argv)
    if args.port is not None and not 0 < args.port < 65536:
        parser.error(f"--port {args.port}: not a port number")
    write_settings_overrides()
    cmd = command(args)
    os.chdir(paths.REPO_ROOT)
    os.execve(cmd[0], cmd, lab_env())
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
