"""The REST API families, one module each; `api_routes(state)` lists all their routes.

    jobs       Jobs 2.2: create, get, list, reset, update, delete, run-now, runs submit
    runs       Jobs 2.2 runs: get, list, cancel, repair, get-output, export
    workspace  Workspace 2.0: mkdirs, import, export, get-status, list, delete
    identity   SCIM Me (current user), clusters list / get
    common     reading a request's arguments, answering with SDK dataclasses
"""
from __future__ import annotations

from course.server.api import identity, jobs, runs, workspace


def api_routes(state) -> list:
    """Every API route, for `app.create_app`."""
    return [*jobs.routes(state), *runs.routes(state), *workspace.routes(state), *identity.routes(state)]
