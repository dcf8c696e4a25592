"""Shared fixtures: every test gets its own kit state folder."""
from __future__ import annotations

import os
import tempfile

import pytest

# Notebooks under tests/ are inputs of tests, not nbval targets.
collect_ignore_glob = ["notebooks/*", "jobs/*.ipynb"]  # fnmatch: * spans folders too


def pytest_configure(config):
    # nbval starts its kernels outside any fixture: give the whole session a
    # throw-away state folder so solutions never write to the user's .day7/.
    os.environ["DAY7_HOME"] = tempfile.mkdtemp(prefix="day7-tests-")


@pytest.fixture(autouse=True)
def day7_home(tmp_path_factory, monkeypatch):
    """Point DAY7_HOME at a fresh folder so tests never touch the user's state."""
    home = tmp_path_factory.mktemp("day7home")
    monkeypatch.setenv("DAY7_HOME", str(home))
    return home
