"""Who "you" are in a workspace path: the local user name and its CLI short name.

``current_user()`` is the name the job spec puts into ``${workspace.current_user.userName}``
and the default ``/Workspace/Users/<user>/.bundle/…`` paths before anything talks to
a workspace: ``DATABRICKS_USERNAME`` when set, else the login name. Deploying swaps it
for the workspace's own user. ``short_name()`` is ``${workspace.current_user.short_name}``
(and the ``[dev <short name>]`` prefix) as the Databricks CLI derives it.
"""
from __future__ import annotations

import getpass
import os
import re

__all__ = ["PLACEHOLDER_USER", "current_user", "short_name"]

PLACEHOLDER_USER = "<you>"  # shown when the workspace user is not known (a dry run)


def current_user() -> str:
    """The local stand-in for the workspace user: ``DATABRICKS_USERNAME`` or the login name."""
    return os.environ.get("DATABRICKS_USERNAME") or getpass.getuser()


def short_name(user: str) -> str:
    """``ada.lovelace@example.com`` -> ``ada_lovelace``; the placeholder stays as it is."""
    if user == PLACEHOLDER_USER:
        return user
    return re.sub(r"[^A-Za-z0-9]+", "_", user.split("@")[0]).strip("_").lower() or "user"
