"""The learner's loop in a real browser: `make lab`'s JupyterLab (course.teaching.lab), driven by Chromium.

Lesson 00 opens unmodified → `python runner.py` typed in a JupyterLab terminal runs a job →
the run's executed notebook opens from the link the runner printed (under the hidden
.day7/) → lesson 02's four widgets show after Run All and after the notebook is reopened
with a new kernel. Screenshots go to .day7/test-artifacts/lab/ (git-ignored): look at them.

Needs Debian's chromium at /usr/bin/chromium (`make test` installs it as root) and the
`playwright` package; without them the test is skipped with the reason.
"""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from browser_fixtures import browser_page, require_browser

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / ".day7" / "test-artifacts" / "lab"
LESSON_COPY = REPO / "notebooks" / ".test-02_parameters_and_widgets.ipynb"  # git-ignored scratch copy
pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    require_browser()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("*"):
        if old.is_file():
            old.unlink()
    # The kit's state inside the served folder, so the runner's links open in this JupyterLab.
    home = REPO / ".day7" / "test-artifacts" / f"home-{os.getpid()}"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    port, token = free_port(), "day7-browser-token"
    # A PATH without the venv, as a learner's desktop would have: terminals must still get the kit's Python.
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "SPARK_REMOTE", "DAY7_TASK")}
    env.update(PATH="/usr/local/bin:/usr/bin:/bin", DAY7_HOME=str(home), JUPYTER_RUNTIME_DIR=str(tmp_path),
               # a fresh layout and user settings: no tabs restored from an earlier session
               JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
               JUPYTERLAB_SETTINGS_DIR=str(tmp_path / "user-settings"))
    log = open(ARTIFACTS / "jupyterlab.log", "w")
    proc = subprocess.Popen([sys.executable, "-m", "course.teaching.lab", "--no-browser", f"--port={port}",
                             "--ip=127.0.0.1", f"--token={token}"],
                            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=5)
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail("JupyterLab did not start: " + (ARTIFACTS / "jupyterlab.log").read_text()[-3000:])
            time.sleep(0.3)
    try:
        yield base, token, home
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
        LESSON_COPY.unlink(missing_ok=True)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def page(lab):
    with browser_page(1400, 900, 60000) as page:
        yield page


def shot(page, name: str) -> Path:
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def wait_kernel_idle(page, timeout_s: float = 120) -> None:
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook", timeout=timeout_s * 1000)
    page.wait_for_function(
        """() => { const s = document.querySelector('.jp-Notebook-ExecutionIndicator');
                   return s && s.getAttribute('data-status') === 'idle'; }""", timeout=timeout_s * 1000)


def run_menu(page, menu: str, item: str) -> None:
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{menu}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{item}$")).first.click()


def active_tab_dirty(page) -> bool:
    return page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").count() > 0


# ipywidgets' Combobox is a text input with a <datalist>: told apart by its input's `list`.
WIDGET_CLASSES = {"text": ".widget-text:not(:has(input[list]))", "dropdown": ".widget-dropdown",
                  "combobox": ".widget-text:has(input[list])",
                  "multiselect": ".widget-select-multiple"}


def visible_widgets(page) -> dict[str, int]:
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    return {kind: panel.locator(f".jp-OutputArea-output {css}:visible").count() for kind, css in WIDGET_CLASSES.items()}


def test_the_learners_loop_in_jupyterlab(lab, page):
    base, token, home = lab

    # 1. Lesson 00 opens, its kernel starts, and the notebook is not marked modified.
    page.goto(f"{base}/lab/tree/notebooks/00_start_here.ipynb?token={token}")
    page.locator(".jp-MarkdownOutput h1", has_text="00 · Start here").first.wait_for()
    wait_kernel_idle(page)
    time.sleep(1.5)  # JupyterLab writes the kernel's language_info into the model once it is ready
    shot(page, "1-lesson-00")
    assert not active_tab_dirty(page), "lesson 00 opened already modified (its language_info?)"

    # 2. A job run from a JupyterLab terminal: `python runner.py` with the kit's Python.
    log = home / "terminal.log"
    run_menu(page, "File", "New")
    page.locator(".lm-Menu-itemLabel", has_text=re.compile("^Terminal$")).first.click()
    page.locator(".jp-Terminal:not(.lm-mod-hidden) .xterm-screen").last.wait_for()
    time.sleep(2)  # the shell's start-up files
    page.locator(".jp-Terminal").last.click()
    page.keyboard.type(f"python runner.py --job notebooks/jobs/one_task.yml --param name=Ada 2>&1 | tee {log}\n")
    deadline = time.monotonic() + 240
    while not (log.exists() and "Open in JupyterLab" in log.read_text()):
        if time.monotonic() > deadline or (log.exists() and re.search(r"Error|Traceback", log.read_text())):
            shot(page, "2-terminal-failed")
            pytest.fail("the terminal run did not finish with links:\n" + (log.read_text() if log.exists() else ""))
        time.sleep(1)
    time.sleep(1)
    shot(page, "2-terminal-run")
    text = log.read_text()
    assert "run 1: SUCCESS" in text, text
    link = re.search(r"hello\s+(http://\S+attempt-0\.ipynb)", text).group(1)
    assert link.startswith(f"{base}/lab/tree/.day7/test-artifacts/"), link

    # 3. The printed link opens the run's executed notebook (hidden .day7/ included).
    page.goto(link)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output", has_text="Hello, Ada!").first.wait_for()
    shot(page, "3-executed-notebook")
    assert page.locator(".jp-Dialog", has_text="hidden").count() == 0

    # 4. Lesson 02: Run All shows the four widgets; reopened with a new kernel, they still show.
    shutil.copyfile(REPO / "notebooks" / "02_parameters_and_widgets.ipynb", LESSON_COPY)
    page.goto(f"{base}/lab/tree/notebooks/{LESSON_COPY.name}")
    page.locator(".jp-MarkdownOutput h1", has_text="02 · Parameters and widgets").first.wait_for()
    wait_kernel_idle(page)
    run_menu(page, "Run", "Run All Cells")
    page.wait_for_function(
        """() => { const p = [...document.querySelectorAll('.jp-NotebookPanel')].find(e => !e.classList.contains('lm-mod-hidden'));
                   const prompts = [...p.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(e => e.textContent);
                   return prompts.length > 0 && prompts.every(t => /\\[\\d+\\]/.test(t)); }""", timeout=600_000)
    wait_kernel_idle(page)
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-select-multiple").first.scroll_into_view_if_needed()
    shot(page, "4-lesson-02-run-all")
    assert visible_widgets(page) == {"text": 1, "dropdown": 1, "combobox": 1, "multiselect": 1}, visible_widgets(page)
    assert page.locator("text=or type").count() >= 1  # the combobox says it is not just a text box
    assert page.locator(".jp-OutputArea-output .jp-RenderedText[data-mime-type='application/vnd.jupyter.stderr']",
                        has_text="Traceback").count() == 0

    page.keyboard.press("Control+s")
    page.wait_for_function("() => !document.querySelector('.lm-TabBar-tab.lm-mod-current.jp-mod-dirty')")
    run_menu(page, "Kernel", "Shut Down Kernel")
    run_menu(page, "File", "Close Tab")
    time.sleep(1)
    page.goto(f"{base}/lab/tree/notebooks/{LESSON_COPY.name}")
    page.locator(".jp-MarkdownOutput h1", has_text="02 · Parameters and widgets").first.wait_for()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output .widget-select-multiple").first.wait_for()
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .widget-select-multiple").first.scroll_into_view_if_needed()
    shot(page, "5-lesson-02-reopened")
    assert page.locator("text=model not found").count() == 0
    assert visible_widgets(page) == {"text": 1, "dropdown": 1, "combobox": 1, "multiselect": 1}, visible_widgets(page)
