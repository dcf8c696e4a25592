"""One local workspace server per test module, on 127.0.0.1, with a state folder of its own.

    from server_fixtures import local_workspace, sdk   # noqa: F401

`local_workspace` is a started `BackgroundServer` (uvicorn in a thread; the runs it starts
are child processes); `sdk` a databricks-sdk WorkspaceClient pointed at it with its token.
"""
from __future__ import annotations

import base64
import json

import pytest
from databricks.sdk import WorkspaceClient

from course.jobs.local.compute.cluster import UI_SWITCH
from course.platform import paths
from course.server.serving import BackgroundServer
from course.server.state import ServerState


@pytest.fixture(scope="module")
def local_workspace(tmp_path_factory, request):
    """The server; a module that runs jobs sets `WARM_WORKER = True` (a spare worker imports meanwhile)."""
    home = tmp_path_factory.mktemp("workspace-home")
    with paths.using_home(home), pytest.MonkeyPatch.context() as env:  # the children get this DAY7_HOME too
        # the Spark UI costs ~2 s per cluster start (bench_spark_ui.py); only test_pages.py checks it
        env.setenv(UI_SWITCH, "0")
        server = BackgroundServer(ServerState.open(home), warm=getattr(request.module, "WARM_WORKER", False)).start()
        try:
            yield server
        finally:
            server.stop()


@pytest.fixture(scope="module")
def sdk(local_workspace) -> WorkspaceClient:
    return WorkspaceClient(host=local_workspace.host, token=local_workspace.state.token, auth_type="pat")


def b64(text: str) -> str:
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def jupyter(*cells: str) -> str:
    """A small .ipynb document with one code cell per argument."""
    return json.dumps({
        "cells": [{"cell_type": "code", "execution_count": None, "id": f"cell-{i}", "metadata": {}, "outputs": [],
                   "source": source.splitlines(keepends=True)} for i, source in enumerate(cells)],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4, "nbformat_minor": 5})
