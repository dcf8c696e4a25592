"""Links to the pages for code outside the server (the lessons): only when a local workspace answers.

A lesson that prints where an executed notebook is also prints its page, if the learner
has `python runner.py serve` running: the server named by `DATABRICKS_HOST` when that is a
loopback address, else the serve command's default port. Nothing answering within a
fraction of a second means no link (and no error): the lesson works without a server.
"""
from __future__ import annotations

import os
import urllib.error
import urllib.request
from urllib.parse import urlparse

DEFAULT_HOST = "http://127.0.0.1:8765"   # `runner.py serve`'s default port (course/cli/serve.py)
PROBE_TIMEOUT_S = 0.3
LOOPBACK = ("127.0.0.1", "localhost", "::1")


def local_workspace() -> str | None:
    """The running local workspace's base URL, or None."""
    configured = os.environ.get("DATABRICKS_HOST", "").rstrip("/")
    candidates = [configured] if urlparse(configured).hostname in LOOPBACK else []
    for host in dict.fromkeys([*candidates, DEFAULT_HOST]):
        try:
            # the one path the server answers without a token (the SDK's host metadata)
            with urllib.request.urlopen(f"{host}/.well-known/databricks-config", timeout=PROBE_TIMEOUT_S) as reply:
                if reply.status == 200:
                    return host
        except (OSError, urllib.error.URLError, ValueError):
            continue
    return None


def page_link(path: str) -> str | None:
    """`<server>/<path>` when a local workspace is running (e.g. page_link("/task-runs/42")), else None."""
    host = local_workspace()
    return f"{host}{path}" if host else None
