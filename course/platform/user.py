"""Who the local user is, as a bundle sees it: ``workspace.current_user.userName`` and ``short_name``.

The spec loader resolves a bundle's default paths and ``${workspace.current_user.…}``
with these; deploying swaps that local user for the workspace user.
"""
from __future__ import annotations

import getpass
import os
import re

__all__ = ["current_user", "short_name"]


def current_user() -> str:
    """``DATABRICKS_USERNAME``, or the login name of the local account."""
    return os.environ.get("DATABRICKS_USERNAME") or getpass.getuser()


def short_name(user: str) -> str:
    """``workspace.current_user.short_name`` as the Databricks CLI derives it from a user name."""
    return re.sub(r"[^A-Za-z0-9]+", "_", user.split("@")[0]).strip("_").lower() or "user"
