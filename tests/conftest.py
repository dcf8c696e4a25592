"""Shared fixtures: every test gets its own kit state folder."""
from __future__ import annotations

import os
import signal
import tempfile

import pytest

# Notebooks under tests/ are inputs of tests, not nbval targets.
collect_ignore_glob = ["notebooks/*", "jobs/*.ipynb"]  # fnmatch: * spans folders too


def pytest_configure(config):
    # nbval starts its kernels outside any fixture: give the whole session a
    # throw-away state folder so solutions never write to the user's .day7/.
    os.environ["DAY7_HOME"] = tempfile.mkdtemp(prefix="day7-tests-")
    # Started in the background by a non-interactive shell (`cmd &`, nohup), the session
    # inherits SIGINT ignored, and so would every runner it starts: the Ctrl-C tests would
    # test the shell. A runner in a terminal gets the default; so do ours.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def day7_home(tmp_path_factory, monkeypatch):
    """Point DAY7_HOME at a fresh folder so tests never touch the user's state."""
    home = tmp_path_factory.mktemp("day7home")
    monkeypatch.setenv("DAY7_HOME", str(home))
    return home
