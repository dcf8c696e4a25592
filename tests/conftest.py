"""Shared fixtures: every test gets its own kit state folder."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def day7_home(tmp_path_factory, monkeypatch):
    """Point DAY7_HOME at a fresh folder so tests never touch the user's state."""
    home = tmp_path_factory.mktemp("day7home")
    monkeypatch.setenv("DAY7_HOME", str(home))
    return home
